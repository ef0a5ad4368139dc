//! Scheduled digests (seed 003) as pure functions: the period a tick covers, the summary of a
//! feed over it (runs, failures, most-failing jobs, slowest runs, PRs merged), its message, and
//! the retention rule for soft-deleted subscriptions.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use pulse_contracts::praktika::{FeedEvent, PrStatus};
use pulse_contracts::{DigestPeriod, DigestTick};
use serde_json::{Value, json};

use crate::blocks::cut;

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

/// The digest's sections after its headline: heading and lines, empty sections left out. Every
/// format (Slack, Discord, e-mail) renders these.
fn sections(d: &Digest) -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    if !d.failing_jobs.is_empty() {
        out.push(("Most failing jobs", d.failing_jobs.iter().map(|(name, n)| format!("{name} — {n}×")).collect()));
    }
    if !d.slowest.is_empty() {
        let slow = d.slowest.iter().map(|(t, secs)| format!("{t} — {}", crate::jobs::human_duration((*secs * 1000.0) as u64)));
        out.push(("Slowest runs", slow.collect()));
    }
    if !d.merged_prs.is_empty() {
        out.push(("PRs merged", d.merged_prs.iter().take(20).cloned().collect()));
    }
    out
}

fn headline(subject: &str, period: DigestPeriod, d: &Digest) -> String {
    format!(
        "{} CI digest for {subject}: {} runs, {} failed, {} PRs merged",
        capitalised(period),
        d.runs,
        d.failed_runs,
        d.merged_prs.len()
    )
}

/// The digest message for `subject` (an email, or a channel's list of them): Slack text and
/// blocks.
pub fn render(subject: &str, period: DigestPeriod, d: &Digest) -> (String, Value) {
    let text = format!(":bar_chart: {}", headline(subject, period, d));
    let body: Vec<String> = sections(d)
        .into_iter()
        .flat_map(|(heading, lines)| std::iter::once(format!("*{heading}:*")).chain(lines.into_iter().map(|l| format!("• {l}"))))
        .collect();
    let mut blocks = vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&text, 3000)}})];
    if !body.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&body.join("\n"), 3000)}}));
    }
    (text, Value::Array(blocks))
}

/// The digest as a Discord webhook body: the headline as content, one embed per section, no
/// mentions (a PR title saying `@everyone` must not ping anyone). Within Discord's limits.
pub fn render_discord(subject: &str, period: DigestPeriod, d: &Digest) -> Value {
    let embeds: Vec<Value> = sections(d)
        .into_iter()
        .map(|(heading, lines)| {
            let description: Vec<String> = lines.into_iter().map(|l| format!("• {l}")).collect();
            json!({"title": heading, "description": cut(&description.join("\n"), 1500), "color": 0x5865F2})
        })
        .collect();
    json!({
        "username": "Pulse",
        "content": cut(&format!("📊 {}", headline(subject, period, d)), 2000),
        "embeds": embeds,
        "allowed_mentions": {"parse": []},
    })
}

/// An e-mail digest: subject, plain text and HTML (escaped) bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailDigest {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn render_email(subject: &str, period: DigestPeriod, d: &Digest) -> EmailDigest {
    let head = headline(subject, period, d);
    let sections = sections(d);
    let mut text = format!("{head}\n");
    let mut html = format!("<h2>{}</h2>\n", escape_html(&head));
    for (heading, lines) in &sections {
        text.push_str(&format!("\n{heading}:\n"));
        html.push_str(&format!("<h3>{}</h3>\n<ul>\n", escape_html(heading)));
        for line in lines {
            text.push_str(&format!("  - {line}\n"));
            html.push_str(&format!("<li>{}</li>\n", escape_html(line)));
        }
        html.push_str("</ul>\n");
    }
    if sections.is_empty() {
        text.push_str("\nNo failures, no slow runs, no merges: a quiet period.\n");
        html.push_str("<p>No failures, no slow runs, no merges: a quiet period.</p>\n");
    }
    EmailDigest { subject: format!("[Pulse] {head}"), text, html }
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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

        let discord = render_discord("a@b", DigestPeriod::Daily, &d);
        assert!(discord["content"].as_str().unwrap().contains("Daily CI digest for a@b: 2 runs, 1 failed"));
        assert_eq!(discord["embeds"][0]["title"], "Most failing jobs");
        assert!(discord["embeds"][1]["description"].as_str().unwrap().contains("#7 Speed up — 2h 30m 00s"));
        assert_eq!(discord["allowed_mentions"]["parse"], json!([]));
        assert!(pulse_slack::fake::discord_validate(&discord).is_ok());

        let mut hostile = d.clone();
        hostile.merged_prs = vec!["#8 <script>alert('x')</script> & more".into()];
        let email = render_email("a@b", DigestPeriod::Weekly, &hostile);
        assert!(email.subject.starts_with("[Pulse] Weekly CI digest for a@b"), "{}", email.subject);
        assert!(email.text.contains("PRs merged:\n  - #8 <script>"), "{}", email.text);
        assert!(email.html.contains("<li>#8 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more</li>"), "{}", email.html);
        assert!(!email.html.contains("<script>"));
        assert!(render_email("a@b", DigestPeriod::Daily, &Digest::default()).text.contains("quiet period"));
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
