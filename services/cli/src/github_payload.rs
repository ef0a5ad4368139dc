//! GitHub-shaped `workflow_run` and `workflow_job` webhook payloads for `pulse github send`,
//! written from GitHub's documented payload shapes: every field Pulse reads, and the
//! surrounding ones a real delivery carries (`repository`, `sender`, `workflow`, ids and URLs),
//! so a payload sent by hand exercises ingress as GitHub would. Pure: the fields and the time
//! come in, JSON goes out.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// What a sent run (or the run of a sent job) says.
#[derive(Debug, Clone)]
pub struct Run {
    pub repo: String,
    pub run_id: u64,
    pub run_number: u64,
    pub attempt: u64,
    pub workflow: String,
    pub branch: String,
    pub sha: String,
    pub event: String,
    pub author_name: String,
    pub author_email: String,
    pub actor: String,
    pub actor_id: u64,
    pub pr: Option<u64>,
    pub default_branch: String,
}

/// A job of that run.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: u64,
    pub name: String,
    /// Steps that failed (each after a passing "Set up job").
    pub failed_steps: Vec<String>,
}

/// Where a run or job is, and its outcome once completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub action: String,
    pub status: String,
    /// Only sent with `status: completed`.
    pub conclusion: Option<String>,
}

impl Progress {
    /// The status an action implies (`requested` → `requested`, `completed` → `completed`, …),
    /// unless `status` says otherwise; the conclusion only when completed.
    pub fn new(action: &str, status: Option<&str>, conclusion: &str) -> Self {
        let status = status.unwrap_or(action).to_owned();
        let conclusion = (status == "completed").then(|| conclusion.to_owned());
        Self { action: action.to_owned(), status, conclusion }
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn user(login: &str, id: u64) -> Value {
    json!({"login": login, "id": id, "type": "User", "html_url": format!("https://github.com/{login}")})
}

fn repository(run: &Run) -> Value {
    let (owner, name) = run.repo.split_once('/').unwrap_or((&run.repo, ""));
    json!({
        "id": 1,
        "name": name,
        "full_name": run.repo,
        "private": false,
        "owner": user(owner, 2),
        "html_url": format!("https://github.com/{}", run.repo),
        "default_branch": run.default_branch,
    })
}

fn run_url(run: &Run) -> String {
    format!("https://github.com/{}/actions/runs/{}", run.repo, run.run_id)
}

/// A `workflow_run` delivery's body.
pub fn workflow_run(run: &Run, progress: &Progress, now: DateTime<Utc>) -> Value {
    let pull_requests: Vec<Value> = run
        .pr
        .iter()
        .map(|n| json!({"number": n, "id": n, "head": {"ref": run.branch, "sha": run.sha}, "base": {"ref": run.default_branch}}))
        .collect();
    let path = format!(".github/workflows/{}.yml", run.workflow.to_ascii_lowercase().replace(' ', "-"));
    json!({
        "action": progress.action,
        "workflow_run": {
            "id": run.run_id,
            "name": run.workflow,
            "display_title": format!("{} on {}", run.workflow, run.branch),
            "path": path,
            "workflow_id": 100,
            "head_branch": run.branch,
            "head_sha": run.sha,
            "event": run.event,
            "status": progress.status,
            "conclusion": progress.conclusion,
            "run_number": run.run_number,
            "run_attempt": run.attempt,
            "html_url": run_url(run),
            "created_at": time(now),
            "updated_at": time(now),
            "run_started_at": time(now),
            "pull_requests": pull_requests,
            "head_commit": {
                "id": run.sha,
                "tree_id": run.sha,
                "message": format!("Change sent by pulse github send ({})", run.branch),
                "timestamp": time(now),
                "author": {"name": run.author_name, "email": run.author_email},
                "committer": {"name": run.author_name, "email": run.author_email},
            },
            "actor": user(&run.actor, run.actor_id),
            "triggering_actor": user(&run.actor, run.actor_id),
            "repository": {"full_name": run.repo},
            "head_repository": {"full_name": run.repo},
        },
        "workflow": {"id": 100, "name": run.workflow, "path": path, "state": "active"},
        "repository": repository(run),
        "sender": user(&run.actor, run.actor_id),
    })
}

/// A `workflow_job` delivery's body: "Set up job" passed, then each failed step failed (and,
/// for a failed job with none named, one "Run tests" step failed).
pub fn workflow_job(run: &Run, job: &Job, progress: &Progress, now: DateTime<Utc>) -> Value {
    let done = progress.status == "completed";
    let step = |number: usize, name: &str, conclusion: &str| {
        let status = if done { "completed" } else { "in_progress" };
        json!({"name": name, "number": number, "status": status, "conclusion": done.then_some(conclusion),
               "started_at": time(now), "completed_at": done.then(|| time(now))})
    };
    let mut steps = vec![step(1, "Set up job", "success")];
    let failed: Vec<&str> = match (job.failed_steps.is_empty(), progress.conclusion.as_deref()) {
        (true, Some("failure")) => vec!["Run tests"],
        _ => job.failed_steps.iter().map(String::as_str).collect(),
    };
    for name in failed {
        steps.push(step(steps.len() + 1, name, "failure"));
    }
    json!({
        "action": progress.action,
        "workflow_job": {
            "id": job.id,
            "run_id": run.run_id,
            "run_attempt": run.attempt,
            "run_url": format!("https://api.github.com/repos/{}/actions/runs/{}", run.repo, run.run_id),
            "html_url": format!("{}/job/{}", run_url(run), job.id),
            "name": job.name,
            "workflow_name": run.workflow,
            "head_branch": run.branch,
            "head_sha": run.sha,
            "status": progress.status,
            "conclusion": progress.conclusion,
            "created_at": time(now),
            "started_at": time(now),
            "completed_at": done.then(|| time(now)),
            "steps": steps,
            "labels": ["ubuntu-latest"],
            "runner_name": "GitHub Actions 1",
        },
        "repository": repository(run),
        "sender": user(&run.actor, run.actor_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_ingress::github::parse::{self, Parsed};

    fn run() -> Run {
        Run {
            repo: "octo-org/api".into(),
            run_id: 30,
            run_number: 7,
            attempt: 2,
            workflow: "CI".into(),
            branch: "feature".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            event: "pull_request".into(),
            author_name: "Ann".into(),
            author_email: "ann@example.com".into(),
            actor: "ann".into(),
            actor_id: 9,
            pr: Some(12),
            default_branch: "main".into(),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-12-03T12:00:00Z".parse().unwrap()
    }

    /// Ingress's parser (written separately, from the same documentation) reads every field
    /// the options set.
    #[test]
    fn a_sent_run_is_read_by_ingress_as_sent() {
        let body = workflow_run(&run(), &Progress::new("completed", None, "failure"), now()).to_string();
        let Ok(Parsed::Event(parsed)) = parse::workflow_run(body.as_bytes(), "d-1") else { panic!("{body}") };
        let parsed = serde_json::to_value(&parsed).unwrap();
        assert_eq!(parsed["repository"], "octo-org/api");
        assert_eq!(parsed["default_branch"], "main");
        let r = &parsed["run"];
        assert_eq!((r["id"].as_u64(), r["run_number"].as_u64(), r["run_attempt"].as_u64()), (Some(30), Some(7), Some(2)));
        assert_eq!(
            (r["name"].as_str(), r["head_branch"].as_str(), r["event"].as_str()),
            (Some("CI"), Some("feature"), Some("pull_request"))
        );
        assert_eq!(r["head_commit"]["author_email"], "ann@example.com");
        assert_eq!(r["pull_requests"][0]["number"], 12);
        assert_eq!(r["actor"]["login"], "ann");
        assert!(body.contains("\"conclusion\":\"failure\""));
        // Not completed: no conclusion is sent.
        let body = workflow_run(&run(), &Progress::new("in_progress", None, "failure"), now());
        assert_eq!(body["workflow_run"]["conclusion"], Value::Null);
        assert_eq!(body["workflow_run"]["status"], "in_progress");
    }

    #[test]
    fn a_sent_job_carries_its_failed_steps() {
        let job = Job { id: 5, name: "build".into(), failed_steps: vec!["Compile".into(), "Link".into()] };
        let body = workflow_job(&run(), &job, &Progress::new("completed", None, "failure"), now()).to_string();
        let Ok(Parsed::Event(parsed)) = parse::workflow_job(body.as_bytes(), "d-2") else { panic!("{body}") };
        let parsed = serde_json::to_value(&parsed).unwrap();
        let steps: Vec<&str> = parsed["job"]["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(steps, ["Set up job", "Compile", "Link"]);
        assert_eq!((parsed["job"]["run_id"].as_u64(), parsed["job"]["name"].as_str()), (Some(30), Some("build")));
        let job = Job { failed_steps: Vec::new(), ..job };
        let body = workflow_job(&run(), &job, &Progress::new("completed", None, "failure"), now());
        assert_eq!(body["workflow_job"]["steps"][1]["name"], "Run tests");
        let body = workflow_job(&run(), &job, &Progress::new("queued", None, "failure"), now());
        assert_eq!(body["workflow_job"]["steps"].as_array().unwrap().len(), 1);
    }
}
