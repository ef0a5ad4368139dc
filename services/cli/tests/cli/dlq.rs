//! `pulse dlq list` as an operator runs it: the real binary, against the emulator.

use std::collections::BTreeSet;
use std::process::Command;

use pulse_aws::names::StackNames;
use pulse_aws::sqs::Queue;
use pulse_runtime::dead_letter::REASON_ATTRIBUTE;

const PULSE: &str = env!("CARGO_BIN_EXE_pulse");

/// The notifier's dead-letter queue of a fresh stack prefix, holding `count` rejected messages;
/// returns the queue and the message ids in the order sent.
async fn dead_letters(count: usize) -> (StackNames, Queue, Vec<String>) {
    let config = pulse_tests::emulator_config().await;
    let names = StackNames::new(pulse_tests::unique("dlq"));
    let name = names.dead_letter_queue("notifier");
    let sqs = aws_sdk_sqs::Client::new(&config);
    sqs.create_queue().queue_name(&name).send().await.expect("create the DLQ");
    let dlq = Queue::from_name(sqs, &name).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..count {
        let reason = format!("unknown event type test.{i}");
        ids.push(dlq.send(&format!(r#"{{"n":{i}}}"#), &[(REASON_ATTRIBUTE, &reason)]).await.unwrap());
    }
    (names, dlq, ids)
}

fn pulse(names: &StackNames, args: &[&str]) -> String {
    let out = Command::new(PULSE).args(args).env("PULSE_STACK", names.prefix()).output().expect("run pulse");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "pulse {args:?} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The distinct message ids visible in `queue` now (received, then made visible again).
async fn visible_ids(queue: &Queue) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut handles = Vec::new();
    loop {
        let batch = queue.receive_hidden_for(10, 1, 30).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for m in batch {
            ids.insert(m.message_id);
            handles.push(m.receipt_handle);
        }
    }
    queue.change_visibility_batch(&handles, 0).await.unwrap();
    ids
}

#[tokio::test]
async fn list_shows_each_dead_letter_once_and_leaves_them_in_the_queue() {
    let (names, dlq, ids) = dead_letters(3).await;

    let stdout = pulse(&names, &["dlq", "list", "notifier"]);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(stdout.matches(id.as_str()).count(), 1, "{id} must be shown once:\n{stdout}");
        assert_eq!(stdout.matches(&format!("reason: unknown event type test.{i}\n")).count(), 1, "{stdout}");
    }
    assert!(stdout.contains(&format!("3 message(s) shown from {}\n", dlq.name())), "{stdout}");

    // Still in the DLQ and visible at once: listing again shows the same three, and so does SQS.
    let again = pulse(&names, &["dlq", "list", "notifier"]);
    assert!(again.contains("3 message(s) shown"), "{again}");
    assert_eq!(visible_ids(&dlq).await, ids.iter().cloned().collect());
}

#[tokio::test]
async fn list_stops_at_max_and_says_so() {
    let (names, dlq, ids) = dead_letters(3).await;

    let stdout = pulse(&names, &["dlq", "list", "notifier", "--max", "2"]);
    let shown: Vec<&String> = ids.iter().filter(|id| stdout.contains(id.as_str())).collect();
    assert_eq!(shown.len(), 2, "{stdout}");
    assert!(shown.iter().all(|id| stdout.matches(id.as_str()).count() == 1), "{stdout}");
    assert!(stdout.contains(&format!("2 message(s) shown from {} (stopped at --max 2; there may be more)\n", dlq.name())), "{stdout}");
    assert_eq!(visible_ids(&dlq).await.len(), 3, "nothing is left hidden");
}
