use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use pulse_contracts::Event;
use pulse_runtime::Deadline;
use pulse_runtime::dead_letter::REASON_ATTRIBUTE;
use pulse_runtime::lambda::{Queues, process_batch};
use pulse_runtime::poller::PollerOptions;

use crate::harness::{Stack, example, fast_poller, workflow};
use crate::logs;

#[tokio::test]
async fn bad_messages_go_to_the_dead_letter_queue_with_their_reason() {
    let stack = Stack::deploy().await;
    let queue = stack.work_queue().await;

    let mut unknown_version = example("running-pr").to_raw();
    unknown_version.version = 9;
    let not_ours = Event::SlackHomeOpenedV1(
        serde_json::from_value(serde_json::json!({"team_id": "T1", "user_id": "U1", "tab": "home", "event_ts": "1.2"})).unwrap(),
    )
    .into_envelope("pulse.ingress", "home:U1", uuid::Uuid::new_v4(), chrono::Utc::now())
    .to_raw();
    let mut missing_field = serde_json::to_value(example("running-pr").to_raw()).unwrap();
    missing_field["detail"].as_object_mut().unwrap().remove("sha");

    let cases = [
        ("{not json", "not JSON"),
        (&serde_json::to_string(&unknown_version).unwrap()[..], "version 9"),
        (&serde_json::to_string(&not_ours).unwrap()[..], "does not consume `slack.home_opened`"),
        (&missing_field.to_string()[..], "sha"),
    ];
    for (body, _) in &cases {
        queue.send(body, &[]).await.unwrap();
    }

    let (captured, _guard) = logs::capture();
    let stats = stack.project(&stack.projector(), &fast_poller(), cases.len(), Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (0, cases.len()), "{stats:?}");
    assert!(queue.receive(10, 0).await.unwrap().is_empty(), "rejected messages are removed from the work queue");

    let dead = stack.drain(&stack.names.dead_letter_queue("feed-projector"), cases.len()).await;
    assert_eq!(dead.len(), cases.len());
    for (body, expected) in &cases {
        let message = dead.iter().find(|m| m.body == *body).unwrap_or_else(|| panic!("{body} not in the DLQ"));
        let reason = message.attributes.get(REASON_ATTRIBUTE).expect("reason attribute");
        assert!(reason.contains(expected), "reason for {body:.40}: {reason}");
        assert!(captured.lines().iter().any(|l| l["reason"].as_str() == Some(reason.as_str())), "the reason was not logged: {reason}");
    }
}

#[tokio::test]
async fn a_failing_dependency_is_retried_then_dead_lettered_and_can_be_replayed() {
    let stack = Stack::deploy().await;
    let event = example("running-pr");
    stack.set_now(workflow(&event).timestamp + 60);
    stack.publish(std::slice::from_ref(&event)).await;

    // The bucket does not exist: every attempt fails with a retryable S3 error.
    let broken = stack.projector_with_bucket(format!("{}-missing", stack.names.feed_bucket()));
    let queue = stack.work_queue().await;
    let dlq = stack.queue(&stack.names.dead_letter_queue("feed-projector")).await;
    let worker = stack.worker(&broken);
    // The queue's redrive policy says 5 receives: the runtime retries 4 times, then dead-letters
    // it itself on the last one, with the reason (SQS would move it without one).
    let options = PollerOptions { max_receive_count: Some(5), ..fast_poller() };
    let (mut retried, mut dead_lettered) = (0, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while dead_lettered == 0 && std::time::Instant::now() < deadline {
        let round = pulse_runtime::poller::poll_once(&worker, &queue, &options).await.unwrap();
        retried += round.retried;
        dead_lettered += round.dead_lettered;
    }
    assert_eq!((retried, dead_lettered), (4, 1), "retried until the last receive, then dead-lettered by the runtime");
    let dead = pulse_tests::drain(&dlq, 1).await;
    assert_eq!(dead.len(), 1);
    let reason = &dead[0].attributes[REASON_ATTRIBUTE];
    assert!(reason.contains("missing") && reason.contains("receive 5 of 5"), "{reason}");
    dlq.send(&dead[0].body, &[(REASON_ATTRIBUTE, reason)]).await.unwrap();
    assert!(stack.feed("alice@clickhouse.com").await.is_none());

    // Replay once the cause is fixed: back to the work queue, then projected.
    assert_eq!(queue.redrive_from_dlq(10).await.unwrap(), 1);
    let stats = stack.project(&stack.projector(), &fast_poller(), 1, Duration::from_secs(20)).await;
    assert_eq!(stats.done, 1, "{stats:?}");
    assert_eq!(stack.feed("alice@clickhouse.com").await.expect("feed after replay").events.len(), 1);
}

fn record(id: &str, body: &str) -> SqsMessage {
    serde_json::from_value(serde_json::json!({
        "messageId": id,
        "receiptHandle": format!("handle-{id}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }))
    .unwrap()
}

#[tokio::test]
async fn the_lambda_transport_reports_only_the_failed_message_ids() {
    let stack = Stack::deploy().await;
    let event = example("running-pr");
    stack.set_now(workflow(&event).timestamp + 60);
    let good = pulse_contracts::eventbridge_wrap(&event.to_raw(), "ci").to_string();
    let batch = || vec![record("m-good", &good), record("m-bad", "{not json")];

    // With S3 failing, the valid message is reported for retry; the malformed one is settled in
    // the DLQ and must not be redelivered.
    let broken = stack.projector_with_bucket(format!("{}-missing", stack.names.feed_bucket()));
    let queues = Queues::new(aws_sdk_sqs::Client::new(&stack.config));
    let deadline = Deadline::after(Duration::from_secs(60));
    let response = process_batch(&stack.worker(&broken), &queues, batch(), deadline).await;
    let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["m-good"]);

    let response = process_batch(&stack.worker(&stack.projector()), &queues, batch(), deadline).await;
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);
    assert_eq!(stack.feed("alice@clickhouse.com").await.expect("feed").events.len(), 1);
    assert_eq!(
        stack.drain(&stack.names.dead_letter_queue("feed-projector"), 2).await.len(),
        2,
        "the malformed record was dead-lettered in each batch"
    );
}
