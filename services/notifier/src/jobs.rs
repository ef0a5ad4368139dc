//! Job lifecycle on `ci.job` (seed 002), as pure functions: the start message in the job's
//! channel, the completion as a reply in its thread (planned by `decide::job`).
//!
//! Both are ledger messages (`job:{run_id}:started`, `job:{run_id}:completed`). A completion
//! delivers the start message first through the same key — a no-op when it was posted, and the
//! right thing when the `started` event is late or lost — so the completion always has a thread
//! to reply in.

use pulse_contracts::{CiJob, JobCompletion, JobStatus};
use pulse_slack::blocks::{Block, Message, cut_start, limits};

pub fn start_key(run_id: &str) -> String {
    format!("job:{run_id}:started")
}

pub fn completion_key(run_id: &str) -> String {
    format!("job:{run_id}:completed")
}

/// "1h 02m 03s", "4m 05s", "6.2s".
pub fn human_duration(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..=59 => format!("{:.1}s", ms as f64 / 1000.0),
        60..=3599 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m {:02}s", secs / 3600, (secs % 3600) / 60, secs % 60),
    }
}

/// The start message: job, environment, host, metadata.
pub fn render_start(job: &CiJob) -> Message {
    let text = format!(":arrow_forward: Job *{}* started", job.job);
    let mut fields = vec![format!("*Started:* {}", job.started_at.format("%Y-%m-%d %H:%M:%S UTC"))];
    if let Some(env) = &job.environment {
        fields.push(format!("*Environment:* {env}"));
    }
    if let Some(host) = &job.host {
        fields.push(format!("*Host:* {host}"));
    }
    for (k, v) in &job.metadata {
        fields.push(format!("*{k}:* {v}"));
    }
    let blocks = [Block::section(text.as_str()), Block::fields(fields)];
    Message::new(text, blocks)
}

/// The completion reply: status, duration, exit code, stats, error tail.
pub fn render_completion(job: &CiJob, c: &JobCompletion) -> Message {
    let emoji = match c.status {
        JobStatus::Success => ":white_check_mark:",
        JobStatus::Failure => ":x:",
        JobStatus::Error => ":boom:",
    };
    let text = format!("{emoji} Job *{}* {} in {}", job.job, c.status.as_str(), human_duration(c.duration_ms));
    let mut fields = vec![
        format!("*Status:* {}", c.status.as_str()),
        format!("*Duration:* {}", human_duration(c.duration_ms)),
        format!("*Exit code:* {}", c.exit_code.map_or("none (signal or not started)".to_owned(), |e| e.to_string())),
    ];
    for (k, v) in &c.stats {
        fields.push(format!("*{k}:* {v}"));
    }
    let mut blocks = vec![Block::section(text.as_str()), Block::fields(fields)];
    if let Some(error) = c.error.as_deref().filter(|e| !e.is_empty()) {
        // Keep the tail, the last lines of stderr being where the error is, leaving the
        // section room for the heading and the fences.
        let tail = cut_start(error, limits::SECTION_TEXT - 100);
        blocks.push(Block::section(format!("*Error:*\n```{tail}```")));
    }
    Message::new(text, blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_contracts::StatValue;
    use std::collections::BTreeMap;

    #[test]
    fn durations_read_like_a_human_wrote_them() {
        assert_eq!(human_duration(6_200), "6.2s");
        assert_eq!(human_duration(245_000), "4m 05s");
        assert_eq!(human_duration(3_723_000), "1h 02m 03s");
    }

    #[test]
    fn completion_shows_status_duration_stats_and_error_tail() {
        let job = CiJob::started("nightly", "r1", "2025-11-20T02:00:00Z".parse().unwrap());
        let c = JobCompletion {
            finished_at: "2025-11-20T02:01:00Z".parse().unwrap(),
            duration_ms: 60_000,
            exit_code: Some(2),
            status: JobStatus::Failure,
            stats: BTreeMap::from([("rows".to_owned(), StatValue::Number(42.into()))]),
            error: Some(format!("{}THE END", "x".repeat(5000))),
        };
        let (text, blocks) = render_completion(&job, &c).into_parts();
        assert!(text.contains("nightly") && text.contains("failure") && text.contains("1m 00s"), "{text}");
        let all = blocks.to_string();
        assert!(all.contains("*rows:* 42") && all.contains("*Exit code:* 2") && all.contains("THE END"), "{all}");
        assert!(blocks[2]["text"]["text"].as_str().unwrap().chars().count() < 3000);
    }

    #[test]
    fn start_shows_metadata() {
        let mut job = CiJob::started("nightly", "r1", "2025-11-20T02:00:00Z".parse().unwrap());
        job.metadata.insert("source".into(), "reddit".into());
        job.environment = Some("prod".into());
        let (_, blocks) = render_start(&job).into_parts();
        let all = blocks.to_string();
        assert!(all.contains("*source:* reddit") && all.contains("*Environment:* prod"), "{all}");
    }
}
