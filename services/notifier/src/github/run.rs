//! One workflow run as the notifier knows it, merged from `workflow_run` and `workflow_job`
//! deliveries that arrive in any order, any number of times, and concurrently.
//!
//! Rules of the merge (each makes it commutative and idempotent, so the state does not depend
//! on the order of delivery):
//! - a run attempt and a job each keep their **most advanced** report: waiting (requested,
//!   queued, pending, waiting) < in progress < completed; between two reports at the same stage
//!   the later `updated_at` (a job: `completed_at`, else `started_at`) wins, ties keep the one
//!   held. So a stale `in_progress` after `completed` changes nothing;
//! - attempts are kept apart (`run_attempt`): a re-run's jobs never overwrite the first
//!   attempt's;
//! - a job may come before its run: it is kept, and shown once the run is known (only the run
//!   says which workflow, branch and event it is, which the filters need);
//! - [`RunState::merge_run`] / [`RunState::merge_job`] say whether anything changed, so an
//!   unchanged state is not written again.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use pulse_contracts::{GithubState, GithubWorkflowJob, GithubWorkflowRun, WorkflowRun};
use serde::{Deserialize, Serialize};

/// Everything known about one run (all its attempts).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunState {
    /// `owner/name` as GitHub spells it.
    #[serde(default)]
    pub repository: String,
    /// The repository's default branch, when a delivery named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    /// Each attempt's newest report.
    #[serde(default)]
    pub attempts: BTreeMap<u32, WorkflowRun>,
    /// Each job (ids are unique across attempts), at its most advanced report.
    #[serde(default)]
    pub jobs: BTreeMap<u64, Job>,
}

/// What a message shows of one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub run_attempt: u32,
    pub name: String,
    pub state: GithubState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
    /// Names of the steps that failed, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_steps: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

/// How far along a run, job or step is: the merge never goes back.
fn stage(state: GithubState) -> u8 {
    match state {
        GithubState::Active(pulse_contracts::ActiveStatus::InProgress) => 1,
        GithubState::Active(_) => 0,
        GithubState::Completed(_) => 2,
    }
}

/// Whether a report at (`new_stage`, `new_at`) replaces one at (`old_stage`, `old_at`).
fn newer<T: PartialOrd>(new_stage: u8, new_at: Option<T>, old_stage: u8, old_at: Option<T>) -> bool {
    new_stage > old_stage || (new_stage == old_stage && new_at > old_at)
}

impl RunState {
    /// Merge a `workflow_run` delivery; whether the state changed.
    pub fn merge_run(&mut self, event: &GithubWorkflowRun) -> bool {
        let mut changed = false;
        if self.repository.is_empty() {
            self.repository = event.repository.clone();
            changed = true;
        }
        if event.default_branch.is_some() && self.default_branch != event.default_branch {
            self.default_branch = event.default_branch.clone();
            changed = true;
        }
        let run = &event.run;
        let replace = match self.attempts.get(&run.run_attempt) {
            None => true,
            Some(held) => newer(stage(run.state), Some(run.updated_at), stage(held.state), Some(held.updated_at)),
        };
        if replace && self.attempts.get(&run.run_attempt) != Some(run) {
            self.attempts.insert(run.run_attempt, run.clone());
            changed = true;
        }
        changed
    }

    /// Merge a `workflow_job` delivery; whether the state changed.
    pub fn merge_job(&mut self, event: &GithubWorkflowJob) -> bool {
        let mut changed = false;
        if self.repository.is_empty() {
            self.repository = event.repository.clone();
            changed = true;
        }
        let j = &event.job;
        let job = Job {
            run_attempt: j.run_attempt,
            name: j.name.clone(),
            state: j.state,
            html_url: j.html_url.clone(),
            failed_steps: j.failed_steps().map(|s| s.name.clone()).collect(),
            at: j.completed_at.or(j.started_at),
        };
        let replace = match self.jobs.get(&j.id) {
            None => true,
            Some(held) => newer(stage(job.state), job.at, stage(held.state), held.at),
        };
        if replace && self.jobs.get(&j.id) != Some(&job) {
            self.jobs.insert(j.id, job);
            changed = true;
        }
        changed
    }

    /// The attempt's run, once a `workflow_run` delivery described it.
    pub fn run(&self, attempt: u32) -> Option<&WorkflowRun> {
        self.attempts.get(&attempt)
    }

    /// The attempt's jobs, ordered by name then id (a stable order for the message).
    pub fn jobs(&self, attempt: u32) -> Vec<(u64, &Job)> {
        let mut jobs: Vec<(u64, &Job)> = self.jobs.iter().filter(|(_, j)| j.run_attempt == attempt).map(|(id, j)| (*id, j)).collect();
        jobs.sort_by(|a, b| a.1.name.cmp(&b.1.name).then(a.0.cmp(&b.0)));
        jobs
    }

    /// Whether the attempt has failed so far: a failing job, or the run concluded failing.
    pub fn failing(&self, attempt: u32) -> bool {
        let job_failed = self.jobs(attempt).iter().any(|(_, j)| j.state.conclusion().is_some_and(|c| c.is_failure()));
        let run_failed = self.run(attempt).and_then(|r| r.state.conclusion()).is_some_and(|c| c.is_failure());
        job_failed || run_failed
    }
}

#[cfg(test)]
mod tests;
