//! `github.workflow_run` v1 and `github.workflow_job` v1: a GitHub Actions webhook delivery,
//! verified by ingress and reduced to the fields Pulse uses.
//!
//! GitHub sends `workflow_run` when a run is requested, starts and completes, and
//! `workflow_job` when a job is queued, waits (for an environment's approval), starts and
//! completes (docs.github.com, "Webhook events and payloads"). Ingress publishes one event per
//! delivery; `delivery_id` is GitHub's `X-GitHub-Delivery`, which a redelivery keeps, so the
//! dedup key `github.workflow_run:{delivery_id}` (`github.workflow_job:{delivery_id}`) names the
//! delivery and a redelivered one is handled once.
//!
//! Where a run or job is — queued, running, or finished with a conclusion — is one
//! [`GithubState`]: on the wire the two fields GitHub has (`status`, `conclusion`), in Rust one
//! value, so a completed run cannot lack its conclusion and a running one cannot carry one.
//!
//! ## From GitHub to praktika
//!
//! [`GithubState::praktika_status`] is the one mapping from GitHub's vocabulary to praktika's
//! status strings (the feed, the Home tab, DMs, filters and transitions follow it); the table
//! and the reasons are in `contracts/README.md` ("GitHub conclusions and praktika statuses"):
//!
//! - not completed: `requested`, `queued`, `pending`, `waiting` → `PENDING`; `in_progress` →
//!   `RUNNING`;
//! - `success` → `OK`, `neutral` → `OK` (it ran and GitHub counts it as passing);
//! - `failure`, `timed_out` → `FAIL`; `startup_failure` → `ERROR` (it could not start);
//! - `skipped` → `SKIPPED`;
//! - `cancelled`, `stale` → `DROPPED`, with `cancelled` set: the run stopped without a verdict,
//!   which praktika records as `ext.is_cancelled` (shown cancelled, never a failure);
//! - `action_required` → `PENDING`: the run waits for a maintainer's approval and goes on, under
//!   the same id, once given.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One `workflow_run` delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GithubWorkflowRun {
    /// `X-GitHub-Delivery`: a GUID per delivery, kept by a redelivery.
    pub delivery_id: String,
    pub action: RunAction,
    /// `repository.full_name`, e.g. `octo-org/widgets`.
    pub repository: String,
    /// `repository.default_branch`, when the payload has it: the branch transitions follow by
    /// default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    pub run: WorkflowRun,
}

/// What happened to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunAction {
    Requested,
    InProgress,
    Completed,
}

impl RunAction {
    pub const ALL: [RunAction; 3] = [RunAction::Requested, RunAction::InProgress, RunAction::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            RunAction::Requested => "requested",
            RunAction::InProgress => "in_progress",
            RunAction::Completed => "completed",
        }
    }
}

/// The run, as `workflow_run` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRun {
    /// The run's id: every attempt and every job of the run carries it.
    pub id: u64,
    /// The workflow's name (`name:` in its file, else its path).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<u64>,
    /// Null for a run on a detached head (GitHub sends `null`); a PR run names the PR's branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_branch: Option<String>,
    pub head_sha: String,
    /// What triggered it: `push`, `pull_request`, `schedule`, `workflow_dispatch`, ... (an open
    /// set: GitHub adds triggers).
    pub event: String,
    #[serde(flatten)]
    pub state: GithubState,
    /// Counts the workflow's runs, in the order they were created: the newer of two runs of one
    /// workflow has the greater number.
    pub run_number: u64,
    /// 1, then 2, 3, ... for each re-run.
    pub run_attempt: u32,
    pub html_url: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When this attempt started (a re-run's, not the first attempt's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_started_at: Option<DateTime<Utc>>,
    /// The PRs of this repository whose head is the run's head. Empty for a push, a schedule,
    /// and for a PR from a fork: an empty list does not mean "not a PR".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_requests: Vec<PullRequestRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_commit: Option<HeadCommit>,
    /// Who started the first attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<GithubUser>,
    /// Who started this attempt (differs from `actor` on a re-run by someone else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggering_actor: Option<GithubUser>,
}

impl WorkflowRun {
    /// Whether this is a re-run (`run_attempt > 1`).
    pub fn is_rerun(&self) -> bool {
        self.run_attempt > 1
    }
}

