//! GitHub's `workflow_run` and `workflow_job` payloads → the contracts' details ("parse, don't
//! validate").
//!
//! Only the fields Pulse uses are read; everything else in GitHub's payload (the repository's
//! hundred URLs, `head_repository`, `sender`, ...) is skipped without being kept. The rules:
//!
//! - **A field GitHub documents as nullable is optional**, and an empty string counts as absent
//!   (`head_branch`, `workflow_name`, `completed_at`, `head_commit`, `actor`, ...). A run's `name`
//!   falls back to its workflow file's `path`.
//! - **`status` and `conclusion` become one state**: a completed run, job or step must carry its
//!   conclusion; a conclusion on anything else is ignored. A run or job whose `status` is null
//!   takes the one its action names.
//! - **Closed sets are enums**: an action outside the documented ones is [`Parsed::Ignored`]
//!   (a 2xx, nothing published); a `status` or `conclusion` outside them is an error (400), so
//!   GitHub's delivery log shows the delivery failed and it can be redelivered once Pulse knows
//!   the value, instead of being lost as "ignored".
//! - **What the contract constrains is checked here**: `repository.full_name` is `OWNER/REPO`,
//!   a `head_sha` is 40 lower-case hex digits, ids are positive.
//!
//! Errors name the field by its path in GitHub's payload (`workflow_run.conclusion`), never a
//! value.

use chrono::{DateTime, Utc};
use pulse_contracts::events::github::{
    GithubConclusion, GithubState, GithubStatus, GithubUser, GithubWorkflowJob, GithubWorkflowRun, HeadCommit, JobAction, JobStep,
    PullRequestRef, RunAction, WorkflowJob, WorkflowRun,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A payload that is not what GitHub documents. Means HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}`: {message}")]
pub struct ParseError {
    /// Where, in GitHub's payload: `workflow_run.pull_requests[0].number`.
    pub path: String,
    pub message: String,
}

impl ParseError {
    fn at(path: &str, message: impl Into<String>) -> Self {
        Self { path: path.to_owned(), message: message.into() }
    }
}

/// What a payload turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<T> {
    /// An action Pulse publishes, as the contract's detail.
    Event(T),
    /// An action Pulse does not use (none today; GitHub may add some).
    Ignored { action: String },
}

/// A `workflow_run` payload, delivered as `delivery_id`.
pub fn workflow_run(body: &[u8], delivery_id: &str) -> Result<Parsed<GithubWorkflowRun>, ParseError> {
    let payload: RunPayload = from_slice(body)?;
    let Some(action) = payload.action.known() else { return Ok(Parsed::Ignored { action: payload.action.name }) };
    let r = payload.workflow_run;
    let status = r.status.unwrap_or(match action {
        RunAction::Requested => GithubStatus::Requested,
        RunAction::InProgress => GithubStatus::InProgress,
        RunAction::Completed => GithubStatus::Completed,
    });
    let name = non_empty(r.name).or(non_empty(r.path)).ok_or_else(|| ParseError::at("workflow_run.name", "missing field `name`"))?;
    let run = WorkflowRun {
        id: positive(r.id, "workflow_run.id")?,
        name,
        workflow_id: r.workflow_id.filter(|id| *id > 0),
        head_branch: non_empty(r.head_branch),
        head_sha: sha(r.head_sha, "workflow_run.head_sha")?,
        event: non_empty(Some(r.event)).ok_or_else(|| ParseError::at("workflow_run.event", "empty"))?,
        state: state(status, r.conclusion, "workflow_run.conclusion")?,
        run_number: positive(r.run_number, "workflow_run.run_number")?,
        run_attempt: r.run_attempt.unwrap_or(1).max(1),
        html_url: r.html_url,
        created_at: r.created_at,
        updated_at: r.updated_at,
        run_started_at: r.run_started_at,
        pull_requests: r
            .pull_requests
            .unwrap_or_default()
            .into_iter()
            .map(|pr| PullRequestRef { number: pr.number, head_ref: pr.head.git_ref, base_ref: pr.base.git_ref })
            .filter(|pr| pr.number > 0 && !pr.head_ref.is_empty() && !pr.base_ref.is_empty())
            .collect(),
        head_commit: r.head_commit.map(|c| HeadCommit {
            message: c.message.unwrap_or_default(),
            author_name: c.author.as_ref().and_then(|a| a.name.clone()).unwrap_or_default(),
            author_email: c.author.and_then(|a| a.email).unwrap_or_default(),
        }),
        actor: user(r.actor),
        triggering_actor: user(r.triggering_actor),
    };
    Ok(Parsed::Event(GithubWorkflowRun {
        delivery_id: delivery_id.to_owned(),
        action,
        repository: full_name(payload.repository.full_name)?,
        default_branch: non_empty(payload.repository.default_branch),
        run,
    }))
}

/// A `workflow_job` payload, delivered as `delivery_id`.
pub fn workflow_job(body: &[u8], delivery_id: &str) -> Result<Parsed<GithubWorkflowJob>, ParseError> {
    let payload: JobPayload = from_slice(body)?;
    let Some(action) = payload.action.known() else { return Ok(Parsed::Ignored { action: payload.action.name }) };
    let j = payload.workflow_job;
    let status = j.status.unwrap_or(match action {
        JobAction::Queued => GithubStatus::Queued,
        JobAction::Waiting => GithubStatus::Waiting,
        JobAction::InProgress => GithubStatus::InProgress,
        JobAction::Completed => GithubStatus::Completed,
    });
    let steps = j
        .steps
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let path = format!("workflow_job.steps[{i}].conclusion");
            Ok(JobStep { number: s.number.max(1), name: s.name, state: state(s.status, s.conclusion, &path)? })
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    let job = WorkflowJob {
        id: positive(j.id, "workflow_job.id")?,
        run_id: positive(j.run_id, "workflow_job.run_id")?,
        run_attempt: j.run_attempt.unwrap_or(1).max(1),
        name: non_empty(Some(j.name)).ok_or_else(|| ParseError::at("workflow_job.name", "empty"))?,
        workflow_name: non_empty(j.workflow_name),
        head_branch: non_empty(j.head_branch),
        head_sha: sha(j.head_sha, "workflow_job.head_sha")?,
        state: state(status, j.conclusion, "workflow_job.conclusion")?,
        html_url: non_empty(j.html_url),
        started_at: j.started_at,
        completed_at: j.completed_at,
        steps,
    };
    Ok(Parsed::Event(GithubWorkflowJob {
        delivery_id: delivery_id.to_owned(),
        action,
        repository: full_name(payload.repository.full_name)?,
        job,
    }))
}

fn from_slice<T: DeserializeOwned>(body: &[u8]) -> Result<T, ParseError> {
    // The fast path: tracking the path through a 30 KB payload costs more than the parse, so
    // only a payload that fails is read again, to name the field.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let message = err.inner().to_string();
        let mut path = err.path().to_string();
        if let Some(field) = message.strip_prefix("missing field `").and_then(|m| m.split_once('`')).map(|(f, _)| f) {
            path = if path == "." { field.to_owned() } else { format!("{path}.{field}") };
        }
        ParseError { path, message }
    })?;
    de.end().map_err(|e| ParseError::at(".", e.to_string()))?;
    Ok(value)
}

