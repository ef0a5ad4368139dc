//! The audit log of ops button clicks (`<stack>-notifier-audit`): who, what, when, which alert.
//!
//! pk `alert#{alert_id}`, sk `{RFC 3339 time}#{interaction dedup key}`, so one Query returns an
//! alert's clicks in order, and a redelivered click (same dedup key, same time) finds its own
//! item instead of writing a second one. The item also keeps the `deploy_id` chosen for an
//! Approve / Rollback, so a retried click publishes the same deploy, not a new one (the
//! decision reads it back through [`AuditedClick`]).

use aws_sdk_dynamodb::error::SdkError;
use chrono::{DateTime, Utc};
use pulse_contracts::Actor;

use crate::ops::{ActionRecord, OpsAction};
use crate::store::{Store, StoreError, get_s, n, s};

/// Audit items are kept a year.
const AUDIT_TTL_SECS: i64 = 365 * 24 * 3600;

/// One click to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Click {
    pub alert_id: String,
    /// The interaction's: with the time, it names the click's item.
    pub dedup_key: String,
    pub at: DateTime<Utc>,
    pub action: OpsAction,
    pub actor: Actor,
    pub channel: String,
    pub message_ts: String,
    pub deploy_id: Option<uuid::Uuid>,
}

/// A click as the audit log holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditedClick {
    pub record: ActionRecord,
    pub dedup_key: String,
    pub deploy_id: Option<uuid::Uuid>,
}

impl Store {
    /// Write the click unless its item exists; returns whether it was written.
    pub async fn audit_click(&self, click: &Click) -> Result<bool, StoreError> {
        let pk = format!("alert#{}", click.alert_id);
        let sk = format!("{}#{}", click.at.to_rfc3339(), click.dedup_key);
        let action = serde_json::to_value(click.action).expect("action serializes");
        let mut put = self
            .client
            .put_item()
            .table_name(&self.audit)
            .item("pk", s(&pk))
            .item("sk", s(&sk))
            .item("alert_id", s(&click.alert_id))
            .item("action", s(action.as_str().unwrap_or_default()))
            .item("user_id", s(&click.actor.user_id))
            .item("user_name", s(&click.actor.user_name))
            .item("at", s(click.at.to_rfc3339()))
            .item("channel", s(&click.channel))
            .item("message_ts", s(&click.message_ts))
            .item("expires_at", n(click.at.timestamp() + AUDIT_TTL_SECS))
            .condition_expression("attribute_not_exists(pk)");
        if let Some(id) = click.deploy_id {
            put = put.item("deploy_id", s(id.to_string()));
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(self.err(&self.audit, "PutItem", &e)),
        }
    }

    /// An alert's clicks, oldest first.
    pub async fn audit_history(&self, alert_id: &str) -> Result<Vec<AuditedClick>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.audit)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(format!("alert#{alert_id}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err(&self.audit, "Query", &e))?;
        Ok(out
            .items()
            .iter()
            .filter_map(|item| {
                let record = ActionRecord {
                    action: serde_json::from_value(serde_json::Value::from(get_s(item, "action")?)).ok()?,
                    user_id: get_s(item, "user_id")?.to_owned(),
                    user_name: get_s(item, "user_name").unwrap_or_default().to_owned(),
                    at: get_s(item, "at")?.parse().ok()?,
                };
                let dedup_key = get_s(item, "sk")?.split_once('#')?.1.to_owned();
                let deploy_id = get_s(item, "deploy_id").and_then(|d| d.parse().ok());
                Some(AuditedClick { record, dedup_key, deploy_id })
            })
            .collect())
    }
}
