//! `/pulser status` and `/pulser health` answers, as pure functions of what the I/O shell
//! gathered (the status board, queue depths).
//!
//! Status is "each service's current status from the latest ops events": the notifier keeps the
//! newest alert per service (see `board.rs`). Health is about Pulse itself: each service's Lambda
//! function (state and last update), each consumer's queue and dead-letter depth, and when the
//! notifier last processed an event successfully.

use chrono::{DateTime, Utc};
use pulse_contracts::{AlertKind, Severity};
use pulse_slack::blocks::{Block, Message, ResponseMessage, cut};
use serde::{Deserialize, Serialize};

/// The newest alert about one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEntry {
    pub service: String,
    pub kind: AlertKind,
    pub severity: Severity,
    pub title: String,
    pub at: DateTime<Utc>,
}

/// Whether the service's latest event means it is healthy.
pub fn is_ok(kind: AlertKind) -> bool {
    matches!(
        kind,
        AlertKind::CiPassed
            | AlertKind::DeployCompleted
            | AlertKind::DeployStarted
            | AlertKind::ScheduledTaskCompleted
            | AlertKind::ManualTriggerAcknowledged
    )
}

/// The ephemeral `/pulser status` answer (a `response_url` body).
pub fn render_status(entries: &[StatusEntry]) -> ResponseMessage {
    if entries.is_empty() {
        return ResponseMessage::ephemeral(Message::new("No ops events recorded yet: every service is quiet.", []));
    }
    let mut lines = Vec::new();
    for e in entries {
        let emoji = if is_ok(e.kind) {
            ":large_green_circle:"
        } else if e.severity == Severity::Critical {
            ":red_circle:"
        } else {
            ":large_yellow_circle:"
        };
        lines.push(format!(
            "{emoji} *{}* — {} ({}, {}) at {}",
            e.service,
            e.title,
            e.kind.as_str(),
            e.severity.as_str(),
            e.at.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    headed(format!("Service status ({} services)", entries.len()), &lines)
}

/// An ephemeral answer: `text` in bold, then the lines.
fn headed(text: impl Into<String>, lines: &[String]) -> ResponseMessage {
    let text = text.into();
    let blocks = [Block::section(format!("*{text}*")), Block::section(lines.join("\n"))];
    ResponseMessage::ephemeral(Message::new(text, blocks))
}

/// One consumer's queue, as `/pulser health` shows it. `None` depths: the queue could not be
/// read (shown as such, not hidden).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueHealth {
    pub service: String,
    pub depth: Option<u64>,
    pub dead_letters: Option<u64>,
}

/// One service's Lambda function, as `/pulser health` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionHealth {
    pub service: String,
    pub function: String,
    pub state: FunctionState,
}

/// What `lambda:GetFunction` said about a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionState {
    /// `State` (Pending / Active / Inactive / Failed), `LastUpdateStatus` (InProgress /
    /// Successful / Failed), and the reason Lambda gives for a failure.
    Deployed { state: String, last_update: Option<String>, reason: Option<String> },
    /// No such function: the service is not deployed as a Lambda here (locally, services run
    /// as processes). Shown, not counted against health.
    NotDeployed,
    /// The function could not be read (permissions, throttling): shown as such, not hidden.
    Unreadable(String),
}

impl FunctionHealth {
    fn healthy(&self) -> bool {
        match &self.state {
            FunctionState::Deployed { state, last_update, .. } => state == "Active" && last_update.as_deref().is_none_or(|u| u != "Failed"),
            FunctionState::NotDeployed => true,
            FunctionState::Unreadable(_) => false,
        }
    }

    fn line(&self) -> String {
        let emoji = match (&self.state, self.healthy()) {
            (FunctionState::NotDeployed, _) => ":white_circle:",
            (_, true) => ":large_green_circle:",
            (_, false) => ":red_circle:",
        };
        let what = match &self.state {
            FunctionState::Deployed { state, last_update, reason } => {
                let mut s = format!("Lambda `{}` {state}", self.function);
                if let Some(update) = last_update {
                    s.push_str(&format!(" · last update {update}"));
                }
                if let Some(reason) = reason.as_deref().filter(|_| !self.healthy()) {
                    s.push_str(&format!(" ({})", cut(reason, 200)));
                }
                s
            }
            FunctionState::NotDeployed => format!("no Lambda function `{}` (running as a local process?)", self.function),
            FunctionState::Unreadable(why) => format!("Lambda `{}` unreadable: {}", self.function, cut(why, 200)),
        };
        format!("{emoji} *{}* — {what}", self.service)
    }
}

