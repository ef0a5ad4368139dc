//! Unit tests of the merge rules: one (at least) per rule, pure, no I/O.

use super::*;
use pulse_contracts::praktika::{EventExt, RunResult};
use serde_json::Map;

const NOW: i64 = 1_750_000_000;
const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const REPO: &str = "ClickHouse/ClickHouse";

/// Builder for test events: a completed, successful event in [`REPO`].
#[derive(Clone)]
struct B(FeedEvent);

impl B {
    fn base(pr_number: u64, sha: &str, ts: i64) -> B {
        B(FeedEvent {
            kind: EventKind::Completed,
            timestamp: ts,
            sha: sha.to_owned(),
            ci_status: Status::from("success"),
            result: RunResult {
                name: "PR".to_owned(),
                status: Status::from("success"),
                results: Some(Vec::new()),
                ext: Some(Map::new()),
                extra: Map::new(),
            },
            ext: EventExt {
                pr_number,
                pr_title: if pr_number > 0 { format!("PR {pr_number}") } else { String::new() },
                repo_name: REPO.to_owned(),
                commit_authors: vec!["dev@x.com".to_owned()],
                ..EventExt::default()
            },
            linked_events: Vec::new(),
            dropped: Map::new(),
        })
    }

    /// A PR event for PR `n` at `ts`.
    fn pr(n: u64, ts: i64) -> B {
        B::base(n, &format!("pr{n}-{ts}"), ts)
    }

    /// A merge result (pr_number 0) for commit `sha` at `ts`.
    fn merge_result(sha: &str, ts: i64) -> B {
        B::base(0, sha, ts)
    }

    fn repo(mut self, repo: &str) -> B {
        self.0.ext.repo_name = repo.to_owned();
        self
    }
    fn sha(mut self, sha: &str) -> B {
        self.0.sha = sha.to_owned();
        self
    }
    fn parent(mut self, n: u64) -> B {
        self.0.ext.parent_pr_number = n;
        self
    }
    fn linked(mut self, n: u64) -> B {
        self.0.ext.linked_pr_number = n;
        self
    }
    fn title(mut self, title: &str) -> B {
        self.0.ext.pr_title = title.to_owned();
        self
    }
    fn pr_status(mut self, s: PrStatus) -> B {
        self.0.ext.pr_status = Some(s);
        self
    }
    fn ci(mut self, s: Status) -> B {
        self.0.ci_status = s.clone();
        self.0.result.status = s;
        self
    }
    fn running(self) -> B {
        self.kind(EventKind::Running).ci(Status::from("running"))
    }
    fn kind(mut self, k: EventKind) -> B {
        self.0.kind = k;
        self
    }
    fn job(mut self, name: &str, status: Status) -> B {
        self.0.result.results.get_or_insert_default().push(RunResult::named(name, status.as_str()));
        self
    }
    fn build(self) -> FeedEvent {
        self.0
    }
}

fn feed(events: impl IntoIterator<Item = B>) -> EventFeed {
    EventFeed { events: events.into_iter().map(B::build).collect() }
}

fn find_pr<'a>(feed: &'a EventFeed, repo: &str, n: u64) -> &'a FeedEvent {
    let mut found = feed.events.iter().filter(|e| e.ext.pr_number == n && e.ext.repo_name == repo);
    let e = found.next().expect("PR is in the feed");
    assert!(found.next().is_none(), "PR {n} of {repo} is in the feed once");
    e
}

// --- insertion and pr_status ---------------------------------------------------------------

#[test]
fn new_pr_event_is_inserted_open() {
    let mut f = EventFeed::default();
    let out = merge(&mut f, B::pr(1, NOW).build(), NOW);
    assert!(out.changed);
    assert_eq!(out.changes, vec![Change::NewEvent, Change::Completed]);
    assert_eq!(f.events.len(), 1);
    assert_eq!(f.events[0].ext.pr_status, Some(PrStatus::Open));
}

#[test]
fn explicit_queued_or_merged_pr_status_is_kept_open_is_default() {
    let mut f = EventFeed::default();
    merge(&mut f, B::pr(1, NOW).pr_status(PrStatus::Queued).build(), NOW);
    merge(&mut f, B::pr(2, NOW).pr_status(PrStatus::Merged).build(), NOW);
    merge(&mut f, B::pr(3, NOW).pr_status(PrStatus::Open).build(), NOW);
    assert_eq!(find_pr(&f, REPO, 1).ext.pr_status, Some(PrStatus::Queued));
    assert_eq!(find_pr(&f, REPO, 2).ext.pr_status, Some(PrStatus::Merged));
    assert_eq!(find_pr(&f, REPO, 3).ext.pr_status, Some(PrStatus::Open));
}

