//! Idempotency records in DynamoDB, in the style of Powertools for AWS Lambda.
//!
//! One item per key (partition key `pk`, a string) with a `status` of `INPROGRESS`, `COMPLETED`
//! or `FAILED`, an `expires_at` (unix seconds, the table's TTL attribute) and, while in progress,
//! an `in_progress_expires_at` (unix milliseconds) after which a crashed attempt may be taken
//! over. A consumer [`claim`](IdempotencyStore::claim)s a key with one conditional put before
//! doing the work, then [`complete`](IdempotencyStore::complete)s it (optionally with a result
//! that later duplicates get back) or [`fail`](IdempotencyStore::fail)s it so a retry may claim
//! it again.
//!
//! DynamoDB deletes expired items lazily (up to days late), so every read and the claim's
//! condition compare `expires_at` with the clock instead of trusting the item's presence.

use crate::dynamo::{n, s};
use crate::text::truncate_utf8 as truncate;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use serde_json::Value;

/// The partition key attribute.
pub const KEY_ATTRIBUTE: &str = "pk";
/// The TTL attribute (unix seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// Longest `last_error` kept, in bytes.
pub const MAX_ERROR_BYTES: usize = 1024;

const STATUS_IN_PROGRESS: &str = "INPROGRESS";
const STATUS_COMPLETED: &str = "COMPLETED";
const STATUS_FAILED: &str = "FAILED";

const CLAIM_CONDITION: &str = "attribute_not_exists(pk) OR expires_at < :now \
     OR (#status = :inprogress AND in_progress_expires_at < :now_ms) OR #status = :failed";

#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    #[error("DynamoDB {operation} on table {table} for key {key} failed: {message}")]
    Dynamo { table: String, key: String, operation: &'static str, message: String },
    #[error("idempotency record {key} in table {table} is malformed: {message}")]
    Malformed { table: String, key: String, message: String },
    #[error("idempotency record {key} in table {table} kept changing while claiming it")]
    Contended { table: String, key: String },
}

/// The outcome of [`IdempotencyStore::claim`].
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The caller owns the key: do the work, then `complete` or `fail` it.
    Acquired,
    /// The work was done before; `result` is what `complete` stored.
    AlreadyCompleted { result: Option<Value> },
    /// Another attempt holds the key until `until` (unix milliseconds); retry later.
    InProgress { until: i64 },
}

impl Claim {
    pub fn is_acquired(&self) -> bool {
        matches!(self, Claim::Acquired)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Completed,
    Failed,
}

impl Status {
    /// The stored form: `INPROGRESS`, `COMPLETED` or `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => STATUS_IN_PROGRESS,
            Status::Completed => STATUS_COMPLETED,
            Status::Failed => STATUS_FAILED,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            STATUS_IN_PROGRESS => Some(Status::InProgress),
            STATUS_COMPLETED => Some(Status::Completed),
            STATUS_FAILED => Some(Status::Failed),
            _ => None,
        }
    }
}

/// An idempotency record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub key: String,
    pub status: Status,
    /// Unix seconds; the TTL.
    pub expires_at: i64,
    /// Unix milliseconds; set while in progress.
    pub in_progress_expires_at: Option<i64>,
    pub result: Option<Value>,
    pub last_error: Option<String>,
}

impl Record {
    /// Whether the record has passed its TTL at `now` (unix seconds), even if DynamoDB has not
    /// deleted it yet.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at < now
    }
}

/// Idempotency records in one DynamoDB table (partition key `pk` of type S, TTL on
/// `expires_at`).
#[derive(Debug, Clone)]
pub struct IdempotencyStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    completed_expiry: Duration,
    in_progress_expiry: Duration,
}

