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
    "OK", "FAIL", "ERROR", "SKIPPED", "UNKNOWN", "XFAIL", "XPASS", "PENDING", "RUNNING", "DROPPED", "success", "failure",
    "error", "skipped", "dropped", "pending", "running", "",
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

/// Deserializers that accept what praktika's Python may leave in a field (`null`, a float for
/// an int) instead of failing the whole feed.
mod lenient {
    use super::{PrStatus, RunResult, Status};
    use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::{Map, Value};

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        LenientString::deserialize(d).map(|s| s.0)
    }

    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
                .ok_or_else(|| D::Error::custom(format!("integer out of range: {n}"))),
            Value::Null => Ok(0),
            Value::String(s) => s.trim().parse().map_err(|_| D::Error::custom(format!("expected an integer, found {s:?}"))),
            other => Err(D::Error::custom(format!("expected an integer, found {other}"))),
        }
    }

    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => b,
            Value::Null => false,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
            other => return Err(D::Error::custom(format!("expected a boolean, found {other}"))),
        })
    }

    pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(items) => items.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            Value::Null => Vec::new(),
            other => return Err(D::Error::custom(format!("expected a list of strings, found {other}"))),
        })
    }

    pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            other => return Err(D::Error::custom(format!("expected a list, found {other}"))),
        })
    }

    pub fn object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Map<String, Value>>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Object(m) => Some(m),
            Value::Null => None,
            other => return Err(D::Error::custom(format!("expected an object, found {other}"))),
        })
    }

    /// Reads a result map key by key: the four known fields leniently, the rest into `extra`.
    pub struct RunResultVisitor;

    impl<'de> Visitor<'de> for RunResultVisitor {
        type Value = RunResult;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a praktika result object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RunResult, A::Error> {
            let mut result = RunResult::default();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match key.as_ref() {
                    "name" => result.name = map.next_value::<LenientString>()?.0,
                    "status" => result.status = map.next_value::<Status>()?,
                    "results" => result.results = map.next_value::<Option<Jobs>>()?.map(|j| j.0),
                    "ext" => result.ext = map.next_value::<LenientObject>()?.0,
                    _ => {
                        let value: Value = map.next_value()?;
                        result.extra.insert(key.into_owned(), value);
                    }
                }
            }
            Ok(result)
        }
    }

    /// Reads an event map key by key; praktika's seven fields typed (the first six required),
    /// any other key into `dropped`.
    pub struct FeedEventVisitor;

    impl<'de> Visitor<'de> for FeedEventVisitor {
        type Value = super::FeedEvent;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a praktika event object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<super::FeedEvent, A::Error> {
            let (mut kind, mut timestamp, mut sha, mut result, mut ci_status, mut ext) = (None, None, None, None, None, None);
            let mut linked_events = Vec::new();
            let mut dropped = Map::new();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match key.as_ref() {
                    "type" => kind = Some(map.next_value::<super::EventKind>()?),
                    "timestamp" => timestamp = Some(map.next_value::<LenientInt>()?.0),
                    "sha" => sha = Some(map.next_value::<LenientString>()?.0),
                    "result" => result = Some(map.next_value::<RunResult>()?),
                    "ci_status" => ci_status = Some(map.next_value::<Status>()?),
                    "ext" => ext = Some(map.next_value::<super::EventExt>()?),
                    "linked_events" => linked_events = map.next_value::<LenientList>()?.0,
                    _ => {
                        let value: Value = map.next_value()?;
                        dropped.insert(key.into_owned(), value);
                    }
                }
            }
            Ok(super::FeedEvent {
                kind: kind.ok_or_else(|| A::Error::missing_field("type"))?,
                timestamp: timestamp.ok_or_else(|| A::Error::missing_field("timestamp"))?,
                sha: sha.ok_or_else(|| A::Error::missing_field("sha"))?,
                result: result.ok_or_else(|| A::Error::missing_field("result"))?,
                ci_status: ci_status.ok_or_else(|| A::Error::missing_field("ci_status"))?,
                ext: ext.ok_or_else(|| A::Error::missing_field("ext"))?,
                linked_events,
                dropped,
            })
        }
    }

    /// Reads `ext` key by key.
    pub struct ExtVisitor;

    impl<'de> Visitor<'de> for ExtVisitor {
        type Value = super::EventExt;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a praktika ext object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<super::EventExt, A::Error> {
            let mut ext = super::EventExt::default();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                let text = |map: &mut A| map.next_value::<LenientString>().map(|s| s.0);
                let number = |map: &mut A| map.next_value::<LenientInt>().map(|n| u64::try_from(n.0).unwrap_or(0));
                match key.as_ref() {
                    "pr_number" => ext.pr_number = number(&mut map)?,
                    "pr_title" => ext.pr_title = text(&mut map)?,
                    "pr_status" => ext.pr_status = map.next_value::<LenientPrStatus>()?.0,
                    "branch" => ext.branch = text(&mut map)?,
                    "commit_message" => ext.commit_message = text(&mut map)?,
                    "linked_pr_number" => ext.linked_pr_number = number(&mut map)?,
                    "parent_pr_number" => ext.parent_pr_number = number(&mut map)?,
                    "repo_name" => ext.repo_name = text(&mut map)?,
                    "report_url" => ext.report_url = text(&mut map)?,
                    "change_url" => ext.change_url = text(&mut map)?,
                    "workflow_name" => ext.workflow_name = text(&mut map)?,
                    "base_branch" => ext.base_branch = text(&mut map)?,
                    "run_id" => ext.run_id = map.next_value::<Option<super::RunId>>()?,
                    "run_url" => ext.run_url = text(&mut map)?,
                    "commit_authors" => ext.commit_authors = map.next_value::<LenientStrings>()?.0,
                    "is_cancelled" => ext.is_cancelled = map.next_value::<LenientBool>()?.0,
                    _ => {
                        let value: Value = map.next_value()?;
                        ext.extra.insert(key.into_owned(), value);
                    }
                }
            }
            Ok(ext)
        }
    }

    struct LenientPrStatus(Option<PrStatus>);

    impl<'de> Deserialize<'de> for LenientPrStatus {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            pr_status(d).map(LenientPrStatus)
        }
    }

    struct LenientStrings(Vec<String>);

    impl<'de> Deserialize<'de> for LenientStrings {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            strings(d).map(LenientStrings)
        }
    }

    struct LenientBool(bool);

    impl<'de> Deserialize<'de> for LenientBool {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            boolean(d).map(LenientBool)
        }
    }

    struct LenientInt(i64);

    impl<'de> Deserialize<'de> for LenientInt {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            int(d).map(LenientInt)
        }
    }

    struct LenientList(Vec<Value>);

    impl<'de> Deserialize<'de> for LenientList {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            list(d).map(LenientList)
        }
    }

    /// A list of job results; entries that are not objects are skipped, as praktika's
    /// compaction skips them.
    struct Jobs(Vec<RunResult>);

    impl<'de> Deserialize<'de> for Jobs {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct JobsVisitor;
            impl<'de> Visitor<'de> for JobsVisitor {
                type Value = Jobs;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a list of job results")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Jobs, A::Error> {
                    let mut jobs = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                    while let Some(job) = seq.next_element::<MaybeJob>()? {
                        jobs.extend(job.0);
                    }
                    Ok(Jobs(jobs))
                }
            }
            d.deserialize_seq(JobsVisitor)
        }
    }

    /// An element of `results`: a result object, or anything else (skipped).
    struct MaybeJob(Option<RunResult>);

    impl<'de> Deserialize<'de> for MaybeJob {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct MaybeJobVisitor;
            impl<'de> Visitor<'de> for MaybeJobVisitor {
                type Value = MaybeJob;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a job result")
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MaybeJob, A::Error> {
                    RunResultVisitor.visit_map(map).map(|r| MaybeJob(Some(r)))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MaybeJob, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(MaybeJob(None))
                }
                fn visit_str<E: Error>(self, _: &str) -> Result<MaybeJob, E> {
                    Ok(MaybeJob(None))
                }
                fn visit_i64<E: Error>(self, _: i64) -> Result<MaybeJob, E> {
                    Ok(MaybeJob(None))
                }
                fn visit_u64<E: Error>(self, _: u64) -> Result<MaybeJob, E> {
                    Ok(MaybeJob(None))
                }
                fn visit_f64<E: Error>(self, _: f64) -> Result<MaybeJob, E> {
                    Ok(MaybeJob(None))
                }
                fn visit_bool<E: Error>(self, _: bool) -> Result<MaybeJob, E> {
                    Ok(MaybeJob(None))
                }
                fn visit_unit<E: Error>(self) -> Result<MaybeJob, E> {
                    Ok(MaybeJob(None))
                }
            }
            d.deserialize_any(MaybeJobVisitor)
        }
    }

    /// A string field: a string as is, `null` as "", a number or boolean as its text.
    struct LenientString(String);

    impl<'de> Deserialize<'de> for LenientString {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = LenientString;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a string")
                }
                fn visit_str<E: Error>(self, v: &str) -> Result<LenientString, E> {
                    Ok(LenientString(v.to_owned()))
                }
                fn visit_string<E: Error>(self, v: String) -> Result<LenientString, E> {
                    Ok(LenientString(v))
                }
                fn visit_unit<E: Error>(self) -> Result<LenientString, E> {
                    Ok(LenientString(String::new()))
                }
                fn visit_none<E: Error>(self) -> Result<LenientString, E> {
                    Ok(LenientString(String::new()))
                }
                fn visit_i64<E: Error>(self, v: i64) -> Result<LenientString, E> {
                    Ok(LenientString(v.to_string()))
                }
                fn visit_u64<E: Error>(self, v: u64) -> Result<LenientString, E> {
                    Ok(LenientString(v.to_string()))
                }
                fn visit_f64<E: Error>(self, v: f64) -> Result<LenientString, E> {
                    Ok(LenientString(v.to_string()))
                }
                fn visit_bool<E: Error>(self, v: bool) -> Result<LenientString, E> {
                    Ok(LenientString(v.to_string()))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// A status: a known string without allocating, anything else as [`LenientString`] reads it.
    pub struct StatusVisitor;

    impl<'de> Visitor<'de> for StatusVisitor {
        type Value = Status;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a status string")
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Status, E> {
            Ok(Status::new(v))
        }
        fn visit_unit<E: Error>(self) -> Result<Status, E> {
            Ok(Status::default())
        }
        fn visit_none<E: Error>(self) -> Result<Status, E> {
            Ok(Status::default())
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<Status, E> {
            Ok(Status::new(&v.to_string()))
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<Status, E> {
            Ok(Status::new(&v.to_string()))
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<Status, E> {
            Ok(Status::new(&v.to_string()))
        }
        fn visit_bool<E: Error>(self, v: bool) -> Result<Status, E> {
            Ok(Status::new(&v.to_string()))
        }
    }

    /// An object field: `null` (or absent) as `None`.
    struct LenientObject(Option<Map<String, Value>>);

    impl<'de> Deserialize<'de> for LenientObject {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            object(d).map(LenientObject)
        }
    }

    /// `open`, `queued`, `merged` in any case; anything else reads as absent, and praktika's
    /// renderer infers it again.
    pub fn pr_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PrStatus>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "open" => Some(PrStatus::Open),
                "queued" => Some(PrStatus::Queued),
                "merged" => Some(PrStatus::Merged),
                _ => None,
            },
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests;
