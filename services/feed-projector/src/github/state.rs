//! The per-commit GitHub state and the one fold rule: a delivery is kept only when it is newer
//! than what is stored (rules 1–3 of the module docs).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use pulse_contracts::events::github::{ActiveStatus, WorkflowJob, WorkflowRun};
use pulse_contracts::{GithubConclusion, GithubState, GithubWorkflowJob, GithubWorkflowRun};
use serde::{Deserialize, Serialize};

/// Where a commit's state lives: its repository and head sha, both checked, so the storage key
/// made of them names one object and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitKey {
    repository: String,
    head_sha: String,
}

/// A delivery whose repository or sha cannot name a commit (rejected to the dead-letter queue).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCommit {
    #[error("repository {0:?} is not `owner/name` (letters, digits, `.`, `-`, `_`)")]
    Repository(String),
    #[error("head sha {0:?} is not 40 or 64 hexadecimal digits")]
    Sha(String),
}

impl CommitKey {
    /// The prefix of every state object: outside praktika's feed path (`{prefix}/events/`) and
    /// outside the feed bucket's S3-notification rule (`events/`).
    pub const PREFIX: &'static str = "pulse-github-state/";

    pub fn parse(repository: &str, head_sha: &str) -> Result<Self, InvalidCommit> {
        let segment_ok = |s: &str| {
            !s.is_empty() && s != "." && s != ".." && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        };
        match repository.split_once('/') {
            Some((owner, name)) if segment_ok(owner) && segment_ok(name) => {}
            _ => return Err(InvalidCommit::Repository(repository.to_owned())),
        }
        if !matches!(head_sha.len(), 40 | 64) || !head_sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InvalidCommit::Sha(head_sha.to_owned()));
        }
        Ok(CommitKey { repository: repository.to_owned(), head_sha: head_sha.to_ascii_lowercase() })
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn head_sha(&self) -> &str {
        &self.head_sha
    }

    /// The S3 key of this commit's state: `pulse-github-state/{owner}/{name}/{sha}.json.gz`.
    pub fn storage_key(&self) -> String {
        format!("{}{}/{}.json.gz", Self::PREFIX, self.repository, self.head_sha)
    }
}

/// One GitHub delivery the feed-projector folds.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Run(GithubWorkflowRun),
    Job(GithubWorkflowJob),
}

impl Delivery {
    /// The commit whose state this delivery changes.
    pub fn commit(&self) -> Result<CommitKey, InvalidCommit> {
        match self {
            Delivery::Run(d) => CommitKey::parse(&d.repository, &d.run.head_sha),
            Delivery::Job(d) => CommitKey::parse(&d.repository, &d.job.head_sha),
        }
    }

    /// GitHub's `X-GitHub-Delivery`.
    pub fn delivery_id(&self) -> &str {
        match self {
            Delivery::Run(d) => &d.delivery_id,
            Delivery::Job(d) => &d.delivery_id,
        }
    }

    /// The run the delivery is about.
    pub fn run_id(&self) -> u64 {
        match self {
            Delivery::Run(d) => d.run.id,
            Delivery::Job(d) => d.job.run_id,
        }
    }
}

/// What GitHub has said about one commit's runs: the fold's state, stored as gzip JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CommitState {
    pub repository: String,
    pub head_sha: String,
    /// By run id.
    #[serde(default)]
    pub runs: BTreeMap<u64, RunState>,
    /// The deliveries that changed this state. A retry of one of them (its first attempt died
    /// after storing the state) is projected again; another delivery that changes nothing is
    /// not (see [`Applied`]).
    #[serde(default)]
    pub applied: BTreeSet<String>,
    /// `pulse forget` took the commit's author out: every run of this commit, including ones
    /// delivered later, is kept without its head commit's author (see [`CommitState::forget`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub author_forgotten: bool,
}

/// One run: its latest description (absent until a `workflow_run` delivery arrives) and every
/// job heard of, by job id.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<WorkflowRun>,
    #[serde(default)]
    pub jobs: BTreeMap<u64, WorkflowJob>,
}

