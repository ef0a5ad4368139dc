//! Subscribing, switching, unsubscribing: what lands in DynamoDB, what the user is told, and
//! what is announced.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use pulse_contracts::{CommandAction, Event, SubscriptionState};
use pulse_fake_slack::Fault;
use pulse_home_renderer::filters::Toggle;

use crate::harness::{Home, example, handle, recent, toggle_buttons};

const ALICE: &str = "alice@clickhouse.com";
const BOB: &str = "bob+ci@users.noreply.github.com";

fn s<'a>(item: &'a std::collections::HashMap<String, AttributeValue>, key: &str) -> Option<&'a str> {
    item.get(key).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn num(item: &std::collections::HashMap<String, AttributeValue>, key: &str) -> Option<i64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn subscribe_with_the_profile_email_then_a_feed_update_fills_the_home_tab() {
    let home = Home::deploy().await;
    home.slack.add_user("U2CERLKJA", "roadrunner", Some(ALICE));
    let renderer = home.renderer();

    // Through the bus, as ingress publishes it.
    home.publish(&[home.subscribe("U2CERLKJA", "subscribe", None, "r1")]).await;
    let stats = home.process(&renderer, 1, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");

    let replies = home.replies("r1");
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("subscribed to the CI feed of *alice@clickhouse.com*"), "{}", replies[0]);

    let view = home.home("U2CERLKJA").expect("a Home view was published");
    let text = home.home_text("U2CERLKJA");
    assert!(text.contains("No CI runs for *alice@clickhouse.com* yet"), "{text}");
    let buttons = toggle_buttons(&view);
    assert_eq!(buttons.len(), 6);
    for ((action, label), t) in buttons.iter().zip(Toggle::ALL) {
        assert_eq!(action, t.action_id());
        assert_eq!(label, &t.button_label(false), "everything shown, no opt-in");
    }

    let item = home.item("U2CERLKJA").await.expect("the subscription is stored");
    assert_eq!(s(&item, "feed_email"), Some(ALICE));
    assert_eq!(s(&item, "email"), Some(ALICE), "the by-email index key is set while subscribed");
    assert_eq!(s(&item, "state"), Some("subscribed"));
    assert_eq!(s(&item, "team_id"), Some(crate::harness::TEAM));
    assert_eq!(num(&item, "revision"), Some(1));
    assert!(s(&item, "subscribed_at").is_some());
    let prefs = item["preferences"].as_m().unwrap();
    for t in Toggle::ALL {
        assert_eq!(prefs[t.name()].as_bool().ok(), Some(&false), "{} defaults to off", t.name());
    }

    // The feed-projector announces a change to alice's feed.
    let update = home.write_feed(ALICE, recent(vec![example("completed-pr-failed-job")])).await;
    home.publish(&[update]).await;
    let stats = home.process(&renderer, 1, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    let text = home.home_text("U2CERLKJA");
    assert!(text.contains("|#91234>* Speed up parallel replicas for FINAL queries"), "{text}");
    assert!(text.contains("*CI failed* · open · `PR` · ClickHouse/ClickHouse"), "{text}");
    assert!(text.contains("Failing: `Stateless tests (amd_debug, parallel)`"), "{text}");
    assert!(text.contains("Merged PRs: Shown"), "{text}");

    let announced = home.announcements(1).await;
    assert_eq!(announced.len(), 1, "{announced:?}");
    let a = &announced[0];
    assert_eq!((a.slack_user_id.as_str(), a.email.as_str(), a.state, a.revision), ("U2CERLKJA", ALICE, SubscriptionState::Subscribed, 1));
}

#[tokio::test]
async fn a_given_email_is_used_and_subscribing_to_another_switches_feeds() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    let store = home.store();

    handle(&renderer, &home.subscribe("U1", &format!("subscribe {BOB}"), Some(BOB), "r1")).await.unwrap();
    assert!(home.replies("r1")[0].contains(&format!("*{BOB}*")));
    assert_eq!(store.subscribers(BOB).await.unwrap(), vec!["U1".to_owned()]);
    assert!(home.slack.calls_to("users.info").is_empty(), "a given email needs no profile lookup");

    // The same again changes nothing but still answers.
    handle(&renderer, &home.subscribe("U1", &format!("subscribe {BOB}"), Some(BOB), "r2")).await.unwrap();
    assert!(home.replies("r2")[0].contains("subscribed"), "{:?}", home.replies("r2"));
    assert_eq!(num(&home.item("U1").await.unwrap(), "revision"), Some(1));

    handle(&renderer, &home.subscribe("U1", &format!("subscribe {ALICE}"), Some(ALICE), "r3")).await.unwrap();
    let reply = &home.replies("r3")[0];
    assert!(reply.contains(&format!("now follow the CI feed of *{ALICE}* instead of *{BOB}*")), "{reply}");
    let item = home.item("U1").await.unwrap();
    assert_eq!((s(&item, "feed_email"), num(&item, "revision")), (Some(ALICE), Some(2)));
    assert_eq!(store.subscribers(ALICE).await.unwrap(), vec!["U1".to_owned()]);
    assert!(store.subscribers(BOB).await.unwrap().is_empty(), "the old membership is gone");
    assert!(home.home_text("U1").contains(&format!("Feed of *{ALICE}*")));

    let announced = home.announcements(2).await;
    assert_eq!(announced.iter().map(|a| (a.revision, a.email.as_str())).collect::<Vec<_>>(), vec![(1, BOB), (2, ALICE)]);
}