#[test]
fn merge_result_is_stored_merged_even_if_it_says_open() {
    let mut f = EventFeed::default();
    merge(&mut f, B::merge_result("abc", NOW).pr_status(PrStatus::Open).build(), NOW);
    assert_eq!(f.events[0].ext.pr_status, Some(PrStatus::Merged));
}

// --- slots -----------------------------------------------------------------------------------

#[test]
fn replaces_same_pr_and_repo() {
    let mut f = feed([B::pr(1, NOW - 100).running(), B::pr(2, NOW - 50)]);
    let out = merge(&mut f, B::pr(1, NOW).sha("new").build(), NOW);
    assert_eq!(f.events.len(), 2);
    let e = find_pr(&f, REPO, 1);
    assert_eq!((e.timestamp, e.sha.as_str()), (NOW, "new"));
    assert_eq!(
        out.changes,
        vec![
            Change::Replaced { previous_ci_status: Status::from("running") },
            Change::StatusChanged { from: Status::from("running"), to: Status::from("success") },
            Change::Completed,
        ]
    );
}

#[test]
fn does_not_replace_same_pr_number_of_another_repo() {
    let mut f = feed([B::pr(1, NOW - 100).repo("org/a")]);
    let out = merge(&mut f, B::pr(1, NOW).repo("org/b").build(), NOW);
    assert_eq!(out.changes[0], Change::NewEvent);
    assert_eq!(f.events.len(), 2);
    assert_eq!(find_pr(&f, "org/a", 1).timestamp, NOW - 100);
    assert_eq!(find_pr(&f, "org/b", 1).timestamp, NOW);
}

#[test]
fn merge_result_is_matched_on_sha_and_repo() {
    let mut f = feed([
        B::merge_result("s1", NOW - 100).running(),
        B::merge_result("s2", NOW - 90),
        B::merge_result("s1", NOW - 80).repo("org/other"),
    ]);
    let out = merge(&mut f, B::merge_result("s1", NOW).build(), NOW);
    assert_eq!(out.changes[0], Change::Replaced { previous_ci_status: Status::from("running") });
    assert_eq!(f.events.len(), 3);
    let ts = |sha: &str, repo: &str| f.events.iter().find(|e| e.sha == sha && e.ext.repo_name == repo).map(|e| e.timestamp);
    assert_eq!(ts("s1", REPO), Some(NOW));
    assert_eq!(ts("s2", REPO), Some(NOW - 90));
    assert_eq!(ts("s1", "org/other"), Some(NOW - 80));
}

#[test]
fn merge_result_does_not_replace_pr_event_with_the_same_sha() {
    let mut f = feed([B::pr(7, NOW - 100).sha("same")]);
    let out = merge(&mut f, B::merge_result("same", NOW).build(), NOW);
    assert_eq!(out.changes[0], Change::NewEvent);
    assert_eq!(f.events.len(), 2);
}

#[test]
fn two_merge_results_with_different_shas_coexist() {
    let mut f = EventFeed::default();
    merge(&mut f, B::merge_result("a", NOW - 10).build(), NOW);
    merge(&mut f, B::merge_result("b", NOW).build(), NOW);
    assert_eq!(f.events.len(), 2);
}

// --- marking PRs merged ----------------------------------------------------------------------

#[test]
fn merge_result_marks_parent_and_linked_prs_merged_in_its_repo_only() {
    let mut f = feed([
        B::pr(5, NOW - 300),
        B::pr(6, NOW - 300),
        B::pr(7, NOW - 300),
        B::pr(5, NOW - 300).repo("org/other"),
        B::pr(6, NOW - 300).repo("org/other"),
    ]);
    let out = merge(&mut f, B::merge_result("m", NOW).parent(5).linked(6).build(), NOW);
    assert!(out.changes.contains(&Change::MarkedMerged { pr_numbers: vec![5, 6] }));
    assert_eq!(find_pr(&f, REPO, 5).ext.pr_status, Some(PrStatus::Merged));
    assert_eq!(find_pr(&f, REPO, 6).ext.pr_status, Some(PrStatus::Merged));
    assert_eq!(find_pr(&f, REPO, 7).ext.pr_status, None, "untouched");
    assert_eq!(find_pr(&f, "org/other", 5).ext.pr_status, None);
    assert_eq!(find_pr(&f, "org/other", 6).ext.pr_status, None);
}

