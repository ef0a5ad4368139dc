//! `pulse migrate praktika` into the home-renderer: a dry run publishes nothing; a run creates
//! the subscriptions with praktika's toggles (and keeps the state of a user who subscribed in
//! Pulse first); a second run never overwrites what the user changed in Pulse since; praktika's
//! objects are only read.

use std::time::Duration;

use pulse_home_renderer::filters::Toggle;
use pulse_tests::praktika;

use crate::harness::{Home, TEAM, handle};

const ALICE: &str = "alice@clickhouse.com";

/// U1 follows alice in praktika (slack file + email file with prefs); U2 is listed too but
/// subscribed in Pulse before the import; a broken file is skipped.
fn praktika_files() -> Vec<(&'static str, String)> {
    vec![
        (
            "email_alice_at_clickhouse.com.json",
            format!(
                r#"{{"user_ids": ["U0MIGR001", "U0MIGR002"], "user_email": "{ALICE}", "subscribed_at": "2025-10-02T08:15:42.123456+00:00",
                    "user_prefs": {{"U0MIGR001": {{"hide_merges": true, "notify_on_failure": true, "show_last_7d": true, "dm_channel_id": "D0PRAKTIKA",
                        "last_notified_key": {{"failure": "failure:{ALICE}:abc:fail:1:ClickHouse/ClickHouse"}}}},
                                   "U0MIGR002": {{"hide_merged_prs": true}}}}}}"#
            ),
        ),
        ("slack_U0MIGR001.json", format!(r#"{{"user_email": "{ALICE}", "user_id": "U0MIGR001"}}"#)),
        ("slack_U0BROKEN.json", "{\"user_email\": ".to_owned()),
    ]
}

fn bool_pref(item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>, name: &str) -> bool {
    *item["preferences"].as_m().unwrap()[name].as_bool().unwrap()
}

fn num(item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>, name: &str) -> Option<u64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn a_dry_run_publishes_nothing_and_reports_the_plan() {
    let home = Home::deploy().await;
    let location = praktika::bucket_with(&home.config, &praktika_files()).await;
    let report = praktika::migrate(&home.config, &home.names.bus(), &location, TEAM, true, false).await;
    assert_eq!((report.files_read, report.published, report.plan.imports.len(), report.plan.skipped.len()), (3, 0, 2, 1), "{report:#?}");
    assert!(report.plan.skipped[0].reason.contains("malformed JSON"));
    assert!(home.drain(&home.names.queue("home-renderer"), 0).await.is_empty(), "a dry run publishes nothing");
    assert!(home.item("U0MIGR001").await.is_none());
}

#[tokio::test]
async fn an_import_creates_subscriptions_and_a_second_run_keeps_what_the_user_changed_in_pulse() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    let location = praktika::bucket_with(&home.config, &praktika_files()).await;
    let before = praktika::objects(&home.config, &location).await;

    // U2 subscribed in Pulse before the import, to another feed.
    handle(&renderer, &home.subscribe("U0MIGR002", "subscribe bob@x.io", Some("bob@x.io"), "r2")).await.unwrap();
    let u2_before = home.item("U0MIGR002").await.unwrap();

    let report = praktika::migrate(&home.config, &home.names.bus(), &location, TEAM, false, false).await;
    assert_eq!(report.published, 2, "{report:#?}");
    let stats = home.process(&renderer, 2, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "{stats:?}");

    let u1 = home.item("U0MIGR001").await.expect("U1 imported");
    assert_eq!(u1["feed_email"].as_s().unwrap(), ALICE);
    assert_eq!(u1["subscribed_at"].as_s().unwrap(), "2025-10-02T08:15:42.123456Z");
    assert!(bool_pref(&u1, "hide_merges") && bool_pref(&u1, "notify_on_failure") && bool_pref(&u1, "show_last_7d"));
    assert!(!bool_pref(&u1, "hide_merged_prs") && !bool_pref(&u1, "notify_on_complete"));
    assert_eq!((num(&u1, "revision"), num(&u1, "imported_revision")), (Some(1), Some(1)));
    assert_eq!(home.item("U0MIGR002").await.unwrap(), u2_before, "a user who subscribed in Pulse first keeps their state");
    assert_eq!(home.publishes("U0MIGR001"), 0, "no Home publish without --publish-home");
    // The notifier hears about the new subscription as usual.
    let announced = home.announcements(1).await;
    assert!(
        announced.iter().any(|a| a.slack_user_id == "U0MIGR001" && a.revision == 1 && a.preferences.notify_on_failure),
        "{announced:?}"
    );

    // The user turns "hide merges" off in Pulse; then the switch run re-imports with --publish-home.
    handle(&renderer, &home.toggle("U0MIGR001", Toggle::HideMerges, false)).await.unwrap();
    let u2_views = home.publishes("U0MIGR002");
    let report = praktika::migrate(&home.config, &home.names.bus(), &location, TEAM, false, true).await;
    assert_eq!(report.published, 2);
    let stats = home.process(&renderer, 2, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "{stats:?}");
    let u1 = home.item("U0MIGR001").await.unwrap();
    assert!(!bool_pref(&u1, "hide_merges"), "the user's change in Pulse is kept");
    assert!(bool_pref(&u1, "notify_on_failure"));
    assert_eq!((num(&u1, "revision"), num(&u1, "imported_revision")), (Some(2), Some(1)));
    assert!(home.home_text("U0MIGR001").contains("Merges: Shown"), "{}", home.home_text("U0MIGR001"));
    assert!(home.publishes("U0MIGR002") > u2_views, "--publish-home republishes every imported user's Home tab, kept ones too");
    assert_eq!(home.item("U0MIGR002").await.unwrap()["feed_email"].as_s().unwrap(), "bob@x.io");

    // praktika's objects were only read.
    assert_eq!(praktika::objects(&home.config, &location).await, before);
}
