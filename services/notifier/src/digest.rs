//! Scheduled digests (seed 003) as pure functions: the period a tick covers, the summary of a
//! feed over it (runs, failed runs, most-failing jobs, runs still red, PRs merged), its message,
//! and the retention rule for soft-deleted subscriptions.
//!
//! Everything here is computable from praktika's compacted feeds, where a run keeps its status
//! and its jobs' names and statuses but no durations or links. "Slowest runs" (from
//! `result.duration`) was dropped for that reason; "Still red" took its place: each PR (or
//! pushed commit) whose newest run in the period is failing, with its failing-job count. A run
//! is failing when `ci_status` is or a job is failing by `Status::is_failing` (`failure`,
//! `error`, `fail`, any case).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use pulse_contracts::praktika::{FeedEvent, PrStatus};
use pulse_contracts::{DigestPeriod, DigestTick};
use pulse_slack::blocks::{Block, Message, cut};
use serde_json::{Value, json};

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
    /// PRs (or pushed commits) whose newest run in the period is failing, newest first (top
    /// 10): `#number title — N failing jobs`.
    pub still_red: Vec<String>,
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
    match e.pr_label() {
        Some(label) => format!("{} {what}", label.short()),
        None => format!("{} {what}", e.sha.get(..8).unwrap_or(&e.sha)),
    }
}

/// Summarise the events of a feed whose `timestamp` falls in `(start, end]`.
pub fn summarize(events: &[FeedEvent], (start, end): (i64, i64)) -> Digest {
    let in_period: Vec<&FeedEvent> = events.iter().filter(|e| e.timestamp > start && e.timestamp <= end).collect();
    let mut failing: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed_runs = 0;
    for e in &in_period {
        let names = e.failing_job_names();
        if is_red(e) {
            failed_runs += 1;
        }
        for name in names {
            *failing.entry(name.to_owned()).or_default() += 1;
        }
    }
    let mut failing_jobs: Vec<(String, usize)> = failing.into_iter().collect();
    failing_jobs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    failing_jobs.truncate(5);
    let still_red = still_red(&in_period);
    let merged_prs =
        in_period.iter().filter(|e| e.ext.pr_number > 0 && e.ext.pr_status == Some(PrStatus::Merged)).map(|e| title(e)).collect();
    Digest { runs: in_period.len(), failed_runs, failing_jobs, still_red, merged_prs }
}

/// A failing run: `ci_status` failing, or a failing job.
fn is_red(e: &FeedEvent) -> bool {
    e.ci_status.is_failing() || e.has_failing_job()
}

/// The newest run of each PR (or pushed commit, by sha) in the period, when it is failing.
fn still_red(in_period: &[&FeedEvent]) -> Vec<String> {
    let mut newest: BTreeMap<(&str, u64, &str), &FeedEvent> = BTreeMap::new();
    for e in in_period {
        let sha = if e.ext.pr_number > 0 { "" } else { e.sha.as_str() };
        let slot = newest.entry((e.ext.repo_name.as_str(), e.ext.pr_number, sha)).or_insert(e);
        if e.timestamp > slot.timestamp {
            *slot = e;
        }
    }
    let mut red: Vec<&FeedEvent> = newest.into_values().filter(|e| is_red(e)).collect();
    red.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| title(a).cmp(&title(b))));
    red.truncate(10);
    red.into_iter()
        .map(|e| match e.failing_job_names().len() {
            0 => format!("{} — {}", title(e), e.ci_status),
            1 => format!("{} — 1 failing job", title(e)),
            n => format!("{} — {n} failing jobs", title(e)),
        })
        .collect()
}

/// The digest's sections after its headline: heading and lines, empty sections left out. Every
/// format (Slack, Discord, e-mail) renders these.
fn sections(d: &Digest) -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    if !d.failing_jobs.is_empty() {
        out.push(("Most failing jobs", d.failing_jobs.iter().map(|(name, n)| format!("{name} — {n}×")).collect()));
    }
    if !d.still_red.is_empty() {
        out.push(("Still red", d.still_red.clone()));
    }
    if !d.merged_prs.is_empty() {
        out.push(("PRs merged", d.merged_prs.iter().take(20).cloned().collect()));
    }
    out
}

fn headline(subject: &str, period: DigestPeriod, d: &Digest) -> String {
    format!("{} CI digest for {subject}: {} runs, {} failed, {} PRs merged", capitalised(period), d.runs, d.failed_runs, d.merged_prs.len())
}

