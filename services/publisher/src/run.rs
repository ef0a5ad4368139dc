//! `pulse run --job NAME [--channel C] [--meta k=v ...] -- COMMAND...`: wrap any command in the
//! job lifecycle of seed 002 — publish `ci.job` `started`, run the command, publish `completed`
//! with its duration, exit status, stats and error — and exit with the command's status.
//!
//! Stats: `pulse run` sets `PULSE_STATS_FILE` to a fresh file path in the command's environment.
//! A command that wants stats shown writes one JSON object there, e.g.
//! `echo '{"success": 100, "failed": 5}' > "$PULSE_STATS_FILE"`; numbers and strings are kept as
//! they are, anything else is shown as its JSON text. No file, no stats; an unreadable file is
//! reported on stderr and ignored, never failing the job.
//!
//! Error: for a failed run, the last lines of the command's stderr (at most 2,000 characters),
//! which are still passed through to `pulse run`'s own stderr as they come.
//!
//! Publishing never breaks the job: a failure to publish is reported on stderr and the command
//! still runs and still decides the exit status. A command that cannot be started is reported as
//! `status: error` and `pulse run` exits 127.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;

use anyhow::Context;
use pulse_aws::eventbridge::EventPublisher;
use pulse_contracts::{CiJob, CiJobV2, EventDetail, JobCompletion, JobStatus, StatValue};
use pulse_core::{Clock, Ids};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest error (stderr tail) sent, in characters.
const ERROR_TAIL_CHARS: usize = 2000;

#[derive(clap::Args)]
pub struct RunArgs {
    /// The job's name, shown in Slack and used for the per-job channel mapping.
    #[arg(long)]
    pub job: String,
    /// Post to this Slack channel id instead of the job's configured channel.
    #[arg(long)]
    pub channel: Option<String>,
    /// A label shown with the start message, `key=value` (repeatable).
    #[arg(long = "meta", value_parser = parse_meta)]
    pub meta: Vec<(String, String)>,
    /// Environment tag shown with the messages.
    #[arg(long, env = crate::settings::PULSE_ENVIRONMENT.name)]
    pub environment: Option<String>,
    /// The event bus (default: the stack's bus, from PULSE_STACK).
    #[arg(long, env = crate::settings::PULSE_BUS.name)]
    pub bus: Option<String>,
    /// The `ci.job` contract version to publish (2 names the host `runner`).
    #[arg(long, env = crate::settings::PULSE_CI_JOB_VERSION.name, default_value = "1", value_parser = clap::value_parser!(u32).range(1..=2))]
    pub ci_job_version: u32,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

fn parse_meta(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected key=value, got `{s}`")),
    }
}

/// Stats from the file the command wrote: a JSON object of numbers and strings.
fn parse_stats(text: &str) -> Result<BTreeMap<String, StatValue>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(map) = value else { return Err("not a JSON object".into()) };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let stat = match v {
                Value::Number(n) => StatValue::Number(n),
                Value::String(s) => StatValue::Text(s),
                other => StatValue::Text(other.to_string()),
            };
            (k, stat)
        })
        .collect())
}

/// The last `max` characters of what was written, cut at a line start when possible.
#[derive(Default)]
struct Tail {
    bytes: VecDeque<u8>,
}

impl Tail {
    const KEEP: usize = 16 * 1024;

    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        let excess = self.bytes.len().saturating_sub(Self::KEEP);
        self.bytes.drain(..excess);
    }

    fn text(&self, max: usize) -> String {
        let all: Vec<u8> = self.bytes.iter().copied().collect();
        let text = String::from_utf8_lossy(&all);
        let text = text.trim_end();
        let chars: Vec<char> = text.chars().collect();
        if chars.len() <= max {
            return text.to_owned();
        }
        let tail: String = chars[chars.len() - max..].iter().collect();
        match tail.find('\n') {
            Some(i) if i + 1 < tail.len() => tail[i + 1..].to_owned(),
            _ => tail,
        }
    }
}

/// How the command ended, as `ci.job` reports it.
fn verdict(exit_code: Option<i32>, spawned: bool) -> JobStatus {
    match (spawned, exit_code) {
        (false, _) => JobStatus::Error,
        (true, Some(0)) => JobStatus::Success,
        (true, _) => JobStatus::Failure,
    }
}

/// The exit status `pulse run` itself ends with.
fn own_exit(status: Option<std::process::ExitStatus>) -> i32 {
    let Some(status) = status else { return 127 };
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    1
}

