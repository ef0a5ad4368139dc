//! `deploy.status` v1: progress of one deploy — `started`, then `completed` with what changed or
//! `failed` with why. The notifier posts it to the deploy channel.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::deploy_requested::DeployAction;
use crate::types::Actor;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployStatus {
    pub deploy_id: Uuid,
    pub service: String,
    pub action: DeployAction,
    pub phase: DeployPhase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_version: Option<String>,
    /// The resources the reconcile touched (or would have, up to the failure).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ResourceChange>,
    /// Why it failed; the schema requires it when `phase` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Who asked, so the deploy channel can say so.
    pub requested_by: Actor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployPhase {
    Started,
    Completed,
    Failed,
}

/// One resource the reconcile looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceChange {
    /// The resource kind, e.g. `Lambda`, `LaunchTemplate`.
    pub kind: String,
    pub name: String,
    pub change: ChangeKind,
    /// The fields that differ (for updates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Create,
    Update,
    NoChange,
    Delete,
}
