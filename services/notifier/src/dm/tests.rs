use pulse_contracts::praktika::{EventExt, EventKind, FeedEvent, RunResult, Status};
use pulse_contracts::{Event, Preferences, parse_str};
use serde_json::{Map, json};

use super::*;

const USER: &str = "U1";
const EMAIL: &str = "alice@clickhouse.com";

/// A compacted event as praktika stores it: jobs keep name and status, `ext` the report.
fn run(kind: EventKind, ci_status: &str, jobs: &[(&str, &str)]) -> FeedEvent {
    let mut report = Map::new();
    report.insert("report_url".into(), json!("https://reports/r.html"));
    FeedEvent {
        kind,
        timestamp: 1_763_632_971,
        sha: "3f9c2a7d41be8f0e".into(),
        result: RunResult {
            name: "PR".into(),
            status: Status::new(ci_status),
            results: Some(jobs.iter().map(|(n, s)| RunResult::named(*n, s)).collect()),
            ext: Some(report),
            extra: Map::new(),
        },
        ci_status: Status::new(ci_status),
        ext: EventExt {
            pr_number: 91234,
            pr_title: "Speed up FINAL".into(),
            repo_name: "ClickHouse/ClickHouse".into(),
            workflow_name: "PR".into(),
            change_url: "https://github.com/ClickHouse/ClickHouse/pull/91234".into(),
            run_url: "https://github.com/ClickHouse/ClickHouse/actions/runs/1".into(),
            ..EventExt::default()
        },
        linked_events: Vec::new(),
        dropped: Map::new(),
    }
}

fn failed_run() -> FeedEvent {
    run(
        EventKind::Completed,
        "FAIL",
        &[("Style check", "OK"), ("Stateless tests (amd_debug)", "FAIL"), ("Integration tests", "error"), ("Build (arm)", "DROPPED")],
    )
}

fn prefs(complete: bool, failure: bool) -> Preferences {
    Preferences { notify_on_complete: complete, notify_on_failure: failure, ..Preferences::default() }
}

fn decide_with(event: &FeedEvent, prefs: &Preferences, recorded: &[(DmKind, Recorded)]) -> DmDecision {
    decide(&DmInput { slack_user: USER, email: EMAIL, event, prefs, recorded })
}

fn sent(decision: DmDecision) -> Dm {
    match decision {
        DmDecision::Send(dm) => dm,
        other => panic!("expected a DM, got {other:?}"),
    }
}

/// Everything a user sees of a DM: the notification text and every block's text.
fn shown(dm: &Dm) -> String {
    format!("{}\n{}", dm.message.text(), dm.message.blocks_json())
}

fn done(covers: &[DmKind]) -> Recorded {
    Recorded::Done { covers: covers.to_vec(), posted: Some(Posted { channel: "DU1".into(), ts: "1.1".into() }) }
}

#[test]
fn keys_are_praktikas_format_with_the_status_lower_cased() {
    let e = failed_run();
    assert_eq!(praktika_key(DmKind::Failure, EMAIL, &e), "failure:alice@clickhouse.com:3f9c2a7d41be8f0e:fail:91234:ClickHouse/ClickHouse");
    assert_eq!(
        praktika_key(DmKind::Complete, EMAIL, &e),
        "complete:alice@clickhouse.com:3f9c2a7d41be8f0e:fail:91234:ClickHouse/ClickHouse"
    );
    assert_eq!(
        ledger_key(USER, DmKind::Complete, EMAIL, &e),
        "dm:U1:complete:alice@clickhouse.com:3f9c2a7d41be8f0e:fail:91234:ClickHouse/ClickHouse"
    );
    let mut merge = run(EventKind::Completed, "Success", &[]);
    merge.ext.pr_number = 0;
    merge.ext.repo_name = String::new();
    assert_eq!(praktika_key(DmKind::Complete, EMAIL, &merge), "complete:alice@clickhouse.com:3f9c2a7d41be8f0e:success:0:");
}

#[test]
fn complete_only_on_a_failed_run_says_it_failed_and_lists_the_failing_jobs() {
    let dm = sent(decide_with(&failed_run(), &prefs(true, false), &[]));
    assert_eq!(dm.covers, vec![DmKind::Complete]);
    assert_eq!(dm.key, ledger_key(USER, DmKind::Complete, EMAIL, &failed_run()));
    assert!(dm.also_record.is_empty());
    let seen = shown(&dm);
    assert!(dm.message.text().starts_with(":red_circle: CI failed: Speed up FINAL"), "{}", dm.message.text());
    assert!(!seen.contains("white_check_mark"), "a failed run is never shown as passed: {seen}");
    assert!(seen.contains("• Stateless tests (amd_debug)") && seen.contains("• Integration tests"), "{seen}");
    assert!(!seen.contains("• Style check") && !seen.contains("• Build (arm)"), "only failing jobs are listed: {seen}");
    assert!(seen.contains("2 failed · 1 dropped · 1 ok"), "{seen}");
    assert!(seen.contains("_notification: complete_"), "{seen}");
}

