//! Personal DMs on `feed.updated`: one per (user, praktika key), whatever happens on the way;
//! one DM per run when both "complete" and "failure" apply, stating the real outcome.

use std::time::Duration;

use pulse_contracts::praktika::{RunResult, Status};
use pulse_contracts::{Envelope, Event, SubscriptionChanged};
use pulse_fake_slack::Fault;
use pulse_notifier::dm::DmKind;

use crate::harness::{Stack, again, example};

const USER: &str = "U2CERLKJA";
const DM: &str = "DU2CERLKJA";

fn subscription(revision: u64, notify_on_failure: bool) -> Envelope<Event> {
    subscription_with(revision, false, notify_on_failure)
}

fn subscription_with(revision: u64, notify_on_complete: bool, notify_on_failure: bool) -> Envelope<Event> {
    let mut env = example("subscription.changed", "subscribed");
    let Event::SubscriptionChangedV1(ref mut sub) = env.detail else { unreachable!() };
    let sub: &mut SubscriptionChanged = sub;
    sub.revision = revision;
    sub.preferences.notify_on_complete = notify_on_complete;
    sub.preferences.notify_on_failure = notify_on_failure;
    env.dedup_key = format!("subscription.changed:{USER}:{revision}");
    env
}

/// The ledger key of `update`'s DM of `kind` to [`USER`].
fn key_of(update: &Envelope<Event>, kind: DmKind) -> String {
    let Event::FeedUpdatedV1(ref u) = update.detail else { unreachable!() };
    pulse_notifier::dm::ledger_key(USER, kind, u.email.as_str(), &u.newest_event)
}

fn dm_key() -> String {
    key_of(&example("feed.updated", "new-failure"), DmKind::Failure)
}

/// A `feed.updated` as praktika's CI writes it today: `ci_status: "FAIL"`, upper-case job
/// statuses, the event compacted (jobs keep name and status, no durations or links).
fn fail_update() -> Envelope<Event> {
    let mut env = example("feed.updated", "new-failure");
    let Event::FeedUpdatedV1(ref mut u) = env.detail else { unreachable!() };
    let e = &mut u.newest_event;
    e.ci_status = Status::new("FAIL");
    e.result.status = Status::new("FAIL");
    let jobs = [
        ("Style check", "OK"),
        ("Stateless tests (amd_debug, parallel)", "FAIL"),
        ("Integration tests (asan, 2/4)", "ERROR"),
        ("Build (arm_release)", "DROPPED"),
        ("Unit tests (xpass)", "XPASS"),
        ("Stress test", "UNKNOWN"),
    ];
    e.result.results = Some(jobs.iter().map(|(n, s)| RunResult::named(*n, s)).collect());
    e.result.compact();
    env.dedup_key = format!("feed.updated:{}:fail", u.email.as_str());
    env
}

