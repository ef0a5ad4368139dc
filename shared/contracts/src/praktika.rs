//! praktika's feed model (ClickHouse `ci/praktika/event.py`, `result.py`), byte-compatible.
//!
//! A `ci.workflow` event's `detail` is one [`FeedEvent`]; the feed-projector stores a list of them
//! per commit author as praktika's `EventFeed` (`{"events": [...]}`). Every struct keeps fields it
//! does not know in `extra`, so a newer praktika's fields survive a round trip through Pulse.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One workflow run as praktika reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedEvent {
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// Unix seconds when the event was produced.
    pub timestamp: i64,
    pub sha: String,
    pub ci_status: Status,
    pub result: RunResult,
    pub ext: EventExt,
    #[serde(default)]
    pub linked_events: Vec<FeedEvent>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// praktika's `Event.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Running,
    Completed,
}

/// praktika's result status values (`Result.Status`), also used for `ci_status`, plus
/// `Result.StatusExtended` (`OK`, `FAIL`, `SKIPPED`, `ERROR`), which praktika writes for test
/// cases nested inside job results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Skipped,
    Dropped,
    Success,
    Failure,
    Pending,
    Running,
    Error,
    #[serde(rename = "OK")]
    TestOk,
    #[serde(rename = "FAIL")]
    TestFail,
    #[serde(rename = "SKIPPED")]
    TestSkipped,
    #[serde(rename = "ERROR")]
    TestError,
}

impl Status {
    /// Still in flight: the run has not reached a verdict.
    pub fn is_in_flight(self) -> bool {
        matches!(self, Status::Pending | Status::Running)
    }

    /// A verdict that means something broke.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Failure | Status::Error | Status::TestFail | Status::TestError)
    }

    /// A passing verdict.
    pub fn is_success(self) -> bool {
        matches!(self, Status::Success | Status::TestOk)
    }

    /// Skipped, in either vocabulary.
    pub fn is_skipped(self) -> bool {
        matches!(self, Status::Skipped | Status::TestSkipped)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Skipped => "skipped",
            Status::Dropped => "dropped",
            Status::Success => "success",
            Status::Failure => "failure",
            Status::Pending => "pending",
            Status::Running => "running",
            Status::Error => "error",
            Status::TestOk => "OK",
            Status::TestFail => "FAIL",
            Status::TestSkipped => "SKIPPED",
            Status::TestError => "ERROR",
        }
    }
}

/// praktika's `Result.to_dict()`: the workflow result, whose `results` are the jobs (which may
/// nest further).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub name: String,
    pub status: Status,
    #[serde(default)]
    pub start_time: Option<f64>,
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default)]
    pub results: Vec<RunResult>,
    #[serde(default)]
    pub links: Vec<String>,
    #[serde(default)]
    pub ext: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// praktika's `Event.ext`: PR and repository metadata.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventExt {
    /// 0 for a merge result or a push.
    #[serde(default)]
    pub pr_number: u64,
    #[serde(default)]
    pub pr_title: String,
    /// Set by the feed-projector: `open` for PR events, `merged` for merge results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_status: Option<PrStatus>,
    #[serde(default)]
    pub branch: String,
    #[serde(default)]
    pub commit_message: String,
    #[serde(default)]
    pub linked_pr_number: u64,
    #[serde(default)]
    pub parent_pr_number: u64,
    #[serde(default)]
    pub repo_name: String,
    #[serde(default)]
    pub report_url: String,
    #[serde(default)]
    pub change_url: String,
    #[serde(default)]
    pub workflow_name: String,
    #[serde(default)]
    pub base_branch: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<RunId>,
    #[serde(default)]
    pub run_url: String,
    #[serde(default)]
    pub commit_authors: Vec<String>,
    #[serde(default)]
    pub is_cancelled: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// praktika's `Event.PRStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrStatus {
    Open,
    Queued,
    Merged,
}

/// A CI run id: GitHub sends numbers, other CIs strings. Kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RunId {
    Number(u64),
    Text(String),
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunId::Number(n) => write!(f, "{n}"),
            RunId::Text(s) => f.write_str(s),
        }
    }
}

/// praktika's `EventFeed`: one object per commit-author email, newest first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventFeed {
    #[serde(default)]
    pub events: Vec<FeedEvent>,
}

impl FeedEvent {
    /// A merge result (or push): praktika marks these with `pr_number == 0`.
    pub fn is_merge_result(&self) -> bool {
        self.ext.pr_number == 0
    }

    /// Names of jobs whose status is failure or error (praktika's failure-DM list).
    pub fn failing_job_names(&self) -> Vec<&str> {
        self.result
            .results
            .iter()
            .filter(|r| r.status.is_failure())
            .map(|r| r.name.as_str())
            .collect()
    }
}
