//! Personal DMs on `feed.updated` (seed 000, "DM Notifications"), as pure functions: whether a
//! subscriber gets one, its dedup key, and its text.
//!
//! praktika's rules: a "complete" DM when the newest event is `type == completed` and
//! `notify_on_complete`; a "failure" DM when the newest event has a job in `failure` / `error`
//! and `notify_on_failure`, listing the failing job names. When both apply, one DM is sent — the
//! failure one, which also says the run completed — because both would share praktika's dedup
//! key and a user should not get two messages about one run.

use pulse_contracts::praktika::{EventKind, FeedEvent};
use pulse_contracts::Preferences;
use serde_json::{Value, json};

/// Which DM a subscriber gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmKind {
    Complete,
    Failure,
}

/// The DM `prefs` ask for about `event`, if any.
pub fn decide(event: &FeedEvent, prefs: &Preferences) -> Option<DmKind> {
    let failing = !event.failing_job_names().is_empty();
    if failing && prefs.notify_on_failure {
        return Some(DmKind::Failure);
    }
    if event.kind == EventKind::Completed && prefs.notify_on_complete {
        return Some(DmKind::Complete);
    }
    None
}

/// praktika's DM dedup key: `{type}:{email}:{sha}:{ci_status}:{pr_number}:{repo_name}`.
pub fn praktika_key(email: &str, event: &FeedEvent) -> String {
    let kind = match event.kind {
        EventKind::Running => "running",
        EventKind::Completed => "completed",
    };
    format!("{kind}:{email}:{}:{}:{}:{}", event.sha, event.ci_status.as_str(), event.ext.pr_number, event.ext.repo_name)
}

/// The ledger key of one user's DM: exactly one per (user, praktika key).
pub fn ledger_key(slack_user: &str, email: &str, event: &FeedEvent) -> String {
    format!("dm:{slack_user}:{}", praktika_key(email, event))
}

/// The links praktika's DM shows: PR (or commit), run, report.
fn links(event: &FeedEvent) -> Vec<String> {
    let mut links = Vec::new();
    let ext = &event.ext;
    let pr_url = if !ext.change_url.is_empty() {
        Some(ext.change_url.clone())
    } else {
        event.result.links.first().cloned()
    };
    let subject = if ext.pr_number > 0 { format!("PR #{}", ext.pr_number) } else { format!("commit {}", short_sha(&event.sha)) };
    match pr_url {
        Some(url) => links.push(format!("<{url}|{subject}>")),
        None => links.push(subject),
    }
    let run_url = if !ext.run_url.is_empty() { Some(ext.run_url.clone()) } else { event.result.links.get(1).cloned() };
    if let Some(url) = run_url {
        links.push(format!("<{url}|run>"));
    }
    let report = if !ext.report_url.is_empty() {
        Some(ext.report_url.clone())
    } else {
        event.result.ext.get("report_url").and_then(Value::as_str).map(str::to_owned)
    };
    if let Some(url) = report {
        links.push(format!("<{url}|report>"));
    }
    links
}

fn short_sha(sha: &str) -> &str {
    sha.get(..8).unwrap_or(sha)
}

/// The DM: a text fallback and Block Kit sections.
pub fn render(kind: DmKind, event: &FeedEvent) -> (String, Value) {
    let ext = &event.ext;
    let what = if ext.pr_title.is_empty() { event.result.name.clone() } else { ext.pr_title.clone() };
    let repo = if ext.repo_name.is_empty() { String::new() } else { format!(" [{}]", ext.repo_name) };
    let headline = match kind {
        DmKind::Failure => format!(":red_circle: CI failure: {what}{repo}"),
        DmKind::Complete => format!(":white_check_mark: CI {}: {what}{repo}", event.ci_status.as_str()),
    };
    let mut body = links(event).join(" · ");
    if kind == DmKind::Failure {
        let failing = event.failing_job_names();
        body.push_str("\n*Failing jobs:*");
        for name in &failing {
            body.push_str(&format!("\n• {name}"));
        }
    }
    let text = match kind {
        DmKind::Failure => format!("{headline} — failing: {}", event.failing_job_names().join(", ")),
        DmKind::Complete => headline.clone(),
    };
    let blocks = json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": crate::blocks::cut(&headline, 3000)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": crate::blocks::cut(&body, 3000)}},
    ]);
    (text, blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_contracts::{Event, parse_str};

    fn example() -> FeedEvent {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/examples/feed.updated.v1/new-failure.json")).unwrap();
        match parse_str(&text).unwrap().detail {
            Event::FeedUpdatedV1(u) => u.newest_event,
            _ => unreachable!(),
        }
    }

    fn prefs(complete: bool, failure: bool) -> Preferences {
        Preferences { notify_on_complete: complete, notify_on_failure: failure, ..Preferences::default() }
    }

    #[test]
    fn preferences_decide_which_dm() {
        let failed = example();
        assert_eq!(decide(&failed, &prefs(false, false)), None);
        assert_eq!(decide(&failed, &prefs(false, true)), Some(DmKind::Failure));
        assert_eq!(decide(&failed, &prefs(true, true)), Some(DmKind::Failure));
        assert_eq!(decide(&failed, &prefs(true, false)), Some(DmKind::Complete));
        let mut running_ok = failed.clone();
        running_ok.kind = EventKind::Running;
        running_ok.result.results.retain(|r| !r.status.is_failure());
        assert_eq!(decide(&running_ok, &prefs(true, true)), None);
    }

    #[test]
    fn keys_follow_praktika() {
        let e = example();
        let key = praktika_key("alice@clickhouse.com", &e);
        assert_eq!(key, format!("completed:alice@clickhouse.com:{}:failure:91234:{}", e.sha, e.ext.repo_name));
        assert_eq!(ledger_key("U1", "alice@clickhouse.com", &e), format!("dm:U1:{key}"));
    }

    #[test]
    fn failure_dm_lists_failing_jobs_and_links() {
        let e = example();
        let (text, blocks) = render(DmKind::Failure, &e);
        assert!(text.contains("Stateless tests (amd_debug, parallel)"), "{text}");
        let body = blocks[1]["text"]["text"].as_str().unwrap();
        assert!(body.contains("• Stateless tests (amd_debug, parallel)"), "{body}");
        assert!(!body.contains("Fast test"), "{body}");
        assert!(body.contains("|PR #91234>") && body.contains("|run>") && body.contains("|report>"), "{body}");
    }
}
