//! Out-of-band changes show up as updates with old → new, and apply fixes exactly them.

use aws_sdk_sqs::types::QueueAttributeName;
use pulse_infra_reconciler::{Change, FieldChange, Kind, ResourceId, apply};
use serde_json::json;

use crate::common::{Env, STACK_SIZE, count};

#[tokio::test]
async fn drift_is_planned_as_an_update_and_fixed() {
    let env = Env::new().await;
    env.deploy().await;

    // Somebody shortens a visibility timeout, narrows a rule and drops a fan-out target.
    let queue = env.name("feed-projector");
    let url = env.queue_url(&queue).await;
    // moto drops a queue's policy on any SetQueueAttributes that leaves it out (AWS keeps it),
    // so pass it along to change only the timeout.
    let current = env.sqs().get_queue_attributes().queue_url(&url).attribute_names(QueueAttributeName::Policy).send().await.unwrap();
    let policy = current.attributes().unwrap()[&QueueAttributeName::Policy].clone();
    env.sqs()
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .attributes(QueueAttributeName::Policy, policy)
        .send()
        .await
        .unwrap();
    let ci_job = env.name("ci-job");
    env.events()
        .put_rule()
        .name(&ci_job)
        .event_bus_name(env.name("bus"))
        .event_pattern(r#"{"detail-type":["ci.job.v1"]}"#)
        .send()
        .await
        .unwrap();
    let feed_updated = env.name("feed-updated");
    env.events().remove_targets().rule(&feed_updated).event_bus_name(env.name("bus")).ids(env.name("home-renderer")).send().await.unwrap();

    let plan = env.plan().await;
    assert_eq!(count(&plan, |c| matches!(c, Change::Update { .. })), 3, "{plan}");
    assert_eq!(count(&plan, Change::is_no_change), STACK_SIZE - 3, "{plan}");

    let queue_change = &plan.entry(&ResourceId::new(Kind::Queue, &queue)).unwrap().change;
    assert_eq!(
        queue_change,
        &Change::Update { fields: vec![FieldChange { field: "VisibilityTimeout".into(), from: Some(json!(30)), to: json!(180) }] }
    );
    let rule_change = &plan.entry(&ResourceId::new(Kind::Rule, &ci_job)).unwrap().change;
    assert_eq!(
        rule_change,
        &Change::Update {
            fields: vec![FieldChange {
                field: "EventPattern".into(),
                from: Some(json!({"detail-type": ["ci.job.v1"]})),
                to: json!({"detail-type": [{"prefix": "ci.job."}]}),
            }]
        }
    );
    let targets_change = &plan.entry(&ResourceId::new(Kind::Rule, &feed_updated)).unwrap().change;
    assert_eq!(targets_change.fields().len(), 1);
    assert_eq!(targets_change.fields()[0].field, "Targets");
    let text = plan.to_string();
    assert!(text.contains(&format!("~ update     Queue        {queue}\n")), "{text}");
    assert!(text.contains("VisibilityTimeout: 30 → 180"), "{text}");
    assert!(text.contains(&format!("Targets.{}: (absent) → {{\"Arn\":", env.name("home-renderer"))), "{text}");

    let report = apply(&plan, &env.clients, |_| {}).await.expect("apply");
    assert_eq!(report.updated.len(), 3);
    // The minimal writes: one attribute set, one rule put, one target put.
    let writes: Vec<&str> = report.api_calls.writes();
    assert_eq!(writes, ["events:PutRule", "events:PutTargets", "sqs:SetQueueAttributes"], "{:?}", report.api_calls);
    assert_eq!(report.api_calls.write, 3);

    let after = env.plan().await;
    assert!(!after.has_changes(), "{after}");
}

#[tokio::test]
async fn an_extra_target_is_removed_and_a_disabled_table_ttl_is_restored() {
    let env = Env::new().await;
    env.deploy().await;
    let rule = env.name("ci-workflow");
    let stray_arn = format!("arn:aws:sqs:us-east-1:123456789012:{}", env.name("notifier"));
    env.events()
        .put_targets()
        .rule(&rule)
        .event_bus_name(env.name("bus"))
        .targets(aws_sdk_eventbridge::types::Target::builder().id("stray").arn(stray_arn).build().unwrap())
        .send()
        .await
        .unwrap();
    let table = env.name("notifier-audit");
    env.dynamodb()
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder().enabled(false).attribute_name("expires_at").build().unwrap(),
        )
        .send()
        .await
        .unwrap();

    let plan = env.plan().await;
    assert_eq!(count(&plan, |c| matches!(c, Change::Update { .. })), 2, "{plan}");
    let text = plan.to_string();
    assert!(text.contains("Targets.stray: {\"Arn\":"), "{text}");
    assert!(text.contains("TimeToLive: (absent) → expires_at"), "{text}");
    let report = apply(&plan, &env.clients, |_| {}).await.unwrap();
    assert_eq!(report.api_calls.writes(), ["dynamodb:UpdateTimeToLive", "events:RemoveTargets"]);
    assert_eq!(report.api_calls.write, 2);
    assert!(!env.plan().await.has_changes());
    let targets = env.events().list_targets_by_rule().rule(&rule).event_bus_name(env.name("bus")).send().await.unwrap();
    let ids: Vec<&str> = targets.targets().iter().map(|t| t.id()).collect();
    assert_eq!(ids, [env.name("feed-projector")]);
}
