use chrono::TimeZone;

use super::*;
use crate::migrate::files;

fn at(minute: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_764_000_000 + minute * 60, 0).unwrap()
}

fn file(name: &str, minute: i64, body: &str) -> Fetched {
    Fetched {
        key: format!("ci/subscriptions/{name}"),
        etag: format!("\"etag-{name}\""),
        last_modified: at(minute),
        parsed: files::parse(name, body.as_bytes()),
    }
}

fn target() -> Target {
    Target { bucket: "b".into(), team_id: "T1".into(), publish_home: false }
}

fn import<'a>(plan: &'a Plan, user: &str) -> &'a Import {
    plan.imports.iter().find(|i| i.event.slack_user_id == user).unwrap_or_else(|| panic!("no import for {user}: {plan:#?}"))
}

#[test]
fn the_slack_file_decides_and_the_chosen_files_prefs_are_imported() {
    let plan = plan(
        &target(),
        &[
            file(
                "email_a_at_x.io.json",
                1,
                r#"{"user_ids": ["U1"], "user_email": "a@x.io", "subscribed_at": "2025-10-02T08:15:42+00:00",
                    "user_prefs": {"U1": {"hide_merges": true, "notify_on_failure": true, "dm_channel_id": "D1",
                        "last_notified_key": {"failure": "failure:a@x.io:s1:fail:5:r", "complete": "complete:a@x.io:s0:success:4:r"}}}}"#,
            ),
            // Newer, and lists U1 too (a stale file): the slack file still decides.
            file("email_b_at_x.io.json", 9, r#"{"user_ids": ["U1"], "user_prefs": {"U1": {"hide_merged_prs": true}}}"#),
            file("slack_U1.json", 2, r#"{"user_email": "a@x.io", "user_id": "U1"}"#),
        ],
    );
    assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
    let u1 = import(&plan, "U1");
    assert_eq!((u1.event.email.as_str(), u1.chosen_by), ("a@x.io", "slack file"));
    let p = u1.event.preferences;
    assert!(p.hide_merges && p.notify_on_failure && !p.hide_merged_prs && !p.notify_on_complete && p.digest.is_none());
    assert_eq!(u1.event.dm_channel_id.as_deref(), Some("D1"));
    assert_eq!(u1.event.last_notified.failure.as_deref(), Some("failure:a@x.io:s1:fail:5:r"));
    assert_eq!(u1.event.last_notified.complete.as_deref(), Some("complete:a@x.io:s0:success:4:r"));
    assert_eq!(u1.event.subscribed_at.to_rfc3339(), "2025-10-02T08:15:42+00:00");
    assert_eq!((u1.event.source.key.as_str(), u1.event.source.last_modified), ("ci/subscriptions/email_a_at_x.io.json", at(1)));
    assert_eq!(u1.event.team_id, "T1");

    let [conflict] = plan.conflicts.as_slice() else { panic!("{:?}", plan.conflicts) };
    assert_eq!((conflict.slack_user_id.as_str(), conflict.chosen.as_str()), ("U1", "a@x.io"));
    let named: Vec<&str> = conflict.candidates.iter().map(|c| c.email.as_str()).collect();
    assert_eq!(named, ["a@x.io", "b@x.io", "a@x.io"], "the slack file, then the listing files newest first");
}

#[test]
fn without_a_slack_file_the_most_recently_modified_email_file_wins() {
    let files = [
        file(
            "email_old_at_x.io.json",
            10,
            r#"{"user_ids": ["U1"], "subscribed_at": "2025-06-01T00:00:00+00:00", "user_prefs": {"U1": {"hide_merges": true}}}"#,
        ),
        file(
            "email_new_at_x.io.json",
            50,
            r#"{"user_ids": ["U1"], "subscribed_at": "2025-01-01T00:00:00+00:00", "user_prefs": {"U1": {"show_last_7d": true}}}"#,
        ),
    ];
    let plan = plan(&target(), &files);
    let u1 = import(&plan, "U1");
    assert_eq!((u1.event.email.as_str(), u1.chosen_by), ("new@x.io", "most recent email file"), "S3 LastModified first");
    assert!(u1.event.preferences.show_last_7d && !u1.event.preferences.hide_merges);
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].candidates.len(), 2);

    // With the same LastModified, praktika's subscribed_at decides.
    let files = [
        file("email_old_at_x.io.json", 50, r#"{"user_ids": ["U1"], "subscribed_at": "2025-01-01T00:00:00+00:00"}"#),
        file("email_new_at_x.io.json", 50, r#"{"user_ids": ["U1"], "subscribed_at": "2025-06-01T00:00:00+00:00"}"#),
    ];
    assert_eq!(import(&super::plan(&target(), &files), "U1").event.email.as_str(), "new@x.io");

    // With neither, S3 LastModified decides and is the subscription time.
    let files =
        [file("email_old_at_x.io.json", 10, r#"{"user_ids": ["U1"]}"#), file("email_new_at_x.io.json", 50, r#"{"user_ids": ["U1"]}"#)];
    let plan = super::plan(&target(), &files);
    assert_eq!(import(&plan, "U1").event.email.as_str(), "new@x.io");
    assert_eq!(import(&plan, "U1").event.subscribed_at, at(50), "no subscribed_at: the LastModified");
    // The listing order does not matter.
    let reversed: Vec<Fetched> = files.iter().rev().cloned().collect();
    assert_eq!(super::plan(&target(), &reversed).imports[0].event.email.as_str(), "new@x.io");
}

#[test]
fn a_missing_slack_file_with_one_email_file_is_no_conflict_and_missing_prefs_are_off() {
    let plan = plan(&target(), &[file("email_a_plus_ci_at_x.io.json", 3, r#"{"user_ids": ["U1", "U2"], "user_email": "a+ci@x.io"}"#)]);
    assert!(plan.conflicts.is_empty());
    assert_eq!(plan.imports.len(), 2);
    for i in &plan.imports {
        assert_eq!((i.event.email.as_str(), i.chosen_by), ("a+ci@x.io", "only email file"));
        assert_eq!(i.event.preferences, Preferences::default());
        assert!(i.event.last_notified.is_empty() && i.event.dm_channel_id.is_none());
    }
}

#[test]
fn a_slack_file_without_an_email_file_imports_with_toggles_off_and_says_so() {
    let plan = plan(&target(), &[file("slack_U9.json", 4, r#"{"user_name": "z@x.io", "user_id": "U9"}"#)]);
    let u9 = import(&plan, "U9");
    assert_eq!(u9.event.email.as_str(), "z@x.io");
    assert_eq!(u9.event.preferences, Preferences::default());
    assert_eq!((u9.event.source.key.as_str(), u9.event.subscribed_at), ("ci/subscriptions/slack_U9.json", at(4)));
    assert!(u9.notes[0].contains("no email file for z@x.io"), "{:?}", u9.notes);
    assert!(plan.conflicts.is_empty());
}

#[test]
fn legacy_string_keys_are_placed_by_their_kind_and_junk_keys_dropped() {
    let plan = plan(
        &target(),
        &[file(
            "email_a_at_x.io.json",
            1,
            r#"{"user_ids": ["U1", "U2", "U3"], "user_prefs": {
                "U1": {"last_notified_key": "failure:a@x.io:s:fail:1:r"},
                "U2": {"last_notified_key": {"complete": "failure:a@x.io:s:fail:2:r"}},
                "U3": {"last_notified_key": "whatever"}}}"#,
        )],
    );
    assert_eq!(import(&plan, "U1").event.last_notified, LastNotified { failure: Some("failure:a@x.io:s:fail:1:r".into()), complete: None });
    assert_eq!(import(&plan, "U2").event.last_notified.failure.as_deref(), Some("failure:a@x.io:s:fail:2:r"), "filed under its own kind");
    let u3 = import(&plan, "U3");
    assert!(u3.event.last_notified.is_empty());
    assert!(u3.notes.iter().any(|n| n.contains("names no kind")), "{:?}", u3.notes);
}

#[test]
fn malformed_files_are_skipped_with_the_reason_and_the_rest_imported() {
    let plan = plan(
        &target(),
        &[
            file("slack_U1.json", 1, "{not json"),
            file("email_a_at_x.io.json", 1, r#"{"user_ids": ["U1"]}"#),
            file("email_b_at_x.io.json", 1, "[1, 2]"),
            file("slack_U2.json", 1, r#"{"user_id": "U2"}"#),
            file("notes.json", 1, "{}"),
        ],
    );
    let reasons: BTreeMap<&str, &str> = plan.skipped.iter().map(|s| (s.key.rsplit('/').next().unwrap(), s.reason.as_str())).collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(reasons["slack_U1.json"].starts_with("malformed JSON"));
    assert!(reasons["email_b_at_x.io.json"].contains("not a JSON object"));
    assert!(reasons["slack_U2.json"].contains("no `user_email`"));
    assert!(reasons["notes.json"].contains("not a praktika subscription file"));
    // U1's broken slack file is skipped; the email file that lists U1 still imports them.
    assert_eq!(plan.imports.len(), 1);
    assert_eq!(import(&plan, "U1").chosen_by, "only email file");
}

#[test]
fn leftover_prefs_without_user_ids_are_not_subscribers_and_nothing_panics_on_odd_input() {
    let plan = plan(&target(), &[file("email_a_at_x.io.json", 1, r#"{"user_ids": null, "user_prefs": {"U7": {"hide_merges": true}}}"#)]);
    assert!(plan.imports.is_empty() && plan.skipped.is_empty());
    for body in ["", "null", "0", "\"x\"", "{\"user_ids\": {}}", "{\"user_prefs\": []}", "{\"user_email\": 5}", "\u{feff}{}"] {
        let _ = super::plan(&target(), &[file("email_a_at_x.io.json", 1, body), file("slack_U1.json", 1, body)]);
    }
}
