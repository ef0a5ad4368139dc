//! praktika's feed model, as the praktika that CI runs today writes and reads it
//! (ClickHouse/praktika: `praktika/event.py` `Event` / `EventFeed`, `praktika/result.py`
//! `Result.to_event`).
//!
//! A `ci.workflow` event's `detail` is one [`FeedEvent`]; the feed-projector stores a list of
//! them per commit author as praktika's `EventFeed` (`{"events": [...]}`). Three rules shape
//! the types:
//!
//! - **Read anything praktika can write.** Statuses are open strings ([`Status`]): praktika's
//!   `OK FAIL ERROR SKIPPED UNKNOWN XFAIL XPASS PENDING RUNNING DROPPED`, the older lower-case
//!   `success failure error skipped dropped pending running`, the empty string its compaction
//!   writes for a missing status, and anything else, in any letter case, stored exactly as
//!   received. Numbers that praktika writes as `null` read as 0; an unknown `pr_status` reads
//!   as absent (praktika infers it). No value of a known field makes an event unreadable.
//! - **Write only what praktika's `Event` accepts.** praktika's `EventFeed.from_s3` builds
//!   `Event(**e)` from every stored event; one unknown top-level key and the whole feed is
//!   replaced by an empty one on praktika's next write. A [`FeedEvent`] therefore serializes
//!   exactly praktika's seven fields, in praktika's order; unknown top-level keys are kept in
//!   [`FeedEvent::dropped`] only so that the caller can say what it dropped. `ext` and
//!   `result` are open dictionaries in praktika, so unknown keys there are kept.
//! - **Compact as praktika compacts.** [`RunResult::compact`] is `Result.to_event`'s pruning
//!   (and `EventFeed.add`'s for older entries): a job keeps `name` and `status`, `result.ext`
//!   keeps `report_url`, and `info`, `start_time`, `duration`, `files`, `assets`, `links` go.

use std::borrow::Cow;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// One workflow run as praktika reports it (praktika's `Event`). Deserialized by hand
/// ([`lenient::FeedEventVisitor`]): serde's `flatten` would buffer the whole event, jobs
/// included, before reading it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedEvent {
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// Unix seconds when the event was produced.
    pub timestamp: i64,
    pub sha: String,
    pub result: RunResult,
    pub ci_status: Status,
    pub ext: EventExt,
    /// Kept as praktika keeps them: plain dictionaries, never interpreted.
    pub linked_events: Vec<Value>,
    /// Top-level keys praktika's `Event` does not have. Never written back: praktika would
    /// discard the whole feed (see the module docs). Read them only to report what was dropped.
    #[serde(skip_serializing)]
    pub dropped: Map<String, Value>,
}

impl<'de> Deserialize<'de> for FeedEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(lenient::FeedEventVisitor)
    }
}

/// praktika's `Event.Type`: `completed` unless the workflow is pending or running.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    Running,
    Completed,
    /// Any other string, kept as written.
    Other(String),
}

impl EventKind {
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::Running => "running",
            EventKind::Completed => "completed",
            EventKind::Other(s) => s,
        }
    }

    pub fn is_completed(&self) -> bool {
        *self == EventKind::Completed
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match lenient::string(d)?.as_str() {
            "running" => EventKind::Running,
            "completed" => EventKind::Completed,
            other => EventKind::Other(other.to_owned()),
        })
    }
}

/// A status string exactly as praktika wrote it (`ci_status`, a result's or a job's `status`).
///
/// praktika's vocabulary changed (lower-case `success`/`failure` before, upper-case
/// `OK`/`FAIL` now) and its readers compare case-insensitively, so Pulse keeps the string and
/// classifies it with [`Status::class`] instead of parsing it into a closed enum.
///
/// The statuses praktika writes are shared, not allocated per job (a feed holds tens of
/// thousands of jobs): see [`Status::new`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Status(Cow<'static, str>);

/// Every status string praktika writes, old and new, kept once.
const KNOWN: [&str; 18] = [
    "OK", "FAIL", "ERROR", "SKIPPED", "UNKNOWN", "XFAIL", "XPASS", "PENDING", "RUNNING", "DROPPED", "success", "failure", "error",
    "skipped", "dropped", "pending", "running", "",
];