#[test]
fn already_merged_prs_are_not_reported_again() {
    let mut f = feed([B::pr(5, NOW - 300).pr_status(PrStatus::Merged), B::pr(6, NOW - 300)]);
    let out = merge(&mut f, B::merge_result("m", NOW).parent(5).linked(6).build(), NOW);
    assert!(out.changes.contains(&Change::MarkedMerged { pr_numbers: vec![6] }));
}

#[test]
fn merge_result_without_repo_marks_nothing_like_praktika() {
    let mut f = feed([B::pr(5, NOW - 300).repo("")]);
    let out = merge(&mut f, B::merge_result("m", NOW).repo("").parent(5).build(), NOW);
    assert_eq!(out.changes, vec![Change::NewEvent, Change::Completed]);
    assert_eq!(find_pr(&f, "", 5).ext.pr_status, None);
}

#[test]
fn late_pr_event_older_than_a_stored_merge_result_is_stored_merged() {
    // The merge result arrived first (out of order); the PR's last event, produced before it,
    // arrives now.
    let mut f = feed([B::merge_result("m", NOW - 10).parent(5)]);
    merge(&mut f, B::pr(5, NOW - 20).build(), NOW);
    assert_eq!(find_pr(&f, REPO, 5).ext.pr_status, Some(PrStatus::Merged));
}

#[test]
fn pr_event_newer_than_the_merge_result_is_open_and_not_marked() {
    // e.g. a failed merge-queue run marked the PR merged, then the PR got a new push.
    let mut f = feed([B::merge_result("m", NOW - 100).parent(5)]);
    merge(&mut f, B::pr(5, NOW - 50).build(), NOW);
    assert_eq!(find_pr(&f, REPO, 5).ext.pr_status, Some(PrStatus::Open));

    // A late event of that older merge result does not mark the newer PR event merged.
    let out = merge(&mut f, B::merge_result("m", NOW - 90).parent(5).build(), NOW);
    assert!(!out.has("marked_merged"));
    assert_eq!(find_pr(&f, REPO, 5).ext.pr_status, Some(PrStatus::Open));
}

// --- title ---------------------------------------------------------------------------------

#[test]
fn empty_title_is_taken_from_the_replaced_event() {
    let mut f = feed([B::pr(1, NOW - 100).title("Fix the parser")]);
    merge(&mut f, B::pr(1, NOW - 50).title("").build(), NOW);
    assert_eq!(find_pr(&f, REPO, 1).ext.pr_title, "Fix the parser");

    merge(&mut f, B::pr(1, NOW).title("Fix the parser, v2").build(), NOW);
    assert_eq!(find_pr(&f, REPO, 1).ext.pr_title, "Fix the parser, v2");
}

// --- out of order and redelivery -------------------------------------------------------------

#[test]
fn older_event_for_the_same_slot_is_ignored() {
    let mut f = feed([B::pr(1, NOW - 100)]);
    merge(&mut f, B::pr(1, NOW - 50).title("stored").build(), NOW);
    let before = f.clone();
    let out = merge(&mut f, B::pr(1, NOW - 70).running().title("late").build(), NOW);
    assert_eq!(out, MergeOutcome::default());
    assert!(!out.changed);
    assert_eq!(f, before);
}

#[test]
fn running_does_not_replace_completed_with_the_same_timestamp() {
    let mut f = feed([B::pr(1, NOW - 100)]);
    merge(&mut f, B::pr(1, NOW - 50).build(), NOW);
    let before = f.clone();
    let out = merge(&mut f, B::pr(1, NOW - 50).running().build(), NOW);
    assert!(!out.changed);
    assert_eq!(f, before);

    // ...but a completed one does replace a running one with the same timestamp.
    let mut f = feed([B::pr(1, NOW - 50).running()]);
    let out = merge(&mut f, B::pr(1, NOW - 50).build(), NOW);
    assert!(out.has("completed"));
    assert_eq!(f.events[0].kind, EventKind::Completed);
}

#[test]
fn identical_redelivery_changes_nothing() {
    let event = B::pr(1, NOW - 10).job("Build", Status::from("failure")).title("").build();
    let mut f = feed([B::pr(1, NOW - 500).title("Old title")]);
    assert!(merge(&mut f, event.clone(), NOW).changed);
    let before = f.clone();
    let out = merge(&mut f, event, NOW);
    assert_eq!(out, MergeOutcome { changed: false, changes: vec![] });
    assert_eq!(f, before);
}

