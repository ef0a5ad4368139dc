//! What makes Pulse operable in AWS, on the emulator: `Alarm` (CloudWatch metric alarms) and a
//! `Lambda`'s `reserved_concurrency` and `tracing`. The alarms of the whole
//! `infra/examples/pulse-deployment.json` are checked in `pulse_deploy.rs`, which deploys it.
//!
//! moto notes: the Rust SDK's CloudWatch client is pinned to the last release speaking the Query
//! protocol (moto does not serve the newer RPC v2 CBOR one; see the reconciler's Cargo.toml), and
//! `localstack/moto_server.py` makes moto's UpdateFunctionConfiguration apply `TracingConfig`.

use std::path::PathBuf;

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm, Statistic};
use pulse_infra_reconciler::kinds::lambda_code;
use pulse_infra_reconciler::{Clients, Kind, LoadOptions, PlanOptions, ResourceId, StackConfig, apply, plan};
use pulse_tests::{emulator_config, unique};
use serde_json::{Value, json};

fn stack(prefix: &str, resources: Value) -> StackConfig {
    StackConfig::parse(&json!({ "resources": resources }).to_string(), "test", &LoadOptions::new(prefix)).unwrap()
}

/// A dead-letter queue and an alarm on its depth, with `extra` fields on the alarm.
fn dlq_alarm(prefix: &str, extra: Value) -> StackConfig {
    let mut alarm = json!({
        "kind": "Alarm", "name": "${prefix}-dlq-depth", "description": "An event was dead-lettered: pulse dlq list.",
        "watch": {"queue": "${prefix}-dlq"}, "metric_name": "ApproximateNumberOfMessagesVisible",
        "statistic": "Maximum", "threshold": 0, "comparison_operator": "GreaterThanThreshold",
        "treat_missing_data": "notBreaching"
    });
    for (k, v) in extra.as_object().unwrap() {
        alarm[k] = v.clone();
    }
    stack(prefix, json!([{"kind": "Queue", "name": "${prefix}-dlq"}, alarm]))
}

async fn alarm(clients: &Clients, name: &str) -> MetricAlarm {
    let out = clients.cloudwatch.describe_alarms().alarm_names(name).send().await.unwrap();
    out.metric_alarms().first().cloned().unwrap_or_else(|| panic!("no alarm {name}"))
}

