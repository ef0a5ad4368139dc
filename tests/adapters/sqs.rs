//! Queue against the emulator: long polling, batched delete, poison messages into the DLQ and
//! the redrive back.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use pulse_aws::sqs::{Queue, SqsError};
use pulse_tests::{emulator_config, unique};
use serde_json::json;

use crate::common::{create_queue, init_tracing};

async fn client() -> aws_sdk_sqs::Client {
    init_tracing();
    aws_sdk_sqs::Client::new(&emulator_config().await)
}

#[tokio::test]
async fn from_name_finds_the_queue_or_says_which_is_missing() {
    let client = client().await;
    let name = unique("named");
    let (url, _) = create_queue(&client, &name, &[]).await;
    let queue = Queue::from_name(client.clone(), &name).await.expect("queue");
    assert_eq!(queue.url(), url);
    assert_eq!(queue.name(), name);

    let missing = unique("missing");
    let err = Queue::from_name(client, &missing).await.expect_err("missing");
    assert!(matches!(err, SqsError::QueueNotFound { .. }), "{err}");
    assert!(err.to_string().contains(&missing));
}

#[tokio::test]
async fn long_poll_waits_for_a_message() {
    let client = client().await;
    let (url, _) = create_queue(&client, &unique("poll"), &[]).await;
    let queue = Queue::from_url(client, url);

    let started = Instant::now();
    assert!(queue.receive(10, 1).await.unwrap().is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900), "an empty long poll waits");

    let sender = queue.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        sender.send(r#"{"hello":"world"}"#, &[("kind", "greeting"), ("n", "7")]).await.unwrap();
    });
    let started = Instant::now();
    let received = queue.receive(10, 10).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(received.len(), 1);
    assert!(waited >= Duration::from_millis(1000) && waited < Duration::from_secs(9), "waited {waited:?}");
    let message = &received[0];
    assert_eq!(message.body, r#"{"hello":"world"}"#);
    assert_eq!(message.receive_count, 1);
    assert_eq!(message.attributes.get("kind").map(String::as_str), Some("greeting"));
    assert_eq!(message.attributes.get("n").map(String::as_str), Some("7"));
    assert!(!message.message_id.is_empty() && !message.receipt_handle.is_empty());
}

#[tokio::test]
async fn send_batch_and_delete_batch_handle_more_than_ten() {
    let client = client().await;
    let (url, _) = create_queue(&client, &unique("batch"), &[]).await;
    let queue = Queue::from_url(client, url);
    let bodies: Vec<String> = (0..23).map(|n| json!({"n": n}).to_string()).collect();
    let ids = queue.send_batch(&bodies).await.expect("send batch");
    assert_eq!(ids.len(), 23);
    assert!(ids.iter().all(|id| !id.is_empty()));
    assert_eq!(queue.approximate_depth().await.unwrap(), 23);

    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.len() < 23 && Instant::now() < deadline {
        received.extend(queue.receive(10, 1).await.unwrap());
    }
    assert_eq!(received.len(), 23);
    // In flight still counts.
    assert_eq!(queue.approximate_depth().await.unwrap(), 23);
    let mut seen: Vec<String> = received.iter().map(|m| m.body.clone()).collect();
    seen.sort();
    let mut expected = bodies.clone();
    expected.sort();
    assert_eq!(seen, expected);

    let handles: Vec<String> = received.iter().map(|m| m.receipt_handle.clone()).collect();
    queue.delete_batch(&handles).await.expect("delete batch");
    assert_eq!(queue.approximate_depth().await.unwrap(), 0);
    queue.delete_batch(&[]).await.expect("nothing to delete");
}

#[tokio::test]
async fn delete_batch_reports_bad_entries() {
    let client = client().await;
    let (url, _) = create_queue(&client, &unique("baddel"), &[]).await;
    let queue = Queue::from_url(client, url);
    queue.send("x", &[]).await.unwrap();
    let good = queue.receive(1, 1).await.unwrap().remove(0).receipt_handle;
    let handles = vec!["not-a-handle".to_owned(), good];
    let err = queue.delete_batch(&handles).await.expect_err("bad handle");
    match &err {
        SqsError::BatchFailures { failed, queue: name, .. } => {
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].0, 0);
            assert_eq!(name, queue.name());
        }
        other => panic!("expected BatchFailures, got {other}"),
    }
    // The good one was deleted all the same.
    assert_eq!(queue.approximate_depth().await.unwrap(), 0);
}

