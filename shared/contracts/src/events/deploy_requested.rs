//! `deploy.requested` v1: someone asked for a deploy or rollback of one component — a confirmed
//! `/pulser deploy` modal, or an Approve / Rollback button on an ops alert. The infra-reconciler
//! carries it out and answers with `deploy.status`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::types::Actor;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRequested {
    /// Chosen by the requester; every `deploy.status` of this deploy carries it.
    pub deploy_id: Uuid,
    /// The infra component to reconcile.
    pub service: String,
    pub action: DeployAction,
    pub trigger: DeployTrigger,
    pub requested_by: Actor,
    /// The ops alert whose button was clicked (button triggers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
    /// Where to report: the alert's channel, or the channel the command was typed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// The alert message to update in place (button triggers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_ts: Option<String>,
    /// Limit the reconcile to these resource kinds (`--only`); empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployAction {
    Deploy,
    Rollback,
}

impl DeployAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployAction::Deploy => "deploy",
            DeployAction::Rollback => "rollback",
        }
    }
}

/// What the requester clicked or typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployTrigger {
    SlashCommand,
    ApproveButton,
    RollbackButton,
}