#[tokio::test]
async fn why_a_subscribe_did_not_work_is_told_on_the_response_url() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    home.slack.add_user("U0NOMAIL", "nomail", None);

    handle(&renderer, &home.subscribe("U0NOMAIL", "subscribe", None, "no-email")).await.unwrap();
    let reply = &home.replies("no-email")[0];
    assert!(reply.contains("Slack profile has no email"), "{reply}");
    assert!(reply.contains("/praktika subscribe you@example.com"), "{reply}");

    handle(&renderer, &home.subscribe("U0NOMAIL", "subscribe alice", None, "invalid")).await.unwrap();
    let reply = &home.replies("invalid")[0];
    assert!(reply.contains("`alice` is not an email address (it has no `@`)"), "{reply}");

    handle(&renderer, &home.subscribe("U0UNKNOWN", "subscribe", None, "slack-error")).await.unwrap();
    let reply = &home.replies("slack-error")[0];
    assert!(reply.contains("Slack said `user_not_found`"), "{reply}");

    home.slack.add_user("U0DOWN", "down", Some(ALICE));
    home.slack.inject("users.info", Fault::ServerError(503), 5);
    handle(&renderer, &home.subscribe("U0DOWN", "subscribe", None, "slack-down")).await.unwrap();
    let reply = &home.replies("slack-down")[0];
    assert!(reply.contains("Slack did not answer"), "{reply}");

    for user in ["U0NOMAIL", "U0UNKNOWN", "U0DOWN"] {
        assert!(home.item(user).await.is_none(), "{user}: nothing stored");
    }
    assert!(home.slack.calls_to("views.publish").is_empty(), "no view for a failed subscribe");
}

#[tokio::test]
async fn unsubscribe_soft_deletes_shows_the_not_subscribed_view_and_resubscribing_restores_toggles() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "r1")).await.unwrap();
    handle(&renderer, &home.toggle("U1", Toggle::HideMerges, true)).await.unwrap();

    handle(&renderer, &home.unsubscribe("U1", "bye")).await.unwrap();
    let reply = &home.replies("bye")[0];
    assert!(reply.contains(&format!("You unsubscribed from the CI feed of *{ALICE}*")), "{reply}");

    let view = home.home("U1").unwrap();
    let text = home.home_text("U1");
    assert!(text.contains("How to subscribe") && text.contains("You unsubscribed from the CI feed of alice@clickhouse.com"), "{text}");
    let button = view["blocks"].as_array().unwrap().iter().find(|b| b["type"] == "actions").unwrap();
    assert_eq!(button["elements"][0]["action_id"], "home_subscribe");
    assert!(!text.contains("Merges:"), "no toggles when not subscribed");

    let item = home.item("U1").await.expect("soft delete keeps the item");
    assert_eq!(s(&item, "state"), Some("unsubscribed"));
    let deleted_at = chrono::DateTime::parse_from_rfc3339(s(&item, "deleted_at").expect("deleted_at")).unwrap();
    let expires_at = num(&item, "expires_at").expect("a TTL for the retention purge");
    assert_eq!(expires_at, deleted_at.timestamp() + 30 * 86_400);
    assert!(!item.contains_key("email"), "out of the by-email index");
    assert_eq!(s(&item, "feed_email"), Some(ALICE));
    assert_eq!(num(&item, "revision"), Some(3));
    assert!(home.store().subscribers(ALICE).await.unwrap().is_empty());

    let announced = home.announcements(3).await;
    let last = announced.last().unwrap();
    assert_eq!((last.revision, last.state), (3, SubscriptionState::Unsubscribed));
    assert!(last.deleted_at.is_some());
    assert!(last.preferences.hide_merges, "the full state travels");

    // Back again: toggles restored, deleted_at and the TTL cleared.
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "again")).await.unwrap();
    assert!(home.replies("again")[0].contains("again, with your previous toggles"), "{:?}", home.replies("again"));
    let item = home.item("U1").await.unwrap();
    assert_eq!((s(&item, "state"), num(&item, "revision")), (Some("subscribed"), Some(4)));
    assert!(!item.contains_key("deleted_at") && !item.contains_key("expires_at"));
    assert!(home.home_text("U1").contains("Merges: Hidden"));
}

