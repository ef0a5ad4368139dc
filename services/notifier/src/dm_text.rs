//! What a personal DM says, as pure functions: the run's real outcome (from `ci_status` and the
//! failing jobs, whatever preference triggered the DM), the failing jobs whenever there are any,
//! the job counts, and links to the PR (or commit), the run and the report.
//!
//! Compacted feeds keep only `{name, status}` per job and `result.ext.report_url`, so the links
//! come from `ext.change_url`, `ext.run_url` and [`FeedEvent::report_url`]; a missing one is left
//! out. Statuses are read in any letter case; one Pulse does not know is shown as written.
//!
//! ```text
//! :red_circle: *CI failed* · <https://github.com/o/r/pull/7|PR #7> *Title* [PR][o/r]
//! 1 failed · 1 dropped · 2 ok · <run-url|run> · <report-url|report>
//! *Failing jobs:*
//! • Stateless tests (amd_debug, parallel)
//! _notification: failure + complete_
//! ```
//!
//! The notification fallback (`text`) is one line: `🔴 CI failed: Title [o/r] — failing: A, B`.

use pulse_contracts::praktika::{FeedEvent, StatusClass};
use pulse_slack::blocks::{Block, Message, cut};

use crate::dm::DmKind;

/// The notification fallback is one line in a banner: what does not fit there only weighs.
const FALLBACK_CHARS: usize = 3000;

/// How the run stands, as a DM states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `ci_status` is failing (`FAIL`, `failure`, `error`), or some job failed and `ci_status`
    /// says neither passed nor still running.
    Failed,
    /// Still running and some job already failed.
    Failing,
    /// `OK` / `success` / `XFAIL` and no job failing.
    Passed,
    /// `ci_status` says passed but some job is failing.
    PassedWithFailures,
    /// Still running, nothing failing yet.
    Running,
    /// Any other status (`XPASS`, `UNKNOWN`, `SKIPPED`, `""`, ...) and no failing job: shown as
    /// written.
    Ended(String),
}

impl Outcome {
    pub fn of(event: &FeedEvent) -> Self {
        let failing = event.has_failing_job();
        let status = &event.ci_status;
        match () {
            _ if status.is_failing() => Outcome::Failed,
            _ if status.is_success() => {
                if failing {
                    Outcome::PassedWithFailures
                } else {
                    Outcome::Passed
                }
            }
            _ if status.is_in_flight() => {
                if failing {
                    Outcome::Failing
                } else {
                    Outcome::Running
                }
            }
            _ if failing => Outcome::Failed,
            _ => Outcome::Ended(status.as_str().to_owned()),
        }
    }

    fn emoji(&self) -> &'static str {
        match self {
            Outcome::Failed | Outcome::Failing => ":red_circle:",
            Outcome::PassedWithFailures => ":large_orange_circle:",
            Outcome::Passed => ":white_check_mark:",
            Outcome::Running => ":hourglass_flowing_sand:",
            Outcome::Ended(_) => ":grey_question:",
        }
    }

    fn label(&self) -> String {
        match self {
            Outcome::Failed => "CI failed".into(),
            Outcome::Failing => "CI failing (still running)".into(),
            Outcome::Passed => "CI passed".into(),
            Outcome::PassedWithFailures => "CI passed, with failing jobs".into(),
            Outcome::Running => "CI running".into(),
            Outcome::Ended(s) if s.is_empty() => "CI finished without a status".into(),
            Outcome::Ended(s) => format!("CI finished: {s}"),
        }
    }
}

/// Slack mrkdwn needs `&`, `<`, `>` escaped in text that is not a link.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn short_sha(sha: &str) -> &str {
    sha.get(..8).unwrap_or(sha)
}

/// The run's title: the PR title, else the commit message's first line, else the workflow name.
fn title(event: &FeedEvent) -> &str {
    let ext = &event.ext;
    let first_line = ext.commit_message.lines().next().unwrap_or_default();
    [ext.pr_title.as_str(), first_line, ext.workflow_name.as_str(), event.result.name.as_str()]
        .into_iter()
        .find(|s| !s.trim().is_empty())
        .unwrap_or("CI run")
}

