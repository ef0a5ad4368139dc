//! Digest ticks: a DM digest per subscriber who asked for the period, once; retention purges.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use pulse_aws::s3json::{GzipJsonStore, Precondition};
use pulse_contracts::praktika::EventFeed;
use pulse_contracts::{DigestPeriod, DigestSchedule, Event};
use pulse_notifier::digest::feed_key;
use pulse_notifier::digest_run::Feeds;

use crate::harness::{Stack, again, example};

const ALICE: &str = "alice@clickhouse.com";

#[tokio::test]
async fn a_daily_tick_sends_one_digest_per_subscriber_and_purges_expired_subscriptions() {
    let stack = Stack::deploy().await;
    let feeds = GzipJsonStore::new(pulse_aws::config::s3_client(&stack.config), stack.names.feed_bucket());
    let notifier = stack.notifier().with_feeds(Feeds { store: feeds.clone(), prefix: String::new() });
    let now = chrono::Utc::now();

    // Alice's feed: one failed run an hour ago, one three days ago (outside the daily period).
    let Event::FeedUpdatedV1(update) = example("feed.updated", "new-failure").detail else { unreachable!() };
    let mut recent = update.newest_event.clone();
    recent.timestamp = now.timestamp() - 3600;
    let mut old = recent.clone();
    old.timestamp -= 3 * 86_400;
    old.ext.pr_number = 1;
    feeds.put(&feed_key("", ALICE), &EventFeed { events: vec![recent, old] }, Precondition::None).await.expect("write feed");

    // U2CERLKJA wants a daily digest; Bob unsubscribed 40 days ago.
    let mut alice_sub = example("subscription.changed", "subscribed");
    let Event::SubscriptionChangedV1(ref mut sub) = alice_sub.detail else { unreachable!() };
    sub.preferences.digest = Some(DigestSchedule::Daily);
    let mut bob_sub = example("subscription.changed", "unsubscribed");
    let Event::SubscriptionChangedV1(ref mut bob) = bob_sub.detail else { unreachable!() };
    bob.deleted_at = Some(now - chrono::Duration::days(40));
    stack.publish(&[alice_sub, bob_sub]).await;
    stack.run(&notifier, 2, Duration::from_secs(20)).await;

    let mut tick = example("digest.tick", "daily");
    let Event::DigestTickV1(ref mut t) = tick.detail else { unreachable!() };
    t.period = DigestPeriod::Daily;
    t.scheduled_for = now;
    stack.publish(&[tick.clone(), again(&tick)]).await;
    let stats = stack.run(&notifier, 2, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "{stats:?}");

    let dms = stack.slack.messages_in("DU2CERLKJA");
    assert_eq!(dms.len(), 1, "one digest however often the tick comes: {dms:#?}");
    let shown = dms[0].to_string();
    assert!(shown.contains("Daily CI digest for alice@clickhouse.com: 1 runs, 1 failed"), "{shown}");
    assert!(shown.contains("Stateless tests (amd_debug, parallel) — 1×"), "{shown}");

    // Bob's soft-deleted row is gone and the purge is in the audit log.
    let store = stack.store();
    assert!(store.subscribers("bob+ci@users.noreply.github.com").await.unwrap().is_empty());
    let purges = aws_sdk_dynamodb::Client::new(&stack.config)
        .query()
        .table_name(stack.names.table("notifier", "audit"))
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("purge#subscription".into()))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    assert_eq!(purges.len(), 1, "{purges:#?}");
    assert_eq!(purges[0]["user_id"].as_s().unwrap(), "U07BOBSMITH");
}
