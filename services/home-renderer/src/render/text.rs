//! Text helpers for Slack mrkdwn: escaping, links, relative times, and the words and emoji for
//! CI and PR states. (Cutting text to Slack's limits is `pulse_slack::blocks`'s job.)

use std::fmt::Write;

use pulse_contracts::praktika::{FeedEvent, PrStatus, RunResult, Status, StatusClass};
use pulse_slack::blocks::cut;

/// Escapes the three characters Slack's mrkdwn treats as control characters.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// Appends `text` escaped for mrkdwn.
pub fn push_escaped(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
}

/// The first line of `text`, trimmed.
pub fn first_line(text: &str) -> &str {
    text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("")
}

/// A URL Slack can link: http(s), no characters that would break `<url|label>`.
pub fn linkable(url: &str) -> Option<&str> {
    let url = url.trim();
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || matches!(c, '<' | '>' | '|'));
    ok.then_some(url)
}

/// Appends `<url|label>` (label escaped), or just the label when the URL is unusable.
pub fn push_link(out: &mut String, url: &str, label: &str) {
    match linkable(url) {
        Some(url) => {
            out.push('<');
            // Slack unescapes `&amp;` inside links; a bare `&` is its own control character.
            out.push_str(&url.replace('&', "&amp;"));
            out.push('|');
            push_escaped(out, label);
            out.push('>');
        }
        None => push_escaped(out, label),
    }
}

/// How long ago `then` was, seen from `now` (both Unix seconds): `just now`, `5 min ago`,
/// `3 h ago`, `2 d ago`, then a date (`12 Mar 2025`). The view is re-rendered each time its
/// owner opens the Home tab, so these are fresh when read.
pub fn ago(now: i64, then: i64) -> String {
    let secs = now.saturating_sub(then);
    match secs {
        i64::MIN..=59 => "just now".to_owned(),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        86_400..=2_591_999 => format!("{} d ago", secs / 86_400),
        _ => date(then),
    }
}

/// `12 Mar 2025` (UTC).
pub fn date(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map_or_else(|| "a while ago".to_owned(), |d| d.format("%-d %b %Y").to_string())
}

/// Slack's `<!date^…>` token: shown in the reader's own time zone, with `fallback` for clients
/// that cannot format it.
pub fn slack_date(unix: i64, fallback: &str) -> String {
    format!("<!date^{unix}^{{date_short_pretty}} at {{time}}|{}>", escape(fallback))
}

/// How a run is doing, in one emoji and a few words, from its `ci_status` (any letter case),
/// `ext.is_cancelled` and, while in flight, whether a job already fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiState {
    /// `OK`, `success`, `XFAIL`.
    Passed,
    /// `FAIL`, `failure`, `ERROR`.
    Failed,
    /// `XPASS`: passed though expected to fail, which praktika's `Result` counts as a failure.
    UnexpectedPass,
    /// Still running or pending, with a job already failing.
    Failing,
    Running,
    Pending,
    /// `ext.is_cancelled` (praktika's stale-run rule: `FAIL` + cancelled).
    Cancelled,
    Dropped,
    Skipped,
    /// `UNKNOWN`, the empty string, or any other string.
    Unknown,
}

impl CiState {
    pub fn of(event: &FeedEvent) -> CiState {
        if event.ext.is_cancelled {
            return CiState::Cancelled;
        }
        match event.ci_status.class() {
            StatusClass::Running | StatusClass::Pending if event.has_failing_job() => CiState::Failing,
            StatusClass::Running => CiState::Running,
            StatusClass::Pending => CiState::Pending,
            StatusClass::Ok | StatusClass::XFail => CiState::Passed,
            StatusClass::Fail | StatusClass::Error => CiState::Failed,
            StatusClass::XPass => CiState::UnexpectedPass,
            StatusClass::Dropped => CiState::Dropped,
            StatusClass::Skipped => CiState::Skipped,
            StatusClass::Unknown | StatusClass::Missing | StatusClass::Other => CiState::Unknown,
        }
    }

