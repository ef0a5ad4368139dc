//! The fold's rules, one test each, and order independence over shuffled deliveries.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use pulse_contracts::praktika::FeedEvent;

const REPO: &str = "octo-org/widgets";
const SHA: &str = "a01b2c3d4e5f60718293a4b5c6d7e8f901234567";
const AUTHOR: &str = "ada@example.com";

/// A `workflow_run` delivery; `extra` overrides fields of `run`.
fn run(delivery: &str, id: u64, name: &str, status: &str, conclusion: Option<&str>, updated: &str, extra: Value) -> Delivery {
    let mut run = json!({
        "id": id, "name": name, "head_branch": "parser-rewrite", "head_sha": SHA, "event": "pull_request",
        "status": status, "run_number": 17, "run_attempt": 1,
        "html_url": format!("https://github.com/{REPO}/actions/runs/{id}"),
        "created_at": "2026-03-04T10:40:00Z", "updated_at": updated,
        "pull_requests": [{"number": 42, "head_ref": "parser-rewrite", "base_ref": "main"}],
        "head_commit": {"message": "Rewrite the parser", "author_name": "Ada", "author_email": AUTHOR},
        "actor": {"login": "ada", "id": 1001}, "triggering_actor": {"login": "ada", "id": 1001},
    });
    if let Some(c) = conclusion {
        run["conclusion"] = json!(c);
    }
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        run[k] = v;
    }
    let action = if status == "completed" {
        "completed"
    } else if status == "in_progress" {
        "in_progress"
    } else {
        "requested"
    };
    Delivery::Run(
        serde_json::from_value(json!({"delivery_id": delivery, "action": action, "repository": REPO, "run": run})).expect("a run delivery"),
    )
}

/// A `workflow_job` delivery of run `run_id`.
fn job(delivery: &str, run_id: u64, id: u64, name: &str, attempt: u32, state: (&str, Option<&str>), at: &str) -> Delivery {
    let (status, conclusion) = state;
    let mut job = json!({
        "id": id, "run_id": run_id, "run_attempt": attempt, "name": name, "workflow_name": "CI",
        "head_branch": "parser-rewrite", "head_sha": SHA, "status": status, "started_at": at,
        "steps": [{"number": 1, "name": "Set up job", "status": "completed", "conclusion": "success"}],
    });
    if let Some(c) = conclusion {
        job["conclusion"] = json!(c);
        job["completed_at"] = json!(at);
    }
    let action = match status {
        "completed" => "completed",
        "in_progress" => "in_progress",
        _ => "queued",
    };
    Delivery::Job(
        serde_json::from_value(json!({"delivery_id": delivery, "action": action, "repository": REPO, "job": job})).expect("a job delivery"),
    )
}

fn fold(deliveries: &[Delivery]) -> CommitState {
    let key = deliveries[0].commit().expect("a commit");
    let mut state = CommitState::new(&key);
    for d in deliveries {
        state.apply(d);
    }
    state
}

fn events(deliveries: &[Delivery]) -> Vec<SlotEvent> {
    commit_events(&fold(deliveries))
}

fn only(deliveries: &[Delivery]) -> FeedEvent {
    let mut all = events(deliveries);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0).event
}