/// What folding one delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The state changed: store it and project its run.
    Changed,
    /// Nothing changed, but this very delivery changed the state before: a retry whose first
    /// attempt stored the state and may not have reached the feeds. Project again.
    Retried,
    /// Nothing changed (an older or equal state from another delivery): nothing to do.
    Unchanged,
}

impl CommitState {
    pub fn new(key: &CommitKey) -> Self {
        CommitState { repository: key.repository.clone(), head_sha: key.head_sha.clone(), ..CommitState::default() }
    }

    /// Folds one delivery in (rules 1–3 of the module docs).
    pub fn apply(&mut self, delivery: &Delivery) -> Applied {
        let changed = match delivery {
            Delivery::Run(d) => {
                let mut run = d.run.clone();
                if self.author_forgotten {
                    forget_author(&mut run);
                }
                let slot = &mut self.runs.entry(run.id).or_default().run;
                keep_newer(slot, &run, run_order)
            }
            Delivery::Job(d) => {
                let mut job = d.job.clone();
                // Steps are the notifier's business; the feed shows jobs.
                job.steps.clear();
                let jobs = &mut self.runs.entry(job.run_id).or_default().jobs;
                let mut slot = jobs.remove(&job.id);
                let changed = keep_newer(&mut slot, &job, job_order);
                jobs.extend(slot.map(|j| (j.id, j)));
                changed
            }
        };
        if changed {
            self.applied.insert(delivery.delivery_id().to_owned());
            Applied::Changed
        } else if self.applied.contains(delivery.delivery_id()) {
            Applied::Retried
        } else {
            Applied::Unchanged
        }
    }
}

impl CommitState {
    /// `pulse forget`: takes `email` (any letter case) out of every run's head commit, with the
    /// author's name, so a later delivery of this commit cannot bring the person back into a
    /// feed. Returns whether anything changed. The runs stay: they are the commit's, not the
    /// person's.
    pub fn forget(&mut self, email: &str) -> bool {
        let names = |r: &WorkflowRun| r.head_commit.as_ref().is_some_and(|c| c.author_email.eq_ignore_ascii_case(email));
        if !self.runs.values().filter_map(|r| r.run.as_ref()).any(names) {
            return false;
        }
        self.author_forgotten = true;
        self.runs.values_mut().filter_map(|r| r.run.as_mut()).for_each(forget_author);
        true
    }
}

fn forget_author(run: &mut WorkflowRun) {
    if let Some(commit) = &mut run.head_commit {
        commit.author_email.clear();
        commit.author_name.clear();
    }
}

/// Stores `incoming` in `slot` when it is newer by `order`, ties broken by the JSON text so the
/// result is the maximum of a total order: independent of arrival order.
fn keep_newer<T: Clone + PartialEq + Serialize>(slot: &mut Option<T>, incoming: &T, order: fn(&T, &T) -> Ordering) -> bool {
    let newer = match slot.as_ref() {
        None => true,
        Some(stored) if stored == incoming => false,
        Some(stored) => order(incoming, stored).then_with(|| json(incoming).cmp(&json(stored))).is_gt(),
    };
    if newer {
        *slot = Some(incoming.clone());
    }
    newer
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn run_order(a: &WorkflowRun, b: &WorkflowRun) -> Ordering {
    (a.run_attempt, progress(a.state), a.updated_at).cmp(&(b.run_attempt, progress(b.state), b.updated_at))
}

fn job_order(a: &WorkflowJob, b: &WorkflowJob) -> Ordering {
    (a.run_attempt, progress(a.state), a.completed_at, a.started_at).cmp(&(b.run_attempt, progress(b.state), b.completed_at, b.started_at))
}

/// How far along a run or job is (rule 2): a later state never goes back to an earlier one.
pub(crate) fn progress(state: GithubState) -> u8 {
    match state {
        GithubState::Active(ActiveStatus::Requested) => 0,
        GithubState::Completed(GithubConclusion::ActionRequired) => 1,
        GithubState::Active(ActiveStatus::Queued | ActiveStatus::Pending) => 2,
        GithubState::Active(ActiveStatus::Waiting) => 3,
        GithubState::Active(ActiveStatus::InProgress) => 4,
        GithubState::Completed(_) => 5,
    }
}
