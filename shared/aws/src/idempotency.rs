//! Claims on idempotency keys in DynamoDB: who is handling an event, until when, and how often an
//! attempt died holding it.
//!
//! One item per key (partition key `pk`, a string):
//!
//! | attribute | meaning |
//! |---|---|
//! | `status` | `INPROGRESS`, `COMPLETED`, `FAILED` (a clean, retryable failure) or `DEADLETTERED` |
//! | `attempt` | the id of the attempt that wrote the item |
//! | `lease_until` | unix ms; while `INPROGRESS`, the attempt may still be running until then |
//! | `died` | attempts that held the key and never finished (their lease ran out) |
//! | `expires_at` | unix seconds, the table's TTL attribute |
//! | `result`, `last_error` | what `complete` kept for duplicates; why the last attempt failed |
//!
//! A claim is one conditional put when the key is new. Otherwise the stored item decides: a
//! completed key is reported done; an in-progress key whose lease has not ended is held by a live
//! attempt; an in-progress key whose lease ended belonged to an attempt that died, and is taken
//! over (`died` + 1); a failed or dead-lettered key is taken over as is. A takeover is a put
//! conditioned on the item still being the one read, so two takers never both win.
//!
//! The lease is the caller's promise that its attempt cannot be running after `lease_until` (the
//! runtime passes the Lambda deadline or the message's visibility timeout, and extends it with a
//! heartbeat). DynamoDB deletes expired items lazily (up to days late), so the claim compares
//! `expires_at` with the clock instead of trusting the item's presence.

use crate::dynamo::{n, s};
use crate::text::truncate_utf8 as truncate;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use pulse_core::Clock;
use serde_json::Value;

/// The partition key attribute.
pub const KEY_ATTRIBUTE: &str = "pk";
/// The TTL attribute (unix seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// Longest `last_error` kept, in bytes.
pub const MAX_ERROR_BYTES: usize = 1024;

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
    /// The caller's attempt owns the key: do the work, then `complete`, `fail` or
    /// `dead_lettered` it. `died` counts earlier attempts that held the key and never finished;
    /// `previous` is the one this claim took the key from, when it died holding it (its own
    /// effect records may name it).
    Acquired { died: u32, previous: Option<String> },
    /// The work was done before; `result` is what `complete` stored.
    Completed { result: Option<Value> },
    /// A live attempt holds the key until `until_ms` (unix ms).
    Held { attempt: Option<String>, until_ms: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Completed,
    Failed,
    DeadLettered,
}

impl Status {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "INPROGRESS",
            Status::Completed => "COMPLETED",
            Status::Failed => "FAILED",
            Status::DeadLettered => "DEADLETTERED",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Status::InProgress, Status::Completed, Status::Failed, Status::DeadLettered].into_iter().find(|status| status.as_str() == s)
    }
}

/// An idempotency record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub key: String,
    pub status: Status,
    /// The attempt that wrote it (absent in records written before attempts had ids).
    pub attempt: Option<String>,
    /// Unix milliseconds; while in progress, the end of the holder's lease.
    pub lease_until: Option<i64>,
    /// Attempts that held the key and never finished.
    pub died: u32,
    /// Unix seconds; the TTL.
    pub expires_at: i64,
    pub result: Option<Value>,
    pub last_error: Option<String>,
}

impl Record {
    /// Whether the record has passed its TTL at `now` (unix seconds), even if DynamoDB has not
    /// deleted it yet.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at < now
    }

    /// Whether an attempt may still be running at `now_ms`.
    pub fn is_held(&self, now_ms: i64) -> bool {
        self.status == Status::InProgress && self.lease_until.is_some_and(|until| until >= now_ms)
    }
}

/// What a claim does with the record it found (pure; see the module doc).
#[derive(Debug, Clone, PartialEq)]
enum Found {
    Done(Claim),
    TakeOver { died: u32, previous: Option<String> },
}

fn judge(record: &Record, now_ms: i64) -> Found {
    if record.is_expired(now_ms.div_euclid(1000)) {
        return Found::TakeOver { died: 0, previous: None };
    }
    match record.status {
        Status::Completed => Found::Done(Claim::Completed { result: record.result.clone() }),
        Status::InProgress if record.is_held(now_ms) => {
            Found::Done(Claim::Held { attempt: record.attempt.clone(), until_ms: record.lease_until.unwrap_or(0) })
        }
        Status::InProgress => Found::TakeOver { died: record.died.saturating_add(1), previous: record.attempt.clone() },
        Status::Failed | Status::DeadLettered => Found::TakeOver { died: record.died, previous: None },
    }
}