fn jobs(event: &FeedEvent) -> Vec<(String, String)> {
    event.jobs().iter().map(|j| (j.name.clone(), j.status.to_string())).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// Two workflows of one PR commit, each with jobs, in a plausible delivery order.
fn two_workflows() -> Vec<Delivery> {
    vec![
        run("r1", 100, "CI", "requested", None, "2026-03-04T10:40:00Z", json!({})),
        run("r2", 200, "Lint", "requested", None, "2026-03-04T10:40:01Z", json!({})),
        job("j1", 100, 1, "build", 1, ("queued", None), "2026-03-04T10:40:05Z"),
        job("j2", 100, 1, "build", 1, ("in_progress", None), "2026-03-04T10:41:00Z"),
        job("j3", 200, 2, "eslint", 1, ("in_progress", None), "2026-03-04T10:41:00Z"),
        run("r3", 100, "CI", "in_progress", None, "2026-03-04T10:41:00Z", json!({})),
        job("j4", 200, 2, "eslint", 1, ("completed", Some("success")), "2026-03-04T10:42:00Z"),
        run("r4", 200, "Lint", "completed", Some("success"), "2026-03-04T10:42:01Z", json!({})),
        job("j5", 100, 1, "build", 1, ("completed", Some("failure")), "2026-03-04T10:45:00Z"),
        job("j6", 100, 3, "test (ubuntu-latest, 20)", 1, ("completed", Some("success")), "2026-03-04T10:46:00Z"),
        run("r5", 100, "CI", "completed", Some("failure"), "2026-03-04T10:46:02Z", json!({})),
    ]
}

#[test]
fn every_workflow_of_a_commit_is_in_one_event_named_by_workflow() {
    let event = only(&two_workflows());
    assert_eq!(event.ext.pr_number, 42);
    assert_eq!(event.ext.repo_name, REPO);
    assert_eq!(event.sha, SHA);
    assert_eq!(jobs(&event), pairs(&[("CI / build", "FAIL"), ("CI / test (ubuntu-latest, 20)", "OK"), ("Lint / eslint", "OK")]));
    assert_eq!(event.ci_status.as_str(), "FAIL");
    assert_eq!(event.result.status.as_str(), "FAIL");
    assert!(event.kind.is_completed());
    assert!(!event.ext.is_cancelled);
    assert_eq!(event.ext.commit_authors, [AUTHOR]);
    assert_eq!(event.ext.workflow_name, "CI, Lint");
    assert_eq!(event.ext.base_branch, "main");
    assert_eq!(event.ext.change_url, format!("https://github.com/{REPO}/pull/42"));
    assert_eq!(event.ext.run_url, format!("https://github.com/{REPO}/commit/{SHA}/checks"));
    assert_eq!(event.timestamp, chrono::DateTime::parse_from_rfc3339("2026-03-04T10:46:02Z").unwrap().timestamp());
}

#[test]
fn one_workflow_still_running_keeps_the_event_running() {
    let mut d = two_workflows();
    d.pop(); // CI's completion
    let event = only(&d);
    assert_eq!(event.ci_status.as_str(), "RUNNING");
    assert!(!event.kind.is_completed());
}

#[test]
fn a_job_before_its_run_shows_once_the_run_is_known() {
    let early = job("j1", 100, 1, "build", 1, ("completed", Some("failure")), "2026-03-04T10:45:00Z");
    assert!(events(std::slice::from_ref(&early)).is_empty(), "no run, no author, no slot: no event yet");
    let event = only(&[early, run("r1", 100, "CI", "in_progress", None, "2026-03-04T10:41:00Z", json!({}))]);
    assert_eq!(jobs(&event), pairs(&[("CI / build", "FAIL")]));
    assert_eq!(event.ci_status.as_str(), "RUNNING");
}

#[test]
fn a_late_job_after_completion_still_lands_and_never_goes_back() {
    let mut d = two_workflows();
    d.push(job("late", 100, 1, "build", 1, ("in_progress", None), "2026-03-04T10:41:00Z"));
    d.push(job("late2", 100, 4, "docs", 1, ("completed", Some("success")), "2026-03-04T10:44:00Z"));
    let event = only(&d);
    assert_eq!(
        jobs(&event),
        pairs(&[("CI / build", "FAIL"), ("CI / docs", "OK"), ("CI / test (ubuntu-latest, 20)", "OK"), ("Lint / eslint", "OK")])
    );
    assert_eq!(event.ci_status.as_str(), "FAIL");
}

#[test]
fn a_lost_job_completion_does_not_keep_a_completed_run_running() {
    let event = only(&[
        job("j1", 100, 1, "build", 1, ("in_progress", None), "2026-03-04T10:41:00Z"),
        run("r1", 100, "CI", "completed", Some("success"), "2026-03-04T10:46:00Z", json!({})),
    ]);
    assert_eq!(jobs(&event), pairs(&[("CI / build", "RUNNING")]));
    assert_eq!(event.ci_status.as_str(), "OK");
    assert!(event.kind.is_completed());
}

#[test]
fn redelivery_and_equal_state_change_nothing_and_a_retry_is_told_apart() {
    let d = two_workflows();
    let mut state = fold(&d);
    assert_eq!(state.apply(&d[4]), Applied::Retried, "the same delivery again");
    let mut copy = d[10].clone();
    if let Delivery::Run(r) = &mut copy {
        r.delivery_id = "another".into();
    }
    let before = state.clone();
    assert_eq!(state.apply(&copy), Applied::Unchanged, "another delivery with the same state");
    assert_eq!(state, before);
    assert_eq!(state.apply(&d[0]), Applied::Retried, "an older state from a delivery that once changed it");
}

#[test]
fn an_older_attempt_never_replaces_a_newer_one() {
    let attempt2 = json!({"run_attempt": 2});
    let d = vec![
        run("a1", 100, "CI", "completed", Some("failure"), "2026-03-04T10:46:00Z", json!({})),
        job("j1", 100, 1, "build", 1, ("completed", Some("failure")), "2026-03-04T10:45:00Z"),
        job("j2", 100, 2, "test", 1, ("completed", Some("success")), "2026-03-04T10:45:00Z"),
        // Re-run failed jobs: build again, test kept from attempt 1.
        run("a2", 100, "CI", "in_progress", None, "2026-03-04T11:00:00Z", attempt2.clone()),
        job("j3", 100, 11, "build", 2, ("completed", Some("success")), "2026-03-04T11:05:00Z"),
        run("a3", 100, "CI", "completed", Some("success"), "2026-03-04T11:05:02Z", attempt2),
    ];
    let event = only(&d);
    assert_eq!(jobs(&event), pairs(&[("CI / build", "OK"), ("CI / test", "OK")]));
    assert_eq!(event.ci_status.as_str(), "OK");
    let mut state = fold(&d);
    assert_eq!(state.apply(&run("old", 100, "CI", "completed", Some("failure"), "2026-03-04T12:00:00Z", json!({}))), Applied::Unchanged);
}

#[test]
fn completed_beats_in_progress_beats_queued() {
    let done = run("a", 100, "CI", "completed", Some("success"), "2026-03-04T10:46:00Z", json!({}));
    let going = run("b", 100, "CI", "in_progress", None, "2026-03-04T10:50:00Z", json!({}));
    let queued = run("c", 100, "CI", "queued", None, "2026-03-04T10:55:00Z", json!({}));
    for order in [[&done, &going, &queued], [&queued, &going, &done], [&going, &done, &queued]] {
        let event = only(&order.map(Clone::clone));
        assert_eq!(event.ci_status.as_str(), "OK", "{order:?}");
    }
}

#[test]
fn a_fork_pr_is_a_pr_of_unknown_number_never_a_merge_result() {
    let fork = json!({"pull_requests": [], "head_branch": "main"});
    let event = only(&[run("f", 300, "CI", "completed", Some("failure"), "2026-03-04T10:46:00Z", fork)]);
    assert_eq!(event.ext.pr_number, unknown_pr_number("main"));
    assert!(event.ext.pr_number >= UNKNOWN_PR_BASE);
    assert!(!event.is_merge_result());
    assert_eq!(event.ext.extra.get("pr_number_unknown"), Some(&json!(true)));
    assert_eq!(event.ext.change_url, format!("https://github.com/{REPO}/commit/{SHA}"));
}

#[test]
fn a_push_run_is_the_commits_merge_result_apart_from_its_pr_runs() {
    let push = json!({"event": "push", "pull_requests": [], "head_branch": "main"});
    let all = events(&[
        run("p", 400, "Deploy", "completed", Some("success"), "2026-03-04T10:46:00Z", push),
        run("q", 100, "CI", "completed", Some("success"), "2026-03-04T10:46:00Z", json!({})),
    ]);
    let slots: Vec<Slot> = all.iter().map(|e| e.slot).collect();
    assert_eq!(slots, [Slot::Commit, Slot::Pr(42)]);
    assert!(all[0].event.is_merge_result());
    assert_eq!(jobs(&all[0].event), pairs(&[("Deploy", "OK")]));
    assert_eq!(all[0].event.ext.run_id, Some(pulse_contracts::praktika::RunId::Number(400)));
}

#[test]
fn a_cancelled_run_fails_only_as_cancelled() {
    let event = only(&[run("c", 100, "CI", "completed", Some("cancelled"), "2026-03-04T10:46:00Z", json!({}))]);
    assert_eq!(jobs(&event), pairs(&[("CI", "DROPPED")]));
    assert_eq!(event.ci_status.as_str(), "FAIL");
    assert!(event.ext.is_cancelled);
    let mixed = only(&[
        run("c", 100, "CI", "completed", Some("cancelled"), "2026-03-04T10:46:00Z", json!({})),
        run("d", 200, "Lint", "completed", Some("failure"), "2026-03-04T10:46:00Z", json!({})),
    ]);
    assert!(!mixed.ext.is_cancelled, "a real failure beside a cancelled run is a failure");
}

#[test]
fn the_triggering_actor_follows_the_run_when_not_the_author() {
    let other = json!({"triggering_actor": {"login": "grace", "id": 2002}});
    let all = events(&[run("r", 100, "CI", "completed", Some("success"), "2026-03-04T10:46:00Z", other)]);
    assert_eq!(all[0].followers, ["2002+grace@users.noreply.github.com"]);
    assert_eq!(all[0].event.ext.commit_authors, [AUTHOR], "commit_authors stays the authors");
    let own = json!({"head_commit": {"message": "m", "author_name": "Ada", "author_email": "1001+ada@users.noreply.github.com"}});
    assert!(events(&[run("s", 100, "CI", "completed", Some("success"), "2026-03-04T10:46:00Z", own)])[0].followers.is_empty());
}

#[test]
fn a_commit_key_names_one_object_and_refuses_paths() {
    let key = CommitKey::parse(REPO, SHA).unwrap();
    assert_eq!(key.storage_key(), format!("pulse-github-state/{REPO}/{SHA}.json.gz"));
    assert!(!key.storage_key().starts_with("events/"));
    for (repo, sha) in [("../x", SHA), ("a/b/c", SHA), ("a", SHA), ("a/..", SHA), (REPO, "abc"), (REPO, &"g".repeat(40))] {
        assert!(CommitKey::parse(repo, sha).is_err(), "{repo} {sha}");
    }
}

#[test]
fn the_state_round_trips_through_json() {
    let state = fold(&two_workflows());
    let back: CommitState = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
    assert_eq!(back, state);
    assert!(back.runs.values().flat_map(|r| r.jobs.values()).all(|j| j.steps.is_empty()), "steps are not kept");
}

#[test]
fn forgetting_the_author_leaves_the_runs_in_no_feed() {
    let mut state = fold(&two_workflows());
    assert!(state.forget("ADA@example.com"));
    assert!(!state.forget(AUTHOR), "forgetting again changes nothing");
    let all = commit_events(&state);
    assert!(all[0].event.ext.commit_authors.is_empty());
    assert_eq!(jobs(&all[0].event).len(), 3, "the runs stay");
    let later = run("later", 100, "CI", "completed", Some("failure"), "2026-03-04T10:46:02Z", json!({}));
    assert_eq!(state.apply(&later), Applied::Unchanged, "a redelivered description does not bring the e-mail back");
}

proptest! {
    /// Any permutation of the same deliveries, each possibly delivered twice, yields the same
    /// feed events.
    #[test]
    fn order_does_not_matter(order in Just((0..11usize).collect::<Vec<_>>()).prop_shuffle(), twice in proptest::collection::vec(any::<bool>(), 11)) {
        let d = two_workflows();
        let mut shuffled: Vec<Delivery> = order.iter().map(|&i| d[i].clone()).collect();
        shuffled.extend(order.iter().filter(|&&i| twice[i]).map(|&i| d[i].clone()));
        let expected = events(&d);
        prop_assert_eq!(events(&shuffled), expected);
        let (a, b) = (fold(&shuffled), fold(&d));
        prop_assert_eq!(a.runs, b.runs);
    }
}
