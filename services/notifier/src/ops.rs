//! Ops alerts (seed 004, R2/R3) as pure functions: the Block Kit message with its buttons, the
//! meaning of a click, and the message after clicks.
//!
//! Buttons live in one `actions` block with `block_id` [`ACTIONS_BLOCK_ID`]; each button's
//! `value` is the alert's `alert_id`, so a click names its alert without any lookup by message.
//! Action ids: `ops_ack` (Acknowledge), `ops_investigate` (Investigate), `ops_rollback`
//! (Rollback), `ops_approve` (Approve). A click re-renders the whole message from the alert and
//! its audit trail, so the update is idempotent: applying it twice shows the same thing.

use chrono::{DateTime, Utc};
use pulse_contracts::{DeployAction, DeployTrigger, OpsAlert, Severity};
use pulse_slack::blocks::{Block, Button, Message, Style};
use serde::{Deserialize, Serialize};

pub const ACTIONS_BLOCK_ID: &str = "ops_actions";

/// The four ops buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpsAction {
    Acknowledge,
    Investigate,
    Rollback,
    Approve,
}

impl OpsAction {
    pub const ALL: [OpsAction; 4] = [OpsAction::Acknowledge, OpsAction::Investigate, OpsAction::Rollback, OpsAction::Approve];

    pub fn action_id(self) -> &'static str {
        match self {
            OpsAction::Acknowledge => "ops_ack",
            OpsAction::Investigate => "ops_investigate",
            OpsAction::Rollback => "ops_rollback",
            OpsAction::Approve => "ops_approve",
        }
    }

    pub fn from_action_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.action_id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            OpsAction::Acknowledge => "Acknowledge",
            OpsAction::Investigate => "Investigate",
            OpsAction::Rollback => "Rollback",
            OpsAction::Approve => "Approve",
        }
    }

    /// Approve is the way forward, Rollback the way back.
    fn style(self) -> Option<Style> {
        match self {
            OpsAction::Approve => Some(Style::Primary),
            OpsAction::Rollback => Some(Style::Danger),
            OpsAction::Acknowledge | OpsAction::Investigate => None,
        }
    }

    fn past(self) -> &'static str {
        match self {
            OpsAction::Acknowledge => "Acknowledged",
            OpsAction::Investigate => "Investigating",
            OpsAction::Rollback => "Rollback requested",
            OpsAction::Approve => "Approved",
        }
    }

    /// The policy's name for it.
    pub fn act(self) -> crate::policy::Act {
        match self {
            OpsAction::Acknowledge => crate::policy::Act::Acknowledge,
            OpsAction::Investigate => crate::policy::Act::Investigate,
            OpsAction::Rollback => crate::policy::Act::Rollback,
            OpsAction::Approve => crate::policy::Act::Approve,
        }
    }

    /// Approve and Rollback ask the infra-reconciler for a deploy.
    pub fn deploy(self) -> Option<(DeployAction, DeployTrigger)> {
        match self {
            OpsAction::Approve => Some((DeployAction::Deploy, DeployTrigger::ApproveButton)),
            OpsAction::Rollback => Some((DeployAction::Rollback, DeployTrigger::RollbackButton)),
            _ => None,
        }
    }
}

/// One audited click, as shown under the alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub action: OpsAction,
    pub user_id: String,
    pub user_name: String,
    pub at: DateTime<Utc>,
}

/// What the ledger keeps about a posted alert, to re-render it on a click.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertContext {
    pub alert: OpsAlert,
    pub occurred_at: DateTime<Utc>,
}

/// The ledger key of an alert's message.
pub fn ledger_key(alert_id: &str) -> String {
    format!("alert:{alert_id}")
}

fn severity_emoji(s: Severity) -> &'static str {
    match s {
        Severity::Info => ":large_blue_circle:",
        Severity::Warning => ":warning:",
        Severity::Critical => ":rotating_light:",
    }
}

