//! Builders of GitHub deliveries for the module's unit tests (shapes from GitHub's documented
//! `workflow_run` / `workflow_job` payloads, as ingress reduces them).

use chrono::{DateTime, TimeZone, Utc};
use pulse_contracts::{
    ActiveStatus, GithubConclusion, GithubState, GithubWorkflowJob, GithubWorkflowRun, HeadCommit, JobAction, JobStep, RunAction,
    WorkflowJob, WorkflowRun,
};

pub const REPO: &str = "octo-org/widgets";

pub fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, minute, 0).unwrap()
}

pub fn running() -> GithubState {
    GithubState::Active(ActiveStatus::InProgress)
}

pub fn queued() -> GithubState {
    GithubState::Active(ActiveStatus::Queued)
}

pub fn done(c: GithubConclusion) -> GithubState {
    GithubState::Completed(c)
}

/// Run 100 (`CI` #7 on `main`, push), attempt `attempt`, in `state`, reported at minute `minute`.
pub fn run(attempt: u32, state: GithubState, minute: u32) -> GithubWorkflowRun {
    let action = match state {
        GithubState::Completed(_) => RunAction::Completed,
        GithubState::Active(ActiveStatus::InProgress) => RunAction::InProgress,
        GithubState::Active(_) => RunAction::Requested,
    };
    GithubWorkflowRun {
        delivery_id: format!("d-run-{attempt}-{minute}"),
        action,
        repository: REPO.into(),
        default_branch: Some("main".into()),
        run: WorkflowRun {
            id: 100,
            name: "CI".into(),
            workflow_id: Some(5),
            head_branch: Some("main".into()),
            head_sha: "0123456789abcdef0123456789abcdef01234567".into(),
            event: "push".into(),
            state,
            run_number: 7,
            run_attempt: attempt,
            html_url: format!("https://github.com/{REPO}/actions/runs/100/attempts/{attempt}"),
            created_at: t(0),
            updated_at: t(minute),
            run_started_at: Some(t(0)),
            pull_requests: Vec::new(),
            head_commit: Some(HeadCommit {
                message: "Fix the widget\n\nLonger text".into(),
                author_name: "Ada Lovelace".into(),
                author_email: "ada@example.org".into(),
            }),
            actor: None,
            triggering_actor: None,
        },
    }
}

/// Job `id` (`name`) of run 100, attempt `attempt`, in `state` at minute `minute`; a failed job
/// has its step 2 `Run tests` failed.
pub fn job(id: u64, name: &str, attempt: u32, state: GithubState, minute: u32) -> GithubWorkflowJob {
    let failed = state.conclusion().is_some_and(|c| c.is_failure());
    let steps = match state {
        GithubState::Completed(c) => vec![
            JobStep { number: 1, name: "Checkout".into(), state: done(GithubConclusion::Success) },
            JobStep { number: 2, name: "Run tests".into(), state: done(if failed { GithubConclusion::Failure } else { c }) },
        ],
        _ => Vec::new(),
    };
    let action = match state {
        GithubState::Completed(_) => JobAction::Completed,
        GithubState::Active(ActiveStatus::InProgress) => JobAction::InProgress,
        _ => JobAction::Queued,
    };
    GithubWorkflowJob {
        delivery_id: format!("d-job-{id}-{minute}"),
        action,
        repository: REPO.into(),
        job: WorkflowJob {
            id,
            run_id: 100,
            run_attempt: attempt,
            name: name.into(),
            workflow_name: Some("CI".into()),
            head_branch: Some("main".into()),
            head_sha: "0123456789abcdef0123456789abcdef01234567".into(),
            state,
            html_url: Some(format!("https://github.com/{REPO}/actions/runs/100/job/{id}")),
            started_at: Some(t(minute.saturating_sub(1))),
            completed_at: state.conclusion().map(|_| t(minute)),
            steps,
        },
    }
}
