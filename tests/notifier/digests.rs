//! Digest ticks: a DM digest per subscriber who asked for the period, once; Discord and e-mail
//! digests; retention purges.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use pulse_aws::s3json::{GzipJsonStore, Precondition};
use pulse_aws::secrets::Secrets;
use pulse_contracts::feed_layout::FeedLocation;
use pulse_contracts::praktika::EventFeed;
use pulse_contracts::{DigestPeriod, DigestSchedule, Event};
use pulse_fake_slack::{DISCORD_METHOD, Fault};
use pulse_notifier::config::Config;
use pulse_notifier::gather::Feeds;
use pulse_notifier::sinks::ExternalSinks;
use pulse_notifier::sinks::{Discord, Email};

use crate::harness::{Stack, again, example};

const ALICE: &str = "alice@clickhouse.com";

#[tokio::test]
async fn a_daily_tick_sends_one_digest_per_subscriber_and_purges_expired_subscriptions() {
    let stack = Stack::deploy().await;
    let feeds = GzipJsonStore::new(pulse_aws::config::s3_client(&stack.config), stack.names.feed_bucket());
    let notifier =
        stack.notifier().with_feeds(Feeds { store: feeds.clone(), location: FeedLocation::own_bucket(stack.names.feed_bucket()) });
    let now = chrono::Utc::now();

    // Alice's feed: one failed run an hour ago, one three days ago (outside the daily period).
    let Event::FeedUpdatedV1(update) = example("feed.updated", "new-failure").detail else { unreachable!() };
    let mut recent = update.newest_event.clone();
    recent.timestamp = now.timestamp() - 3600;
    // Stored as praktika stores it: compacted, no durations.
    recent.result.compact();
    let mut old = recent.clone();
    old.timestamp -= 3 * 86_400;
    old.ext.pr_number = 1;
    feeds
        .put(&FeedLocation::own_bucket(stack.names.feed_bucket()).key(ALICE), &EventFeed { events: vec![recent, old] }, Precondition::None)
        .await
        .expect("write feed");

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
    assert!(
        shown.contains("Still red") && shown.contains("#91234 Speed up parallel replicas for FINAL queries — 1 failing job"),
        "{shown}"
    );

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

/// Discord and e-mail digests: delivered once per tick, URL from SSM and never logged, a 429
/// waited out, an unverified sender refused and retried, not lost.
#[tokio::test]
async fn discord_and_email_digests_are_delivered_once_and_the_webhook_url_never_logged() {
    let stack = Stack::deploy().await;
    let feeds = GzipJsonStore::new(pulse_aws::config::s3_client(&stack.config), stack.names.feed_bucket());
    let now = chrono::Utc::now();
    let Event::FeedUpdatedV1(update) = example("feed.updated", "new-failure").detail else { unreachable!() };
    let mut recent = update.newest_event.clone();
    recent.timestamp = now.timestamp() - 3600;
    feeds
        .put(&FeedLocation::own_bucket(stack.names.feed_bucket()).key(ALICE), &EventFeed { events: vec![recent] }, Precondition::None)
        .await
        .expect("write feed");

    // The webhook URL is a secret in SSM; the sender a verified SES identity.
    let webhook = stack.slack.discord_webhook_url("4242");
    let parameter = format!("/{}/discord-webhook", stack.names.prefix());
    aws_sdk_ssm::Client::new(&stack.config)
        .put_parameter()
        .name(&parameter)
        .value(&webhook)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("put parameter");
    let ses = aws_sdk_sesv2::Client::new(&stack.config);
    let from = format!("pulse-{}@example.com", stack.names.prefix());
    ses.create_email_identity().email_identity(&from).send().await.expect("verify sender");
    let routing = Config::parse(
        &format!(
            r#"{{"default_channel": "C0DEFAULT",
                 "digest_webhooks": [{{"name": "ci-discord", "period": "daily", "emails": ["{ALICE}"], "url": {{"ssm": "{parameter}"}}}}],
                 "email_from": "{from}",
                 "digest_emails": [{{"name": "ci-team", "period": "daily", "emails": ["{ALICE}"], "to": ["ci-team@example.com"]}}]}}"#
        ),
        "test",
    )
    .expect("config");
    routing.validate().expect("valid config");
    let sinks = ExternalSinks {
        discord: Discord::new(Duration::from_secs(5)),
        email: Some(Email::new(ses.clone(), &from)),
        secrets: Some(Secrets::new(aws_sdk_ssm::Client::new(&stack.config))),
        ..ExternalSinks::default()
    };
    let notifier = stack
        .notifier_with(routing, Duration::from_millis(50))
        .with_feeds(Feeds { store: feeds.clone(), location: FeedLocation::own_bucket(stack.names.feed_bucket()) })
        .with_external_sinks(sinks);

    // Discord rate-limits the first execution; the tick arrives twice.
    stack.slack.inject(DISCORD_METHOD, Fault::RateLimited { retry_after_secs: 1 }, 1);
    let mut tick = example("digest.tick", "daily");
    let Event::DigestTickV1(ref mut t) = tick.detail else { unreachable!() };
    t.period = DigestPeriod::Daily;
    t.scheduled_for = now;
    let scheduled = *t;
    let (captured, _guard) = crate::logs::capture();
    stack.publish(&[tick.clone(), again(&tick)]).await;
    let stats = stack.run(&notifier, 2, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "{stats:?}");

    let posted = stack.slack.discord_messages("4242");
    assert_eq!(posted.len(), 1, "one Discord digest however often the tick comes: {posted:#?}");
    let shown = posted[0].to_string();
    assert!(shown.contains("Daily CI digest for alice@clickhouse.com: 1 runs, 1 failed"), "{shown}");
    assert!(shown.contains("Stateless tests (amd_debug, parallel) — 1×"), "{shown}");
    assert_eq!(stack.slack.calls_to(DISCORD_METHOD).len(), 2, "one 429, one delivery");
    let discord_key = pulse_notifier::digest::ledger_key(&scheduled, "discord:ci-discord");
    let entry = stack.store().ledger(&discord_key).await.unwrap().expect("ledger entry");
    assert_eq!(entry.status.as_str(), "SENT");
    assert_eq!(entry.ts.as_deref(), posted[0]["id"].as_str(), "the ledger keeps Discord's message id");

    let email_key = pulse_notifier::digest::ledger_key(&scheduled, "email:ci-team");
    let entry = stack.store().ledger(&email_key).await.unwrap().expect("ledger entry");
    assert_eq!(entry.status.as_str(), "SENT");
    assert!(entry.ts.as_deref().is_some_and(|id| !id.is_empty()), "SES's message id is kept: {entry:?}");

    let logs: String = captured.lines().iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n");
    assert!(logs.contains("digest run"), "{logs}");
    assert!(!logs.contains("fake-webhook-token") && !logs.contains(&webhook), "the webhook URL leaked into the logs");
}