/// The alert message: headline, text, structured metadata (time, service, severity, kind,
/// environment, deploy), links, the four buttons, then one line per audited click.
pub fn render(ctx: &AlertContext, history: &[ActionRecord]) -> Message {
    let a = &ctx.alert;
    let headline = format!("{} *{}*", severity_emoji(a.severity), a.title);
    let text = format!("[{}] {} — {} ({})", a.severity.as_str(), a.title, a.service, a.kind.as_str());
    let mut blocks = vec![Block::section(headline)];
    if let Some(body) = a.text.as_deref().filter(|t| !t.is_empty()) {
        blocks.push(Block::section(body));
    }
    let mut fields = vec![
        format!("*Time:* <!date^{}^{{date_short_pretty}} {{time_secs}}|{}>", ctx.occurred_at.timestamp(), ctx.occurred_at.to_rfc3339()),
        format!("*Service:* {}", a.service),
        format!("*Severity:* {}", a.severity.as_str()),
        format!("*Kind:* {}", a.kind.as_str()),
    ];
    if let Some(env) = &a.environment {
        fields.push(format!("*Environment:* {env}"));
    }
    if let Some(v) = &a.version {
        fields.push(format!("*Version:* {v}"));
    }
    if let Some(d) = &a.deploy_id {
        fields.push(format!("*Deploy:* {d}"));
    }
    blocks.push(Block::fields(fields));
    if !a.links.is_empty() {
        let links: Vec<String> = a.links.iter().map(|l| format!("<{}|{}>", l.url, l.text)).collect();
        blocks.push(Block::context_text(links.join(" · ")));
    }
    let buttons = OpsAction::ALL.map(|action| Button::new(action.action_id(), action.label()).value(&a.alert_id).style(action.style()));
    blocks.push(Block::actions(buttons).block_id(ACTIONS_BLOCK_ID));
    // One context per click, the newest 20: the trail stays readable and the message small.
    for record in history.iter().rev().take(20).rev() {
        blocks.push(Block::context_text(format!(
            "{} by <@{}> at {}",
            record.action.past(),
            record.user_id,
            record.at.format("%Y-%m-%d %H:%M:%S UTC")
        )));
    }
    Message::new(text, blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_contracts::AlertKind;

    fn ctx() -> AlertContext {
        AlertContext {
            alert: OpsAlert {
                alert_id: "a1".into(),
                kind: AlertKind::DeployFailed,
                service: "odoo-web".into(),
                severity: Severity::Warning,
                title: "Deploy failed".into(),
                text: Some("health checks".into()),
                environment: Some("staging".into()),
                links: vec![],
                metadata: Default::default(),
                deploy_id: Some("4411".into()),
                version: Some("v1".into()),
            },
            occurred_at: "2025-11-20T15:03:44Z".parse().unwrap(),
        }
    }

    #[test]
    fn alert_has_metadata_and_the_four_buttons() {
        let (text, blocks) = render(&ctx(), &[]).into_parts();
        assert!(text.contains("warning") && text.contains("odoo-web"));
        let fields = blocks.as_array().unwrap().iter().find(|b| b.get("fields").is_some()).unwrap().to_string();
        for needle in ["*Service:* odoo-web", "*Severity:* warning", "*Kind:* deploy_failed", "*Time:*"] {
            assert!(fields.contains(needle), "{needle} in {fields}");
        }
        let actions = blocks.as_array().unwrap().iter().find(|b| b["type"] == "actions").unwrap();
        assert_eq!(actions["block_id"], ACTIONS_BLOCK_ID);
        let ids: Vec<&str> = actions["elements"].as_array().unwrap().iter().map(|b| b["action_id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["ops_ack", "ops_investigate", "ops_rollback", "ops_approve"]);
        assert!(actions["elements"].as_array().unwrap().iter().all(|b| b["value"] == "a1"));
    }

    #[test]
    fn clicks_are_shown_under_the_alert() {
        let record = ActionRecord {
            action: OpsAction::Acknowledge,
            user_id: "U1".into(),
            user_name: "dana".into(),
            at: "2025-11-20T15:05:00Z".parse().unwrap(),
        };
        let (_, blocks) = render(&ctx(), &[record]).into_parts();
        let last = blocks.as_array().unwrap().last().unwrap().to_string();
        assert!(last.contains("Acknowledged by <@U1>"), "{last}");
    }

    #[test]
    fn action_ids_round_trip_and_deploy_actions() {
        for a in OpsAction::ALL {
            assert_eq!(OpsAction::from_action_id(a.action_id()), Some(a));
        }
        assert_eq!(OpsAction::from_action_id("home_toggle"), None);
        assert_eq!(OpsAction::Approve.deploy(), Some((DeployAction::Deploy, DeployTrigger::ApproveButton)));
        assert_eq!(OpsAction::Acknowledge.deploy(), None);
    }
}