#[test]
fn redelivery_of_a_pr_event_marked_merged_since_changes_nothing() {
    let pr = B::pr(5, NOW - 100).build();
    let mut f = EventFeed::default();
    merge(&mut f, pr.clone(), NOW);
    merge(&mut f, B::merge_result("m", NOW - 50).parent(5).build(), NOW);
    let before = f.clone();
    let out = merge(&mut f, pr, NOW);
    assert!(!out.changed, "{:?}", out.changes);
    assert_eq!(f, before);
}

#[test]
fn identical_redelivery_of_a_merge_result_changes_nothing() {
    let mr = B::merge_result("m", NOW - 50).parent(5).build();
    let mut f = feed([B::pr(5, NOW - 100)]);
    assert!(merge(&mut f, mr.clone(), NOW).has("marked_merged"));
    let out = merge(&mut f, mr, NOW);
    assert!(!out.changed, "{:?}", out.changes);
}

// --- stale runs ------------------------------------------------------------------------------

#[test]
fn running_or_pending_more_than_12h_old_becomes_cancelled_failure() {
    let mut f = feed([
        B::pr(1, NOW - 12 * HOUR - 1).running(),
        B::pr(2, NOW - 13 * HOUR).ci(Status::from("pending")),
        B::pr(3, NOW - 11 * HOUR - 59 * MINUTE).running(),
        B::pr(4, NOW - 12 * HOUR).running(),
        B::pr(5, NOW - 20 * HOUR),
    ]);
    let out = merge(&mut f, B::pr(9, NOW).build(), NOW);
    assert!(out.changes.contains(&Change::CancelledStale { count: 2 }));
    for n in [1, 2] {
        let e = find_pr(&f, REPO, n);
        assert_eq!((e.ci_status.clone(), e.ext.is_cancelled), (Status::from("FAIL"), true), "PR {n}");
    }
    let e = find_pr(&f, REPO, 3);
    assert_eq!((e.ci_status.clone(), e.ext.is_cancelled), (Status::from("running"), false), "11h59m");
    let e = find_pr(&f, REPO, 4);
    assert_eq!((e.ci_status.clone(), e.ext.is_cancelled), (Status::from("running"), false), "exactly 12h");
    let e = find_pr(&f, REPO, 5);
    assert_eq!((e.ci_status.clone(), e.ext.is_cancelled), (Status::from("success"), false), "finished");
}

#[test]
fn stale_incoming_event_is_cancelled_and_counted_but_is_not_a_new_failure() {
    let mut f = EventFeed::default();
    let out = merge(&mut f, B::pr(1, NOW - 13 * HOUR).running().build(), NOW);
    assert_eq!(out.changes, vec![Change::NewEvent, Change::CancelledStale { count: 1 }]);
    assert_eq!(f.events[0].ci_status, Status::from("FAIL"));
    assert!(f.events[0].ext.is_cancelled);
}

#[test]
fn housekeeping_alone_is_a_change() {
    let mut f = feed([B::pr(1, NOW - 100), B::pr(2, NOW - 13 * HOUR).running()]);
    let out = merge(&mut f, B::pr(1, NOW - 200).build(), NOW); // ignored: older
    assert_eq!(out.changes, vec![Change::CancelledStale { count: 1 }]);
    assert!(out.changed);
}

// --- trimming --------------------------------------------------------------------------------

#[test]
fn group_is_kept_if_any_member_is_recent_and_dropped_when_all_are_old() {
    let mut f = feed([
        // Group 10: the root is old but a child is recent → kept whole.
        B::pr(10, NOW - 200 * DAY),
        B::pr(11, NOW - DAY).parent(10),
        B::merge_result("m10", NOW - 150 * DAY).parent(10),
        // Group 20: all old → dropped.
        B::pr(20, NOW - 40 * DAY),
        B::pr(21, NOW - 35 * DAY).parent(20),
        // PR 10 of another repo: praktika groups by PR number alone, so the recent group 10
        // above keeps it too.
        B::pr(10, NOW - 200 * DAY).repo("org/other"),
        // Merge results without a parent are all group 0: one recent one keeps them all.
        B::merge_result("old", NOW - 31 * DAY),
        B::merge_result("new", NOW - DAY),
        // PR 40 alone and old → dropped.
        B::pr(40, NOW - 31 * DAY),
    ]);
    let out = merge(&mut f, B::pr(30, NOW).build(), NOW);
    assert!(out.changes.contains(&Change::Trimmed { count: 3 }), "{:?}", out.changes);
    let mut left: Vec<(String, u64, String)> = f.events.iter().map(|e| (e.ext.repo_name.clone(), e.ext.pr_number, e.sha.clone())).collect();
    left.sort();
    let mut expected: Vec<(String, u64, String)> = vec![
        (REPO.into(), 0, "m10".into()),
        (REPO.into(), 0, "new".into()),
        (REPO.into(), 0, "old".into()),
        (REPO.into(), 10, format!("pr10-{}", NOW - 200 * DAY)),
        (REPO.into(), 11, format!("pr11-{}", NOW - DAY)),
        (REPO.into(), 30, format!("pr30-{NOW}")),
        ("org/other".into(), 10, format!("pr10-{}", NOW - 200 * DAY)),
    ];
    expected.sort();
    assert_eq!(left, expected);
}

