//! GitHub webhook payloads for the tests, written from GitHub's documented `workflow_run` shape:
//! the fields Pulse reads, and a few it does not.

use serde_json::json;

/// A `workflow_run` delivery. [`Default`] is run 9001 of `octo-org/widgets` on `main`, pushed by
/// Ann Example, completed with a failure; tests change what they look at.
#[derive(Debug, Clone)]
pub struct WorkflowRun {
    /// `requested`, `in_progress` or `completed` (the run's `status` follows from it).
    pub action: String,
    /// Set when completed.
    pub conclusion: Option<String>,
    pub id: u64,
    pub head_branch: String,
    pub head_sha: String,
}

impl Default for WorkflowRun {
    fn default() -> Self {
        Self {
            action: "completed".into(),
            conclusion: Some("failure".into()),
            id: 9001,
            head_branch: "main".into(),
            head_sha: "0c4d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9".into(),
        }
    }
}

impl WorkflowRun {
    /// The delivery's body, as GitHub sends it.
    pub fn payload(&self) -> Vec<u8> {
        let status = match self.action.as_str() {
            "completed" => "completed",
            "in_progress" => "in_progress",
            _ => "queued",
        };
        let repository = json!({"id": 41, "name": "widgets", "full_name": "octo-org/widgets", "default_branch": "main", "private": false});
        json!({
            "action": self.action,
            "workflow_run": {
                "id": self.id, "name": "CI", "head_branch": self.head_branch, "head_sha": self.head_sha, "event": "push",
                "status": status, "conclusion": self.conclusion, "run_number": 77, "run_attempt": 1,
                "html_url": format!("https://github.com/octo-org/widgets/actions/runs/{}", self.id),
                "created_at": "2026-12-03T09:00:00Z", "updated_at": "2026-12-03T09:06:00Z", "run_started_at": "2026-12-03T09:00:02Z",
                "pull_requests": [],
                "head_commit": {"id": self.head_sha, "message": "Fix the flaky cache test", "author": {"name": "Ann Example", "email": "ann@example.com"}},
                "actor": {"login": "ann-example", "id": 501}, "triggering_actor": {"login": "ann-example", "id": 501},
                "repository": repository.clone()
            },
            "repository": repository,
            "sender": {"login": "ann-example", "id": 501}
        })
        .to_string()
        .into_bytes()
    }
}