/// The digest message for `subject` (an email, or a channel's list of them) in Slack.
pub fn render(subject: &str, period: DigestPeriod, d: &Digest) -> Message {
    let text = format!(":bar_chart: {}", headline(subject, period, d));
    let body: Vec<String> = sections(d)
        .into_iter()
        .flat_map(|(heading, lines)| std::iter::once(format!("*{heading}:*")).chain(lines.into_iter().map(|l| format!("• {l}"))))
        .collect();
    let mut blocks = vec![Block::section(text.as_str())];
    if !body.is_empty() {
        blocks.push(Block::section(body.join("\n")));
    }
    Message::new(text, blocks)
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
        text.push_str("\nNo failing jobs, nothing red, no merges: a quiet period.\n");
        html.push_str("<p>No failing jobs, nothing red, no merges: a quiet period.</p>\n");
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
    use pulse_contracts::praktika::{RunResult, Status};
    use pulse_contracts::{Event, parse_str};

    fn event() -> FeedEvent {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/examples/feed.updated.v1/new-failure.json"))
                .unwrap();
        match parse_str(&text).unwrap().detail {
            Event::FeedUpdatedV1(u) => u.newest_event,
            _ => unreachable!(),
        }
    }

    fn job_statuses(e: &mut FeedEvent, statuses: &[(&str, &str)]) {
        e.result.results = Some(statuses.iter().map(|(n, s)| RunResult::named(*n, s)).collect());
    }

    #[test]
    fn summary_counts_only_the_period_from_compacted_feeds() {
        let failed = event();
        let t = failed.timestamp;
        let mut ok = failed.clone();
        ok.timestamp = t - 100;
        ok.ci_status = Status::new("OK");
        job_statuses(&mut ok, &[("Style check", "OK"), ("Flaky", "XPASS"), ("Odd", "UNKNOWN"), ("None", "")]);
        ok.ext.pr_number = 7;
        ok.ext.pr_title = "Speed up".into();
        ok.ext.pr_status = Some(PrStatus::Merged);
        let mut old = failed.clone();
        old.timestamp = t - 2 * 86_400;
        // Compacted as praktika stores it: no durations, no links; statuses in any case.
        let mut events = vec![failed.clone(), ok, old];
        for e in &mut events {
            e.result.compact();
        }
        let d = summarize(&events, (t - 86_400, t));
        assert_eq!((d.runs, d.failed_runs), (2, 1));
        assert_eq!(d.failing_jobs, vec![("Stateless tests (amd_debug, parallel)".to_owned(), 1)]);
        assert_eq!(d.still_red, vec!["#91234 Speed up parallel replicas for FINAL queries — 1 failing job".to_owned()]);
        assert_eq!(d.merged_prs, vec!["#7 Speed up".to_owned()]);
        let (text, blocks) = render("a@b", DigestPeriod::Daily, &d).into_parts();
        assert!(text.contains("Daily CI digest for a@b: 2 runs, 1 failed, 1 PRs merged"), "{text}");
        let shown = blocks[1]["text"]["text"].as_str().unwrap();
        assert!(shown.contains("*Still red:*\n• #91234 Speed up parallel replicas for FINAL queries — 1 failing job"), "{shown}");
        assert!(!shown.contains("Slowest"), "{shown}");
        assert!(summarize(&[], (0, 1)).is_empty());

        let discord = render_discord("a@b", DigestPeriod::Daily, &d);
        assert!(discord["content"].as_str().unwrap().contains("Daily CI digest for a@b: 2 runs, 1 failed"));
        assert_eq!(discord["embeds"][0]["title"], "Most failing jobs");
        assert_eq!(discord["embeds"][1]["title"], "Still red");
        assert_eq!(discord["allowed_mentions"]["parse"], json!([]));
        assert!(pulse_fake_slack::discord_validate(&discord).is_ok());

        let mut hostile = d.clone();
        hostile.merged_prs = vec!["#8 <script>alert('x')</script> & more".into()];
        let email = render_email("a@b", DigestPeriod::Weekly, &hostile);
        assert!(email.subject.starts_with("[Pulse] Weekly CI digest for a@b"), "{}", email.subject);
        assert!(email.text.contains("PRs merged:\n  - #8 <script>"), "{}", email.text);
        assert!(email.text.contains("Still red:\n  - #91234"), "{}", email.text);
        assert!(email.html.contains("<li>#8 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more</li>"), "{}", email.html);
        assert!(!email.html.contains("<script>"));
        assert!(render_email("a@b", DigestPeriod::Daily, &Digest::default()).text.contains("quiet period"));
    }

    #[test]
    fn a_pr_fixed_later_in_the_period_is_not_still_red() {
        let failed = event();
        let t = failed.timestamp;
        let mut fixed = failed.clone();
        fixed.timestamp = t + 60;
        fixed.ci_status = Status::new("success");
        job_statuses(&mut fixed, &[("Stateless tests (amd_debug, parallel)", "OK")]);
        // A push that failed by its status alone (praktika's stale-run rule), no job failing.
        let mut push = failed.clone();
        push.ext.pr_number = 0;
        push.sha = "abcdef0123456789".into();
        push.ext.pr_title = String::new();
        push.result.name = "MasterCI".into();
        push.ci_status = Status::new("FAIL");
        job_statuses(&mut push, &[("Build", "RUNNING")]);
        let d = summarize(&[fixed, failed, push], (t - 86_400, t + 3600));
        assert_eq!((d.runs, d.failed_runs), (3, 2));
        assert_eq!(d.still_red, vec!["abcdef01 MasterCI — FAIL".to_owned()]);
    }

    #[test]
    fn a_fork_pr_is_named_as_one_never_by_its_stand_in_number() {
        let mut fork = event();
        fork.ext.pr_number = 1_000_000_000_000 + 12_345;
        fork.ext.branch = "fix-typo".into();
        fork.ext.extra.insert("pr_number_unknown".into(), json!(true));
        fork.ext.pr_status = Some(PrStatus::Merged);
        let t = fork.timestamp;
        let d = summarize(&[fork], (t - 60, t));
        assert_eq!(d.still_red.len(), 1);
        assert!(d.still_red[0].starts_with("PR from a fork (`fix-typo`) "), "{:?}", d.still_red);
        assert!(d.merged_prs[0].starts_with("PR from a fork (`fix-typo`) "), "{:?}", d.merged_prs);
        assert!(!format!("{d:?}").contains("1000000012345"));
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
