//! `ci.job` v1 and v2: one job's lifecycle, published by `pulse run --job NAME -- cmd` (seed 002).
//!
//! v2 renames `host` to `runner` (the machine or CI runner that ran the job: "host" was read as
//! the job's target) and is otherwise v1. Both parse into the one [`CiJob`]; [`CiJobV2`] only
//! changes the wire. The rollout this demonstrates is in `contracts/README.md` ("Rolling out a
//! new version").
//!
//! A run publishes `started`, then `completed` with the same `run_id`; the notifier posts the start
//! message and threads the completion under it. On the wire both phases are one flat object with a
//! `phase` field; in Rust the completion-only fields live in [`JobPhase::Completed`], so a started
//! event cannot carry a duration and a completed one cannot lack it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One job run at one point of its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CiJobWire", into = "CiJobWire")]
pub struct CiJob {
    /// The job's name (`--job`), e.g. `collect_stock_prices`.
    pub job: String,
    /// Unique id of this run; the completion threads under the start message with the same id.
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub phase: JobPhase,
    /// Slack channel id overriding the notifier's default jobs channel (`--channel`).
    pub channel: Option<String>,
    /// Free-form labels shown with the start message (`--meta k=v`).
    pub metadata: BTreeMap<String, String>,
    pub host: Option<String>,
    pub environment: Option<String>,
}

/// Where the run is: just started, or finished with an outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum JobPhase {
    Started,
    Completed(JobCompletion),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct JobCompletion {
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// `None` when the command could not be started or was killed by a signal.
    pub exit_code: Option<i32>,
    pub status: JobStatus,
    /// What the command reported about itself (the dict seed 002's jobs return).
    pub stats: BTreeMap<String, StatValue>,
    pub error: Option<String>,
}

/// The verdict of a completed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// The command exited 0.
    Success,
    /// The command ran and failed.
    Failure,
    /// The command could not be run at all (not found, wrapper error).
    Error,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Success => "success",
            JobStatus::Failure => "failure",
            JobStatus::Error => "error",
        }
    }
}

/// One reported statistic: a number (kept exactly as sent, integer or float) or a label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StatValue {
    Number(serde_json::Number),
    Text(String),
}

impl std::fmt::Display for StatValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatValue::Number(n) => write!(f, "{n}"),
            StatValue::Text(s) => f.write_str(s),
        }
    }
}

impl CiJob {
    /// A `started` event with no channel override, metadata, host or environment.
    pub fn started(job: impl Into<String>, run_id: impl Into<String>, started_at: DateTime<Utc>) -> Self {
        CiJob {
            job: job.into(),
            run_id: run_id.into(),
            started_at,
            phase: JobPhase::Started,
            channel: None,
            metadata: BTreeMap::new(),
            host: None,
            environment: None,
        }
    }

    /// The `completed` event for the same run: everything but the phase is kept.
    pub fn completed(&self, completion: JobCompletion) -> Self {
        CiJob { phase: JobPhase::Completed(completion), ..self.clone() }
    }

    pub fn completion(&self) -> Option<&JobCompletion> {
        match &self.phase {
            JobPhase::Started => None,
            JobPhase::Completed(c) => Some(c),
        }
    }
}

/// The flat wire shape; conversion into [`CiJob`] is where a `completed` event without its
/// outcome is refused.
#[derive(Serialize, Deserialize)]
struct CiJobWire {
    job: String,
    phase: WirePhase,
    run_id: String,
    started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    finished_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<JobStatus>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    stats: BTreeMap<String, StatValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WirePhase {
    Started,
    Completed,
}

/// A `completed` event lacks one of the fields its outcome needs. The message starts with
/// serde's `missing field` wording so the parse error names the field's path.
#[derive(Debug)]
struct MissingCompletionField(&'static str);

impl std::fmt::Display for MissingCompletionField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "missing field `{}` (required when `phase` is `completed`)", self.0)
    }
}

impl TryFrom<CiJobWire> for CiJob {
    type Error = MissingCompletionField;

    fn try_from(w: CiJobWire) -> Result<Self, Self::Error> {
        let phase = match w.phase {
            WirePhase::Started => JobPhase::Started,
            WirePhase::Completed => JobPhase::Completed(JobCompletion {
                finished_at: w.finished_at.ok_or(MissingCompletionField("finished_at"))?,
                duration_ms: w.duration_ms.ok_or(MissingCompletionField("duration_ms"))?,
                status: w.status.ok_or(MissingCompletionField("status"))?,
                exit_code: w.exit_code,
                stats: w.stats,
                error: w.error,
            }),
        };
        Ok(CiJob {
            job: w.job,
            run_id: w.run_id,
            started_at: w.started_at,
            phase,
            channel: w.channel,
            metadata: w.metadata,
            host: w.host,
            environment: w.environment,
        })
    }
}