#[test]
fn failure_only_sends_a_failure_dm() {
    let e = failed_run();
    let dm = sent(decide_with(&e, &prefs(false, true), &[]));
    assert_eq!((dm.covers.clone(), dm.key.clone()), (vec![DmKind::Failure], ledger_key(USER, DmKind::Failure, EMAIL, &e)));
    assert!(dm.message.text().contains("— failing: Stateless tests (amd_debug), Integration tests"), "{}", dm.message.text());
    // Still running with a failing job: failure applies, complete does not.
    let running = run(EventKind::Running, "running", &[("Fast test", "failure"), ("Build", "running")]);
    let dm = sent(decide_with(&running, &prefs(true, true), &[]));
    assert_eq!(dm.covers, vec![DmKind::Failure]);
    assert!(dm.message.text().contains("CI failing (still running)"), "{}", dm.message.text());
    assert_eq!(decide_with(&running, &prefs(true, false), &[]), DmDecision::NotWanted);
    assert_eq!(decide_with(&e, &prefs(false, false), &[]), DmDecision::NotWanted);
}

#[test]
fn both_toggles_send_one_dm_with_both_facts_and_both_keys() {
    let e = failed_run();
    let dm = sent(decide_with(&e, &prefs(true, true), &[]));
    assert_eq!(dm.covers, vec![DmKind::Failure, DmKind::Complete]);
    assert_eq!(dm.key, ledger_key(USER, DmKind::Failure, EMAIL, &e));
    assert_eq!(dm.also_record, vec![ledger_key(USER, DmKind::Complete, EMAIL, &e)]);
    let seen = shown(&dm);
    assert!(seen.contains("CI failed") && seen.contains("• Stateless tests (amd_debug)"), "{seen}");
    assert!(seen.contains("_notification: failure + complete_"), "{seen}");
    // What the handler stores with the primary says what it covers.
    assert_eq!(covers_of(DmKind::Failure, Some(&covers_context(&dm.covers))), vec![DmKind::Failure, DmKind::Complete]);

    // A passed run with both toggles: only complete applies, and it says passed.
    let ok = run(EventKind::Completed, "OK", &[("Style check", "OK"), ("Flaky", "XFAIL")]);
    let dm = sent(decide_with(&ok, &prefs(true, true), &[]));
    assert_eq!(dm.covers, vec![DmKind::Complete]);
    assert!(dm.message.text().starts_with(":white_check_mark: CI passed"), "{}", dm.message.text());
    assert!(!shown(&dm).contains("Failing jobs"), "{}", shown(&dm));
}

#[test]
fn a_kind_enabled_later_is_not_swallowed_and_nothing_is_sent_twice() {
    let e = failed_run();
    // Failure DM sent earlier; the user turns "complete" on and the event comes again.
    let earlier = [(DmKind::Failure, done(&[DmKind::Failure]))];
    let dm = sent(decide_with(&e, &prefs(true, true), &earlier));
    assert_eq!((dm.covers.clone(), dm.also_record.len()), (vec![DmKind::Complete], 0));
    assert!(shown(&dm).contains("CI failed") && shown(&dm).contains("• Integration tests"));
    // And the other way round.
    let earlier = [(DmKind::Complete, done(&[DmKind::Complete]))];
    assert_eq!(sent(decide_with(&e, &prefs(true, true), &earlier)).covers, vec![DmKind::Failure]);

    // Every kind that applies was sent: nothing, whichever DM covered it.
    let both =
        [(DmKind::Failure, done(&[DmKind::Failure, DmKind::Complete])), (DmKind::Complete, done(&[DmKind::Failure, DmKind::Complete]))];
    assert_eq!(decide_with(&e, &prefs(true, true), &both), DmDecision::AlreadySent { kinds: vec![DmKind::Failure, DmKind::Complete] });
    let only_failure = [(DmKind::Failure, done(&[DmKind::Failure]))];
    assert_eq!(decide_with(&e, &prefs(false, true), &only_failure), DmDecision::AlreadySent { kinds: vec![DmKind::Failure] });
    // A key imported from praktika's `last_notified_key` (no context) counts too.
    let imported = [(DmKind::Complete, Recorded::Done { covers: covers_of(DmKind::Complete, None), posted: None })];
    assert_eq!(decide_with(&e, &prefs(true, false), &imported), DmDecision::AlreadySent { kinds: vec![DmKind::Complete] });

    // A new ci_status is a new key: the DM comes again, as in praktika.
    let mut rerun = e.clone();
    rerun.ci_status = Status::new("OK");
    assert_ne!(ledger_key(USER, DmKind::Complete, EMAIL, &rerun), ledger_key(USER, DmKind::Complete, EMAIL, &e));
}