#[tokio::test]
async fn a_redelivered_event_is_handled_once() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    let subscribe = home.subscribe("U1", "subscribe", Some(ALICE), "r1");
    handle(&renderer, &subscribe).await.unwrap();
    handle(&renderer, &subscribe).await.unwrap();
    assert_eq!(home.replies("r1").len(), 1, "one reply for one command");

    // A flip (no value) delivered twice flips once.
    let flip = home.click("U1", Toggle::NotifyOnFailure.action_id(), None);
    handle(&renderer, &flip).await.unwrap();
    handle(&renderer, &flip).await.unwrap();
    let item = home.item("U1").await.unwrap();
    assert_eq!(item["preferences"].as_m().unwrap()["notify_on_failure"].as_bool().ok(), Some(&true));
    assert_eq!(num(&item, "revision"), Some(2));
}

#[tokio::test]
async fn other_services_events_are_ignored_and_foreign_ones_dead_lettered() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    let status = home.command("U1", "status", CommandAction::Status, "status");
    handle(&renderer, &status).await.expect("a /pulser command is acknowledged");
    handle(&renderer, &home.click("U1", "approve_deploy", Some("x"))).await.expect("an ops button is acknowledged");
    assert!(home.slack.calls().is_empty(), "nothing was said to Slack");
    assert!(home.item("U1").await.is_none());

    let tick = Event::DigestTickV1(pulse_contracts::DigestTick {
        period: pulse_contracts::DigestPeriod::Daily,
        scheduled_for: chrono::Utc::now(),
    })
    .into_envelope("pulse.schedule", "digest.tick:daily:x", uuid::Uuid::new_v4(), chrono::Utc::now());
    let err = handle(&renderer, &tick).await.unwrap_err();
    assert!(err.to_string().contains("does not consume `digest.tick`"), "{err}");
}

#[tokio::test]
async fn concurrent_changes_conflict_and_are_retried_never_lost() {
    let home = Home::deploy().await;
    let store = home.store();
    let renderer = home.renderer();
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "r1")).await.unwrap();

    let ops: Vec<pulse_home_renderer::subscriptions::Op> =
        Toggle::ALL.iter().map(|t| pulse_home_renderer::subscriptions::Op::Set { toggle: *t, on: Some(true) }).collect();
    let applied = futures::future::join_all(ops.iter().map(|op| store.apply("U1", op))).await;
    let attempts: u32 = applied.iter().map(|a| a.as_ref().expect("applied").attempts).sum();
    assert!(attempts > 6, "the six writers raced (total attempts {attempts}), so conditional writes were exercised");
    let revisions: std::collections::BTreeSet<u64> =
        applied.iter().map(|a| a.as_ref().unwrap().current.as_ref().unwrap().sub.revision).collect();
    let stored = store.get("U1").await.unwrap().unwrap();
    assert_eq!(revisions, (2..=7).collect(), "each writer got its own revision: {applied:#?}\nstored: {stored:#?}");
    assert!(Toggle::ALL.iter().all(|t| t.get(&stored.sub.preferences)));
    assert_eq!(stored.sub.revision, 7);
}

#[tokio::test]
async fn a_concurrent_switch_and_toggles_all_land_and_membership_follows() {
    let home = Home::deploy().await;
    let store = home.store();
    let renderer = home.renderer();
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "r1")).await.unwrap();

    use pulse_home_renderer::subscriptions::Op;
    let ops = [
        Op::Subscribe { team_id: crate::harness::TEAM.into(), email: pulse_contracts::Email::parse(BOB).unwrap() },
        Op::Set { toggle: Toggle::HideMerges, on: Some(true) },
        Op::Set { toggle: Toggle::NotifyOnFailure, on: Some(true) },
    ];
    let applied = futures::future::join_all(ops.iter().map(|op| store.apply("U1", op))).await;
    for a in &applied {
        a.as_ref().expect("applied");
    }
    let stored = store.get("U1").await.unwrap().unwrap();
    assert_eq!(stored.sub.email.as_str(), BOB);
    assert!(stored.sub.preferences.hide_merges && stored.sub.preferences.notify_on_failure, "{stored:?}");
    assert_eq!(stored.sub.revision, 4);
    assert_eq!(store.subscribers(BOB).await.unwrap(), vec!["U1".to_owned()]);
    assert!(store.subscribers(ALICE).await.unwrap().is_empty());
}