fn state(status: GithubStatus, conclusion: Option<GithubConclusion>, path: &str) -> Result<GithubState, ParseError> {
    GithubState::from_parts(status, conclusion).map_err(|e| ParseError::at(path, e.to_string()))
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

fn positive(id: u64, path: &str) -> Result<u64, ParseError> {
    if id > 0 { Ok(id) } else { Err(ParseError::at(path, "must be a positive number")) }
}

fn sha(s: String, path: &str) -> Result<String, ParseError> {
    let ok = s.len() == 40 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok { Ok(s) } else { Err(ParseError::at(path, "is not a commit sha (40 lower-case hex digits)")) }
}

fn full_name(s: String) -> Result<String, ParseError> {
    let ok = match s.split_once('/') {
        Some((owner, repo)) => !owner.is_empty() && !repo.is_empty() && !repo.contains('/') && !s.chars().any(char::is_whitespace),
        None => false,
    };
    if ok { Ok(s) } else { Err(ParseError::at("repository.full_name", "is not OWNER/REPO")) }
}

fn user(u: Option<UserWire>) -> Option<GithubUser> {
    u.filter(|u| !u.login.is_empty() && u.id > 0).map(|u| GithubUser { login: u.login, id: u.id })
}

/// An action name, known or not.
struct Action<T> {
    name: String,
    known: Option<T>,
}

impl<T: Copy> Action<T> {
    fn known(&self) -> Option<T> {
        self.known
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Action<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let known = serde_json::from_value(serde_json::Value::String(name.clone())).ok();
        Ok(Action { name, known })
    }
}

#[derive(Deserialize)]
struct RunPayload {
    action: Action<RunAction>,
    workflow_run: RunWire,
    repository: RepositoryWire,
}

#[derive(Deserialize)]
struct JobPayload {
    action: Action<JobAction>,
    workflow_job: JobWire,
    repository: RepositoryWire,
}

#[derive(Deserialize)]
struct RepositoryWire {
    full_name: String,
    #[serde(default)]
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct RunWire {
    id: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    workflow_id: Option<u64>,
    #[serde(default)]
    head_branch: Option<String>,
    head_sha: String,
    event: String,
    #[serde(default)]
    status: Option<GithubStatus>,
    #[serde(default)]
    conclusion: Option<GithubConclusion>,
    run_number: u64,
    #[serde(default)]
    run_attempt: Option<u32>,
    html_url: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(default)]
    run_started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pull_requests: Option<Vec<PullRequestWire>>,
    #[serde(default)]
    head_commit: Option<CommitWire>,
    #[serde(default)]
    actor: Option<UserWire>,
    #[serde(default)]
    triggering_actor: Option<UserWire>,
}

#[derive(Deserialize)]
struct PullRequestWire {
    number: u64,
    head: RefWire,
    base: RefWire,
}

#[derive(Deserialize)]
struct RefWire {
    #[serde(rename = "ref")]
    git_ref: String,
}

#[derive(Deserialize)]
struct CommitWire {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    author: Option<AuthorWire>,
}

#[derive(Deserialize)]
struct AuthorWire {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct UserWire {
    login: String,
    id: u64,
}

#[derive(Deserialize)]
struct JobWire {
    id: u64,
    run_id: u64,
    #[serde(default)]
    run_attempt: Option<u32>,
    name: String,
    #[serde(default)]
    workflow_name: Option<String>,
    #[serde(default)]
    head_branch: Option<String>,
    head_sha: String,
    #[serde(default)]
    status: Option<GithubStatus>,
    #[serde(default)]
    conclusion: Option<GithubConclusion>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    completed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    steps: Option<Vec<StepWire>>,
}

#[derive(Deserialize)]
struct StepWire {
    number: u32,
    name: String,
    status: GithubStatus,
    #[serde(default)]
    conclusion: Option<GithubConclusion>,
}