#[test]
fn a_dm_whose_second_key_was_never_recorded_is_recorded_not_sent_again() {
    let e = failed_run();
    let posted = Some(Posted { channel: "DU1".into(), ts: "1.1".into() });
    let crashed = [(DmKind::Failure, Recorded::Done { covers: vec![DmKind::Failure, DmKind::Complete], posted: posted.clone() })];
    let expected = DmDecision::Record {
        keys: vec![ledger_key(USER, DmKind::Complete, EMAIL, &e)],
        posted,
        covered_by: ledger_key(USER, DmKind::Failure, EMAIL, &e),
        covers: vec![DmKind::Failure, DmKind::Complete],
    };
    assert_eq!(decide_with(&e, &prefs(true, true), &crashed), expected);
    // Even when the user has since turned "complete" off: the key still gets recorded.
    assert_eq!(decide_with(&e, &prefs(false, true), &crashed), expected);
}

#[test]
fn an_attempt_that_may_have_posted_is_resumed_under_its_own_key() {
    let e = failed_run();
    // "complete" was being sent (complete-only then); now both apply.
    let pending = [(DmKind::Complete, Recorded::Pending { covers: vec![DmKind::Complete] })];
    let dm = sent(decide_with(&e, &prefs(true, true), &pending));
    assert_eq!(dm.key, ledger_key(USER, DmKind::Complete, EMAIL, &e), "the ledger reconciles the earlier attempt");
    assert_eq!(dm.covers, vec![DmKind::Complete, DmKind::Failure]);
    assert_eq!(dm.also_record, vec![ledger_key(USER, DmKind::Failure, EMAIL, &e)]);
}

#[test]
fn xpass_unknown_and_missing_job_statuses_are_not_failing() {
    let e = run(EventKind::Completed, "XPASS", &[("A", "XPASS"), ("B", "UNKNOWN"), ("C", ""), ("D", "weird"), ("E", "ok")]);
    assert_eq!(decide_with(&e, &prefs(false, true), &[]), DmDecision::NotWanted);
    let dm = sent(decide_with(&e, &prefs(true, true), &[]));
    assert_eq!(dm.covers, vec![DmKind::Complete]);
    let seen = shown(&dm);
    assert!(dm.message.text().starts_with(":grey_question: CI finished: XPASS"), "{}", dm.message.text());
    assert!(!seen.contains("Failing jobs") && !seen.contains("white_check_mark") && !seen.contains("failed"), "{seen}");
    assert!(seen.contains("1 ok · 4 other"), "{seen}");
    // Failing in any letter case.
    let mixed = run(EventKind::Completed, "Failure", &[("A", "Error"), ("B", "fAiL")]);
    assert_eq!(mixed.failing_job_names(), vec!["A", "B"]);
    assert_eq!(sent(decide_with(&mixed, &prefs(false, true), &[])).covers, vec![DmKind::Failure]);
    // No status at all on the run, a type praktika may add later: no panic, no DM claimed as passed.
    let mut odd = run(EventKind::Other("queued".into()), "", &[]);
    odd.result.results = None;
    assert_eq!(decide_with(&odd, &prefs(true, true), &[]), DmDecision::NotWanted);
    odd.kind = EventKind::Completed;
    let dm = sent(decide_with(&odd, &prefs(true, false), &[]));
    assert!(dm.message.text().contains("CI finished without a status"), "{}", dm.message.text());
}

#[test]
fn links_come_from_ext_and_the_report_and_missing_ones_are_left_out() {
    let dm = sent(decide_with(&failed_run(), &prefs(true, false), &[]));
    let seen = shown(&dm);
    assert!(seen.contains("<https://github.com/ClickHouse/ClickHouse/pull/91234|PR #91234>"), "{seen}");
    assert!(seen.contains("|run>") && seen.contains("<https://reports/r.html|report>"), "{seen}");
    let mut bare = failed_run();
    bare.ext.change_url.clear();
    bare.ext.run_url.clear();
    bare.ext.pr_number = 0;
    bare.result.ext = None;
    let seen = shown(&sent(decide_with(&bare, &prefs(true, false), &[])));
    assert!(seen.contains("commit 3f9c2a7d") && !seen.contains("|run>") && !seen.contains("|report>"), "{seen}");
    // The event's own `ext.report_url` is the fallback.
    bare.ext.report_url = "https://reports/ext.html".into();
    assert!(shown(&sent(decide_with(&bare, &prefs(true, false), &[]))).contains("<https://reports/ext.html|report>"));
}

#[test]
fn the_contract_example_decides_and_renders() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/examples/feed.updated.v1/new-failure.json");
    let Event::FeedUpdatedV1(update) = parse_str(&std::fs::read_to_string(path).unwrap()).unwrap().detail else { unreachable!() };
    let e = update.newest_event;
    let dm = sent(decide_with(&e, &prefs(true, true), &[]));
    assert!(dm.key.ends_with(&format!(":{}:failure:91234:ClickHouse/ClickHouse", e.sha)), "{}", dm.key);
    let seen = shown(&dm);
    assert!(seen.contains("• Stateless tests (amd_debug, parallel)") && !seen.contains("• Fast test"), "{seen}");
    assert!(seen.contains("|PR #91234>") && seen.contains("|run>") && seen.contains("|report>"), "{seen}");
    assert_eq!(dm.message.blocks_json().as_array().map(Vec::len), Some(3));
}
