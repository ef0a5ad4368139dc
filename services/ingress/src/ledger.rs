//! The envelope ledger (DynamoDB table `<stack>-ingress-envelopes`, partition key `pk` =
//! `team_id#envelope_id`, TTL on `expires_at`): every accepted Slack request, recorded before
//! it is published, so it is published once however often Slack delivers it.
//!
//! A record moves `received` → `processed`, or `received` → `failed` (with `last_error`) when
//! publishing failed. [`EnvelopeLedger::begin`] is one conditional write that succeeds when there
//! is no live record, when the record `failed` (a retry takes over), or when it has been
//! `received` for longer than the in-flight timeout (the attempt that wrote it crashed; keep the
//! timeout above the handler's own timeout). Otherwise the request is a duplicate: acknowledged
//! and dropped. Each successful `begin` bumps `attempts`, and `processed`/`failed` only apply
//! while `attempts` is still the caller's, so a stale attempt cannot overwrite a newer one.
//!
//! DynamoDB deletes expired items lazily (up to days late), so the condition also treats an
//! item past `expires_at` as absent.
//!
//! A claim can land while its answer is lost (an attempt timeout, a dropped connection): the
//! SDK sends the same write again, and its condition then fails on the caller's own record.
//! So each `begin` writes a fresh `owner` token, and a failed condition on a record carrying
//! that token is the caller's own claim: owned, not a duplicate. Without it, the command whose
//! answer was slow would be acknowledged and never published.

use pulse_aws::dynamo::{n, s};
use pulse_aws::text::truncate_utf8 as truncate;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use pulse_core::{Clock, Ids};

use crate::decide::LedgerKey;

/// Longest `last_error` kept, in bytes.
pub const MAX_ERROR_BYTES: usize = 1024;

const BEGIN_CONDITION: &str = "attribute_not_exists(pk) OR expires_at < :now_s OR #status = :failed \
     OR (#status = :received AND updated_at < :stale_ms)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Received,
    Processed,
    Failed,
}

impl Status {
    /// The stored form: `received`, `processed`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Processed => "processed",
            Status::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "received" => Some(Status::Received),
            "processed" => Some(Status::Processed),
            "failed" => Some(Status::Failed),
            _ => None,
        }
    }
}

/// The outcome of [`EnvelopeLedger::begin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// The caller owns the record as attempt `attempt` (1 for a first delivery, more when it
    /// took over a failed or abandoned one): publish, then mark it processed or failed.
    Owned { attempt: u32 },
    /// Already `received` (in flight) or `processed`: acknowledge and drop.
    Duplicate { status: Status },
}

/// A ledger record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub pk: String,
    pub team_id: String,
    pub envelope_id: String,
    /// The event type published for it (`slack.command`, ...).
    pub kind: String,
    pub status: Status,
    pub attempts: u32,
    /// The token of the `begin` call that last claimed it (absent on records written before
    /// tokens existed).
    pub owner: Option<String>,
    pub last_error: Option<String>,
    /// Unix milliseconds.
    pub received_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
    /// Unix seconds (the TTL).
    pub expires_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("DynamoDB {operation} on table {table} for {pk} failed: {message}")]
    Dynamo { table: String, pk: String, operation: &'static str, message: String },
    #[error("ledger record {pk} in table {table} is malformed: {message}")]
    Malformed { table: String, pk: String, message: String },
    #[error("ledger record {pk} in table {table} kept changing while recording it")]
    Contended { table: String, pk: String },
}

/// The envelope ledger in one DynamoDB table.
#[derive(Debug, Clone)]
pub struct EnvelopeLedger {
    client: aws_sdk_dynamodb::Client,
    table: String,
    retention: Duration,
    in_flight_timeout: Duration,
    /// Dates records, and tells a stale `received` record from a live one.
    clock: Clock,
    /// Mints each claim's owner token.
    ids: Ids,
}

