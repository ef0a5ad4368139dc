//! issue #10's deployment pieces on the emulator: `infra/examples/praktika-compat.json` (the
//! `praktika_slack_worker` function with its on-failure queue: the `Lambda` kind's
//! `asynchronous` block) and `infra/examples/pulse-deployment.json` pointed at a feed bucket
//! Pulse does not own (variables `feed_bucket` / `feed_prefix`, flag `praktika_bucket`: the
//! `BucketNotifications` kind, `EVENT_FEED_S3_PATH`, the S3 grants, the praktika feed rule).
//!
//! Functions are deployed from a stand-in zip (every `crate` replaced by `path`), as in
//! `pulse_deploy.rs`: nothing is built with cargo-lambda and no function runs on moto.

use std::path::PathBuf;

use aws_sdk_s3::types::{Event as S3Event, NotificationConfiguration, QueueConfiguration};
use aws_sdk_ssm::types::ParameterType;
use pulse_infra_reconciler::kinds::lambda_code;
use pulse_infra_reconciler::{Clients, Kind, LoadOptions, PlanOptions, ResourceId, ResourceSpec, StackConfig, apply, plan};
use pulse_tests::{emulator_config, unique};
use serde_json::{Value, json};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/examples");

fn stand_in_zip() -> PathBuf {
    let bytes = lambda_code::zip(&[("bootstrap".to_owned(), b"#!/bin/sh\necho stand-in\n".to_vec())]).unwrap();
    let path = std::env::temp_dir().join(format!("{}.zip", unique("pulse-fn")));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An example with every `crate` function deployed from `zip`, in the emulator's region.
fn example(file: &str, options: &LoadOptions, zip: &std::path::Path, region: &str) -> StackConfig {
    let mut stack = StackConfig::load(format!("{EXAMPLES}/{file}"), options).unwrap();
    for d in &mut stack.resources {
        if let ResourceSpec::Lambda(l) = &mut d.spec {
            l.krate = None;
            l.path = Some(zip.display().to_string());
            if l.region.is_some() {
                l.region = Some(region.to_owned());
            }
        }
    }
    stack
}

async fn put_secret(clients: &Clients, name: &str, value: &str) {
    clients.ssm.put_parameter().name(name).value(value).r#type(ParameterType::SecureString).overwrite(true).send().await.unwrap();
}

async fn role_policy(clients: &Clients, role: &str, policy: &str) -> Value {
    let out = clients.iam.get_role_policy().role_name(role).policy_name(policy).send().await.unwrap();
    serde_json::from_str(&percent_decode(out.policy_document())).unwrap()
}

/// IAM answers policy documents percent-encoded (moto too).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn the_praktika_worker_deploys_with_its_on_failure_queue_and_redeploys_with_no_write() {
    let clients = Clients::new(&emulator_config().await);
    let cx = clients.context().await.unwrap();
    let prefix = unique("pw");
    let options = LoadOptions::new(&prefix).var("slack_team_id", "T0PRAKTIKA");
    let stack = example("praktika-compat.json", &options, &stand_in_zip(), &cx.region);
    let function = "praktika_slack_worker";
    let failed = format!("{prefix}-praktika-slack-worker-failed");

    // The plan shows the invoke configuration, and the queue comes before the function.
    let first = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    assert_eq!(first.api_calls.write, 0);
    let entry = first.entry(&ResourceId::new(Kind::Lambda, function)).unwrap();
    assert_eq!(
        entry.desired["Asynchronous"],
        json!({"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 21600, "OnFailure": cx.sqs_arn(&failed)})
    );
    assert!(entry.depends_on.contains(&ResourceId::new(Kind::Queue, &failed)), "{first}");
    apply(&first, &clients, |_| {}).await.unwrap();

    // What landed: the unqualified function's invoke configuration, its environment, its role.
    let config = clients.lambda.get_function_event_invoke_config().function_name(function).send().await.unwrap();
    assert_eq!((config.maximum_retry_attempts(), config.maximum_event_age_in_seconds()), (Some(2), Some(21600)));
    let on_failure = config.destination_config().and_then(|d| d.on_failure()).and_then(|f| f.destination());
    assert_eq!(on_failure, Some(cx.sqs_arn(&failed).as_str()));
    let f = clients.lambda.get_function_configuration().function_name(function).send().await.unwrap();
    let env = f.environment().unwrap().variables().unwrap();
    assert_eq!(env.get("PULSE_SLACK_TEAM_ID").map(String::as_str), Some("T0PRAKTIKA"));
    assert_eq!(env.get("PULSE_STACK"), Some(&prefix));
    assert_eq!(env.get("EVENT_FEED_S3_PATH").map(String::as_str), Some(""), "no prefix: Pulse's own bucket");
    let role = format!("{prefix}-praktika-slack-worker");
    let publish = role_policy(&clients, &role, "publish").await;
    assert_eq!(publish["Statement"][0]["Action"], json!("events:PutEvents"));
    assert_eq!(publish["Statement"][0]["Resource"], json!(cx.bus_arn(&format!("{prefix}-bus"))));
    let failures = role_policy(&clients, &role, "failures").await;
    assert_eq!(failures["Statement"][0]["Resource"], json!(cx.sqs_arn(&failed)));

    // A redeploy changes nothing.
    let again = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    assert!(!again.has_changes(), "{again}");
    assert_eq!(apply(&again, &clients, |_| {}).await.unwrap().api_calls.write, 0);

    // A changed setting is one Put on the function, nothing else (no new version).
    let mut fewer = stack.clone();
    for d in &mut fewer.resources {
        if let ResourceSpec::Lambda(l) = &mut d.spec {
            l.asynchronous.as_mut().unwrap().maximum_retry_attempts = 0;
        }
    }
    let p = plan(&fewer, &clients, &PlanOptions::default()).await.unwrap();
    let entry = p.entry(&ResourceId::new(Kind::Lambda, function)).unwrap();
    assert_eq!(entry.change.fields().iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["Asynchronous"], "{p}");
    let report = apply(&p, &clients, |_| {}).await.unwrap();
    assert_eq!(report.api_calls.writes(), ["lambda:PutFunctionEventInvokeConfig"]);
    let config = clients.lambda.get_function_event_invoke_config().function_name(function).send().await.unwrap();
    assert_eq!(config.maximum_retry_attempts(), Some(0));
    assert!(!plan(&fewer, &clients, &PlanOptions::default()).await.unwrap().has_changes());
}

#[tokio::test]
async fn the_deployment_on_praktikas_bucket_turns_its_notifications_on_and_keeps_the_owners() {
    let clients = Clients::new(&emulator_config().await);
    let cx = clients.context().await.unwrap();
    put_secret(&clients, "/pulse/slack/bot-token", "xoxb-example").await;
    put_secret(&clients, "/pulse/slack/signing-secret", "example-signing-secret").await;
    let prefix = unique("pb");

    // Another team's bucket, with a queue notification of its own.
    let theirs = unique("theirs");
    clients.s3.create_bucket().bucket(&theirs).send().await.unwrap();
    let their_queue = unique("their-queue");
    clients.sqs.create_queue().queue_name(&their_queue).send().await.unwrap();
    let notification = NotificationConfiguration::builder()
        .queue_configurations(
            QueueConfiguration::builder()
                .id("theirs")
                .queue_arn(cx.sqs_arn(&their_queue))
                .events(S3Event::S3ObjectRemoved)
                .build()
                .unwrap(),
        )
        .build();
    clients.s3.put_bucket_notification_configuration().bucket(&theirs).notification_configuration(notification).send().await.unwrap();

    let options = LoadOptions::new(&prefix).var("feed_bucket", &theirs).var("feed_prefix", "ci/pulse").flag("praktika_bucket", true);
    let stack = example("pulse-deployment.json", &options, &stand_in_zip(), &cx.region);
    let first = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    let entry = first.entry(&ResourceId::new(Kind::BucketNotifications, &theirs)).unwrap();
    assert_eq!(entry.change.fields().iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["EventBridgeNotifications"], "{first}");
    apply(&first, &clients, |_| {}).await.unwrap();

    // Their bucket: EventBridge on, their queue notification kept.
    let n = clients.s3.get_bucket_notification_configuration().bucket(&theirs).send().await.unwrap();
    assert!(n.event_bridge_configuration().is_some());
    assert_eq!(n.queue_configurations().iter().map(|q| q.queue_arn()).collect::<Vec<_>>(), [cx.sqs_arn(&their_queue).as_str()]);

    // The three feed services read (and the feed-projector writes) there.
    let path = format!("{theirs}/ci/pulse");
    for svc in ["feed-projector", "home-renderer", "notifier"] {
        let f = clients.lambda.get_function_configuration().function_name(format!("{prefix}-{svc}")).send().await.unwrap();
        assert_eq!(f.environment().unwrap().variables().unwrap().get("EVENT_FEED_S3_PATH"), Some(&path), "{svc}");
        let work = role_policy(&clients, &format!("{prefix}-{svc}"), "work").await.to_string();
        assert!(work.contains(&format!("arn:aws:s3:::{theirs}/ci/pulse/events/*")), "{svc}: {work}");
        assert!(!work.contains(&format!("{prefix}-feeds")), "{svc}: {work}");
        assert_eq!(work.contains("s3:PutObject"), svc == "feed-projector", "{svc}: {work}");
    }

    // Objects praktika creates there reach the feed-projector's queue through the default bus.
    let rule = clients.eventbridge.describe_rule().name(format!("{prefix}-praktika-feed-objects")).send().await.unwrap();
    let pattern: Value = serde_json::from_str(rule.event_pattern().unwrap()).unwrap();
    assert_eq!(pattern["detail"]["bucket"]["name"], json!([theirs]));
    assert_eq!(pattern["detail"]["object"]["key"], json!([{"prefix": "ci/pulse/events/"}]));
    let targets = clients.eventbridge.list_targets_by_rule().rule(format!("{prefix}-praktika-feed-objects")).send().await.unwrap();
    assert_eq!(targets.targets()[0].arn(), cx.sqs_arn(&format!("{prefix}-feed-projector")));

    let again = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    assert!(!again.has_changes(), "{again}");
    assert_eq!(apply(&again, &clients, |_| {}).await.unwrap().api_calls.write, 0);
}

#[tokio::test]
async fn a_missing_unowned_bucket_fails_the_plan_naming_it() {
    let clients = Clients::new(&emulator_config().await);
    let missing = unique("nobody-made-it");
    let text = json!({"resources": [{"kind": "BucketNotifications", "name": missing}]}).to_string();
    let stack = StackConfig::parse(&text, "test", &LoadOptions::new(unique("pm"))).unwrap();
    let err = plan(&stack, &clients, &PlanOptions::default()).await.unwrap_err().to_string();
    assert!(err.contains(&format!("BucketNotifications {missing}")) && err.contains("does not exist"), "{err}");
    assert!(clients.s3.head_bucket().bucket(&missing).send().await.is_err(), "nothing was created");
}