#[test]
fn event_exactly_at_the_cutoff_is_kept() {
    let mut f = feed([B::pr(1, NOW - 30 * DAY), B::pr(2, NOW - 30 * DAY - 1)]);
    let out = merge(&mut f, B::pr(3, NOW).build(), NOW);
    assert!(out.changes.contains(&Change::Trimmed { count: 1 }));
    assert_eq!(find_pr(&f, REPO, 1).timestamp, NOW - 30 * DAY);
}

#[test]
fn retention_is_configurable() {
    let mut f = feed([B::pr(1, NOW - 50 * DAY), B::pr(2, NOW - 70 * DAY)]);
    let out = merge_with(&mut f, B::pr(3, NOW).build(), NOW, Rules { retention_days: 60 });
    assert!(out.changes.contains(&Change::Trimmed { count: 1 }));
    assert_eq!(f.events.iter().map(|e| e.ext.pr_number).collect::<Vec<_>>(), [3, 1]);
}

#[test]
fn a_stale_run_gets_praktikas_fail_and_every_status_is_kept_as_received() {
    let mut f = feed([
        B::pr(1, NOW - 13 * HOUR).ci(Status::from("RUNNING")).kind(EventKind::Running),
        B::pr(2, NOW - 13 * HOUR).ci(Status::from("Pending")).kind(EventKind::Running),
        B::pr(3, NOW - HOUR).ci(Status::from("XPASS")).job("a", Status::from("XFAIL")).job("b", Status::from("")),
    ]);
    merge(&mut f, B::pr(4, NOW).ci(Status::from("UNKNOWN")).build(), NOW);
    let status = |n| find_pr(&f, REPO, n).ci_status.as_str().to_owned();
    assert_eq!((status(1), status(2), status(3), status(4)), ("FAIL".into(), "FAIL".into(), "XPASS".into(), "UNKNOWN".into()));
    assert!(find_pr(&f, REPO, 1).ext.is_cancelled);
    let jobs: Vec<&str> = find_pr(&f, REPO, 3).jobs().iter().map(|j| j.status.as_str()).collect();
    assert_eq!(jobs, ["XFAIL", ""]);
}

#[test]
fn older_stored_entries_are_compacted_and_that_alone_is_a_change() {
    let mut old = B::pr(1, NOW - HOUR).job("Build", Status::from("OK")).build();
    old.result.extra.insert("duration".into(), serde_json::json!(12.5));
    old.result.results.as_mut().unwrap()[0].extra.insert("links".into(), serde_json::json!(["x"]));
    let mut f = EventFeed { events: vec![old] };
    let out = merge(&mut f, B::pr(1, NOW - 2 * HOUR).build(), NOW); // older: dropped
    assert_eq!(out.changes, vec![Change::Compacted { count: 1 }]);
    assert!(f.events[0].result.extra.is_empty());
    assert_eq!(serde_json::to_value(&f.events[0].result.results).unwrap(), serde_json::json!([{"name": "Build", "status": "OK"}]));
}

// --- ordering --------------------------------------------------------------------------------

