//! `pulse migrate praktika` into the notifier: praktika's last-notified DM keys land in the
//! ledger as delivered, so the `feed.updated` of that exact run sends no DM after the switch,
//! while another run does.

use std::time::Duration;

use pulse_contracts::Event;
use pulse_notifier::dm::{self, DmKind};
use pulse_tests::praktika;

use crate::harness::{Stack, again, example};

const USER: &str = "U2CERLKJA";
const DM: &str = "DU2CERLKJA";

#[tokio::test]
async fn an_imported_last_notified_key_suppresses_that_runs_dm_and_only_that_one() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    let update = example("feed.updated", "new-failure");
    let Event::FeedUpdatedV1(ref u) = update.detail else { unreachable!() };
    let email = u.email.as_str().to_owned();
    let praktika_key = dm::praktika_key(DmKind::Failure, &email, &u.newest_event);

    let files = vec![
        (
            "email_alice_at_clickhouse.com.json",
            format!(
                r#"{{"user_ids": ["{USER}"], "user_email": "{email}", "subscribed_at": "2025-10-02T08:15:42+00:00",
                    "user_prefs": {{"{USER}": {{"notify_on_failure": true, "dm_channel_id": "D0PRAKTIKA", "last_notified_key": {{"failure": "{praktika_key}"}}}}}}}}"#
            ),
        ),
        ("slack_U2CERLKJA.json", format!(r#"{{"user_email": "{email}", "user_id": "{USER}"}}"#)),
    ];
    let location = praktika::bucket_with(&stack.config, &files).await;
    let report = praktika::migrate(&stack.config, &stack.names.bus(), &location, "T1DC2JH3J", false, false).await;
    assert_eq!(report.published, 1, "{report:#?}");
    // The import, then the subscription the home-renderer announces from it.
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    let ledger_key = format!("dm:{USER}:{praktika_key}");
    assert_eq!(ledger_key, dm::ledger_key(USER, DmKind::Failure, &email, &u.newest_event), "praktika's key format");
    assert_eq!(stack.ledger_status(&ledger_key).await.as_deref(), Some("UNCONFIRMED"));
    let mut sub = example("subscription.changed", "subscribed");
    if let Event::SubscriptionChangedV1(ref mut s) = sub.detail {
        s.preferences.notify_on_failure = true;
        s.preferences.notify_on_complete = false;
    }
    stack.publish(&[sub]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");

    // The run praktika already DM'd about: nothing is sent.
    stack.publish(&[again(&update)]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    assert!(stack.slack.messages_in(DM).is_empty(), "{:#?}", stack.slack.messages_in(DM));
    assert!(stack.slack.calls_to("conversations.open").is_empty());

    // Another run of the same PR: DM'd, in the channel the notifier opened itself.
    let mut other = again(&update);
    if let Event::FeedUpdatedV1(ref mut o) = other.detail {
        o.newest_event.sha = "0123456789abcdef0123456789abcdef01234567".into();
    }
    other.dedup_key = format!("{}:other", update.dedup_key);
    stack.publish(&[other]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    assert_eq!(stack.slack.messages_in(DM).len(), 1);
    assert!(stack.slack.messages_in("D0PRAKTIKA").is_empty(), "praktika's DM channel is not used");

    // A second import of the same files changes nothing in the ledger.
    praktika::migrate(&stack.config, &stack.names.bus(), &location, "T1DC2JH3J", false, false).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    assert_eq!(stack.ledger_status(&ledger_key).await.as_deref(), Some("UNCONFIRMED"));
}
