//! The notifier's DynamoDB tables: the message ledger (`<stack>-notifier-messages`, pk + sk) and
//! the audit log (`<stack>-notifier-audit`, pk + sk).
//!
//! Layout of the messages table — one table, several item families told apart by `pk` prefix:
//!
//! | pk | sk | what |
//! |---|---|---|
//! | `msg#{dedup key}` | `ledger` | one outgoing message: `status`, `attempt`, `lease_until` (ms), `channel`, `ts`, `attempt_started` (ms), `last_error`, `context` (JSON; a DM's `{"dm_covers": [...]}`). A DM covering two kinds has one entry per kind's key; the second has `attempt` `covered-by:{first key}` and the first's `channel` / `ts` |
//! | `sub#{email}` | `{team}#{slack user}` | projection of `subscription.changed`: `revision`, `state`, `prefs` (JSON), `deleted_at` |
//! | `dm#{slack user}` | `channel` | the user's DM channel id (opened once, cached) |
//! | `status#` | `{service}` | the latest ops alert per service, for `/pulser status` |
//!
//! Audit table: pk `alert#{alert_id}`, sk `{RFC 3339 time}#{interaction dedup key}`; attributes
//! `action`, `user_id`, `user_name`, `channel`, `message_ts`, `deploy_id`.
//!
//! Every item carries `expires_at` (unix seconds, the TTL) except the subscription projection,
//! which lives as long as the subscription.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

/// How long ledger entries are kept: long enough to outlive every redelivery and DLQ replay
/// (SQS keeps dead letters 14 days).
pub const LEDGER_TTL_SECS: i64 = 30 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {operation} on {table} failed: {message}")]
    Dynamo { table: String, operation: &'static str, message: String },
    #[error("item {pk}/{sk} in {table} is malformed: {message}")]
    Malformed { table: String, pk: String, sk: String, message: String },
}

/// Where one message stands in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerStatus {
    /// An attempt is sending (or crashed while sending: see `lease_until`).
    Sending,
    /// Slack confirmed it: `channel` and `ts` are known.
    Sent,
    /// The send's answer was lost (5xx, timeout): it may or may not have posted.
    Uncertain,
    /// Reconciliation could not tell and the message was taken as delivered (see
    /// `delivery::UncertainPolicy`).
    Unconfirmed,
}

impl LedgerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerStatus::Sending => "SENDING",
            LedgerStatus::Sent => "SENT",
            LedgerStatus::Uncertain => "UNCERTAIN",
            LedgerStatus::Unconfirmed => "UNCONFIRMED",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "SENDING" => LedgerStatus::Sending,
            "SENT" => LedgerStatus::Sent,
            "UNCERTAIN" => LedgerStatus::Uncertain,
            "UNCONFIRMED" => LedgerStatus::Unconfirmed,
            _ => return None,
        })
    }
}

/// One ledger item.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    pub key: String,
    pub status: LedgerStatus,
    /// Id of the attempt that owns the item; updates are conditional on it.
    pub attempt: String,
    pub lease_until_ms: i64,
    pub attempt_started_ms: i64,
    pub channel: Option<String>,
    pub ts: Option<String>,
    pub last_error: Option<String>,
    pub context: Option<Value>,
}

/// The outcome of [`Store::claim`].
#[derive(Debug, Clone, PartialEq)]
pub enum Claimed {
    /// The caller's attempt owns the message: send it.
    Acquired,
    /// Someone got there first; here is where it stands.
    Existing(LedgerEntry),
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn get_s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(crate) fn get_n(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn ledger_pk(key: &str) -> String {
    format!("msg#{key}")
}

const LEDGER_SK: &str = "ledger";

/// Both notifier tables.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) messages: String,
    pub(crate) audit: String,
}

impl Store {
    pub fn new(client: aws_sdk_dynamodb::Client, messages_table: impl Into<String>, audit_table: impl Into<String>) -> Self {
        Self { client, messages: messages_table.into(), audit: audit_table.into() }
    }