async fn publish(publisher: &EventPublisher, version: u32, job: &CiJob, phase: &str, clock: &Clock, ids: &Ids) {
    let key = format!("ci.job:{}:{}:{phase}", job.job, job.run_id);
    let envelope = match version {
        2 => CiJobV2(job.clone()).into_envelope("pulse.cli", key, ids.uuid(), clock.now()),
        _ => job.clone().into_envelope("pulse.cli", key, ids.uuid(), clock.now()),
    };
    if let Err(err) = publisher.publish_one(&envelope.to_raw()).await {
        eprintln!("pulse run: could not publish the {phase} event (the job is not affected): {err}");
    }
}

pub async fn run(args: RunArgs, clock: &Clock, ids: &Ids) -> anyhow::Result<()> {
    let bus = match args.bus.clone() {
        Some(bus) => bus,
        None => crate::settings::stack()?.bus(),
    };
    let config = pulse_aws::config::load().await;
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), bus);

    let run_id = ids.uuid().to_string();
    let mut job = CiJob::started(args.job.clone(), run_id.clone(), clock.now());
    job.channel = args.channel.clone();
    job.metadata = args.meta.iter().cloned().collect();
    job.environment = args.environment.clone();
    job.host = hostname();
    publish(&publisher, args.ci_job_version, &job, "started", clock, ids).await;

    let stats_file: PathBuf = std::env::temp_dir().join(format!("pulse-stats-{run_id}.json"));
    let started = Instant::now();
    let (program, rest) = args.command.split_first().context("no command given after `--`")?;
    let spawned = tokio::process::Command::new(program)
        .args(rest)
        .env("PULSE_STATS_FILE", &stats_file)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .spawn();
    let mut tail = Tail::default();
    let (status, spawn_error) = match spawned {
        Err(err) => {
            let message = format!("could not start `{program}`: {err}");
            eprintln!("pulse run: {message}");
            (None, Some(message))
        }
        Ok(mut child) => {
            if let Some(mut stderr) = child.stderr.take() {
                let mut own = tokio::io::stderr();
                let mut buf = [0u8; 8192];
                loop {
                    match stderr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let _ = own.write_all(&buf[..n]).await;
                            tail.push(&buf[..n]);
                        }
                    }
                }
            }
            (Some(child.wait().await.context("waiting for the command")?), None)
        }
    };
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let exit_code = status.and_then(|s| s.code());
    let job_status = verdict(exit_code, status.is_some());

    let stats = match std::fs::read_to_string(&stats_file) {
        Ok(text) => parse_stats(&text).unwrap_or_else(|err| {
            eprintln!("pulse run: ignoring PULSE_STATS_FILE ({err})");
            BTreeMap::new()
        }),
        Err(_) => BTreeMap::new(),
    };
    let _ = std::fs::remove_file(&stats_file);
    let error = match (spawn_error, job_status) {
        (Some(e), _) => Some(e),
        (None, JobStatus::Success) => None,
        (None, _) => {
            let text = tail.text(ERROR_TAIL_CHARS);
            Some(if text.is_empty() { format!("exited with {}", status.map_or("no status".into(), |s| s.to_string())) } else { text })
        }
    };
    let completed = job.completed(JobCompletion { finished_at: clock.now(), duration_ms, exit_code, status: job_status, stats, error });
    publish(&publisher, args.ci_job_version, &completed, "completed", clock, ids).await;

    let code = own_exit(status);
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}

fn hostname() -> Option<String> {
    pulse_core::Settings::from_env()
        .text(&crate::settings::HOSTNAME)
        .ok()
        .flatten()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_is_key_equals_value() {
        assert_eq!(parse_meta("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_meta("novalue").is_err());
        assert!(parse_meta("=x").is_err());
    }

    #[test]
    fn stats_keep_numbers_and_strings() {
        let stats = parse_stats(r#"{"rows": 42, "ratio": 0.5, "source": "reddit", "list": [1]}"#).unwrap();
        assert_eq!(stats["rows"].to_string(), "42");
        assert_eq!(stats["ratio"].to_string(), "0.5");
        assert_eq!(stats["source"].to_string(), "reddit");
        assert_eq!(stats["list"].to_string(), "[1]");
        assert!(parse_stats("[1]").is_err());
        assert!(parse_stats("nope").is_err());
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let mut tail = Tail::default();
        tail.push(b"first line\nsecond line\nthe error\n");
        assert_eq!(tail.text(1000), "first line\nsecond line\nthe error");
        assert_eq!(tail.text(12), "the error");
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(Some(0), true), JobStatus::Success);
        assert_eq!(verdict(Some(2), true), JobStatus::Failure);
        assert_eq!(verdict(None, true), JobStatus::Failure);
        assert_eq!(verdict(None, false), JobStatus::Error);
        assert_eq!(own_exit(None), 127);
    }
}