impl IdempotencyStore {
    /// Records expire 7 days after completion; an in-progress claim may be taken over after
    /// 5 minutes.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            completed_expiry: Duration::from_secs(7 * 24 * 3600),
            in_progress_expiry: Duration::from_secs(300),
        }
    }

    /// `completed`: how long a record is kept (TTL); `in_progress`: how long a claim holds before
    /// another attempt may take it over (set it above the handler's timeout).
    pub fn with_expiry(mut self, completed: Duration, in_progress: Duration) -> Self {
        self.completed_expiry = completed;
        self.in_progress_expiry = in_progress;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn dynamo_error<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
        &self,
        key: &str,
        operation: &'static str,
        err: &SdkError<E, R>,
    ) -> IdempotencyError {
        IdempotencyError::Dynamo {
            table: self.table.clone(),
            key: key.to_owned(),
            operation,
            message: DisplayErrorContext(err).to_string(),
        }
    }

    fn expires_at(&self, now: i64) -> i64 {
        now + i64::try_from(self.completed_expiry.as_secs()).unwrap_or(i64::MAX / 2)
    }

    /// Claim `key`: one conditional put that succeeds when there is no live record, the record
    /// expired, it is in progress past its in-progress expiry, or it failed. Otherwise reports
    /// whether the work is done ([`Claim::AlreadyCompleted`]) or under way ([`Claim::InProgress`]).
    pub async fn claim(&self, key: &str) -> Result<Claim, IdempotencyError> {
        for _ in 0..3 {
            let now = chrono::Utc::now();
            let (now_s, now_ms) = (now.timestamp(), now.timestamp_millis());
            let in_progress_until =
                now_ms + i64::try_from(self.in_progress_expiry.as_millis()).unwrap_or(i64::MAX / 2);
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(KEY_ATTRIBUTE, s(key))
                .item("status", s(STATUS_IN_PROGRESS))
                .item("in_progress_expires_at", n(in_progress_until))
                .item(TTL_ATTRIBUTE, n(self.expires_at(now_s)))
                .condition_expression(CLAIM_CONDITION)
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":now", n(now_s))
                .expression_attribute_values(":now_ms", n(now_ms))
                .expression_attribute_values(":inprogress", s(STATUS_IN_PROGRESS))
                .expression_attribute_values(":failed", s(STATUS_FAILED))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let existing = match result {
                Ok(_) => {
                    tracing::debug!(table = %self.table, key, "idempotency key claimed");
                    return Ok(Claim::Acquired);
                }
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                    let old_item = match e.err() {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item(),
                        _ => None,
                    };
                    match old_item {
                        Some(item) => Some(self.parse(key, item)?),
                        // The emulator or an old API may not return the item: read it.
                        None => self.get(key).await?,
                    }
                }
                Err(err) => return Err(self.dynamo_error(key, "PutItem (claim)", &err)),
            };
            let now = chrono::Utc::now();
            match existing {
                Some(record) if !record.is_expired(now.timestamp()) => match record.status {
                    Status::Completed => {
                        tracing::debug!(table = %self.table, key, "idempotency key already completed");
                        return Ok(Claim::AlreadyCompleted { result: record.result });
                    }
                    Status::InProgress => {
                        let until = record.in_progress_expires_at.unwrap_or(0);
                        if until >= now.timestamp_millis() {
                            tracing::debug!(table = %self.table, key, until, "idempotency key in progress elsewhere");
                            return Ok(Claim::InProgress { until });
                        }
                    }
                    Status::Failed => {}
                },
                _ => {}
            }
            // The record changed between the put and the read (expired, failed, deleted): retry.
        }
        Err(IdempotencyError::Contended { table: self.table.clone(), key: key.to_owned() })
    }

    /// Mark `key` done, keeping `result` (JSON) for duplicates; the record lives for the
    /// completed expiry.
    pub async fn complete(&self, key: &str, result: Option<&Value>) -> Result<(), IdempotencyError> {
        let now = chrono::Utc::now().timestamp();
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY_ATTRIBUTE, s(key))
            .item("status", s(STATUS_COMPLETED))
            .item(TTL_ATTRIBUTE, n(self.expires_at(now)));
        if let Some(result) = result {
            request = request.item("result", s(&result.to_string()));
        }
        request.send().await.map_err(|err| self.dynamo_error(key, "PutItem (complete)", &err))?;
        tracing::debug!(table = %self.table, key, "idempotency key completed");
        Ok(())
    }

    /// Mark `key` failed with `error` (truncated to 1 KB) so that a retry may claim it again.
    /// Does nothing if the key was completed meanwhile (by an attempt that took it over).
    pub async fn fail(&self, key: &str, error: &str) -> Result<(), IdempotencyError> {
        let now = chrono::Utc::now().timestamp();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY_ATTRIBUTE, s(key))
            .item("status", s(STATUS_FAILED))
            .item("last_error", s(truncate(error, MAX_ERROR_BYTES)))
            .item(TTL_ATTRIBUTE, n(self.expires_at(now)))
            .condition_expression("attribute_not_exists(pk) OR #status <> :completed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":completed", s(STATUS_COMPLETED))
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::debug!(table = %self.table, key, "idempotency key failed");
                Ok(())
            }
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                tracing::debug!(table = %self.table, key, "idempotency key already completed; not marking it failed");
                Ok(())
            }
            Err(err) => Err(self.dynamo_error(key, "PutItem (fail)", &err)),
        }
    }

    /// The record for `key` as stored (consistent read), even if past its TTL.
    pub async fn get(&self, key: &str) -> Result<Option<Record>, IdempotencyError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| self.dynamo_error(key, "GetItem", &err))?;
        output.item().map(|item| self.parse(key, item)).transpose()
    }

    fn parse(&self, key: &str, item: &HashMap<String, AttributeValue>) -> Result<Record, IdempotencyError> {
        let malformed = |message: String| IdempotencyError::Malformed {
            table: self.table.clone(),
            key: key.to_owned(),
            message,
        };
        let status_text = item.get("status").and_then(|v| v.as_s().ok()).ok_or_else(|| malformed("no status".into()))?;
        let status = Status::parse(status_text).ok_or_else(|| malformed(format!("unknown status {status_text:?}")))?;
        let number = |name: &str| -> Result<Option<i64>, IdempotencyError> {
            match item.get(name) {
                None => Ok(None),
                Some(v) => v
                    .as_n()
                    .ok()
                    .and_then(|n| n.parse::<i64>().ok())
                    .map(Some)
                    .ok_or_else(|| malformed(format!("{name} is not an integer"))),
            }
        };
        let expires_at = number(TTL_ATTRIBUTE)?.ok_or_else(|| malformed(format!("no {TTL_ATTRIBUTE}")))?;
        let result = match item.get("result").and_then(|v| v.as_s().ok()) {
            Some(text) => Some(serde_json::from_str(text).map_err(|e| malformed(format!("result is not JSON: {e}")))?),
            None => None,
        };
        Ok(Record {
            key: key.to_owned(),
            status,
            expires_at,
            in_progress_expires_at: number("in_progress_expires_at")?,
            result,
            last_error: item.get("last_error").and_then(|v| v.as_s().ok()).cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_at_char_boundaries() {
        assert_eq!(truncate("short", 1024), "short");
        let long = "é".repeat(1000); // 2000 bytes
        let cut = truncate(&long, MAX_ERROR_BYTES);
        assert_eq!(cut.len(), 1024);
        let odd = format!("a{}", "é".repeat(600));
        assert_eq!(truncate(&odd, MAX_ERROR_BYTES).len(), 1023);
    }

    #[test]
    fn statuses_round_trip() {
        for status in [Status::InProgress, Status::Completed, Status::Failed] {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("nope"), None);
    }
}