#[test]
fn feed_is_newest_first_and_the_order_does_not_depend_on_arrival() {
    let events = [
        B::pr(1, NOW - 300).build(),
        B::pr(2, NOW - 100).build(),
        B::merge_result("b", NOW - 200).build(),
        B::merge_result("a", NOW - 200).build(),
        B::pr(3, NOW - 200).build(),
        B::pr(3, NOW - 200).repo("org/a").build(),
    ];
    let mut forward = EventFeed::default();
    for e in events.iter().cloned() {
        merge(&mut forward, e, NOW);
    }
    let mut backward = EventFeed::default();
    for e in events.iter().rev().cloned() {
        merge(&mut backward, e, NOW);
    }
    assert_eq!(forward, backward);
    let order: Vec<(i64, &str, u64, &str)> =
        forward.events.iter().map(|e| (e.timestamp, e.ext.repo_name.as_str(), e.ext.pr_number, e.sha.as_str())).collect();
    let t = NOW - 200;
    assert_eq!(
        order,
        vec![
            (NOW - 100, REPO, 2, format!("pr2-{}", NOW - 100).as_str()),
            (t, REPO, 3, format!("pr3-{t}").as_str()),
            (t, REPO, 0, "a"),
            (t, REPO, 0, "b"),
            (t, "org/a", 3, format!("pr3-{t}").as_str()),
            (NOW - 300, REPO, 1, format!("pr1-{}", NOW - 300).as_str()),
        ]
    );
}

#[test]
fn an_unsorted_stored_feed_is_sorted() {
    let mut f = feed([B::pr(1, NOW - 300), B::pr(2, NOW - 100)]);
    merge(&mut f, B::pr(3, NOW - 200).build(), NOW);
    let ts: Vec<i64> = f.events.iter().map(|e| e.timestamp).collect();
    assert_eq!(ts, vec![NOW - 100, NOW - 200, NOW - 300]);
}

// --- change detection ------------------------------------------------------------------------

#[test]
fn new_failure_when_the_replaced_event_was_not_failing() {
    // A failing job makes it a failure even while running.
    let mut f = feed([B::pr(1, NOW - 100).running()]);
    let out = merge(&mut f, B::pr(1, NOW - 50).running().job("Build", Status::from("failure")).build(), NOW);
    assert!(out.has("new_failure"), "{:?}", out.changes);
    assert!(!out.has("completed"));

    // Still failing: not new.
    let out = merge(&mut f, B::pr(1, NOW - 40).ci(Status::from("failure")).job("Build", Status::from("failure")).build(), NOW);
    assert!(!out.has("new_failure"), "{:?}", out.changes);
    assert!(out.has("completed"));
    assert!(out.has("status_changed"));

    // A new event with ci_status error.
    let out = merge(&mut f, B::pr(2, NOW).ci(Status::from("error")).build(), NOW);
    assert_eq!(out.changes, vec![Change::NewEvent, Change::NewFailure, Change::Completed]);

    // A passing event is no failure.
    let out = merge(&mut f, B::pr(3, NOW).job("Build", Status::from("success")).build(), NOW);
    assert!(!out.has("new_failure"));
}

#[test]
fn a_real_failure_after_a_stale_cancellation_is_new() {
    let mut f = feed([B::pr(1, NOW - 13 * HOUR).running()]);
    let out = merge(&mut f, B::pr(1, NOW).ci(Status::from("failure")).build(), NOW);
    assert!(out.has("new_failure"), "{:?}", out.changes);
    assert!(out.has("cancelled_stale"));
}

#[test]
fn completed_only_when_the_replaced_event_was_running_or_absent() {
    let mut f = EventFeed::default();
    assert!(!merge(&mut f, B::pr(1, NOW - 100).running().build(), NOW).has("completed"));
    assert!(merge(&mut f, B::pr(1, NOW - 50).build(), NOW).has("completed"));
    let out = merge(&mut f, B::pr(1, NOW - 40).title("retitled").build(), NOW);
    assert_eq!(out.changes, vec![Change::Replaced { previous_ci_status: Status::from("success") }]);
    assert!(merge(&mut f, B::merge_result("m", NOW).build(), NOW).has("completed"));
}

#[test]
fn change_names_match_the_feed_updated_contract() {
    let all = [
        (Change::NewEvent, "new_event"),
        (Change::Replaced { previous_ci_status: Status::from("running") }, "replaced"),
        (Change::StatusChanged { from: Status::from("running"), to: Status::from("success") }, "status_changed"),
        (Change::NewFailure, "new_failure"),
        (Change::Completed, "completed"),
        (Change::MarkedMerged { pr_numbers: vec![1] }, "marked_merged"),
        (Change::CancelledStale { count: 1 }, "cancelled_stale"),
        (Change::Trimmed { count: 1 }, "trimmed"),
    ];
    for (change, name) in all {
        assert_eq!(change.as_str(), name);
    }
}