    pub fn messages_table(&self) -> &str {
        &self.messages
    }

    pub fn audit_table(&self) -> &str {
        &self.audit
    }

    pub(crate) fn err<E, R>(&self, table: &str, operation: &'static str, err: &SdkError<E, R>) -> StoreError
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        StoreError::Dynamo { table: table.to_owned(), operation, message: DisplayErrorContext(err).to_string() }
    }

    /// Every item of the messages table under `pk`, all pages, strongly consistent.
    pub(crate) async fn items_under(&self, pk: &str) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.messages)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.err(&self.messages, "Query", &e))?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(out),
            }
        }
    }

    /// Read one item of the messages table (strongly consistent: the ledger is read right
    /// after a racing write).
    pub(crate) async fn get_item(&self, pk: &str, sk: &str) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.messages)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err(&self.messages, "GetItem", &e))?;
        Ok(out.item)
    }

    pub async fn ledger(&self, key: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let pk = ledger_pk(key);
        match self.get_item(&pk, LEDGER_SK).await? {
            None => Ok(None),
            Some(item) => self.parse_ledger(key, &item).map(Some),
        }
    }

    fn parse_ledger(&self, key: &str, item: &HashMap<String, AttributeValue>) -> Result<LedgerEntry, StoreError> {
        let malformed = |message: &str| StoreError::Malformed {
            table: self.messages.clone(),
            pk: ledger_pk(key),
            sk: LEDGER_SK.into(),
            message: message.to_owned(),
        };
        let status = get_s(item, "status").and_then(LedgerStatus::parse).ok_or_else(|| malformed("no valid status"))?;
        Ok(LedgerEntry {
            key: key.to_owned(),
            status,
            attempt: get_s(item, "attempt").unwrap_or_default().to_owned(),
            lease_until_ms: get_n(item, "lease_until").unwrap_or(0),
            attempt_started_ms: get_n(item, "attempt_started").unwrap_or(0),
            channel: get_s(item, "channel").map(str::to_owned),
            ts: get_s(item, "ts").map(str::to_owned),
            last_error: get_s(item, "last_error").map(str::to_owned),
            context: get_s(item, "context").and_then(|c| serde_json::from_str(c).ok()),
        })
    }

    /// Claim `key` for `attempt` with one conditional put that succeeds only if no one ever
    /// claimed it. Anything already there (even a crashed attempt) is returned for the caller to
    /// reconcile: a crashed attempt may have posted, so it is never silently taken over.
    pub async fn claim(
        &self,
        key: &str,
        attempt: &str,
        channel: &str,
        now_ms: i64,
        lease_ms: i64,
        context: Option<&Value>,
    ) -> Result<Claimed, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.messages)
            .item("pk", s(ledger_pk(key)))
            .item("sk", s(LEDGER_SK))
            .item("status", s(LedgerStatus::Sending.as_str()))
            .item("attempt", s(attempt))
            .item("attempt_started", n(now_ms))
            .item("lease_until", n(now_ms + lease_ms))
            .item("channel", s(channel))
            .item("expires_at", n(now_ms / 1000 + LEDGER_TTL_SECS))
            .condition_expression("attribute_not_exists(pk)");
        if let Some(context) = context {
            put = put.item("context", s(context.to_string()));
        }
        match put.send().await {
            Ok(_) => Ok(Claimed::Acquired),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => match self.ledger(key).await? {
                Some(entry) => Ok(Claimed::Existing(entry)),
                // Deleted between our put and our read (a released attempt): try again later.
                None => Err(StoreError::Dynamo {
                    table: self.messages.clone(),
                    operation: "PutItem",
                    message: format!("ledger entry {key} changed while claiming it"),
                }),
            },
            Err(e) => Err(self.err(&self.messages, "PutItem", &e)),
        }
    }

    /// Record a message posted by other means (e.g. an alert that becomes a deploy's thread) as
    /// `key`'s, unless `key` already has an entry.
    pub async fn record_existing(&self, key: &str, channel: &str, ts: &str, now_ms: i64) -> Result<(), StoreError> {
        let put = self
            .new_entry(key, "adopted", now_ms)
            .item("status", s(LedgerStatus::Sent.as_str()))
            .item("channel", s(channel))
            .item("ts", s(ts));
        self.put_if_absent(put).await.map(|_| ())
    }

    /// A ledger entry for `key` written by `attempt`, expiring with the ledger's TTL, only if
    /// `key` has none yet; the caller adds the status and what it knows.
    fn new_entry(&self, key: &str, attempt: &str, now_ms: i64) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        self.client
            .put_item()
            .table_name(&self.messages)
            .item("pk", s(ledger_pk(key)))
            .item("sk", s(LEDGER_SK))
            .item("attempt", s(attempt))
            .item("attempt_started", n(now_ms))
            .item("expires_at", n(now_ms / 1000 + LEDGER_TTL_SECS))
            .condition_expression("attribute_not_exists(pk)")
    }

    /// Sends a [`Store::new_entry`]; whether it was written (false: `key` had an entry).
    async fn put_if_absent(&self, put: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder) -> Result<bool, StoreError> {
        match put.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(self.err(&self.messages, "PutItem", &e)),
        }
    }

    /// Record `key` as delivered by the message already delivered under `covered_by` (one DM
    /// answering several dedup keys): `SENT` with its `channel` and `ts`, or `UNCONFIRMED` when
    /// the covering message was itself taken as delivered. Put only if `key` has no entry, so it
    /// is written once however often it is retried, and never overwrites an attempt of its own.
    pub async fn record_covered(
        &self,
        key: &str,
        covered_by: &str,
        posted: Option<(&str, &str)>,
        context: &Value,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let put = self.new_entry(key, &format!("covered-by:{covered_by}"), now_ms).item("context", s(context.to_string()));
        let put = match posted {
            Some((channel, ts)) => put.item("status", s(LedgerStatus::Sent.as_str())).item("channel", s(channel)).item("ts", s(ts)),
            None => put
                .item("status", s(LedgerStatus::Unconfirmed.as_str()))
                .item("last_error", s(format!("covered by {covered_by}, itself unconfirmed"))),
        };
        self.put_if_absent(put).await.map(|_| ())
    }

    /// Record `key` as a DM praktika sent before the switch (`subscription.imported`):
    /// `UNCONFIRMED` (delivered, no `ts` known), attempt `imported:praktika`, unless `key` has an
    /// entry already. Returns whether it was written.
    pub async fn record_imported(&self, key: &str, context: &Value, now_ms: i64) -> Result<bool, StoreError> {
        let put = self
            .new_entry(key, "imported:praktika", now_ms)
            .item("status", s(LedgerStatus::Unconfirmed.as_str()))
            .item("last_error", s("sent by praktika before the switch (imported last_notified_key)"))
            .item("context", s(context.to_string()));
        self.put_if_absent(put).await
    }

    /// Take over an entry whose previous attempt is known not to have posted (or proven not to
    /// have by reconciliation). Conditional on the previous attempt id, so two workers cannot
    /// both take over. Returns whether it was taken.
    pub async fn take_over(
        &self,
        key: &str,
        previous_attempt: &str,
        attempt: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        self.update_owned(
            key,
            previous_attempt,
            "SET #status = :status, attempt = :new, attempt_started = :now, lease_until = :lease REMOVE last_error",
            vec![
                (":status", s(LedgerStatus::Sending.as_str())),
                (":new", s(attempt)),
                (":now", n(now_ms)),
                (":lease", n(now_ms + lease_ms)),
            ],
        )
        .await
    }

    /// Record Slack's confirmation.
    pub async fn mark_sent(&self, key: &str, attempt: &str, channel: &str, ts: &str) -> Result<bool, StoreError> {
        self.update_owned(
            key,
            attempt,
            "SET #status = :status, channel = :channel, ts = :ts REMOVE lease_until, last_error",
            vec![(":status", s(LedgerStatus::Sent.as_str())), (":channel", s(channel)), (":ts", s(ts))],
        )
        .await
    }

    /// Record that the answer was lost: the next attempt must reconcile before sending.
    pub async fn mark_uncertain(&self, key: &str, attempt: &str, error: &str) -> Result<bool, StoreError> {
        self.update_owned(
            key,
            attempt,
            "SET #status = :status, last_error = :error REMOVE lease_until",
            vec![(":status", s(LedgerStatus::Uncertain.as_str())), (":error", s(truncate(error, 1024)))],
        )
        .await
    }

    /// Record that an uncertain message is taken as delivered.
    pub async fn mark_unconfirmed(&self, key: &str, attempt: &str, reason: &str) -> Result<bool, StoreError> {
        self.update_owned(
            key,
            attempt,
            "SET #status = :status, last_error = :error REMOVE lease_until",
            vec![(":status", s(LedgerStatus::Unconfirmed.as_str())), (":error", s(truncate(reason, 1024)))],
        )
        .await
    }

    /// Drop the claim of an attempt that certainly did not post, so a retry claims afresh.
    pub async fn release(&self, key: &str, attempt: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.messages)
            .key("pk", s(ledger_pk(key)))
            .key("sk", s(LEDGER_SK))
            .condition_expression("attempt = :attempt")
            .expression_attribute_values(":attempt", s(attempt))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(()),
            Err(e) => Err(self.err(&self.messages, "DeleteItem", &e)),
        }
    }

    async fn update_owned(
        &self,
        key: &str,
        attempt: &str,
        expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.messages)
            .key("pk", s(ledger_pk(key)))
            .key("sk", s(LEDGER_SK))
            .update_expression(expression)
            .condition_expression("attempt = :owner")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":owner", s(attempt));
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        match update.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(self.err(&self.messages, "UpdateItem", &e)),
        }
    }

    /// A small string value of the messages table (DM channel cache, status board).
    pub async fn get_value(&self, pk: &str, sk: &str) -> Result<Option<String>, StoreError> {
        Ok(self.get_item(pk, sk).await?.and_then(|item| get_s(&item, "value").map(str::to_owned)))
    }

    /// Put a value only if the item does not exist; returns whether it was put.
    pub async fn put_value_if_absent(&self, pk: &str, sk: &str, value: &str, expires_at: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.messages)
            .item("pk", s(pk))
            .item("sk", s(sk))
            .item("value", s(value))
            .item("expires_at", n(expires_at))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(self.err(&self.messages, "PutItem", &e)),
        }
    }

    pub async fn delete_value(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.messages)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .send()
            .await
            .map_err(|e| self.err(&self.messages, "DeleteItem", &e))?;
        Ok(())
    }

    pub async fn put_value(&self, pk: &str, sk: &str, value: &str, expires_at: Option<i64>) -> Result<(), StoreError> {
        let mut put = self.client.put_item().table_name(&self.messages).item("pk", s(pk)).item("sk", s(sk)).item("value", s(value));
        if let Some(at) = expires_at {
            put = put.item("expires_at", n(at));
        }
        put.send().await.map_err(|e| self.err(&self.messages, "PutItem", &e))?;
        Ok(())
    }
}

/// Cut `text` to at most `max` bytes on a character boundary.
pub fn truncate(text: &str, max: usize) -> String {
    pulse_aws::text::truncate_utf8(text, max).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_and_truncate_respects_chars() {
        for s in [LedgerStatus::Sending, LedgerStatus::Sent, LedgerStatus::Uncertain, LedgerStatus::Unconfirmed] {
            assert_eq!(LedgerStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