#[tokio::test]
async fn an_email_digest_from_an_unverified_sender_is_refused_retried_and_not_lost() {
    let stack = Stack::deploy().await;
    // Unique: SES identities are account-wide, and the emulator outlives one test.
    let sender = format!("unverified-{}@example.com", stack.names.prefix());
    let routing = Config::parse(
        &format!(
            r#"{{"default_channel": "C0DEFAULT", "email_from": "{sender}",
                 "digest_emails": [{{"name": "ci-team", "period": "weekly", "emails": ["{ALICE}"], "to": ["ci-team@example.com"]}}]}}"#
        ),
        "test",
    )
    .expect("config");
    let feeds = GzipJsonStore::new(pulse_aws::config::s3_client(&stack.config), stack.names.feed_bucket());
    let sinks = ExternalSinks { email: Some(Email::new(aws_sdk_sesv2::Client::new(&stack.config), &sender)), ..ExternalSinks::default() };
    let notifier = stack
        .notifier_with(routing, Duration::from_millis(50))
        .with_feeds(Feeds { store: feeds, location: FeedLocation::own_bucket(stack.names.feed_bucket()) })
        .with_external_sinks(sinks);
    let mut tick = example("digest.tick", "daily");
    let Event::DigestTickV1(ref mut t) = tick.detail else { unreachable!() };
    t.period = DigestPeriod::Weekly;
    let scheduled = *t;
    let (captured, _guard) = crate::logs::capture();
    stack.publish(&[tick]).await;
    // Refused every time: retried with each receive until SQS's redrive moves it to the DLQ.
    let work = stack.queue(&stack.names.queue("notifier")).await;
    let dlq = stack.queue(&stack.names.dead_letter_queue("notifier")).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while dlq.approximate_depth().await.unwrap() == 0 && std::time::Instant::now() < deadline {
        stack.run(&notifier, 1, Duration::from_secs(2)).await;
    }
    assert_eq!(dlq.approximate_depth().await.unwrap(), 1, "dead-lettered");
    let logs: String = captured.lines().iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n");
    assert!(logs.contains("email:ci-team") && logs.contains("not delivered") && logs.contains("SES"), "the reason is logged: {logs}");
    // Released, not recorded as sent: once the sender is verified, a replay sends it.
    let key = pulse_notifier::digest::ledger_key(&scheduled, "email:ci-team");
    assert_eq!(stack.ledger_status(&key).await, None);
    aws_sdk_sesv2::Client::new(&stack.config).create_email_identity().email_identity(&sender).send().await.expect("verify");
    assert_eq!(work.redrive_from_dlq(10).await.unwrap(), 1);
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    assert_eq!(stack.ledger_status(&key).await.as_deref(), Some("SENT"));
}