#[tokio::test]
async fn an_alarm_is_created_unchanged_on_redeploy_and_updated_field_by_field() {
    let clients = Clients::new(&emulator_config().await);
    let prefix = unique("al");
    let name = format!("{prefix}-dlq-depth");
    let first = plan(&dlq_alarm(&prefix, json!({})), &clients, &PlanOptions::default()).await.unwrap();
    assert_eq!(first.summary().create, 2, "{first}");
    assert!(first.to_string().contains(&format!("+ create     Alarm        {name}")), "{first}");
    apply(&first, &clients, |_| {}).await.unwrap();

    // What CloudWatch holds.
    let held = alarm(&clients, &name).await;
    assert_eq!((held.namespace(), held.metric_name()), (Some("AWS/SQS"), Some("ApproximateNumberOfMessagesVisible")));
    let dims: Vec<(&str, &str)> = held.dimensions().iter().map(|d| (d.name().unwrap(), d.value().unwrap())).collect();
    assert_eq!(dims, [("QueueName", format!("{prefix}-dlq").as_str())]);
    assert_eq!((held.statistic(), held.period(), held.evaluation_periods()), (Some(&Statistic::Maximum), Some(60), Some(1)));
    assert_eq!((held.threshold(), held.comparison_operator()), (Some(0.0), Some(&ComparisonOperator::GreaterThanThreshold)));
    assert_eq!(held.treat_missing_data(), Some("notBreaching"));
    assert_eq!(held.alarm_description(), Some("An event was dead-lettered: pulse dlq list."));

    // A second deploy plans nothing and writes nothing.
    let again = plan(&dlq_alarm(&prefix, json!({})), &clients, &PlanOptions::default()).await.unwrap();
    assert!(!again.has_changes(), "{again}");
    assert_eq!(apply(&again, &clients, |_| {}).await.unwrap().api_calls.write, 0);

    // One field changed: the plan names it with both values, the deploy puts the alarm once.
    let stricter = dlq_alarm(&prefix, json!({"evaluation_periods": 3}));
    let p = plan(&stricter, &clients, &PlanOptions::default()).await.unwrap();
    let entry = p.entry(&ResourceId::new(Kind::Alarm, &name)).unwrap();
    assert_eq!(entry.change.fields().iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["EvaluationPeriods"]);
    assert!(p.to_string().contains("EvaluationPeriods: 1 → 3"), "{p}");
    let report = apply(&p, &clients, |_| {}).await.unwrap();
    assert_eq!(report.api_calls.writes(), ["cloudwatch:PutMetricAlarm"]);
    assert_eq!(alarm(&clients, &name).await.evaluation_periods(), Some(3));
    assert!(!plan(&stricter, &clients, &PlanOptions::default()).await.unwrap().has_changes());

    // An operator attaches a topic by hand: not drift while the file declares no actions, and
    // kept by the next deploy of another field.
    let topic = "arn:aws:sns:us-east-1:123456789012:ops-pager";
    let held = alarm(&clients, &name).await;
    clients
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(&name)
        .alarm_description(held.alarm_description().unwrap())
        .namespace("AWS/SQS")
        .metric_name("ApproximateNumberOfMessagesVisible")
        .dimensions(Dimension::builder().name("QueueName").value(format!("{prefix}-dlq")).build())
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(3)
        .threshold(0.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .alarm_actions(topic)
        .send()
        .await
        .unwrap();
    assert!(!plan(&stricter, &clients, &PlanOptions::default()).await.unwrap().has_changes());
    let raised = dlq_alarm(&prefix, json!({"evaluation_periods": 3, "threshold": 5}));
    let p = plan(&raised, &clients, &PlanOptions::default()).await.unwrap();
    assert!(p.to_string().contains("Threshold: 0 → 5"), "{p}");
    apply(&p, &clients, |_| {}).await.unwrap();
    let held = alarm(&clients, &name).await;
    assert_eq!((held.threshold(), held.alarm_actions()), (Some(5.0), [topic.to_owned()].as_slice()));

    // Declared actions are the exact list: `[]` removes the hand-made one.
    let silent = dlq_alarm(&prefix, json!({"evaluation_periods": 3, "threshold": 5, "alarm_actions": []}));
    let p = plan(&silent, &clients, &PlanOptions::default()).await.unwrap();
    assert!(p.to_string().contains(&format!("AlarmActions: [\"{topic}\"] → []")), "{p}");
    apply(&p, &clients, |_| {}).await.unwrap();
    assert!(alarm(&clients, &name).await.alarm_actions().is_empty());
}

#[test]
fn an_alarm_on_an_undeclared_resource_does_not_load() {
    let err = StackConfig::parse(
        &json!({"resources": [{"kind": "Alarm", "name": "x", "watch": {"function": "${prefix}-notifer"}, "metric_name": "Errors",
            "statistic": "Sum", "threshold": 0, "comparison_operator": "GreaterThanThreshold"}]})
        .to_string(),
        "test",
        &LoadOptions::new("t1"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("t1-notifer"), "{err}");
}

/// A function package: a zip with a `bootstrap` printing `marker`.
fn write_zip(marker: &str) -> PathBuf {
    let bytes = lambda_code::zip(&[("bootstrap".to_owned(), format!("#!/bin/sh\necho {marker}\n").into_bytes())]).unwrap();
    let path = std::env::temp_dir().join(format!("{}.zip", unique("pulse-fn")));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn function(prefix: &str, zip: &std::path::Path, extra: Value) -> StackConfig {
    let mut f = json!({"kind": "Lambda", "name": "${prefix}-fn", "path": zip, "role": "${prefix}-fn"});
    for (k, v) in extra.as_object().unwrap() {
        f[k] = v.clone();
    }
    stack(prefix, json!([{"kind": "IamRole", "name": "${prefix}-fn"}, f]))
}

async fn reserved(clients: &Clients, function: &str) -> Option<i32> {
    clients.lambda.get_function_concurrency().function_name(function).send().await.unwrap().reserved_concurrent_executions()
}

async fn tracing_mode(clients: &Clients, function: &str) -> String {
    let config = clients.lambda.get_function_configuration().function_name(function).send().await.unwrap();
    config.tracing_config().and_then(|t| t.mode()).map(|m| m.as_str().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn reserved_concurrency_and_tracing_are_set_planned_and_changed() {
    let clients = Clients::new(&emulator_config().await);
    let prefix = unique("rc");
    let name = format!("{prefix}-fn");
    let zip = write_zip("v1");
    let id = ResourceId::new(Kind::Lambda, &name);

    let capped = function(&prefix, &zip, json!({"reserved_concurrency": 3, "tracing": "Active"}));
    let first = plan(&capped, &clients, &PlanOptions::default()).await.unwrap();
    let desired = &first.entry(&id).unwrap().desired;
    assert_eq!((&desired["ReservedConcurrency"], &desired["Tracing"]), (&json!(3), &json!("Active")));
    let report = apply(&first, &clients, |_| {}).await.unwrap();
    assert!(report.api_calls.writes().contains(&"lambda:PutFunctionConcurrency"), "{:?}", report.api_calls);
    assert_eq!((reserved(&clients, &name).await, tracing_mode(&clients, &name).await.as_str()), (Some(3), "Active"));

    let again = plan(&capped, &clients, &PlanOptions::default()).await.unwrap();
    assert!(!again.has_changes(), "{again}");
    assert_eq!(apply(&again, &clients, |_| {}).await.unwrap().api_calls.write, 0);

    // Both changed: the plan shows both; tracing is configuration (a new version), the
    // reservation is not (one call of its own).
    let changed = function(&prefix, &zip, json!({"reserved_concurrency": 7, "tracing": "PassThrough"}));
    let p = plan(&changed, &clients, &PlanOptions::default()).await.unwrap();
    let shown = p.to_string();
    assert!(shown.contains("ReservedConcurrency: 3 → 7") && shown.contains("Tracing: Active → PassThrough"), "{shown}");
    let report = apply(&p, &clients, |_| {}).await.unwrap();
    assert_eq!(
        report.api_calls.writes(),
        ["lambda:PublishVersion", "lambda:PutFunctionConcurrency", "lambda:UpdateAlias", "lambda:UpdateFunctionConfiguration"]
    );
    assert_eq!((reserved(&clients, &name).await, tracing_mode(&clients, &name).await.as_str()), (Some(7), "PassThrough"));
    assert!(!plan(&changed, &clients, &PlanOptions::default()).await.unwrap().has_changes());

    // A reservation changed by hand is drift; 0 (every invocation throttled) is a value like any.
    clients.lambda.put_function_concurrency().function_name(&name).reserved_concurrent_executions(0).send().await.unwrap();
    let p = plan(&changed, &clients, &PlanOptions::default()).await.unwrap();
    assert!(p.to_string().contains("ReservedConcurrency: 0 → 7"), "{p}");
    assert_eq!(apply(&p, &clients, |_| {}).await.unwrap().api_calls.writes(), ["lambda:PutFunctionConcurrency"]);

    // Without the fields neither is managed: nothing planned, nothing removed, no extra read.
    let unmanaged = function(&prefix, &zip, json!({}));
    let p = plan(&unmanaged, &clients, &PlanOptions::default()).await.unwrap();
    assert!(!p.has_changes(), "{p}");
    assert!(!p.api_calls.by_operation.contains_key("lambda:GetFunctionConcurrency"), "{:?}", p.api_calls);
    assert_eq!((reserved(&clients, &name).await, tracing_mode(&clients, &name).await.as_str()), (Some(7), "PassThrough"));
}