    pub fn emoji(self) -> &'static str {
        match self {
            CiState::Passed => "🟢",
            CiState::Failed | CiState::Failing | CiState::UnexpectedPass => "🔴",
            CiState::Running | CiState::Pending => "🟡",
            CiState::Cancelled | CiState::Skipped => "⚪",
            CiState::Dropped => "⚫",
            CiState::Unknown => "❔",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CiState::Passed => "CI passed",
            CiState::Failed => "CI failed",
            CiState::UnexpectedPass => "CI failed (XPASS: passed, expected to fail)",
            CiState::Failing => "CI failing (still running)",
            CiState::Running => "CI running",
            CiState::Pending => "CI pending",
            CiState::Cancelled => "CI cancelled",
            CiState::Dropped => "CI dropped",
            CiState::Skipped => "CI skipped",
            CiState::Unknown => "CI state unknown",
        }
    }

    pub fn is_bad(self) -> bool {
        matches!(self, CiState::Failed | CiState::Failing | CiState::UnexpectedPass)
    }

    pub fn is_in_flight(self) -> bool {
        matches!(self, CiState::Running | CiState::Pending | CiState::Failing)
    }
}

/// Appends the CI state in words; an unknown state says what praktika wrote (`UNKNOWN`,
/// `(no status)` for the empty string, or the string itself), so nothing reads as a pass.
pub fn push_ci_state(out: &mut String, state: CiState, status: &Status) {
    out.push_str(state.label());
    if state == CiState::Unknown {
        if status.as_str().is_empty() {
            out.push_str(" (no status)");
        } else {
            out.push_str(" (`");
            push_escaped(out, &cut(&status.as_str().replace('`', "'"), 40));
            out.push_str("`)");
        }
    }
}

/// The PR's state in words (`open`, `in merge queue`, `merged`), given its PR status (stored,
/// inferred, or merged by its group); merge results say `merged`.
pub fn pr_state(event: &FeedEvent, status: PrStatus) -> &'static str {
    if event.ext.pr_number == 0 {
        return "merged";
    }
    match status {
        PrStatus::Merged => "merged",
        PrStatus::Queued => "in merge queue",
        PrStatus::Open => "open",
    }
}

/// Job counts of a run (its direct `results`), every job in exactly one bucket.
///
/// praktika's five (`failed` = FAIL/failure/ERROR, `dropped`, `running` = RUNNING/PENDING,
/// `ok` = OK/success, `skipped`), with `XFAIL` counted as ok (praktika's `is_success`), plus
/// two of Pulse's own so that no job silently vanishes from the counts as in praktika's view:
/// `xpass` (`XPASS`) and `unknown` (`UNKNOWN`, the empty string, any other string).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub failed: usize,
    pub dropped: usize,
    pub running: usize,
    pub ok: usize,
    pub skipped: usize,
    pub xpass: usize,
    pub unknown: usize,
}

impl JobCounts {
    pub fn of(result: &RunResult) -> JobCounts {
        let mut c = JobCounts::default();
        for job in result.jobs() {
            let bucket = match job.status.class() {
                StatusClass::Fail | StatusClass::Error => &mut c.failed,
                StatusClass::Dropped => &mut c.dropped,
                StatusClass::Running | StatusClass::Pending => &mut c.running,
                StatusClass::Ok | StatusClass::XFail => &mut c.ok,
                StatusClass::Skipped => &mut c.skipped,
                StatusClass::XPass => &mut c.xpass,
                StatusClass::Unknown | StatusClass::Missing | StatusClass::Other => &mut c.unknown,
            };
            *bucket += 1;
        }
        c
    }

    pub fn total(&self) -> usize {
        self.failed + self.dropped + self.running + self.ok + self.skipped + self.xpass + self.unknown
    }