/// Apply `subscription`, then deliver `copies` of `update`.
async fn deliver(stack: &Stack, subscription: Envelope<Event>, update: &Envelope<Event>, copies: usize) {
    let notifier = stack.notifier();
    stack.publish(&[subscription]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    let batch: Vec<_> = (0..copies).map(|_| again(update)).collect();
    stack.publish(&batch).await;
    let stats = stack.run(&notifier, copies, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (copies, 0), "{stats:?}");
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

#[tokio::test]
async fn complete_only_on_a_fail_run_sends_one_dm_that_says_it_failed_and_names_the_failing_jobs() {
    let stack = Stack::deploy().await;
    let update = fail_update();
    deliver(&stack, subscription_with(4, true, false), &update, 1).await;

    let dms = stack.slack.messages_in(DM);
    assert_eq!(dms.len(), 1, "{dms:#?}");
    let shown = dms[0].to_string();
    assert!(shown.contains("CI failed"), "{shown}");
    assert!(!shown.contains("white_check_mark"), "a failed run is not shown as passed: {shown}");
    assert!(shown.contains("• Stateless tests (amd_debug, parallel)") && shown.contains("• Integration tests (asan, 2/4)"), "{shown}");
    for not_failing in ["• Style check", "• Build (arm_release)", "• Unit tests (xpass)", "• Stress test"] {
        assert!(!shown.contains(not_failing), "{not_failing} is not a failing job: {shown}");
    }
    assert!(shown.contains("notification: complete"), "{shown}");
    // praktika's key, ci_status lower-cased; the failure kind was not asked for and not recorded.
    let complete = key_of(&update, DmKind::Complete);
    assert!(
        complete.starts_with("dm:U2CERLKJA:complete:alice@clickhouse.com:") && complete.contains(":fail:91234:ClickHouse/ClickHouse"),
        "{complete}"
    );
    assert_eq!(stack.ledger_status(&complete).await.as_deref(), Some("SENT"));
    assert_eq!(stack.ledger_status(&key_of(&update, DmKind::Failure)).await, None);
}

#[tokio::test]
async fn both_toggles_send_one_dm_recorded_under_both_keys_and_a_redelivery_sends_nothing() {
    let stack = Stack::deploy().await;
    let update = fail_update();
    // Two copies race each other through the ledger.
    deliver(&stack, subscription_with(4, true, true), &update, 2).await;

    let dms = stack.slack.messages_in(DM);
    assert_eq!(dms.len(), 1, "{dms:#?}");
    let shown = dms[0].to_string();
    assert!(shown.contains("CI failed") && shown.contains("• Stateless tests (amd_debug, parallel)"), "{shown}");
    assert!(shown.contains("notification: failure + complete"), "{shown}");
    let store = stack.store();
    let failure = store.ledger(&key_of(&update, DmKind::Failure)).await.unwrap().expect("failure key recorded");
    let complete = store.ledger(&key_of(&update, DmKind::Complete)).await.unwrap().expect("complete key recorded");
    assert_eq!((failure.status.as_str(), complete.status.as_str()), ("SENT", "SENT"));
    assert_eq!((&failure.channel, &failure.ts), (&complete.channel, &complete.ts), "both keys name the one DM");

    // A late redelivery: still one DM.
    stack.publish(&[again(&update)]).await;
    let stats = stack.run(&stack.notifier(), 1, Duration::from_secs(20)).await;
    assert_eq!(stats.done, 1, "{stats:?}");
    assert_eq!(stack.slack.messages_in(DM).len(), 1);
    assert_eq!(stack.slack.calls_to("chat.postMessage").len(), 1);
}

#[tokio::test]
async fn a_kind_turned_on_later_gets_its_dm_once() {
    let stack = Stack::deploy().await;
    let update = fail_update();
    deliver(&stack, subscription_with(4, false, true), &update, 1).await;
    assert_eq!(stack.slack.messages_in(DM).len(), 1);
    assert_eq!(stack.ledger_status(&key_of(&update, DmKind::Complete)).await, None);

    // "Notify on complete" turned on; the same run is announced again by a later write of the
    // feed (a new announcement: its own dedup key).
    let republished = Envelope { id: uuid::Uuid::new_v4(), dedup_key: format!("{}:rewritten", update.dedup_key), ..update.clone() };
    deliver(&stack, subscription_with(5, true, true), &republished, 1).await;
    let dms = stack.slack.messages_in(DM);
    assert_eq!(dms.len(), 2, "the complete DM is not swallowed by the failure DM: {dms:#?}");
    let shown = dms[1].to_string();
    assert!(
        shown.contains("notification: complete") && shown.contains("CI failed") && shown.contains("• Integration tests (asan, 2/4)"),
        "{shown}"
    );
    assert_eq!(stack.ledger_status(&key_of(&update, DmKind::Complete)).await.as_deref(), Some("SENT"));

    stack.publish(&[again(&update)]).await;
    stack.run(&stack.notifier(), 1, Duration::from_secs(20)).await;
    assert_eq!(stack.slack.messages_in(DM).len(), 2, "and each only once");
}

#[tokio::test]
async fn a_dm_whose_second_key_was_lost_is_recorded_on_redelivery_without_a_second_dm() {
    let stack = Stack::deploy().await;
    let update = fail_update();
    deliver(&stack, subscription_with(4, true, true), &update, 1).await;
    let complete = key_of(&update, DmKind::Complete);
    let posted = stack.store().ledger(&complete).await.unwrap().expect("recorded");
    // As if the worker had died after posting, before recording the second key (so before its
    // completion was recorded too).
    stack.forget_claim(&update.dedup_key).await;
    aws_sdk_dynamodb::Client::new(&stack.config)
        .delete_item()
        .table_name(stack.names.table("notifier", "messages"))
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("msg#{complete}")))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("ledger".into()))
        .send()
        .await
        .expect("delete");

    stack.publish(&[again(&update)]).await;
    let stats = stack.run(&stack.notifier(), 1, Duration::from_secs(20)).await;
    assert_eq!(stats.done, 1, "{stats:?}");
    assert_eq!(stack.slack.messages_in(DM).len(), 1, "no second DM");
    let restored = stack.store().ledger(&complete).await.unwrap().expect("recorded again");
    assert_eq!((restored.status.as_str(), &restored.ts), ("SENT", &posted.ts));
}

