//! Personal DMs on `feed.updated`: one per (user, praktika key), whatever happens on the way.

use std::time::Duration;

use pulse_contracts::{Event, SubscriptionChanged};
use pulse_slack::fake::Fault;

use crate::harness::{Stack, again, example};

const USER: &str = "U2CERLKJA";
const DM: &str = "DU2CERLKJA";

fn subscription(revision: u64, notify_on_failure: bool) -> pulse_contracts::Envelope<Event> {
    let mut env = example("subscription.changed", "subscribed");
    let Event::SubscriptionChangedV1(ref mut sub) = env.detail else { unreachable!() };
    let sub: &mut SubscriptionChanged = sub;
    sub.revision = revision;
    sub.preferences.notify_on_failure = notify_on_failure;
    env.dedup_key = format!("subscription.changed:{USER}:{revision}");
    env
}

fn dm_key() -> String {
    let env = example("feed.updated", "new-failure");
    let Event::FeedUpdatedV1(u) = env.detail else { unreachable!() };
    pulse_notifier::dm::ledger_key(USER, u.email.as_str(), &u.newest_event)
}

/// Subscribe, then announce the failure; returns the stack and notifier after both are settled.
async fn subscribed_then_failed(stack: &Stack, feed_copies: usize) {
    let notifier = stack.notifier();
    stack.publish(&[subscription(4, true)]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    let update = example("feed.updated", "new-failure");
    let copies: Vec<_> = (0..feed_copies).map(|_| again(&update)).collect();
    stack.publish(&copies).await;
    let stats = stack.run(&notifier, feed_copies, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (feed_copies, 0), "{stats:?}");
}

#[tokio::test]
async fn a_failure_sends_one_dm_listing_the_failing_jobs_with_links() {
    let stack = Stack::deploy().await;
    subscribed_then_failed(&stack, 1).await;

    let dms = stack.slack.messages_in(DM);
    assert_eq!(dms.len(), 1, "{dms:#?}");
    let shown = dms[0].to_string();
    assert!(shown.contains("Stateless tests (amd_debug, parallel)"), "{shown}");
    assert!(!shown.contains("• Fast test"), "only failing jobs are listed: {shown}");
    assert!(shown.contains("|PR #91234>") && shown.contains("|run>") && shown.contains("|report>"), "{shown}");
    assert_eq!(stack.ledger_status(&dm_key()).await.as_deref(), Some("SENT"));
    // The DM channel was opened once and cached.
    assert_eq!(stack.slack.calls_to("conversations.open").len(), 1);
}

#[tokio::test]
async fn the_same_update_delivered_twice_sends_one_dm() {
    let stack = Stack::deploy().await;
    // Two copies in one batch race each other through the ledger...
    subscribed_then_failed(&stack, 2).await;
    assert_eq!(stack.slack.messages_in(DM).len(), 1);
    assert_eq!(stack.slack.calls_to("chat.postMessage").len(), 1);
    // ...and a late third copy finds the DM sent and the DM channel cached.
    let opened = stack.slack.calls_to("conversations.open").len();
    stack.publish(&[example("feed.updated", "new-failure")]).await;
    let stats = stack.run(&stack.notifier(), 1, Duration::from_secs(20)).await;
    assert_eq!(stats.done, 1, "{stats:?}");
    assert_eq!(stack.slack.messages_in(DM).len(), 1);
    assert_eq!(stack.slack.calls_to("chat.postMessage").len(), 1);
    assert_eq!(stack.slack.calls_to("conversations.open").len(), opened, "the DM channel is cached");
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_not_sent_again_on_retry() {
    let stack = Stack::deploy().await;
    stack.slack.inject("chat.postMessage", Fault::FailAfterEffect(500), 1);
    subscribed_then_failed(&stack, 1).await;
    assert_eq!(stack.slack.messages_in(DM).len(), 1, "posted once, by the attempt whose answer was lost");
    // The client did not retry the post inside the call, and the redelivery found the message
    // in the DM's history (by its metadata) instead of posting it again.
    assert_eq!(stack.slack.calls_to("chat.postMessage").len(), 1);
    assert_eq!(stack.slack.calls_to("conversations.history").len(), 1);
    assert_eq!(stack.ledger_status(&dm_key()).await.as_deref(), Some("SENT"));
}

#[tokio::test]
async fn a_post_that_failed_without_effect_is_sent_on_retry() {
    let stack = Stack::deploy().await;
    // A 500 that did not post: the retry finds nothing in the history and sends it.
    stack.slack.inject("chat.postMessage", Fault::ServerError(500), 1);
    subscribed_then_failed(&stack, 1).await;
    assert_eq!(stack.slack.messages_in(DM).len(), 1, "{:#?}", stack.slack.messages_in(DM));
    assert_eq!(stack.slack.calls_to("chat.postMessage").len(), 2, "the failed post and the resend");
    assert_eq!(stack.slack.calls_to("conversations.history").len(), 1);
    assert_eq!(stack.ledger_status(&dm_key()).await.as_deref(), Some("SENT"));
}

#[tokio::test]
async fn when_history_cannot_be_read_an_uncertain_post_is_taken_as_delivered() {
    let stack = Stack::deploy().await;
    stack.slack.inject("chat.postMessage", Fault::FailAfterEffect(500), 1);
    // A workspace that did not grant the history scopes.
    stack.slack.inject("conversations.history", Fault::SlackError("missing_scope".into()), 100);
    subscribed_then_failed(&stack, 1).await;
    assert_eq!(stack.slack.messages_in(DM).len(), 1);
    assert_eq!(stack.slack.calls_to("chat.postMessage").len(), 1, "not re-sent: a duplicate is worse");
    assert_eq!(stack.ledger_status(&dm_key()).await.as_deref(), Some("UNCONFIRMED"));
}

#[tokio::test]
async fn a_rate_limited_post_waits_and_is_sent_once() {
    let stack = Stack::deploy().await;
    stack.slack.inject("chat.postMessage", Fault::RateLimited { retry_after_secs: 1 }, 1);
    subscribed_then_failed(&stack, 1).await;
    assert_eq!(stack.slack.messages_in(DM).len(), 1);
    assert_eq!(stack.slack.calls_to("chat.postMessage").len(), 2, "one 429, one success");
    assert_eq!(stack.ledger_status(&dm_key()).await.as_deref(), Some("SENT"));
}

#[tokio::test]
async fn a_stale_subscription_event_does_not_override_a_newer_one() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    // Revision 5 turns failure DMs off; revision 4 (on) arrives late and must be ignored.
    stack.publish(&[subscription(5, false)]).await;
    stack.run(&notifier, 1, Duration::from_secs(20)).await;
    stack.publish(&[subscription(4, true)]).await;
    stack.run(&notifier, 1, Duration::from_secs(20)).await;
    stack.publish(&[example("feed.updated", "new-failure")]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!(stats.done, 1, "{stats:?}");
    assert!(stack.slack.messages_in(DM).is_empty(), "{:?}", stack.slack.messages_in(DM));
}

#[tokio::test]
async fn a_slack_outage_fails_the_event_for_redelivery_and_nothing_is_lost() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    stack.publish(&[subscription(4, true)]).await;
    stack.run(&notifier, 1, Duration::from_secs(20)).await;
    // `ok:false` has no effect: the claim is released and the redelivery sends it.
    stack.slack.inject("chat.postMessage", Fault::SlackError("internal_error".into()), 2);
    stack.publish(&[example("feed.updated", "new-failure")]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.retried), (1, 2), "{stats:?}");
    assert_eq!(stack.slack.messages_in(DM).len(), 1);
    assert_eq!(stack.ledger_status(&dm_key()).await.as_deref(), Some("SENT"));
}