/// A pull request the run belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestRef {
    pub number: u64,
    /// `head.ref`: the PR's branch.
    pub head_ref: String,
    /// `base.ref`: the branch it would merge into.
    pub base_ref: String,
}

/// The run's head commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadCommit {
    pub message: String,
    pub author_name: String,
    /// The commit author's e-mail as git recorded it: the feed the run goes to. Kept as sent
    /// (it may be a noreply address, `ID+login@users.noreply.github.com`).
    pub author_email: String,
}

/// A GitHub account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GithubUser {
    pub login: String,
    pub id: u64,
}

/// One `workflow_job` delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GithubWorkflowJob {
    /// `X-GitHub-Delivery`.
    pub delivery_id: String,
    pub action: JobAction,
    /// `repository.full_name`.
    pub repository: String,
    pub job: WorkflowJob,
}

/// What happened to the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobAction {
    Queued,
    /// Waiting for an environment's protection rules (an approval).
    Waiting,
    InProgress,
    Completed,
}

impl JobAction {
    pub const ALL: [JobAction; 4] = [JobAction::Queued, JobAction::Waiting, JobAction::InProgress, JobAction::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            JobAction::Queued => "queued",
            JobAction::Waiting => "waiting",
            JobAction::InProgress => "in_progress",
            JobAction::Completed => "completed",
        }
    }
}

/// The job, as `workflow_job` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowJob {
    pub id: u64,
    /// The run it belongs to (`workflow_run`'s `run.id`).
    pub run_id: u64,
    pub run_attempt: u32,
    /// The job's name as shown (a matrix job's includes its values: `test (ubuntu-latest, 20)`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_branch: Option<String>,
    pub head_sha: String,
    #[serde(flatten)]
    pub state: GithubState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// In order; empty until the job runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<JobStep>,
}

impl WorkflowJob {
    /// The steps whose conclusion is a failure (what a channel message names).
    pub fn failed_steps(&self) -> impl Iterator<Item = &JobStep> {
        self.steps.iter().filter(|s| s.state.conclusion().is_some_and(GithubConclusion::is_failure))
    }
}

/// One step of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStep {
    /// 1-based position in the job.
    pub number: u32,
    pub name: String,
    #[serde(flatten)]
    pub state: GithubState,
}

/// GitHub's `status` of a run, job or step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GithubStatus {
    Requested,
    Queued,
    Pending,
    Waiting,
    InProgress,
    Completed,
}

impl GithubStatus {
    pub const ALL: [GithubStatus; 6] = [
        GithubStatus::Requested,
        GithubStatus::Queued,
        GithubStatus::Pending,
        GithubStatus::Waiting,
        GithubStatus::InProgress,
        GithubStatus::Completed,
    ];
}

/// GitHub's `conclusion` of a completed run, job or step: the nine GitHub documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GithubConclusion {
    Success,
    Failure,
    Cancelled,
    Skipped,
    TimedOut,
    ActionRequired,
    Neutral,
    Stale,
    StartupFailure,
}

impl GithubConclusion {
    pub const ALL: [GithubConclusion; 9] = [
        GithubConclusion::Success,
        GithubConclusion::Failure,
        GithubConclusion::Cancelled,
        GithubConclusion::Skipped,
        GithubConclusion::TimedOut,
        GithubConclusion::ActionRequired,
        GithubConclusion::Neutral,
        GithubConclusion::Stale,
        GithubConclusion::StartupFailure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GithubConclusion::Success => "success",
            GithubConclusion::Failure => "failure",
            GithubConclusion::Cancelled => "cancelled",
            GithubConclusion::Skipped => "skipped",
            GithubConclusion::TimedOut => "timed_out",
            GithubConclusion::ActionRequired => "action_required",
            GithubConclusion::Neutral => "neutral",
            GithubConclusion::Stale => "stale",
            GithubConclusion::StartupFailure => "startup_failure",
        }
    }

    /// praktika's status for a run, job or step that ended so (see the module docs).
    pub fn praktika_status(self) -> PraktikaStatus {
        GithubState::Completed(self).praktika_status()
    }

    /// A failure worth telling someone about (praktika's `FAIL` or `ERROR`).
    pub fn is_failure(self) -> bool {
        self.praktika_status().status.is_failing()
    }
}

