//! `pulse migrate praktika`: import praktika's subscriptions into Pulse through events.
//!
//! [`read`] lists and gets praktika's files (read-only), [`files`] parses them, [`plan`] decides
//! (pure), and [`run`] publishes one `subscription.imported` per planned user (nothing with
//! `dry_run`). The services do the rest, each in its own tables: the home-renderer creates the
//! subscription unless the user has Pulse state of their own, the notifier records the
//! last-notified DM keys as sent.

pub mod files;
pub mod plan;
pub mod read;

use aws_sdk_s3::Client as S3;
use chrono::{DateTime, Utc};
use pulse_aws::eventbridge::EventPublisher;
use pulse_contracts::feed_layout::FeedLocation;
use pulse_contracts::{Envelope, EventDetail};
use pulse_core::{Clock, Ids};
use serde::Serialize;

use self::plan::{Fetched, Plan, Target};

/// The envelope `source` of imports.
pub const SOURCE: &str = "pulse.migrate";

/// What to import and where to send it.
#[derive(Debug, Clone)]
pub struct Options {
    pub from: FeedLocation,
    pub team_id: String,
    pub publish_home: bool,
    pub dry_run: bool,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub dry_run: bool,
    /// Files read under the subscriptions prefix.
    pub files_read: usize,
    /// `subscription.imported` events published (0 on a dry run).
    pub published: usize,
    #[serde(flatten)]
    pub plan: Plan,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Read(#[from] read::ReadError),
    #[error("publishing {count} subscription.imported event(s) to bus {bus}: {message}")]
    Publish { count: usize, bus: String, message: String },
}

/// Read, plan and (unless `dry_run`) publish, the imports dated by `clock` and identified by
/// `ids`. `progress` is told how many files there are, then once per file read.
pub async fn run(
    s3: &S3,
    publisher: &EventPublisher,
    options: &Options,
    clock: &Clock,
    ids: &Ids,
    progress: &dyn Fn(Progress),
) -> Result<Report, MigrateError> {
    let keys = read::list(s3, &options.from).await?;
    progress(Progress::Listed(keys.len()));
    let mut fetched: Vec<Fetched> = Vec::with_capacity(keys.len());
    for key in &keys {
        fetched.push(read::fetch(s3, &options.from, key).await?);
        progress(Progress::Read);
    }
    let target = Target { bucket: options.from.bucket.clone(), team_id: options.team_id.clone(), publish_home: options.publish_home };
    let plan = plan::plan(&target, &fetched);
    let mut published = 0;
    if !options.dry_run && !plan.imports.is_empty() {
        let now = clock.now();
        let envelopes: Vec<Envelope> = plan.imports.iter().map(|i| envelope(&i.event, ids, now).to_raw()).collect();
        let report = publisher.publish(&envelopes).await.map_err(|e| MigrateError::Publish {
            count: envelopes.len(),
            bus: publisher.bus_name().to_owned(),
            message: e.to_string(),
        })?;
        published = report.published;
    }
    Ok(Report { dry_run: options.dry_run, files_read: keys.len(), published, plan })
}

/// The envelope of one import at `now`, with the contract's dedup key.
pub fn envelope(event: &pulse_contracts::SubscriptionImported, ids: &Ids, now: DateTime<Utc>) -> pulse_contracts::TypedEnvelope {
    let key = event.dedup_key();
    event.clone().into_envelope(SOURCE, key, ids.uuid(), now)
}

#[derive(Debug, Clone, Copy)]
pub enum Progress {
    Listed(usize),
    Read,
}

/// The human summary.
pub fn summary(report: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let plan = &report.plan;
    let verb = if report.dry_run { "would import" } else { "imported" };
    let _ = writeln!(
        out,
        "{} file(s) read; {verb} {} user(s); {} file(s) skipped; {} conflict(s)",
        report.files_read,
        plan.imports.len(),
        plan.skipped.len(),
        plan.conflicts.len()
    );
    if !report.dry_run {
        let _ = writeln!(
            out,
            "published {} subscription.imported event(s); the home-renderer logs per user whether it created the subscription or kept the user's Pulse state (`subscription import`)",
            report.published
        );
    }
    if report.dry_run || !plan.imports.is_empty() {
        let _ = writeln!(out, "\n{}:", if report.dry_run { "would import" } else { "imported" });
        for i in &plan.imports {
            let e = &i.event;
            let p = e.preferences;
            let on: Vec<&str> = [
                ("hide_merged_prs", p.hide_merged_prs),
                ("hide_merges", p.hide_merges),
                ("hide_secondary_prs", p.hide_secondary_prs),
                ("show_last_7d", p.show_last_7d),
                ("notify_on_complete", p.notify_on_complete),
                ("notify_on_failure", p.notify_on_failure),
            ]
            .into_iter()
            .filter_map(|(n, v)| v.then_some(n))
            .collect();
            let toggles = if on.is_empty() { "all toggles off".to_owned() } else { on.join(", ") };
            let keys = e.last_notified.keys().count();
            let _ = writeln!(
                out,
                "  {} → {} ({}; {toggles}; {keys} last-notified key(s); from {})",
                e.slack_user_id, e.email, i.chosen_by, e.source.key
            );
            for note in &i.notes {
                let _ = writeln!(out, "      note: {note}");
            }
        }
    }
    if !plan.conflicts.is_empty() {
        let _ = writeln!(out, "\nconflicts:");
        for c in &plan.conflicts {
            let named: Vec<String> =
                c.candidates.iter().map(|k| format!("{} ({}, {})", k.email, k.key, k.last_modified.format("%Y-%m-%dT%H:%M:%SZ"))).collect();
            let _ = writeln!(out, "  {}: chose {} by rule \"{}\"; files say: {}", c.slack_user_id, c.chosen, c.rule, named.join("; "));
        }
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(out, "\nskipped:");
        for s in &plan.skipped {
            let _ = writeln!(out, "  {}: {}", s.key, s.reason);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_imports_conflicts_and_skips() {
        let at = chrono::DateTime::parse_from_rfc3339("2025-11-20T09:00:00Z").unwrap().to_utc();
        let fetched = |name: &str, body: &str| Fetched {
            key: format!("p/subscriptions/{name}"),
            etag: "\"e\"".into(),
            last_modified: at,
            parsed: files::parse(name, body.as_bytes()),
        };
        let files = [
            fetched("email_a_at_x.io.json", r#"{"user_ids": ["U1"], "user_prefs": {"U1": {"notify_on_failure": true}}}"#),
            fetched("email_b_at_x.io.json", r#"{"user_ids": ["U1"]}"#),
            fetched("slack_U2.json", "{"),
        ];
        let target = Target { bucket: "b".into(), team_id: "T1".into(), publish_home: false };
        let report = Report { dry_run: true, files_read: 3, published: 0, plan: plan::plan(&target, &files) };
        let text = summary(&report);
        assert!(text.starts_with("3 file(s) read; would import 1 user(s); 1 file(s) skipped; 1 conflict(s)"), "{text}");
        assert!(text.contains("U1 → b@x.io (most recent email file; all toggles off;"), "{text}");
        assert!(text.contains("U1: chose b@x.io by rule"), "{text}");
        assert!(text.contains("p/subscriptions/slack_U2.json: malformed JSON"), "{text}");
        assert!(serde_json::to_value(&report).unwrap()["imports"][0]["event"]["slack_user_id"] == "U1");
    }
}
