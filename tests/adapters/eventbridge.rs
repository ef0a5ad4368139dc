//! EventPublisher against the emulator: bus → rule (detail-type prefix) → SQS target.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_eventbridge::types::Target;
use aws_sdk_sqs::types::QueueAttributeName;
use pulse_aws::eventbridge::{EventPublisher, MAX_CALL_BYTES, PublishError, PublishReport};
use pulse_aws::sqs::Queue;
use pulse_contracts::Envelope;
use pulse_core::retry::Backoff;
use pulse_tests::{emulator_config, unique};
use serde_json::{Value, json};

use crate::common::{create_queue, drain, envelope, init_tracing};

struct Route {
    eventbridge: aws_sdk_eventbridge::Client,
    bus: String,
    /// Event types starting with `<prefix>.` are routed to `queue`.
    prefix: String,
    queue: Queue,
}

/// A bus with a rule matching detail-types that start with a unique prefix, targeting a queue.
async fn route() -> Route {
    init_tracing();
    let config = emulator_config().await;
    let eventbridge = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let bus = unique("bus");
    let prefix = unique("evt");
    eventbridge.create_event_bus().name(&bus).send().await.expect("create bus");
    let rule_arn = eventbridge
        .put_rule()
        .name(unique("rule"))
        .event_bus_name(&bus)
        .event_pattern(json!({"detail-type": [{"prefix": format!("{prefix}.")}]}).to_string())
        .send()
        .await
        .expect("put rule")
        .rule_arn
        .expect("rule arn");
    let rule_name = rule_arn.rsplit('/').next().unwrap().to_owned();
    let (url, queue_arn) = create_queue(&sqs, &unique("target"), &[]).await;
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        }],
    });
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .expect("queue policy");
    eventbridge
        .put_targets()
        .rule(&rule_name)
        .event_bus_name(&bus)
        .targets(Target::builder().id("queue").arn(&queue_arn).build().unwrap())
        .send()
        .await
        .expect("put targets");
    Route { eventbridge, bus, prefix, queue: Queue::from_url(sqs, url) }
}

/// Check that each received EventBridge event carries one of `sent` intact; returns them by id.
fn check_delivered(received: &[pulse_aws::sqs::ReceivedMessage], sent: &[Envelope]) -> HashMap<String, Envelope> {
    let by_id: HashMap<String, &Envelope> = sent.iter().map(|e| (e.id.to_string(), e)).collect();
    let mut delivered = HashMap::new();
    for message in received {
        let event: Value = serde_json::from_str(&message.body).expect("EventBridge event JSON");
        let detail: Envelope = serde_json::from_value(event["detail"].clone()).expect("detail is an envelope");
        let original = by_id.get(&detail.id.to_string()).unwrap_or_else(|| panic!("unexpected event {}", detail.id));
        assert_eq!(&&detail, original, "envelope must arrive intact as the detail");
        assert_eq!(event["detail-type"], json!(original.detail_type()));
        assert_eq!(event["source"], json!(original.source));
        assert!(delivered.insert(detail.id.to_string(), detail).is_none(), "duplicate delivery");
    }
    delivered
}

#[tokio::test]
async fn publishes_25_events_in_3_calls_and_they_arrive_intact() {
    let r = route().await;
    let event_type = format!("{}.thing", r.prefix);
    let events: Vec<Envelope> = (0..25).map(|n| envelope(&event_type, 2, json!({"n": n, "text": "héllo"}))).collect();
    let publisher = EventPublisher::new(r.eventbridge.clone(), &r.bus);
    let report = publisher.publish(&events).await.expect("publish");
    assert_eq!(report, PublishReport { published: 25, calls: 3, resent: 0 });

    // An event outside the rule's prefix is accepted but not routed.
    let other = envelope(&unique("other"), 1, json!({}));
    assert_eq!(publisher.publish_one(&other).await.unwrap().published, 1);

    let received = drain(&r.queue, 26, Duration::from_secs(15)).await;
    assert_eq!(received.len(), 25, "exactly the 25 matching events arrive");
    let delivered = check_delivered(&received, &events);
    assert_eq!(delivered.len(), 25);
    assert!(delivered.values().all(|e| e.detail_type() == format!("{event_type}.v2")));
}

#[tokio::test]
async fn batches_by_size_under_256_kb() {
    let r = route().await;
    let event_type = format!("{}.big", r.prefix);
    let blob = "x".repeat(100 * 1024);
    let events: Vec<Envelope> = (0..5).map(|n| envelope(&event_type, 1, json!({"n": n, "blob": blob}))).collect();
    let report = EventPublisher::new(r.eventbridge.clone(), &r.bus).publish(&events).await.expect("publish");
    // ~100 KB each: two per call fit in 256 KB, three do not.
    assert_eq!(report, PublishReport { published: 5, calls: 3, resent: 0 });
    let received = drain(&r.queue, 5, Duration::from_secs(15)).await;
    assert_eq!(check_delivered(&received, &events).len(), 5);
}

#[tokio::test]
async fn an_oversized_event_is_rejected_and_nothing_is_sent() {
    let r = route().await;
    let event_type = format!("{}.huge", r.prefix);
    let small = envelope(&event_type, 1, json!({"n": 1}));
    let big = envelope(&event_type, 1, json!({"blob": "y".repeat(MAX_CALL_BYTES)}));
    let err = EventPublisher::new(r.eventbridge.clone(), &r.bus).publish(&[small, big.clone()]).await.expect_err("too large");
    match err {
        PublishError::TooLarge { id, size } => {
            assert_eq!(id, big.id.to_string());
            assert!(size > MAX_CALL_BYTES);
            assert_eq!(size, big.source.len() + big.detail_type().len() + big.to_json().len());
        }
        other => panic!("expected TooLarge, got {other}"),
    }
    assert!(r.queue.receive(10, 2).await.unwrap().is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn a_missing_bus_is_a_call_error_naming_the_bus() {
    init_tracing();
    let config = emulator_config().await;
    let bus = unique("no-such-bus");
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), &bus).with_backoff(Backoff::new(
        Duration::from_millis(1),
        Duration::from_millis(5),
        3,
    ));
    let err = publisher.publish(&[envelope("x.y", 1, json!({}))]).await.expect_err("no bus");
    assert!(matches!(err, PublishError::Call { published: 0, .. }), "{err}");
    assert!(err.to_string().contains(&bus), "{err}");
}