/// praktika's run reaching Pulse both ways (issue #10): the feed-projector's own projection of
/// the `ci.workflow` event, and the announcement of praktika's write of the same feed (the
/// worker's `update` or S3's notification, `external_write`), with different envelopes and
/// dedup keys and the same newest run: one DM.
#[tokio::test]
async fn the_same_run_announced_both_ways_sends_one_dm() {
    let stack = Stack::deploy().await;
    let projected = fail_update();
    let mut external = fail_update();
    external.id = uuid::Uuid::new_v4();
    let Event::FeedUpdatedV1(ref mut u) = external.detail else { unreachable!() };
    u.changes = vec![pulse_contracts::FeedChange::ExternalWrite];
    external.dedup_key = format!("feed.updated:{}:external:\"etag-of-praktikas-write\"", u.email.as_str());
    assert_ne!(projected.dedup_key, external.dedup_key);

    let notifier = stack.notifier();
    stack.publish(&[subscription(4, true)]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    stack.publish(&[projected, external]).await;
    let stats = stack.run(&notifier, 2, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "{stats:?}");

    let dms = stack.slack.messages_in(DM);
    assert_eq!(dms.len(), 1, "one DM for one run: {dms:#?}");
    assert!(dms[0].to_string().contains("Stateless tests (amd_debug, parallel)"), "{}", dms[0]);
}

/// The subscriber with a GitHub account linked (`4810027+alice-ch`).
fn subscription_with_account(revision: u64, linked: bool) -> Envelope<Event> {
    let mut env = subscription(revision, true);
    let Event::SubscriptionChangedV1(ref mut sub) = env.detail else { unreachable!() };
    sub.github = if linked { vec![pulse_contracts::GithubAccount { id: 4810027, login: "alice-ch".into() }] } else { Vec::new() };
    env
}

/// `update` as announced for another feed (same event).
fn for_feed(update: &Envelope<Event>, email: &str) -> Envelope<Event> {
    let mut env = again(update);
    let Event::FeedUpdatedV1(ref mut u) = env.detail else { unreachable!() };
    u.email = pulse_contracts::Email::parse(email).unwrap();
    env.dedup_key = format!("feed.updated:{email}:fail");
    env
}

#[tokio::test]
async fn a_run_in_the_subscriber_s_feed_and_their_linked_account_s_is_one_dm_and_unlinking_stops_the_account_s() {
    const NOREPLY: &str = "4810027+alice-ch@users.noreply.github.com";
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    stack.publish(&[subscription_with_account(4, true)]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    let store = stack.store();
    let rows = |email: &'static str| {
        let store = store.clone();
        async move { store.subscribers(email).await.unwrap() }
    };
    let row = rows(NOREPLY).await;
    assert_eq!(row.len(), 1, "the account's feed has a row: {row:?}");
    assert_eq!((row[0].primary_email.as_str(), row[0].follows.len()), ("alice@clickhouse.com", 2));

    // The run reaches the account's feed first (she triggered it), then her own.
    let update = fail_update();
    stack.publish(&[for_feed(&update, NOREPLY)]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    stack.publish(&[again(&update)]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    assert_eq!(stack.slack.messages_in(DM).len(), 1, "one DM for the run, whichever feed announced it");
    // Under praktika's key, which names the subscription's email.
    assert_eq!(stack.ledger_status(&key_of(&update, DmKind::Failure)).await.as_deref(), Some("SENT"));

    // Unlinked (revision 5): the account's row is gone, her own stays.
    stack.publish(&[subscription_with_account(5, false)]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    assert!(rows(NOREPLY).await.is_empty());
    assert_eq!(rows("alice@clickhouse.com").await.len(), 1);
    // A late revision 4 changes nothing.
    stack.publish(&[again(&subscription_with_account(4, true))]).await;
    stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert!(rows(NOREPLY).await.is_empty(), "an older revision never brings the row back");
}