    /// `*2 failed* · 1 dropped · 30 ok · 1 xpass · 1 unknown` in praktika's order (failed,
    /// dropped, running, ok, skipped), then Pulse's xpass and unknown; zero counts left out so
    /// the eye lands on what matters; `no jobs yet` when there are none.
    pub fn push_summary(&self, out: &mut String) {
        let parts = [
            (self.failed, "failed"),
            (self.dropped, "dropped"),
            (self.running, "running"),
            (self.ok, "ok"),
            (self.skipped, "skipped"),
            (self.xpass, "xpass"),
            (self.unknown, "unknown"),
        ];
        let mut first = true;
        for (n, word) in parts {
            if n == 0 {
                continue;
            }
            if !first {
                out.push_str(" · ");
            }
            first = false;
            if word == "failed" {
                let _ = write!(out, "*{n} {word}*");
            } else {
                let _ = write!(out, "{n} {word}");
            }
        }
        if first {
            out.push_str("no jobs yet");
        }
    }
}

/// The report link of an event ([`FeedEvent::report_url`]: `result.ext.report_url`, else
/// `ext.report_url`), when Slack can link it.
pub fn report_url(event: &FeedEvent) -> Option<&str> {
    event.report_url().and_then(linkable)
}

/// A nested PR shown as a root because its parent is not in the view: it says whose it is.
pub fn is_orphan_pr(event: &FeedEvent) -> bool {
    event.ext.pr_number > 0 && event.ext.parent_pr_number > 0 && event.ext.parent_pr_number != event.ext.pr_number
}

/// The first 8 characters of a sha.
pub fn short_sha(sha: &str) -> &str {
    let end = sha.char_indices().nth(8).map_or(sha.len(), |(i, _)| i);
    &sha[..end]
}

/// Appends `names` (escaped, each cut to `max_name` characters) in backticks, at most `max`
/// of them, then `+N more`.
pub fn push_names<'a>(out: &mut String, names: impl Iterator<Item = &'a str>, max: usize, max_name: usize) {
    let mut shown = 0;
    let mut more = 0;
    for name in names {
        if shown == max {
            more += 1;
            continue;
        }
        if shown > 0 {
            out.push_str(", ");
        }
        out.push('`');
        push_escaped(out, &cut(&name.replace('`', "'"), max_name));
        out.push('`');
        shown += 1;
    }
    if more > 0 {
        let _ = write!(out, " +{more} more");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(escape("a < b && c > d"), "a &lt; b &amp;&amp; c &gt; d");
    }

    #[test]
    fn relative_times() {
        let now = 1_763_640_000;
        assert_eq!(ago(now, now - 10), "just now");
        assert_eq!(ago(now, now + 100), "just now");
        assert_eq!(ago(now, now - 300), "5 min ago");
        assert_eq!(ago(now, now - 3 * 3600), "3 h ago");
        assert_eq!(ago(now, now - 2 * 86_400), "2 d ago");
        assert_eq!(ago(now, now - 40 * 86_400), "11 Oct 2025");
    }

    #[test]
    fn links_only_usable_urls() {
        let mut out = String::new();
        push_link(&mut out, "https://x/pull/1", "#1");
        push_link(&mut out, "javascript:alert(1)", "#2");
        push_link(&mut out, "https://x/a|b", "<3>");
        assert_eq!(out, "<https://x/pull/1|#1>#2&lt;3&gt;");
    }

    #[test]
    fn summary_skips_zero_counts() {
        let mut out = String::new();
        JobCounts { failed: 2, running: 1, ok: 30, unknown: 1, ..JobCounts::default() }.push_summary(&mut out);
        assert_eq!(out, "*2 failed* · 1 running · 30 ok · 1 unknown");
        let mut out = String::new();
        JobCounts::default().push_summary(&mut out);
        assert_eq!(out, "no jobs yet");
    }

    #[test]
    fn names_are_capped() {
        let mut out = String::new();
        push_names(&mut out, ["a", "b`c", "d"].into_iter(), 2, 10);
        assert_eq!(out, "`a`, `b'c` +1 more");
    }
}