/// What a status string means, whatever its letter case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    /// `OK`, `success`.
    Ok,
    /// `FAIL`, `failure`.
    Fail,
    /// `ERROR`.
    Error,
    /// `SKIPPED`.
    Skipped,
    /// `XFAIL`: failed as expected, not a problem (praktika's `is_ok` and `is_success`).
    XFail,
    /// `XPASS`: passed though expected to fail (praktika's `is_failure`, but its Slack worker
    /// does not count it as a failing job).
    XPass,
    /// `UNKNOWN`.
    Unknown,
    /// `PENDING`.
    Pending,
    /// `RUNNING`.
    Running,
    /// `DROPPED`: not run because of an earlier failure.
    Dropped,
    /// The empty string praktika's compaction writes when a status was missing.
    Missing,
    /// Anything else.
    Other,
}

impl Status {
    /// praktika's `Result.Status.FAIL`, which its stale-run rule writes.
    pub const FAIL: &'static str = "FAIL";

    pub fn new(s: &str) -> Self {
        match KNOWN.iter().find(|k| **k == s) {
            Some(known) => Status(Cow::Borrowed(known)),
            None => Status(Cow::Owned(s.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn class(&self) -> StatusClass {
        let s: &str = &self.0;
        let is = |word: &str| s.eq_ignore_ascii_case(word);
        match () {
            _ if s.is_empty() => StatusClass::Missing,
            _ if is("ok") || is("success") => StatusClass::Ok,
            _ if is("fail") || is("failure") => StatusClass::Fail,
            _ if is("error") => StatusClass::Error,
            _ if is("skipped") => StatusClass::Skipped,
            _ if is("xfail") => StatusClass::XFail,
            _ if is("xpass") => StatusClass::XPass,
            _ if is("unknown") => StatusClass::Unknown,
            _ if is("pending") => StatusClass::Pending,
            _ if is("running") => StatusClass::Running,
            _ if is("dropped") => StatusClass::Dropped,
            _ => StatusClass::Other,
        }
    }

    /// Still in flight (`pending`, `running`): praktika's stale-run rule applies.
    pub fn is_in_flight(&self) -> bool {
        matches!(self.class(), StatusClass::Pending | StatusClass::Running)
    }

    /// Failing as praktika's Slack worker counts it: `failure`, `error` or `fail`, any case.
    /// `XPASS` is not failing here.
    pub fn is_failing(&self) -> bool {
        matches!(self.class(), StatusClass::Fail | StatusClass::Error)
    }

    /// Passing: `OK`, `success`, `XFAIL` (praktika's `is_success`).
    pub fn is_success(&self) -> bool {
        matches!(self.class(), StatusClass::Ok | StatusClass::XFail)
    }

    /// Skipped, in either vocabulary.
    pub fn is_skipped(&self) -> bool {
        self.class() == StatusClass::Skipped
    }
}

impl From<&str> for Status {
    fn from(s: &str) -> Self {
        Status::new(s)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(lenient::StatusVisitor)
    }
}

/// praktika's `Result.to_dict()`: the workflow result, whose `results` are the jobs.
///
/// Fields Pulse does not interpret (`start_time`, `duration`, `links`, `files`, `info`, ... of
/// an uncompacted result) are kept in `extra` until [`RunResult::compact`] drops them. A feed
/// holds tens of thousands of these, so it is deserialized by hand (see [`lenient::run_result`])
/// rather than through serde's `flatten`, which buffers every map twice.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RunResult {
    pub name: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<RunResult>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for RunResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(lenient::RunResultVisitor)
    }
}

/// The keys of a result that praktika's feed compaction removes.
pub const COMPACTED_AWAY: [&str; 6] = ["info", "start_time", "duration", "files", "assets", "links"];

impl RunResult {
    /// A job or result with just a name and a status, as compaction leaves it.
    pub fn named(name: impl Into<String>, status: &str) -> Self {
        RunResult { name: name.into(), status: Status::new(status), ..RunResult::default() }
    }

    /// The jobs (empty when `results` is absent).
    pub fn jobs(&self) -> &[RunResult] {
        self.results.as_deref().unwrap_or_default()
    }

    /// `result.ext.report_url`, the one `ext` key compaction keeps.
    pub fn report_url(&self) -> Option<&str> {
        self.ext.as_ref()?.get("report_url")?.as_str().filter(|s| !s.is_empty())
    }

    /// praktika's feed compaction, applied to the workflow result: drops [`COMPACTED_AWAY`],
    /// reduces every job to `{name, status}` and `ext` to `{report_url}` (or `{}`). Returns
    /// whether anything changed. Idempotent.
    ///
    /// praktika compacts the jobs only when the first one has more than two keys and `ext` only
    /// when it has more than one; Pulse compacts every job and every `ext`, which reaches the
    /// same result on everything praktika writes and a smaller one on hand-made input.
    pub fn compact(&mut self) -> bool {
        let before = self.extra.len();
        self.extra.retain(|k, _| !COMPACTED_AWAY.contains(&k.as_str()));
        let mut changed = self.extra.len() != before;
        for job in self.results.iter_mut().flatten() {
            if job.results.is_some() || job.ext.is_some() || !job.extra.is_empty() {
                let status = std::mem::take(&mut job.status);
                *job = RunResult { name: std::mem::take(&mut job.name), status, ..RunResult::default() };
                changed = true;
            }
        }
        if let Some(ext) = &mut self.ext {
            let want: Map<String, Value> = match ext.get("report_url").and_then(Value::as_str) {
                Some(url) if !url.is_empty() => [("report_url".to_owned(), Value::String(url.to_owned()))].into_iter().collect(),
                _ => Map::new(),
            };
            if *ext != want {
                *ext = want;
                changed = true;
            }
        }
        changed
    }
}

/// praktika's `Event.ext`: PR and repository metadata. Every field is optional and read
/// leniently; unknown keys are kept in `extra`. Deserialized by hand ([`lenient::ExtVisitor`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct EventExt {
    /// 0 for a merge result or a push.
    pub pr_number: u64,
    pub pr_title: String,
    /// Set by the feed-projector: `open` for PR events, `merged` for merge results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr_status: Option<PrStatus>,
    pub branch: String,
    pub commit_message: String,
    pub linked_pr_number: u64,
    pub parent_pr_number: u64,
    pub repo_name: String,
    pub report_url: String,
    pub change_url: String,
    pub workflow_name: String,
    pub base_branch: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<RunId>,
    pub run_url: String,
    pub commit_authors: Vec<String>,
    pub is_cancelled: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for EventExt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(lenient::ExtVisitor)
    }
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
    /// Whether `self` and `other` occupy the same slot of praktika's feed: same (`pr_number`,
    /// `repo_name`) for PR events, same (`sha`, `repo_name`) for merge results.
    pub fn same_slot(&self, other: &FeedEvent) -> bool {
        self.ext.pr_number == other.ext.pr_number
            && self.ext.repo_name == other.ext.repo_name
            && (self.ext.pr_number != 0 || self.sha == other.sha)
    }

    /// A merge result (or push): praktika marks these with `pr_number == 0`.
    pub fn is_merge_result(&self) -> bool {
        self.ext.pr_number == 0
    }

    /// The jobs of the run.
    pub fn jobs(&self) -> &[RunResult] {
        self.result.jobs()
    }

    /// Names of the failing jobs, as praktika's worker lists them in DMs.
    pub fn failing_job_names(&self) -> Vec<&str> {
        self.jobs().iter().filter(|r| r.status.is_failing()).map(|r| r.name.as_str()).collect()
    }

    /// Whether any job is failing (praktika's worker: `failure`, `error`, `fail`, any case).
    pub fn has_failing_job(&self) -> bool {
        self.jobs().iter().any(|r| r.status.is_failing())
    }

    /// The run's report: `result.ext.report_url`, else `ext.report_url`.
    pub fn report_url(&self) -> Option<&str> {
        self.result.report_url().or_else(|| Some(self.ext.report_url.as_str()).filter(|s| !s.is_empty()))
    }
}

mod label;
mod lenient;

pub use label::PrLabel;

#[cfg(test)]
mod tests;