/// Idempotency records in one DynamoDB table (partition key `pk` of type S, TTL on
/// `expires_at`).
#[derive(Debug, Clone)]
pub struct IdempotencyStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    completed_expiry: Duration,
    clock: Clock,
}

impl IdempotencyStore {
    /// Records are kept 7 days after they were last written. Leases and expiries are judged by
    /// `clock`, the one the caller's lease deadlines come from.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, clock: Clock) -> Self {
        Self { client, table: table.into(), completed_expiry: Duration::from_secs(7 * 24 * 3600), clock }
    }

    /// Keep records this long (the TTL) instead of 7 days.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.completed_expiry = retention;
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

    fn expires_at(&self, now_s: i64) -> i64 {
        now_s + i64::try_from(self.completed_expiry.as_secs()).unwrap_or(i64::MAX / 2)
    }

    /// Claim `key` for `attempt`, holding it until `lease_until_ms` (unix ms). See the module doc.
    pub async fn claim(&self, key: &str, attempt: &str, lease_until_ms: i64) -> Result<Claim, IdempotencyError> {
        let mut expected: Option<Record> = None;
        for _ in 0..4 {
            let (died, previous) = match &expected {
                None => (0, None),
                Some(record) => match judge(record, self.clock.now_ms()) {
                    Found::Done(claim) => return Ok(claim),
                    Found::TakeOver { died, previous } => (died, previous),
                },
            };
            let mut request = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(KEY_ATTRIBUTE, s(key))
                .item("status", s(Status::InProgress.as_str()))
                .item("attempt", s(attempt))
                .item("lease_until", n(lease_until_ms))
                .item("died", n(i64::from(died)))
                .item(TTL_ATTRIBUTE, n(self.expires_at(self.clock.now_secs())))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
            request = match &expected {
                None => request.condition_expression("attribute_not_exists(pk)"),
                // Take over only the very item judged: same status, same attempt, same lease.
                Some(old) => {
                    let mut condition = "#status = :old_status".to_owned();
                    request = request
                        .expression_attribute_names("#status", "status")
                        .expression_attribute_values(":old_status", s(old.status.as_str()));
                    match &old.attempt {
                        Some(a) => {
                            condition.push_str(" AND attempt = :old_attempt");
                            request = request.expression_attribute_values(":old_attempt", s(a));
                        }
                        None => condition.push_str(" AND attribute_not_exists(attempt)"),
                    }
                    match old.lease_until {
                        Some(l) => {
                            condition.push_str(" AND lease_until = :old_lease");
                            request = request.expression_attribute_values(":old_lease", n(l));
                        }
                        None => condition.push_str(" AND attribute_not_exists(lease_until)"),
                    }
                    request.condition_expression(condition)
                }
            };
            match request.send().await {
                Ok(_) => {
                    tracing::debug!(table = %self.table, key, attempt, died, "idempotency key claimed");
                    return Ok(Claim::Acquired { died, previous });
                }
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                    let old_item = match e.err() {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item(),
                        _ => None,
                    };
                    expected = match old_item {
                        Some(item) => Some(self.parse(key, item)?),
                        // The emulator or an old API may not return the item: read it.
                        None => self.get(key).await?,
                    };
                }
                Err(err) => return Err(self.dynamo_error(key, "PutItem (claim)", &err)),
            }
        }
        Err(IdempotencyError::Contended { table: self.table.clone(), key: key.to_owned() })
    }

    /// Move the lease of `attempt` on `key` to `lease_until_ms`. `false` when the attempt no
    /// longer holds the key (it was taken over or settled).
    pub async fn extend(&self, key: &str, attempt: &str, lease_until_ms: i64) -> Result<bool, IdempotencyError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, s(key))
            .update_expression("SET lease_until = :lease")
            .condition_expression("#status = :inprogress AND attempt = :attempt")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":lease", n(lease_until_ms))
            .expression_attribute_values(":inprogress", s(Status::InProgress.as_str()))
            .expression_attribute_values(":attempt", s(attempt))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(err) => Err(self.dynamo_error(key, "UpdateItem (extend)", &err)),
        }
    }

    /// Mark `key` done, keeping `result` (JSON) for duplicates. Unconditional: the work is done,
    /// whoever held the key meanwhile.
    pub async fn complete(&self, key: &str, attempt: &str, result: Option<&Value>) -> Result<(), IdempotencyError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY_ATTRIBUTE, s(key))
            .item("status", s(Status::Completed.as_str()))
            .item("attempt", s(attempt))
            .item("died", n(0))
            .item(TTL_ATTRIBUTE, n(self.expires_at(self.clock.now_secs())));
        if let Some(result) = result {
            request = request.item("result", s(&result.to_string()));
        }
        request.send().await.map_err(|err| self.dynamo_error(key, "PutItem (complete)", &err))?;
        tracing::debug!(table = %self.table, key, "idempotency key completed");
        Ok(())
    }

    /// Record that `attempt` failed cleanly with `error` (cut to 1 KB), so that a retry may take
    /// the key at once. Does nothing if the attempt no longer holds the key.
    pub async fn fail(&self, key: &str, attempt: &str, error: &str) -> Result<(), IdempotencyError> {
        self.settle(key, attempt, Status::Failed, error, false).await
    }

    /// Record that `attempt` sent the event to the dead-letter queue. The count of dead attempts
    /// starts again, so a replay after a fix is one fresh try.
    pub async fn dead_lettered(&self, key: &str, attempt: &str, reason: &str) -> Result<(), IdempotencyError> {
        self.settle(key, attempt, Status::DeadLettered, reason, true).await
    }

    async fn settle(&self, key: &str, attempt: &str, status: Status, error: &str, reset_died: bool) -> Result<(), IdempotencyError> {
        let update = if reset_died {
            "SET #status = :status, last_error = :error, died = :zero REMOVE lease_until"
        } else {
            "SET #status = :status, last_error = :error REMOVE lease_until"
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY_ATTRIBUTE, s(key))
            .update_expression(update)
            .condition_expression("#status = :inprogress AND attempt = :attempt")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":error", s(truncate(error, MAX_ERROR_BYTES)))
            .expression_attribute_values(":inprogress", s(Status::InProgress.as_str()))
            .expression_attribute_values(":attempt", s(attempt));
        if reset_died {
            request = request.expression_attribute_values(":zero", n(0));
        }
        match request.send().await {
            Ok(_) => {
                tracing::debug!(table = %self.table, key, status = status.as_str(), "idempotency key settled");
                Ok(())
            }
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                tracing::debug!(table = %self.table, key, "the attempt no longer holds the key; leaving the record as it is");
                Ok(())
            }
            Err(err) => Err(self.dynamo_error(key, "UpdateItem (settle)", &err)),
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
        let malformed = |message: String| IdempotencyError::Malformed { table: self.table.clone(), key: key.to_owned(), message };
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
            attempt: item.get("attempt").and_then(|v| v.as_s().ok()).cloned(),
            // Records written before leases had names kept it as `in_progress_expires_at`.
            lease_until: number("lease_until")?.or(number("in_progress_expires_at")?),
            died: number("died")?.and_then(|d| u32::try_from(d).ok()).unwrap_or(0),
            expires_at,
            result,
            last_error: item.get("last_error").and_then(|v| v.as_s().ok()).cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: Status, lease_until: Option<i64>, died: u32) -> Record {
        Record {
            key: "k".into(),
            status,
            attempt: Some("a1".into()),
            lease_until,
            died,
            expires_at: 2_000_000_000,
            result: None,
            last_error: None,
        }
    }

    #[test]
    fn a_live_lease_holds_and_an_ended_one_counts_a_death() {
        let now = 1_000_000;
        assert_eq!(
            judge(&record(Status::InProgress, Some(now + 5), 0), now),
            Found::Done(Claim::Held { attempt: Some("a1".into()), until_ms: now + 5 })
        );
        assert_eq!(judge(&record(Status::InProgress, Some(now - 1), 2), now), Found::TakeOver { died: 3, previous: Some("a1".into()) });
        assert_eq!(judge(&record(Status::InProgress, None, 0), now), Found::TakeOver { died: 1, previous: Some("a1".into()) });
    }

    #[test]
    fn failures_are_taken_over_without_counting_a_death_and_completions_are_final() {
        let now = 1_000_000;
        assert_eq!(judge(&record(Status::Failed, None, 2), now), Found::TakeOver { died: 2, previous: None });
        assert_eq!(judge(&record(Status::DeadLettered, None, 0), now), Found::TakeOver { died: 0, previous: None });
        assert_eq!(judge(&record(Status::Completed, None, 0), now), Found::Done(Claim::Completed { result: None }));
        let mut expired = record(Status::Completed, None, 0);
        expired.expires_at = now / 1000 - 1;
        assert_eq!(judge(&expired, now), Found::TakeOver { died: 0, previous: None }, "an expired record is as good as absent");
    }

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
        for status in [Status::InProgress, Status::Completed, Status::Failed, Status::DeadLettered] {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("nope"), None);
    }
}
