//! What still fails reaches the dead-letter queue and can be replayed; no secret in any log.

use std::time::{Duration, Instant};

use pulse_fake_slack::Fault;

use crate::harness::{Stack, example};
use crate::logs;

#[tokio::test]
async fn a_message_slack_keeps_refusing_is_dead_lettered_then_replayed_and_sent_once() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    stack.slack.inject("chat.postMessage", Fault::SlackError("channel_not_found".into()), 100);
    stack.publish(&[example("ops.alert", "deploy-failed")]).await;

    // Retried with every receive until SQS's redrive (maxReceiveCount 5) moves it to the DLQ.
    let work = stack.queue(&stack.names.queue("notifier")).await;
    let dlq = stack.queue(&stack.names.dead_letter_queue("notifier")).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while dlq.approximate_depth().await.unwrap() == 0 && Instant::now() < deadline {
        stack.run(&notifier, 1, Duration::from_secs(2)).await;
    }
    assert_eq!(dlq.approximate_depth().await.unwrap(), 1, "dead-lettered");
    assert!(stack.slack.messages_in("C0DEPLOY").is_empty());

    // Slack recovers; the operator replays (`pulse dlq replay notifier`): posted exactly once.
    stack.slack.reset();
    let replayed = work.redrive_from_dlq(10).await.unwrap();
    assert_eq!(replayed, 1);
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!(stats.done, 1, "{stats:?}");
    assert_eq!(stack.slack.messages_in("C0DEPLOY").len(), 1);
    assert_eq!(stack.ledger_status("alert:deploy-failed-odoo-web-4411").await.as_deref(), Some("SENT"));
}

#[tokio::test]
async fn logs_carry_the_dedup_key_and_never_the_bot_token() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    stack.slack.inject("chat.postMessage", Fault::FailAfterEffect(500), 1);
    stack.slack.inject("conversations.history", Fault::SlackError("missing_scope".into()), 100);
    stack.publish(&[example("ops.alert", "deploy-failed")]).await;
    let (captured, _guard) = logs::capture();
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!(stats.done, 1, "{stats:?}");
    let lines = captured.lines();
    assert!(!lines.is_empty());
    let all: String = lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n");
    assert!(!all.contains("xoxb-test-token"), "the bot token leaked into the logs");
    let uncertain = lines
        .iter()
        .find(|l| l["message"].as_str().is_some_and(|m| m.contains("UNCONFIRMED")))
        .unwrap_or_else(|| panic!("no UNCONFIRMED warning in {all}"));
    assert_eq!(uncertain["dedup_key"], "alert:deploy-failed-odoo-web-4411", "{uncertain}");
    assert_eq!(uncertain["level"], "WARN");
}