impl From<CiJob> for CiJobWire {
    fn from(j: CiJob) -> Self {
        let (phase, c) = match j.phase {
            JobPhase::Started => (WirePhase::Started, None),
            JobPhase::Completed(c) => (WirePhase::Completed, Some(c)),
        };
        let (finished_at, duration_ms, exit_code, status, stats, error) = match c {
            None => (None, None, None, None, BTreeMap::new(), None),
            Some(c) => (Some(c.finished_at), Some(c.duration_ms), c.exit_code, Some(c.status), c.stats, c.error),
        };
        CiJobWire {
            job: j.job,
            phase,
            run_id: j.run_id,
            started_at: j.started_at,
            finished_at,
            duration_ms,
            exit_code,
            status,
            stats,
            error,
            channel: j.channel,
            metadata: j.metadata,
            host: j.host,
            environment: j.environment,
        }
    }
}

/// `ci.job` v2: a [`CiJob`] whose wire names the host `runner`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CiJobWireV2", into = "CiJobWireV2")]
pub struct CiJobV2(pub CiJob);

/// v1's wire with `host` renamed: v1's own `host` is not part of v2, so a v2 document carrying
/// one has it ignored (an unknown field), and v2 never writes it.
#[derive(Serialize, Deserialize)]
struct CiJobWireV2 {
    #[serde(flatten)]
    v1: CiJobWire,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    runner: Option<String>,
}

impl TryFrom<CiJobWireV2> for CiJobV2 {
    type Error = MissingCompletionField;

    fn try_from(w: CiJobWireV2) -> Result<Self, Self::Error> {
        let mut v1 = w.v1;
        v1.host = w.runner;
        CiJob::try_from(v1).map(CiJobV2)
    }
}

impl From<CiJobV2> for CiJobWireV2 {
    fn from(job: CiJobV2) -> Self {
        let mut v1 = CiJobWire::from(job.0);
        let runner = v1.host.take();
        CiJobWireV2 { v1, runner }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn started_then_completed_round_trips_and_keeps_the_run() {
        let start = CiJob::started("nightly", "run-1", at("2025-11-20T02:00:00Z"));
        let done = start.completed(JobCompletion {
            finished_at: at("2025-11-20T02:01:00Z"),
            duration_ms: 60_000,
            exit_code: Some(0),
            status: JobStatus::Success,
            stats: BTreeMap::from([("rows".to_owned(), StatValue::Number(42.into()))]),
            error: None,
        });
        let wire = serde_json::to_value(&done).unwrap();
        assert_eq!(wire["phase"], "completed");
        assert_eq!(wire["run_id"], "run-1");
        assert_eq!(wire["stats"], json!({"rows": 42}));
        assert_eq!(serde_json::from_value::<CiJob>(wire).unwrap(), done);

        let wire = serde_json::to_value(&start).unwrap();
        assert_eq!(wire, json!({"job": "nightly", "phase": "started", "run_id": "run-1", "started_at": "2025-11-20T02:00:00Z"}));
    }

    #[test]
    fn a_completed_event_must_say_how_it_ended() {
        let err = serde_json::from_value::<CiJob>(json!({
            "job": "nightly", "phase": "completed", "run_id": "run-1",
            "started_at": "2025-11-20T02:00:00Z", "finished_at": "2025-11-20T02:01:00Z",
            "duration_ms": 60000
        }))
        .unwrap_err();
        assert!(err.to_string().contains("missing field `status`"), "{err}");
    }

    #[test]
    fn v2_is_v1_with_host_renamed_runner() {
        let mut job = CiJob::started("nightly", "run-1", at("2025-11-20T02:00:00Z"));
        job.host = Some("ci-runner-7".into());
        let v1 = serde_json::to_value(&job).unwrap();
        let v2 = serde_json::to_value(CiJobV2(job.clone())).unwrap();
        assert_eq!(v1["host"], "ci-runner-7");
        assert_eq!(v2["runner"], "ci-runner-7");
        assert!(v2.get("host").is_none(), "v2 never writes host: {v2}");
        let mut renamed = v1.as_object().unwrap().clone();
        let host = renamed.remove("host").unwrap();
        renamed.insert("runner".into(), host);
        assert_eq!(v2, json!(renamed), "nothing else differs");
        assert_eq!(serde_json::from_value::<CiJobV2>(v2).unwrap().0, job);
        // A v2 document with v1's field name carries no runner: `host` is unknown in v2.
        let stray = json!({"job": "nightly", "phase": "started", "run_id": "run-1", "started_at": "2025-11-20T02:00:00Z", "host": "x"});
        assert_eq!(serde_json::from_value::<CiJobV2>(stray).unwrap().0.host, None);
    }
}
