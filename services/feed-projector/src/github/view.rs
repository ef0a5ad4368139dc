//! A commit's state read as praktika feed events, one per slot (rules 4–6 of the module docs).

use std::collections::{BTreeMap, BTreeSet};

use pulse_contracts::events::github::{WorkflowJob, WorkflowRun};
use pulse_contracts::praktika::{EventExt, EventKind, FeedEvent, RunId, RunResult, Status, StatusClass};
use pulse_contracts::{GithubConclusion, GithubState};
use serde_json::{Map, Value};

use super::state::{CommitState, RunState};

/// Where a fork PR's runs go: `pr_number` = this + the CRC-32 of the run's head branch (the
/// fork's branch). praktika's `pr_number` cannot say "unknown" (0 is a merge result), so a fork
/// PR gets a number no real PR has (GitHub's are far below 10¹²), the same for every commit of
/// that branch (its commits replace each other in one slot, as a PR's do), flagged with
/// `ext.pr_number_unknown = true` for readers that show numbers.
pub const UNKNOWN_PR_BASE: u64 = 1_000_000_000_000;

/// The `pr_number` given to runs of a fork PR from `head_branch`.
pub fn unknown_pr_number(head_branch: &str) -> u64 {
    UNKNOWN_PR_BASE + u64::from(crc32fast::hash(head_branch.as_bytes()))
}

/// The slot of praktika's feed a run's event goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// A push, schedule, dispatch, ...: the commit's merge result (`pr_number` 0).
    Commit,
    Pr(u64),
    /// A `pull_request*` run that names no PR (a fork's): see [`UNKNOWN_PR_BASE`].
    UnknownPr(u64),
}

impl Slot {
    fn pr_number(self) -> u64 {
        match self {
            Slot::Commit => 0,
            Slot::Pr(n) | Slot::UnknownPr(n) => n,
        }
    }

    /// A short name, for dedup keys and logs.
    pub fn label(self) -> String {
        match self {
            Slot::Commit => "commit".to_owned(),
            Slot::Pr(n) => format!("pr{n}"),
            Slot::UnknownPr(n) => format!("fork-pr{n}"),
        }
    }

    /// The slots of one run (rule 4).
    fn of(run: &WorkflowRun) -> Vec<Slot> {
        if !run.pull_requests.is_empty() {
            let numbers: BTreeSet<u64> = run.pull_requests.iter().map(|p| p.number).collect();
            return numbers.into_iter().map(Slot::Pr).collect();
        }
        if run.event.starts_with("pull_request") {
            return vec![Slot::UnknownPr(unknown_pr_number(run.head_branch.as_deref().unwrap_or_default()))];
        }
        vec![Slot::Commit]
    }
}

/// One feed event of a commit and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotEvent {
    pub slot: Slot,
    /// The runs it covers.
    pub run_ids: BTreeSet<u64>,
    pub event: FeedEvent,
    /// Feeds it also goes to besides `commit_authors`: the triggering actors' noreply
    /// addresses that are not authors (rule 6).
    pub followers: Vec<String>,
}

/// Every feed event of the commit, by slot. Runs not described yet (only jobs heard of) are in
/// none.
pub fn commit_events(state: &CommitState) -> Vec<SlotEvent> {
    let mut slots: BTreeMap<Slot, Vec<(&WorkflowRun, &RunState)>> = BTreeMap::new();
    for run_state in state.runs.values() {
        if let Some(run) = &run_state.run {
            for slot in Slot::of(run) {
                slots.entry(slot).or_default().push((run, run_state));
            }
        }
    }
    slots.into_iter().map(|(slot, runs)| slot_event(state, slot, &runs)).collect()
}

