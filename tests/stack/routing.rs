//! After a deploy, events published on the bus reach the right queues; redrive policies, queue
//! policies and TTLs are in place.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sqs::types::QueueAttributeName;
use pulse_aws::names::{CONSUMERS, StackNames};
use serde_json::{Value, json};

use crate::common::Env;

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_secs(1);

async fn publish(env: &Env, detail_type: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let (event_type, version) = detail_type.rsplit_once(".v").unwrap();
    let envelope = json!({
        "id": id,
        "type": event_type,
        "version": version.parse::<u32>().unwrap(),
        "occurred_at": "2026-01-15T13:00:00Z",
        "source": "pulse.test",
        "dedup_key": format!("test:{id}"),
        "detail": {},
    });
    let out = env
        .events()
        .put_events()
        .entries(
            PutEventsRequestEntry::builder()
                .event_bus_name(env.name("bus"))
                .source("pulse.test")
                .detail_type(detail_type)
                .detail(envelope.to_string())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_entry_count(), 0);
    id
}

/// The envelope ids in the bodies (EventBridge delivers the event, the envelope as its detail).
fn ids(bodies: &[Value]) -> Vec<String> {
    bodies.iter().map(|b| b["detail"]["id"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test]
async fn events_reach_their_consumers_by_detail_type_prefix() {
    let env = Env::new().await;
    env.deploy().await;
    let names = StackNames::new(&env.prefix);

    let workflow = publish(&env, "ci.workflow.v1").await;
    let bodies = env.receive(&names.queue("feed-projector"), 1, WAIT).await;
    assert_eq!(ids(&bodies), [workflow]);
    assert_eq!(bodies[0]["detail-type"], "ci.workflow.v1");

    let future_version = publish(&env, "ci.workflow.v99").await;
    assert_eq!(ids(&env.receive(&names.queue("feed-projector"), 1, WAIT).await), [future_version]);

    let updated = publish(&env, "feed.updated.v1").await;
    assert_eq!(ids(&env.receive(&names.queue("home-renderer"), 1, WAIT).await), std::slice::from_ref(&updated));
    assert_eq!(ids(&env.receive(&names.queue("notifier"), 1, WAIT).await), [updated]);

    let deploy = publish(&env, "deploy.requested.v1").await;
    assert_eq!(ids(&env.receive(&names.queue("infra-reconciler"), 1, WAIT).await), [deploy]);

    // Nothing went where it does not belong.
    for c in ["notifier", "home-renderer", "infra-reconciler", "feed-projector"] {
        let stray = env.receive(&names.queue(c), 1, QUIET).await;
        assert!(stray.is_empty(), "{c} got {stray:?}");
    }
    for c in CONSUMERS {
        assert!(env.receive(&names.dead_letter_queue(c), 1, QUIET).await.is_empty());
    }
}

#[tokio::test]
async fn queues_redrive_to_their_dlqs_and_tables_expire_items() {
    let env = Env::new().await;
    env.deploy().await;
    let names = StackNames::new(&env.prefix);
    let sqs = env.sqs();
    for c in CONSUMERS {
        let out = sqs
            .get_queue_attributes()
            .queue_url(env.queue_url(&names.queue(c)).await)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let attrs = out.attributes().unwrap();
        let redrive: Value = serde_json::from_str(&attrs[&QueueAttributeName::RedrivePolicy]).unwrap();
        let target = redrive["deadLetterTargetArn"].as_str().unwrap();
        assert!(target.ends_with(&format!(":{}", names.dead_letter_queue(c))), "{c}: {redrive}");
        let max = &redrive["maxReceiveCount"];
        assert!(max == &json!(5) || max == &json!("5"), "{c}: {redrive}");
        // 6 × the consuming function's timeout in infra/examples/pulse-deployment.json.
        let visibility = if matches!(c, "notifier" | "infra-reconciler") { "360" } else { "180" };
        assert_eq!(attrs[&QueueAttributeName::VisibilityTimeout], visibility, "{c}");
        assert_eq!(attrs[&QueueAttributeName::ReceiveMessageWaitTimeSeconds], "20");

        let policy: Value = serde_json::from_str(&attrs[&QueueAttributeName::Policy]).unwrap();
        let statement = &policy["Statement"][0];
        assert_eq!(statement["Principal"]["Service"], "events.amazonaws.com");
        assert_eq!(statement["Action"], "sqs:SendMessage");
        let sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"].as_array().unwrap();
        assert!(!sources.is_empty());
        assert!(sources.iter().all(|s| s.as_str().unwrap().contains(":rule/")), "{policy}");

        let dlq = sqs
            .get_queue_attributes()
            .queue_url(env.queue_url(&names.dead_letter_queue(c)).await)
            .attribute_names(QueueAttributeName::MessageRetentionPeriod)
            .send()
            .await
            .unwrap();
        assert_eq!(dlq.attributes().unwrap()[&QueueAttributeName::MessageRetentionPeriod], "1209600");
    }
    // The notifier's policy admits the schedules on the default bus as well as the bus rules.
    let notifier = sqs
        .get_queue_attributes()
        .queue_url(env.queue_url(&names.queue("notifier")).await)
        .attribute_names(QueueAttributeName::Policy)
        .send()
        .await
        .unwrap();
    let policy = &notifier.attributes().unwrap()[&QueueAttributeName::Policy];
    assert!(policy.contains(&format!(":rule/{}-digest-daily\"", env.prefix)), "{policy}");
    assert!(policy.contains(&format!(":rule/{}/{}-feed-updated\"", names.bus(), env.prefix)), "{policy}");

    let ddb = env.dynamodb();
    let tables = [
        ("ingress", "envelopes"),
        ("feed-projector", "idempotency"),
        ("home-renderer", "idempotency"),
        ("home-renderer", "subscriptions"),
        ("notifier", "idempotency"),
        ("notifier", "messages"),
        ("notifier", "audit"),
        ("infra-reconciler", "idempotency"),
    ];
    for (service, purpose) in tables {
        let table = names.table(service, purpose);
        let ttl = ddb.describe_time_to_live().table_name(&table).send().await.unwrap();
        let d = ttl.time_to_live_description().unwrap();
        assert_eq!(d.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"), "{table}");
        assert_eq!(d.attribute_name(), Some("expires_at"), "{table}");
        let described = ddb.describe_table().table_name(&table).send().await.unwrap();
        let billing = described.table().unwrap().billing_mode_summary().and_then(|b| b.billing_mode()).map(|b| b.as_str());
        assert_eq!(billing, Some("PAY_PER_REQUEST"), "{table}");
    }
    let subs = ddb.describe_table().table_name(names.table("home-renderer", "subscriptions")).send().await.unwrap();
    let gsi: Vec<Option<&str>> = subs.table().unwrap().global_secondary_indexes().iter().map(|i| i.index_name()).collect();
    assert_eq!(gsi, [Some("by-email")]);

    let schedule = env.events().describe_rule().name(env.name("digest-weekly")).send().await.unwrap();
    assert_eq!(schedule.schedule_expression(), Some("cron(0 13 ? * MON *)"));
}

#[tokio::test]
async fn the_local_tap_sees_every_event() {
    let mut env = Env::new().await;
    pulse_tests::deploy_stack(&env.prefix, true).await;
    env.stack =
        pulse_infra_reconciler::StackConfig::pulse(&pulse_infra_reconciler::LoadOptions::new(&env.prefix).flag("local_tap", true)).unwrap();
    assert!(!pulse_infra_reconciler::plan(&env.stack, &env.clients, &Default::default()).await.unwrap().has_changes());
    let a = publish(&env, "ops.alert.v1").await;
    let b = publish(&env, "something.unrouted.v1").await;
    let mut seen = ids(&env.receive(&env.name("tap"), 2, WAIT).await);
    seen.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(seen, want);
}
