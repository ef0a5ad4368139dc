//! Scheduled digests (seed 003) as pure functions: the period a tick covers, the summary of a
//! feed over it (runs, failures, most-failing jobs, slowest runs, PRs merged), its message, and
//! the retention rule for soft-deleted subscriptions.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use pulse_contracts::praktika::{FeedEvent, PrStatus};
use pulse_contracts::{DigestPeriod, DigestTick};
use serde_json::{Value, json};

use crate::blocks::cut;

/// praktika's feed object key: `{prefix}/events/{name}.json.gz`, `@` → `_at_`, `+` → `_plus_`.
pub fn feed_key(prefix: &str, email: &str) -> String {
    let name = email.trim().replace('@', "_at_").replace('+', "_plus_");
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() { format!("events/{name}.json.gz") } else { format!("{prefix}/events/{name}.json.gz") }
}

/// The period a tick covers, in unix seconds: `(scheduled_for − length, scheduled_for]`.
pub fn window(tick: &DigestTick) -> (i64, i64) {
    let end = tick.scheduled_for.timestamp();
    (end - tick.period.length().num_seconds(), end)
}

/// One period of one feed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Digest {
    pub runs: usize,
    pub failed_runs: usize,
    /// Job name → runs it failed in, most first (top 5).
    pub failing_jobs: Vec<(String, usize)>,
    /// Title and duration in seconds of the slowest runs (top 3).
    pub slowest: Vec<(String, f64)>,
    /// `#number title` of PRs merged in the period.
    pub merged_prs: Vec<String>,
}

impl Digest {
    pub fn is_empty(&self) -> bool {
        self.runs == 0
    }
}

fn title(e: &FeedEvent) -> String {
    let what = if e.ext.pr_title.is_empty() { e.result.name.clone() } else { e.ext.pr_title.clone() };
    if e.ext.pr_number > 0 { format!("#{} {what}", e.ext.pr_number) } else { format!("{} {what}", e.sha.get(..8).unwrap_or(&e.sha)) }
}

/// Summarise the events of a feed whose `timestamp` falls in `(start, end]`.
pub fn summarize(events: &[FeedEvent], (start, end): (i64, i64)) -> Digest {
    let in_period: Vec<&FeedEvent> = events.iter().filter(|e| e.timestamp > start && e.timestamp <= end).collect();
    let mut failing: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed_runs = 0;
    for e in &in_period {
        let names = e.failing_job_names();
        if !names.is_empty() || e.ci_status.is_failure() {
            failed_runs += 1;
        }
        for name in names {
            *failing.entry(name.to_owned()).or_default() += 1;
        }
    }
    let mut failing_jobs: Vec<(String, usize)> = failing.into_iter().collect();
    failing_jobs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    failing_jobs.truncate(5);
    let mut slowest: Vec<(String, f64)> = in_period.iter().filter_map(|e| Some((title(e), e.result.duration?))).collect();
    slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
    slowest.truncate(3);
    let merged_prs = in_period
        .iter()
        .filter(|e| e.ext.pr_number > 0 && e.ext.pr_status == Some(PrStatus::Merged))
        .map(|e| title(e))
        .collect();
    Digest { runs: in_period.len(), failed_runs, failing_jobs, slowest, merged_prs }
}

/// The digest message for `subject` (an email, or a channel's list of them).
pub fn render(subject: &str, period: DigestPeriod, d: &Digest) -> (String, Value) {
    let text = format!(
        ":bar_chart: {} CI digest for {subject}: {} runs, {} failed, {} PRs merged",
        capitalised(period),
        d.runs,
        d.failed_runs,
        d.merged_prs.len()
    );
    let mut body = Vec::new();
    if !d.failing_jobs.is_empty() {
        body.push("*Most failing jobs:*".to_owned());
        body.extend(d.failing_jobs.iter().map(|(name, n)| format!("• {name} — {n}×")));
    }
    if !d.slowest.is_empty() {
        body.push("*Slowest runs:*".to_owned());
        body.extend(d.slowest.iter().map(|(t, secs)| format!("• {t} — {}", crate::jobs::human_duration((*secs * 1000.0) as u64))));
    }
    if !d.merged_prs.is_empty() {
        body.push("*PRs merged:*".to_owned());
        body.extend(d.merged_prs.iter().take(20).map(|t| format!("• {t}")));
    }
    let mut blocks = vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&text, 3000)}})];
    if !body.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&body.join("\n"), 3000)}}));
    }
    (text, Value::Array(blocks))
}