#[tokio::test]
async fn change_visibility_makes_a_message_visible_again() {
    let client = client().await;
    let (url, _) = create_queue(&client, &unique("vis"), &[(QueueAttributeName::VisibilityTimeout, "60".into())]).await;
    let queue = Queue::from_url(client, url);
    queue.send("again", &[]).await.unwrap();
    let first = queue.receive(1, 1).await.unwrap().remove(0);
    assert!(queue.receive(1, 1).await.unwrap().is_empty(), "invisible for 60 s");
    queue.change_visibility(&first.receipt_handle, 0).await.unwrap();
    let second = queue.receive(1, 2).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].body, "again");
    assert_eq!(second[0].receive_count, 2);
}

#[tokio::test]
async fn a_reader_pages_through_hidden_messages_and_shows_them_all_again_at_once() {
    let client = client().await;
    let (url, _) = create_queue(&client, &unique("peek"), &[]).await;
    let queue = Queue::from_url(client, url);
    let bodies: Vec<String> = (0..12).map(|i| format!("m{i}")).collect();
    queue.send_batch(&bodies).await.unwrap();

    let mut seen = Vec::new();
    loop {
        let batch = queue.receive_hidden_for(10, 1, 120).await.unwrap();
        if batch.is_empty() {
            break;
        }
        seen.extend(batch);
    }
    let mut got: Vec<String> = seen.iter().map(|m| m.body.clone()).collect();
    got.sort();
    let mut want = bodies.clone();
    want.sort();
    assert_eq!(got, want, "each message once: hidden messages are not received again");

    // 12 handles: two calls of at most 10.
    let handles: Vec<String> = seen.iter().map(|m| m.receipt_handle.clone()).collect();
    queue.change_visibility_batch(&handles, 0).await.unwrap();
    let mut again = 0;
    loop {
        let batch = queue.receive_hidden_for(10, 1, 120).await.unwrap();
        if batch.is_empty() {
            break;
        }
        again += batch.len();
    }
    assert_eq!(again, 12, "visible again at once, without waiting for the 120 s");
}

#[tokio::test]
async fn poison_message_lands_in_the_dlq_and_redrive_brings_it_back() {
    let client = client().await;
    let (dlq_url, dlq_arn) = create_queue(&client, &unique("poison-dlq"), &[]).await;
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}).to_string();
    let name = unique("poison");
    let (url, _) =
        create_queue(&client, &name, &[(QueueAttributeName::VisibilityTimeout, "1".into()), (QueueAttributeName::RedrivePolicy, redrive)])
            .await;
    let queue = Queue::from_url(client.clone(), url);
    let dlq = queue.dead_letter_queue().await.unwrap().expect("has a DLQ");
    assert_eq!(dlq.url(), dlq_url);
    assert!(dlq.dead_letter_queue().await.unwrap().is_none());
    let err = dlq.redrive_from_dlq(10).await.expect_err("a DLQ has no DLQ");
    assert!(matches!(err, SqsError::NoDeadLetterQueue { .. }), "{err}");

    let body = r#"{"poison":true}"#;
    queue.send(body, &[("trace", "abc")]).await.unwrap();
    // Receive without deleting, as a consumer that keeps failing would.
    let mut counts = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while dlq.approximate_depth().await.unwrap() == 0 {
        assert!(Instant::now() < deadline, "message never reached the DLQ (receive counts {counts:?})");
        for m in queue.receive(10, 2).await.unwrap() {
            counts.push(m.receive_count);
        }
    }
    assert_eq!(counts, vec![1, 2], "received maxReceiveCount times, then dead-lettered");
    assert_eq!(queue.approximate_depth().await.unwrap(), 0);

    let moved = queue.redrive_from_dlq(10).await.expect("redrive");
    assert_eq!(moved, 1);
    assert_eq!(dlq.approximate_depth().await.unwrap(), 0);
    let back = queue.receive(10, 2).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body, body);
    assert_eq!(back[0].attributes.get("trace").map(String::as_str), Some("abc"));
    assert_eq!(back[0].receive_count, 1, "a replayed message starts afresh");
    assert_eq!(queue.redrive_from_dlq(10).await.unwrap(), 0, "nothing left to move");
}

#[tokio::test]
async fn redrive_respects_max() {
    let client = client().await;
    let (dlq_url, dlq_arn) = create_queue(&client, &unique("max-dlq"), &[]).await;
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}).to_string();
    let (url, _) = create_queue(&client, &unique("max"), &[(QueueAttributeName::RedrivePolicy, redrive)]).await;
    let queue = Queue::from_url(client.clone(), url);
    let dlq = Queue::from_url(client, dlq_url);
    let bodies: Vec<String> = (0..15).map(|n| n.to_string()).collect();
    dlq.send_batch(&bodies).await.unwrap();
    assert_eq!(queue.redrive_from_dlq(12).await.unwrap(), 12);
    assert_eq!(queue.approximate_depth().await.unwrap(), 12);
    // The 3 left behind may be in flight in the DLQ for its visibility timeout; depth counts them.
    assert_eq!(dlq.approximate_depth().await.unwrap(), 3);
}
