//! The audit log (`<stack>-notifier-audit`): every attempt to act from Slack, allowed or refused
//! by the policy (`policy.rs`): who, what, when, on which alert or service, and the outcome.
//!
//! pk `alert#{alert_id}` for an ops button, `deploy#{service}` for the `/pulser deploy` modal;
//! sk `{RFC 3339 time}#{interaction dedup key}`, so one Query returns an alert's clicks in order,
//! and a redelivered click (same dedup key, same time) finds its own item instead of writing a
//! second one. The item also keeps the `deploy_id` chosen for an allowed Approve / Rollback, so a
//! retried click publishes the same deploy, not a new one (the decision reads it back through
//! [`AuditedClick`]). `pulse audit list` reads the whole log ([`Store::audit_log`]).

use aws_sdk_dynamodb::error::SdkError;
use chrono::{DateTime, Utc};
use pulse_contracts::Actor;

use crate::ops::ActionRecord;
use crate::policy::Act;
use crate::store::{Store, StoreError, get_s, n, s};

/// Audit items are kept a year.
pub(crate) const AUDIT_TTL_SECS: i64 = 365 * 24 * 3600;

/// What an attempt was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An ops alert's button, on the alert's message.
    Alert { alert_id: String, service: String, message_ts: String },
    /// The `/pulser deploy` modal.
    Deploy { service: String },
    /// A GitHub Actions run's "Re-run failed jobs" button (`repo` is `OWNER/REPO`).
    GithubRun { repo: String, run_id: u64, attempt: u32 },
}

impl Subject {
    fn pk(&self) -> String {
        match self {
            Subject::Alert { alert_id, .. } => format!("alert#{alert_id}"),
            Subject::Deploy { service } => format!("deploy#{service}"),
            Subject::GithubRun { repo, run_id, attempt } => format!("github#{repo}#{run_id}#{attempt}"),
        }
    }

    pub fn service(&self) -> &str {
        match self {
            Subject::Alert { service, .. } | Subject::Deploy { service } => service,
            Subject::GithubRun { repo, .. } => repo,
        }
    }
}

/// One attempt to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Click {
    pub subject: Subject,
    /// The interaction's: with the time, it names the attempt's item.
    pub dedup_key: String,
    pub at: DateTime<Utc>,
    pub act: Act,
    pub actor: Actor,
    /// Where it was asked from (empty when Slack did not say).
    pub channel: String,
    pub deploy_id: Option<uuid::Uuid>,
    /// `None`: allowed; `Some(reason)`: refused by the policy, with the reason shown.
    pub refused: Option<String>,
}

/// One attempt as `pulse audit list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub action: String,
    pub service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
    pub user_id: String,
    pub user_name: String,
    /// `allowed` or `refused`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// A click as the audit log holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditedClick {
    pub record: ActionRecord,
    pub dedup_key: String,
    pub deploy_id: Option<uuid::Uuid>,
}

impl Store {
    /// Write the attempt unless its item exists; returns whether it was written.
    pub async fn audit_click(&self, click: &Click) -> Result<bool, StoreError> {
        let sk = format!("{}#{}", click.at.to_rfc3339(), click.dedup_key);
        let mut put = self
            .client
            .put_item()
            .table_name(&self.audit)
            .item("pk", s(click.subject.pk()))
            .item("sk", s(&sk))
            .item("service", s(click.subject.service()))
            .item("action", s(click.act.as_str()))
            .item("outcome", s(if click.refused.is_some() { "refused" } else { "allowed" }))
            .item("user_id", s(&click.actor.user_id))
            .item("user_name", s(&click.actor.user_name))
            .item("at", s(click.at.to_rfc3339()))
            .item("expires_at", n(click.at.timestamp() + AUDIT_TTL_SECS))
            .condition_expression("attribute_not_exists(pk)");
        if let Subject::Alert { alert_id, message_ts, .. } = &click.subject {
            put = put.item("alert_id", s(alert_id)).item("message_ts", s(message_ts));
        }
        if !click.channel.is_empty() {
            put = put.item("channel", s(&click.channel));
        }
        if let Some(reason) = &click.refused {
            put = put.item("reason", s(reason));
        }
        if let Some(id) = click.deploy_id {
            put = put.item("deploy_id", s(id.to_string()));
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(self.err(&self.audit, "PutItem", &e)),
        }
    }

    /// An alert's carried-out clicks, oldest first (refused attempts are audited, not shown).
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
            .filter(|item| get_s(item, "outcome") != Some("refused"))
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

    /// Every audited attempt since `since` (all with `None`), oldest first: the whole table,
    /// read page by page.
    pub async fn audit_log(&self, since: Option<DateTime<Utc>>) -> Result<Vec<AuditEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.audit)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.err(&self.audit, "Scan", &e))?;
            for item in out.items() {
                let Some(at) = get_s(item, "at").and_then(|a| a.parse::<DateTime<Utc>>().ok()) else { continue };
                if since.is_some_and(|since| at < since) {
                    continue;
                }
                let text = |name: &str| get_s(item, name).map(str::to_owned);
                entries.push(AuditEntry {
                    at,
                    action: text("action").unwrap_or_default(),
                    service: text("service").unwrap_or_default(),
                    alert_id: text("alert_id"),
                    user_id: text("user_id").unwrap_or_default(),
                    user_name: text("user_name").unwrap_or_default(),
                    outcome: text("outcome").unwrap_or_else(|| "allowed".to_owned()),
                    reason: text("reason"),
                    deploy_id: text("deploy_id"),
                    channel: text("channel"),
                });
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        entries.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.user_id.cmp(&b.user_id)));
        Ok(entries)
    }
}