/// Where a run, job or step is: not finished yet (its `status`), or completed with a
/// conclusion. On the wire `status` and, when completed, `conclusion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "StateWire", into = "StateWire")]
pub enum GithubState {
    /// Any status but `completed`.
    Active(ActiveStatus),
    Completed(GithubConclusion),
}

/// The statuses before `completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActiveStatus {
    Requested,
    Queued,
    Pending,
    Waiting,
    InProgress,
}

/// praktika's status strings (`Result.Status`, upper case as praktika writes them today) for
/// one GitHub state, and whether the run was cancelled (praktika's `ext.is_cancelled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PraktikaStatus {
    pub status: crate::praktika::Status,
    /// The run stopped without a verdict: the feed event carries `ext.is_cancelled = true`.
    pub cancelled: bool,
}

impl GithubState {
    /// The one mapping from GitHub's status and conclusion to praktika's status: the table in
    /// `contracts/README.md` ("GitHub conclusions and praktika statuses").
    pub fn praktika_status(self) -> PraktikaStatus {
        use GithubConclusion as C;
        let (status, cancelled) = match self {
            GithubState::Active(ActiveStatus::InProgress) => ("RUNNING", false),
            GithubState::Active(_) => ("PENDING", false),
            GithubState::Completed(C::Success | C::Neutral) => ("OK", false),
            GithubState::Completed(C::Failure | C::TimedOut) => ("FAIL", false),
            GithubState::Completed(C::StartupFailure) => ("ERROR", false),
            GithubState::Completed(C::Skipped) => ("SKIPPED", false),
            GithubState::Completed(C::Cancelled | C::Stale) => ("DROPPED", true),
            GithubState::Completed(C::ActionRequired) => ("PENDING", false),
        };
        PraktikaStatus { status: crate::praktika::Status::new(status), cancelled }
    }

    /// GitHub's `status`.
    pub fn status(self) -> GithubStatus {
        match self {
            GithubState::Active(ActiveStatus::Requested) => GithubStatus::Requested,
            GithubState::Active(ActiveStatus::Queued) => GithubStatus::Queued,
            GithubState::Active(ActiveStatus::Pending) => GithubStatus::Pending,
            GithubState::Active(ActiveStatus::Waiting) => GithubStatus::Waiting,
            GithubState::Active(ActiveStatus::InProgress) => GithubStatus::InProgress,
            GithubState::Completed(_) => GithubStatus::Completed,
        }
    }

    /// GitHub's `conclusion`: set exactly when completed.
    pub fn conclusion(self) -> Option<GithubConclusion> {
        match self {
            GithubState::Completed(c) => Some(c),
            GithubState::Active(_) => None,
        }
    }

    /// From GitHub's two fields. A conclusion on a status other than `completed` is ignored
    /// (GitHub sends `null` there); `completed` without one is refused.
    pub fn from_parts(status: GithubStatus, conclusion: Option<GithubConclusion>) -> Result<Self, MissingConclusion> {
        Ok(match status {
            GithubStatus::Requested => GithubState::Active(ActiveStatus::Requested),
            GithubStatus::Queued => GithubState::Active(ActiveStatus::Queued),
            GithubStatus::Pending => GithubState::Active(ActiveStatus::Pending),
            GithubStatus::Waiting => GithubState::Active(ActiveStatus::Waiting),
            GithubStatus::InProgress => GithubState::Active(ActiveStatus::InProgress),
            GithubStatus::Completed => GithubState::Completed(conclusion.ok_or(MissingConclusion)?),
        })
    }
}

/// A `completed` status without a conclusion. Worded like serde's `missing field` so the parse
/// error names the field's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("missing field `conclusion` (required when `status` is `completed`)")]
pub struct MissingConclusion;

#[derive(Serialize, Deserialize)]
struct StateWire {
    status: GithubStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    conclusion: Option<GithubConclusion>,
}

impl TryFrom<StateWire> for GithubState {
    type Error = MissingConclusion;

    fn try_from(w: StateWire) -> Result<Self, Self::Error> {
        GithubState::from_parts(w.status, w.conclusion)
    }
}

impl From<GithubState> for StateWire {
    fn from(s: GithubState) -> Self {
        StateWire { status: s.status(), conclusion: s.conclusion() }
    }
}

#[cfg(test)]
mod tests;
