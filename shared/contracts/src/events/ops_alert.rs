//! `ops.alert` v1: a platform event for the ops channels (seed 004, R2).
//!
//! The notifier routes it to a channel by `kind` and `severity` and adds the Acknowledge /
//! Investigate / Rollback / Approve buttons; a click refers back to the alert by `alert_id`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpsAlert {
    /// Stable id of the alert; button values and `deploy.requested` refer back to it.
    pub alert_id: String,
    pub kind: AlertKind,
    pub service: String,
    pub severity: Severity,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// For `deploy_*` kinds: the deploy this alert is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_id: Option<String>,
    /// For `deploy_*` kinds: the version being deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The v1 notification types of seed 004.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    CiPassed,
    CiFailed,
    DeployStarted,
    DeployCompleted,
    DeployFailed,
    ErrorRateExceeded,
    ScheduledTaskCompleted,
    ManualTriggerAcknowledged,
}

impl AlertKind {
    pub const ALL: [AlertKind; 8] = [
        AlertKind::CiPassed,
        AlertKind::CiFailed,
        AlertKind::DeployStarted,
        AlertKind::DeployCompleted,
        AlertKind::DeployFailed,
        AlertKind::ErrorRateExceeded,
        AlertKind::ScheduledTaskCompleted,
        AlertKind::ManualTriggerAcknowledged,
    ];

    /// Deploy kinds go to the deploy channel and may carry `deploy_id` / `version`.
    pub fn is_deploy(self) -> bool {
        matches!(self, AlertKind::DeployStarted | AlertKind::DeployCompleted | AlertKind::DeployFailed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::CiPassed => "ci_passed",
            AlertKind::CiFailed => "ci_failed",
            AlertKind::DeployStarted => "deploy_started",
            AlertKind::DeployCompleted => "deploy_completed",
            AlertKind::DeployFailed => "deploy_failed",
            AlertKind::ErrorRateExceeded => "error_rate_exceeded",
            AlertKind::ScheduledTaskCompleted => "scheduled_task_completed",
            AlertKind::ManualTriggerAcknowledged => "manual_trigger_acknowledged",
        }
    }
}

/// Ordered from least to most urgent, so routing rules can say "warning or worse".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// A link shown under the alert (dashboard, runbook, run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub text: String,
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_by_urgency() {
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
    }

    #[test]
    fn kind_names_match_the_wire() {
        for kind in AlertKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(AlertKind::ALL.iter().filter(|k| k.is_deploy()).count(), 3, "deploy_started, deploy_completed, deploy_failed");
    }
}