fn slot_event(state: &CommitState, slot: Slot, runs: &[(&WorkflowRun, &RunState)]) -> SlotEvent {
    let mut jobs = Vec::new();
    let mut counted = Vec::new();
    let mut timestamp = i64::MIN;
    for (run, run_state) in runs {
        let run_status = status_of(run.state);
        let run_done = matches!(run.state, GithubState::Completed(c) if c != GithubConclusion::ActionRequired);
        counted.push(run_status.clone());
        timestamp = timestamp.max(run.updated_at.timestamp());
        let shown = latest_attempt_jobs(run_state);
        if shown.is_empty() {
            jobs.push(RunResult::named(run.name.clone(), run_status.as_str()));
        }
        for job in shown {
            let status = status_of(job.state);
            if !(run_done && status.is_in_flight()) {
                counted.push(status.clone());
            }
            for time in [job.started_at, job.completed_at].into_iter().flatten() {
                timestamp = timestamp.max(time.timestamp());
            }
            jobs.push(RunResult::named(format!("{} / {}", run.name, job.name), status.as_str()));
        }
    }
    jobs.sort_by(|a, b| (&a.name, a.status.as_str()).cmp(&(&b.name, b.status.as_str())));
    let (status, cancelled) = overall(&counted);

    let first = runs[0].0;
    let authors: BTreeSet<String> =
        runs.iter().filter_map(|(r, _)| r.head_commit.as_ref()).map(|c| c.author_email.clone()).filter(|e| !e.is_empty()).collect();
    let followers: BTreeSet<String> = runs
        .iter()
        .filter_map(|(r, _)| r.triggering_actor.as_ref().or(r.actor.as_ref()))
        .map(|u| pulse_contracts::GithubAccount { id: u.id, login: u.login.clone() }.noreply_email().into_string())
        .filter(|e| !authors.contains(e))
        .collect();
    let workflows: BTreeSet<&str> = runs.iter().map(|(r, _)| r.name.as_str()).collect();
    let workflow_name = workflows.into_iter().collect::<Vec<_>>().join(", ");
    let repo_url = first.html_url.split_once("/actions/runs/").map(|(repo, _)| repo.to_owned()).unwrap_or_default();
    let commit_url = if repo_url.is_empty() { String::new() } else { format!("{repo_url}/commit/{}", state.head_sha) };
    let run_url = match runs {
        [(only, _)] => only.html_url.clone(),
        _ if repo_url.is_empty() => String::new(),
        _ => format!("{commit_url}/checks"),
    };
    let change_url = match slot {
        Slot::Pr(n) if !repo_url.is_empty() => format!("{repo_url}/pull/{n}"),
        _ => commit_url,
    };
    let mut extra = Map::new();
    if matches!(slot, Slot::UnknownPr(_)) {
        extra.insert("pr_number_unknown".to_owned(), Value::Bool(true));
    }
    let base_branch = match slot {
        Slot::Pr(n) => runs.iter().flat_map(|(r, _)| &r.pull_requests).find(|p| p.number == n).map(|p| p.base_ref.clone()),
        _ => None,
    };
    let ext = EventExt {
        pr_number: slot.pr_number(),
        branch: runs.iter().find_map(|(r, _)| r.head_branch.clone()).unwrap_or_default(),
        commit_message: first.head_commit.as_ref().map(|c| c.message.clone()).unwrap_or_default(),
        repo_name: state.repository.clone(),
        report_url: run_url.clone(),
        change_url,
        workflow_name: workflow_name.clone(),
        base_branch: base_branch.unwrap_or_default(),
        run_id: match runs {
            [(only, _)] => Some(RunId::Number(only.id)),
            _ => None,
        },
        run_url,
        commit_authors: authors.into_iter().collect(),
        is_cancelled: cancelled,
        extra,
        ..EventExt::default()
    };
    let kind = if status.is_in_flight() { EventKind::Running } else { EventKind::Completed };
    let event = FeedEvent {
        kind,
        timestamp,
        sha: state.head_sha.clone(),
        result: RunResult { name: workflow_name, status: status.clone(), results: Some(jobs), ext: None, extra: Map::new() },
        ci_status: status,
        ext,
        linked_events: Vec::new(),
        dropped: Map::new(),
    };
    SlotEvent { slot, run_ids: runs.iter().map(|(r, _)| r.id).collect(), event, followers: followers.into_iter().collect() }
}

/// Per job name, the jobs of the latest attempt that has that name (rule 3), by job id.
fn latest_attempt_jobs(run: &RunState) -> Vec<&WorkflowJob> {
    let mut latest: BTreeMap<&str, u32> = BTreeMap::new();
    for job in run.jobs.values() {
        let attempt = latest.entry(job.name.as_str()).or_insert(job.run_attempt);
        *attempt = (*attempt).max(job.run_attempt);
    }
    run.jobs.values().filter(|j| latest.get(j.name.as_str()) == Some(&j.run_attempt)).collect()
}

fn status_of(state: GithubState) -> Status {
    state.praktika_status().status
}

/// praktika's `Result._update_status` over `statuses`, and whether the failure is only
/// cancellations (rule 5).
fn overall(statuses: &[Status]) -> (Status, bool) {
    let any = |class: StatusClass| statuses.iter().any(|s| s.class() == class);
    let failing = |s: &&Status| {
        matches!(s.class(), StatusClass::Error | StatusClass::Dropped | StatusClass::Fail | StatusClass::Unknown | StatusClass::XPass)
    };
    if any(StatusClass::Running) {
        (Status::new("RUNNING"), false)
    } else if any(StatusClass::Pending) {
        (Status::new("PENDING"), false)
    } else if statuses.iter().any(|s| failing(&s)) {
        let only_dropped = statuses.iter().filter(failing).all(|s| s.class() == StatusClass::Dropped);
        (Status::new(Status::FAIL), only_dropped)
    } else {
        (Status::new("OK"), false)
    }
}