fn capitalised(p: DigestPeriod) -> &'static str {
    match p {
        DigestPeriod::Daily => "Daily",
        DigestPeriod::Weekly => "Weekly",
    }
}

/// The ledger key of one recipient's digest for one tick.
pub fn ledger_key(tick: &DigestTick, recipient: &str) -> String {
    format!("digest:{}:{}:{recipient}", tick.period.as_str(), tick.scheduled_for.to_rfc3339())
}

/// Whether a subscription soft-deleted at `deleted_at` is past retention at `now`.
pub fn purge_due(deleted_at: Option<DateTime<Utc>>, now: DateTime<Utc>, retention: Duration) -> bool {
    deleted_at.is_some_and(|at| now - at > retention)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_contracts::praktika::Status;
    use pulse_contracts::{Event, parse_str};

    fn event() -> FeedEvent {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/examples/feed.updated.v1/new-failure.json")).unwrap();
        match parse_str(&text).unwrap().detail {
            Event::FeedUpdatedV1(u) => u.newest_event,
            _ => unreachable!(),
        }
    }

    #[test]
    fn keys_follow_praktika() {
        assert_eq!(feed_key("", "bob+ci@users.noreply.github.com"), "events/bob_plus_ci_at_users.noreply.github.com.json.gz");
        assert_eq!(feed_key("/ci/slack/", "a@b.c"), "ci/slack/events/a_at_b.c.json.gz");
    }

    #[test]
    fn summary_counts_only_the_period() {
        let failed = event();
        let t = failed.timestamp;
        let mut ok = failed.clone();
        ok.timestamp = t - 100;
        ok.ci_status = Status::Success;
        ok.result.results.retain(|r| !r.status.is_failure());
        ok.result.duration = Some(9_000.0);
        ok.ext.pr_number = 7;
        ok.ext.pr_title = "Speed up".into();
        ok.ext.pr_status = Some(PrStatus::Merged);
        let mut old = failed.clone();
        old.timestamp = t - 2 * 86_400;
        let d = summarize(&[failed.clone(), ok, old], (t - 86_400, t));
        assert_eq!((d.runs, d.failed_runs), (2, 1));
        assert_eq!(d.failing_jobs, vec![("Stateless tests (amd_debug, parallel)".to_owned(), 1)]);
        assert_eq!(d.slowest[0], ("#7 Speed up".to_owned(), 9_000.0));
        assert_eq!(d.merged_prs, vec!["#7 Speed up".to_owned()]);
        let (text, blocks) = render("a@b", DigestPeriod::Daily, &d);
        assert!(text.contains("Daily CI digest for a@b: 2 runs, 1 failed, 1 PRs merged"), "{text}");
        assert!(blocks.to_string().contains("2h 30m 00s"));
        assert!(summarize(&[], (0, 1)).is_empty());
    }

    #[test]
    fn retention() {
        let now: DateTime<Utc> = "2025-12-31T00:00:00Z".parse().unwrap();
        let thirty = Duration::days(30);
        assert!(purge_due(Some(now - Duration::days(31)), now, thirty));
        assert!(!purge_due(Some(now - Duration::days(29)), now, thirty));
        assert!(!purge_due(None, now, thirty));
    }

    #[test]
    fn window_ends_at_the_schedule() {
        let tick = DigestTick { period: DigestPeriod::Weekly, scheduled_for: "2025-11-24T08:00:00Z".parse().unwrap() };
        let (start, end) = window(&tick);
        assert_eq!(end - start, 7 * 86_400);
        assert!(ledger_key(&tick, "U1").starts_with("digest:weekly:2025-11-24T08:00:00"));
    }
}