/// The ephemeral `/pulser health` answer.
pub fn render_health(
    functions: &[FunctionHealth],
    queues: &[QueueHealth],
    notifier_last_ok: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ResponseMessage {
    let show = |n: Option<u64>| n.map_or("unknown".to_owned(), |n| n.to_string());
    let mut lines = Vec::new();
    let mut healthy = true;
    for f in functions {
        healthy &= f.healthy();
        lines.push(f.line());
    }
    for q in queues {
        let dlq_ok = q.dead_letters == Some(0);
        healthy &= dlq_ok && q.depth.is_some();
        let emoji = if dlq_ok && q.depth.is_some() { ":large_green_circle:" } else { ":red_circle:" };
        lines.push(format!("{emoji} *{}* — queue {} · dead letters {}", q.service, show(q.depth), show(q.dead_letters)));
    }
    lines.push(match notifier_last_ok {
        Some(at) => {
            format!("notifier last processed an event {}s ago ({})", (now - at).num_seconds().max(0), at.format("%Y-%m-%d %H:%M:%S UTC"))
        }
        None => "notifier has not recorded a successful event yet".to_owned(),
    });
    headed(if healthy { "Pulse is healthy" } else { "Pulse needs attention" }, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_each_service_with_its_latest_event() {
        let at = "2025-11-20T15:03:44Z".parse().unwrap();
        let entries = [
            StatusEntry {
                service: "odoo-web".into(),
                kind: AlertKind::DeployFailed,
                severity: Severity::Warning,
                title: "Deploy failed".into(),
                at,
            },
            StatusEntry { service: "ci".into(), kind: AlertKind::CiPassed, severity: Severity::Info, title: "green".into(), at },
        ];
        let answer = render_status(&entries).to_json().to_string();
        assert!(answer.contains("ephemeral"));
        assert!(answer.contains(":large_yellow_circle: *odoo-web* — Deploy failed (deploy_failed, warning)"), "{answer}");
        assert!(answer.contains(":large_green_circle: *ci*"), "{answer}");
        assert!(render_status(&[]).to_json().to_string().contains("quiet"));
    }

    #[test]
    fn health_flags_dead_letters_and_unreadable_queues() {
        let now: DateTime<Utc> = "2025-11-20T15:00:00Z".parse().unwrap();
        let queues = [
            QueueHealth { service: "notifier".into(), depth: Some(0), dead_letters: Some(0) },
            QueueHealth { service: "feed-projector".into(), depth: Some(3), dead_letters: Some(2) },
        ];
        let answer = render_health(&[], &queues, Some(now - chrono::Duration::seconds(42)), now).to_json().to_string();
        assert!(answer.contains("needs attention") && answer.contains("dead letters 2") && answer.contains("42s ago"), "{answer}");
        let ok = render_health(&[], &queues[..1], None, now).to_json().to_string();
        assert!(ok.contains("Pulse is healthy") && ok.contains("not recorded"), "{ok}");
        let unknown =
            render_health(&[], &[QueueHealth { service: "x".into(), depth: None, dead_letters: None }], None, now).to_json().to_string();
        assert!(unknown.contains("unknown") && unknown.contains("needs attention"));
    }

    #[test]
    fn health_shows_each_function_and_flags_failed_ones() {
        let now: DateTime<Utc> = "2025-11-20T15:00:00Z".parse().unwrap();
        let f =
            |service: &str, state: FunctionState| FunctionHealth { service: service.into(), function: format!("pulse-{service}"), state };
        let deployed = |state: &str, update: &str, reason: Option<&str>| FunctionState::Deployed {
            state: state.into(),
            last_update: Some(update.into()),
            reason: reason.map(Into::into),
        };
        let all_well = [f("ingress", deployed("Active", "Successful", None)), f("notifier", FunctionState::NotDeployed)];
        let answer = render_health(&all_well, &[], None, now).to_json().to_string();
        assert!(answer.contains("Pulse is healthy"), "{answer}");
        assert!(answer.contains(":large_green_circle: *ingress* — Lambda `pulse-ingress` Active · last update Successful"), "{answer}");
        assert!(answer.contains(":white_circle: *notifier* — no Lambda function `pulse-notifier`"), "{answer}");

        let failed = [f("ingress", deployed("Active", "Failed", Some("bootstrap not found")))];
        let answer = render_health(&failed, &[], None, now).to_json().to_string();
        assert!(
            answer.contains("needs attention") && answer.contains(":red_circle: *ingress*") && answer.contains("bootstrap not found"),
            "{answer}"
        );
        let pending = [f("ingress", deployed("Pending", "InProgress", None))];
        assert!(render_health(&pending, &[], None, now).to_json().to_string().contains("needs attention"));
        let unreadable = [f("ingress", FunctionState::Unreadable("AccessDenied".into()))];
        let answer = render_health(&unreadable, &[], None, now).to_json().to_string();
        assert!(answer.contains("needs attention") && answer.contains("unreadable: AccessDenied"), "{answer}");
    }
}