/// The jobs counted by class, praktika's one-line summary: `2 failed · 1 dropped · 30 ok`.
pub fn job_summary(event: &FeedEvent) -> String {
    let (mut failed, mut dropped, mut running, mut ok, mut skipped, mut other) = (0, 0, 0, 0, 0, 0);
    for job in event.jobs() {
        match job.status.class() {
            StatusClass::Fail | StatusClass::Error => failed += 1,
            StatusClass::Dropped => dropped += 1,
            StatusClass::Pending | StatusClass::Running => running += 1,
            StatusClass::Ok | StatusClass::XFail => ok += 1,
            StatusClass::Skipped => skipped += 1,
            StatusClass::XPass | StatusClass::Unknown | StatusClass::Missing | StatusClass::Other => other += 1,
        }
    }
    [(failed, "failed"), (dropped, "dropped"), (running, "running"), (ok, "ok"), (skipped, "skipped"), (other, "other")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `<change_url|PR #N>` (a fork's PR: `<run_url|PR from a fork (`branch`)>`, see [`PrLabel`](pulse_contracts::praktika::PrLabel);
/// or the commit), then `<run_url|run>` and `<report|report>` when known.
fn subject(event: &FeedEvent) -> String {
    let (name, url) = match event.pr_label() {
        Some(label) => (escape(&label.to_string()), label.url(event)),
        None => (format!("commit {}", short_sha(&event.sha)), event.ext.change_url.as_str()),
    };
    if url.is_empty() { name } else { format!("<{url}|{name}>") }
}

fn links(event: &FeedEvent) -> Vec<String> {
    let mut links = Vec::new();
    if !event.ext.run_url.is_empty() {
        links.push(format!("<{}|run>", event.ext.run_url));
    }
    if let Some(url) = event.report_url() {
        links.push(format!("<{url}|report>"));
    }
    links
}

/// The DM about `event` covering `kinds`.
pub fn render(event: &FeedEvent, kinds: &[DmKind]) -> Message {
    let outcome = Outcome::of(event);
    let cancelled = if event.ext.is_cancelled { " (cancelled)" } else { "" };
    let label = format!("{}{cancelled}", outcome.label());
    let ext = &event.ext;
    let mut tags = String::new();
    for tag in [&ext.workflow_name, &ext.repo_name].into_iter().filter(|t| !t.is_empty()) {
        tags.push_str(&format!("[{}]", escape(tag)));
    }
    let tags = if tags.is_empty() { tags } else { format!(" {tags}") };
    let headline = format!("{} *{label}* · {} *{}*{tags}", outcome.emoji(), subject(event), escape(title(event)));

    let failing = event.failing_job_names();
    let mut body = vec![job_summary(event)];
    body.extend(links(event));
    body.retain(|s| !s.is_empty());
    let mut body = body.join(" · ");
    if !failing.is_empty() {
        body.push_str("\n*Failing jobs:*");
        for name in &failing {
            body.push_str(&format!("\n• {}", escape(name)));
        }
    }
    let note = format!("_notification: {}_", kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" + "));

    let repo = if ext.repo_name.is_empty() { String::new() } else { format!(" [{}]", ext.repo_name) };
    let mut text = format!("{} {label}: {}{repo}", outcome.emoji(), title(event));
    if !failing.is_empty() {
        text.push_str(&format!(" — failing: {}", failing.join(", ")));
    }
    let mut blocks = vec![Block::section(headline)];
    if !body.is_empty() {
        blocks.push(Block::section(body));
    }
    blocks.push(Block::context_text(note));
    Message::new(cut(&text, FALLBACK_CHARS), blocks)
}

#[cfg(test)]
mod tests {
    use pulse_contracts::praktika::{EventExt, EventKind, RunResult, Status};
    use serde_json::{Map, Value};

    use super::*;

    fn pr_event(pr_number: u64, branch: &str) -> FeedEvent {
        FeedEvent {
            kind: EventKind::Completed,
            timestamp: 1_780_000_000,
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            result: RunResult::named("CI", "failure"),
            ci_status: Status::new("failure"),
            ext: EventExt {
                pr_number,
                branch: branch.into(),
                repo_name: "o/r".into(),
                change_url: "https://github.com/o/r/pull/7".into(),
                run_url: "https://github.com/o/r/actions/runs/9".into(),
                ..EventExt::default()
            },
            linked_events: Vec::new(),
            dropped: Map::new(),
        }
    }

    fn headline(event: &FeedEvent) -> String {
        render(event, &[DmKind::Failure]).blocks_json()[0]["text"]["text"].as_str().expect("a headline").to_owned()
    }

    #[test]
    fn a_fork_pr_dm_names_a_pr_from_a_fork_and_links_its_run() {
        let mut fork = pr_event(1_003_735_928_559, "fix<it>");
        fork.ext.change_url = "https://github.com/o/r/commit/0123456789abcdef0123456789abcdef01234567".into();
        fork.ext.extra.insert("pr_number_unknown".into(), Value::Bool(true));
        let text = headline(&fork);
        assert!(text.contains("<https://github.com/o/r/actions/runs/9|PR from a fork (`fix&lt;it&gt;`)>"), "{text}");
        assert!(!text.contains("1003735928559"), "{text}");
    }

    #[test]
    fn a_numbered_pr_dm_names_its_number_and_links_the_pr() {
        let text = headline(&pr_event(7, "feature"));
        assert!(text.contains("<https://github.com/o/r/pull/7|PR #7>"), "{text}");
    }
}