impl EnvelopeLedger {
    /// Records are kept 7 days; a `received` record untouched for 30 s may be taken over.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, clock: Clock, ids: Ids) -> Self {
        Self {
            client,
            table: table.into(),
            retention: Duration::from_secs(7 * 24 * 3600),
            in_flight_timeout: Duration::from_secs(30),
            clock,
            ids,
        }
    }

    pub fn with_timeouts(mut self, retention: Duration, in_flight_timeout: Duration) -> Self {
        self.retention = retention;
        self.in_flight_timeout = in_flight_timeout;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn error<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
        &self,
        pk: &str,
        operation: &'static str,
        err: &SdkError<E, R>,
    ) -> LedgerError {
        LedgerError::Dynamo { table: self.table.clone(), pk: pk.to_owned(), operation, message: DisplayErrorContext(err).to_string() }
    }

    /// Record a delivery of `key` as `received` (see the module doc for when it is owned).
    pub async fn begin(&self, key: &LedgerKey, kind: &str) -> Result<Begin, LedgerError> {
        let pk = key.pk();
        let owner = self.ids.uuid().simple().to_string();
        for _ in 0..3 {
            let now = self.clock.now();
            let (now_s, now_ms) = (now.timestamp(), now.timestamp_millis());
            let stale_ms = now_ms - millis(self.in_flight_timeout);
            let expires_at = now_s + i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX / 4);
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(&pk))
                .update_expression(
                    "SET #status = :received, team_id = :team, envelope_id = :envelope, kind = :kind, #owner = :owner, \
                     attempts = if_not_exists(attempts, :zero) + :one, \
                     received_at = if_not_exists(received_at, :now_ms), updated_at = :now_ms, expires_at = :expires",
                )
                .condition_expression(BEGIN_CONDITION)
                .expression_attribute_names("#status", "status")
                // `owner` is one of DynamoDB's reserved words.
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":received", s(Status::Received.as_str()))
                .expression_attribute_values(":failed", s(Status::Failed.as_str()))
                .expression_attribute_values(":team", s(&key.team_id))
                .expression_attribute_values(":envelope", s(&key.envelope_id))
                .expression_attribute_values(":kind", s(kind))
                .expression_attribute_values(":owner", s(&owner))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now_ms", n(now_ms))
                .expression_attribute_values(":now_s", n(now_s))
                .expression_attribute_values(":stale_ms", n(stale_ms))
                .expression_attribute_values(":expires", n(expires_at))
                .return_values(ReturnValue::AllNew)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let existing = match result {
                Ok(output) => {
                    let record = output.attributes().map(|item| self.parse(&pk, item)).transpose()?;
                    let attempt = record.map_or(1, |r| r.attempts);
                    return Ok(Begin::Owned { attempt });
                }
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                    let old = match e.err() {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => {
                            c.item().map(|item| self.parse(&pk, item)).transpose()?
                        }
                        _ => None,
                    };
                    match old {
                        Some(record) => Some(record),
                        // Emulators may not return the old item: read it.
                        None => self.get(key).await?,
                    }
                }
                Err(err) => return Err(self.error(&pk, "UpdateItem (begin)", &err)),
            };
            match existing {
                // Our own claim, applied by an earlier try of this same write.
                Some(record) if record.owner.as_deref() == Some(owner.as_str()) => {
                    return Ok(Begin::Owned { attempt: record.attempts });
                }
                Some(record) if matches!(record.status, Status::Received | Status::Processed) => {
                    return Ok(Begin::Duplicate { status: record.status });
                }
                // Failed, expired or gone between the write and the read: try again.
                _ => {}
            }
        }
        Err(LedgerError::Contended { table: self.table.clone(), pk })
    }

    /// Mark attempt `attempt` of `key` processed. Returns false (and changes nothing) when a
    /// newer attempt owns the record.
    pub async fn processed(&self, key: &LedgerKey, attempt: u32) -> Result<bool, LedgerError> {
        self.finish(key, attempt, Status::Processed, None).await
    }

    /// Mark attempt `attempt` of `key` failed with `error` (truncated to 1 KB), so that Slack's
    /// retry may take it over. Returns false when a newer attempt owns the record.
    pub async fn failed(&self, key: &LedgerKey, attempt: u32, error: &str) -> Result<bool, LedgerError> {
        self.finish(key, attempt, Status::Failed, Some(truncate(error, MAX_ERROR_BYTES))).await
    }

    async fn finish(&self, key: &LedgerKey, attempt: u32, status: Status, error: Option<&str>) -> Result<bool, LedgerError> {
        let pk = key.pk();
        let now_ms = self.clock.now_ms();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .condition_expression("attempts = :attempt AND #status = :received")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":attempt", n(i64::from(attempt)))
            .expression_attribute_values(":received", s(Status::Received.as_str()))
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":now_ms", n(now_ms));
        request = match error {
            Some(error) => request
                .update_expression("SET #status = :status, updated_at = :now_ms, last_error = :error")
                .expression_attribute_values(":error", s(error)),
            None => request.update_expression("SET #status = :status, updated_at = :now_ms"),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                tracing::warn!(table = %self.table, pk = %pk, attempt, status = status.as_str(), "ledger record was taken over by a newer attempt; not updating it");
                Ok(false)
            }
            Err(err) => Err(self.error(&pk, "UpdateItem (finish)", &err)),
        }
    }

    /// The record of `key` (consistent read), even if past its TTL.
    pub async fn get(&self, key: &LedgerKey) -> Result<Option<Record>, LedgerError> {
        let pk = key.pk();
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| self.error(&pk, "GetItem", &err))?;
        output.item().map(|item| self.parse(&pk, item)).transpose()
    }

    fn parse(&self, pk: &str, item: &HashMap<String, AttributeValue>) -> Result<Record, LedgerError> {
        let malformed = |message: String| LedgerError::Malformed { table: self.table.clone(), pk: pk.to_owned(), message };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let number = |name: &str| -> Result<i64, LedgerError> {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| malformed(format!("`{name}` is missing or not an integer")))
        };
        let status_text = text("status").ok_or_else(|| malformed("no `status`".into()))?;
        let status = Status::parse(&status_text).ok_or_else(|| malformed(format!("unknown status {status_text:?}")))?;
        Ok(Record {
            pk: pk.to_owned(),
            team_id: text("team_id").unwrap_or_default(),
            envelope_id: text("envelope_id").unwrap_or_default(),
            kind: text("kind").unwrap_or_default(),
            status,
            attempts: u32::try_from(number("attempts")?).map_err(|_| malformed("`attempts` out of range".into()))?,
            owner: text("owner"),
            last_error: text("last_error"),
            received_at: number("received_at")?,
            updated_at: number("updated_at")?,
            expires_at: number("expires_at")?,
        })
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in [Status::Received, Status::Processed, Status::Failed] {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("RECEIVED"), None);
    }

    #[test]
    fn truncates_at_char_boundaries() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate(&"é".repeat(600), MAX_ERROR_BYTES).len(), 1024);
        assert_eq!(truncate(&format!("a{}", "é".repeat(600)), MAX_ERROR_BYTES).len(), 1023);
    }

    #[test]
    fn pk_is_team_hash_envelope() {
        let key = LedgerKey { team_id: "T1".into(), envelope_id: "Ev9".into() };
        assert_eq!(key.pk(), "T1#Ev9");
        assert_eq!(key.dedup_key("slack.home_opened"), "slack.home_opened:T1:Ev9");
    }
}
