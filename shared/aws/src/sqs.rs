//! An SQS work queue: long-poll receive, batched delete and send, visibility changes (one or
//! batched), depth, and the dead-letter queue behind it with a redrive ("replay") path.
//!
//! Batch operations go in chunks of 10 (the SQS limit); per-entry failures of a batch call are
//! reported as [`SqsError::BatchFailures`], never swallowed.

use std::collections::HashMap;

use aws_sdk_sqs::error::{DisplayErrorContext, SdkError};
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message, MessageAttributeValue,
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};

/// SQS's limit on entries per batch call.
pub const MAX_BATCH: usize = 10;
/// The longest long-poll SQS allows.
pub const MAX_WAIT_SECONDS: i32 = 20;
/// The longest visibility timeout SQS allows (12 hours).
pub const MAX_VISIBILITY_SECONDS: i32 = 43_200;
/// Total body bytes per SendMessageBatch call we allow ourselves (the classic SQS limit; queues
/// may allow more, but never less).
const MAX_BATCH_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SqsError {
    #[error("SQS queue {queue} does not exist")]
    QueueNotFound { queue: String },
    #[error("SQS {operation} on queue {queue} failed: {message}")]
    Sdk { queue: String, operation: &'static str, message: String },
    /// Some entries of batch calls failed: (position in the input, error code, message).
    #[error("SQS {operation} on queue {queue}: {} entr(y/ies) failed: {}", failed.len(), describe(failed))]
    BatchFailures { queue: String, operation: &'static str, failed: Vec<(usize, String, String)> },
    #[error("SQS queue {queue} has no dead-letter queue (no RedrivePolicy)")]
    NoDeadLetterQueue { queue: String },
    #[error("SQS queue {queue} has an unusable RedrivePolicy: {message}")]
    BadRedrivePolicy { queue: String, message: String },
}

fn describe(failed: &[(usize, String, String)]) -> String {
    let mut parts: Vec<String> = failed.iter().take(5).map(|(i, code, msg)| format!("#{i} {code}: {msg}")).collect();
    if failed.len() > 5 {
        parts.push(format!("and {} more", failed.len() - 5));
    }
    parts.join("; ")
}

/// A message as received, with what consumers need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
    /// Message attributes with a string value (String and Number types), by name.
    pub attributes: HashMap<String, String>,
}

impl ReceivedMessage {
    fn from_sdk(message: &Message) -> Self {
        let receive_count = message
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let attributes = message
            .message_attributes()
            .map(|attrs| attrs.iter().filter_map(|(k, v)| v.string_value().map(|s| (k.clone(), s.to_owned()))).collect())
            .unwrap_or_default();
        Self {
            message_id: message.message_id().unwrap_or_default().to_owned(),
            receipt_handle: message.receipt_handle().unwrap_or_default().to_owned(),
            body: message.body().unwrap_or_default().to_owned(),
            receive_count,
            attributes,
        }
    }
}

/// One SQS queue.
#[derive(Debug, Clone)]
pub struct Queue {
    client: aws_sdk_sqs::Client,
    url: String,
    name: String,
}

impl Queue {
    /// Look the queue up by name.
    pub async fn from_name(client: aws_sdk_sqs::Client, name: &str) -> Result<Queue, SqsError> {
        Self::lookup(client, name, None).await
    }

    /// Use a known queue URL (no call is made).
    pub fn from_url(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Queue {
        let url = url.into();
        let name = url.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_owned();
        Queue { client, url, name }
    }

    async fn lookup(client: aws_sdk_sqs::Client, name: &str, owner: Option<&str>) -> Result<Queue, SqsError> {
        let result = client.get_queue_url().queue_name(name).set_queue_owner_aws_account_id(owner.map(str::to_owned)).send().await;
        match result {
            Ok(output) => {
                let url = output.queue_url().unwrap_or_default().to_owned();
                Ok(Queue { client, url, name: name.to_owned() })
            }
            Err(SdkError::ServiceError(e)) if e.err().is_queue_does_not_exist() => Err(SqsError::QueueNotFound { queue: name.to_owned() }),
            Err(err) => {
                Err(SqsError::Sdk { queue: name.to_owned(), operation: "GetQueueUrl", message: DisplayErrorContext(&err).to_string() })
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The queue name (the last segment of the URL).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }

    fn sdk_error<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
        &self,
        operation: &'static str,
        err: &SdkError<E, R>,
    ) -> SqsError {
        SqsError::Sdk { queue: self.name.clone(), operation, message: DisplayErrorContext(err).to_string() }
    }

    /// Receive up to `max_messages` (clamped to 1..=10), long-polling up to `wait_time_seconds`
    /// (clamped to 0..=20). Returns an empty list when nothing arrived in time.
    pub async fn receive(&self, max_messages: i32, wait_time_seconds: i32) -> Result<Vec<ReceivedMessage>, SqsError> {
        self.receive_messages(max_messages, wait_time_seconds, None).await
    }

    /// Receive as [`Queue::receive`] does, hiding what is received for `visibility_seconds`
    /// (0..=43200) instead of the queue's visibility timeout: a reader that only looks (`pulse
    /// dlq list`) pages through the queue without meeting the same messages again, then makes
    /// them visible with [`Queue::change_visibility_batch`].
    pub async fn receive_hidden_for(
        &self,
        max_messages: i32,
        wait_time_seconds: i32,
        visibility_seconds: i32,
    ) -> Result<Vec<ReceivedMessage>, SqsError> {
        self.receive_messages(max_messages, wait_time_seconds, Some(visibility_seconds.clamp(0, MAX_VISIBILITY_SECONDS))).await
    }

    async fn receive_messages(
        &self,
        max_messages: i32,
        wait_time_seconds: i32,
        visibility_seconds: Option<i32>,
    ) -> Result<Vec<ReceivedMessage>, SqsError> {
        let messages = self.receive_raw(max_messages, wait_time_seconds, visibility_seconds).await?;
        let received: Vec<ReceivedMessage> = messages.iter().map(ReceivedMessage::from_sdk).collect();
        if !received.is_empty() {
            tracing::debug!(
                queue = %self.name,
                message_ids = ?received.iter().map(|m| m.message_id.as_str()).collect::<Vec<_>>(),
                "received messages"
            );
        }
        Ok(received)
    }

    async fn receive_raw(
        &self,
        max_messages: i32,
        wait_time_seconds: i32,
        visibility_seconds: Option<i32>,
    ) -> Result<Vec<Message>, SqsError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max_messages.clamp(1, MAX_BATCH as i32))
            .wait_time_seconds(wait_time_seconds.clamp(0, MAX_WAIT_SECONDS))
            .set_visibility_timeout(visibility_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|err| self.sdk_error("ReceiveMessage", &err))?;
        Ok(output.messages.unwrap_or_default())
    }

    /// Delete messages by receipt handle, in calls of 10. Every handle is tried; entries SQS
    /// rejects are reported together as [`SqsError::BatchFailures`] (positions in
    /// `receipt_handles`).
    pub async fn delete_batch(&self, receipt_handles: &[String]) -> Result<(), SqsError> {
        self.per_chunk(receipt_handles, "DeleteMessageBatch", |chunk| async move {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            let output = self.client.delete_message_batch().queue_url(&self.url).set_entries(Some(entries)).send().await;
            output.map(|o| o.failed).map_err(|err| self.sdk_error("DeleteMessageBatch", &err))
        })
        .await
    }

    /// Run a batch call over `receipt_handles` in chunks of 10: every chunk is tried, and the
    /// entries SQS rejects are reported together as [`SqsError::BatchFailures`] (positions in
    /// `receipt_handles`). `call` sends one chunk (entry ids are positions in the chunk) and
    /// returns the failed entries.
    async fn per_chunk<'a, F, Fut>(&self, receipt_handles: &'a [String], operation: &'static str, call: F) -> Result<(), SqsError>
    where
        F: Fn(&'a [String]) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<BatchResultErrorEntry>, SqsError>>,
    {
        let mut failed = Vec::new();
        for (chunk_index, chunk) in receipt_handles.chunks(MAX_BATCH).enumerate() {
            let offset = chunk_index * MAX_BATCH;
            for entry in call(chunk).await? {
                let position = offset + entry.id().parse::<usize>().unwrap_or(0);
                failed.push((position, entry.code().to_owned(), entry.message().unwrap_or_default().to_owned()));
            }
        }
        if failed.is_empty() {
            tracing::debug!(queue = %self.name, count = receipt_handles.len(), operation, "batch call done");
            Ok(())
        } else {
            tracing::warn!(queue = %self.name, failed = failed.len(), operation, "some entries of a batch call failed");
            Err(SqsError::BatchFailures { queue: self.name.clone(), operation, failed })
        }
    }

    /// Delete one message.
    pub async fn delete(&self, receipt_handle: &str) -> Result<(), SqsError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(|err| self.sdk_error("DeleteMessage", &err))?;
        Ok(())
    }

    /// Make a received message visible again after `seconds` (0 = at once, for a fast retry).
    pub async fn change_visibility(&self, receipt_handle: &str, seconds: i32) -> Result<(), SqsError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds.max(0))
            .send()
            .await
            .map_err(|err| self.sdk_error("ChangeMessageVisibility", &err))?;
        Ok(())
    }

    /// Make received messages visible again after `seconds` (0 = at once), by receipt handle,
    /// in calls of 10. Every handle is tried; entries SQS rejects are reported together as
    /// [`SqsError::BatchFailures`] (positions in `receipt_handles`).
    pub async fn change_visibility_batch(&self, receipt_handles: &[String], seconds: i32) -> Result<(), SqsError> {
        self.per_chunk(receipt_handles, "ChangeMessageVisibilityBatch", |chunk| async move {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .visibility_timeout(seconds.clamp(0, MAX_VISIBILITY_SECONDS))
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            let output = self.client.change_message_visibility_batch().queue_url(&self.url).set_entries(Some(entries)).send().await;
            output.map(|o| o.failed).map_err(|err| self.sdk_error("ChangeMessageVisibilityBatch", &err))
        })
        .await
    }

    /// Send one message with string attributes; returns its message id.
    pub async fn send(&self, body: &str, attributes: &[(&str, &str)]) -> Result<String, SqsError> {
        let mut request = self.client.send_message().queue_url(&self.url).message_body(body);
        for (name, value) in attributes {
            request = request.message_attributes(*name, string_attribute(value));
        }
        let output = request.send().await.map_err(|err| self.sdk_error("SendMessage", &err))?;
        let id = output.message_id().unwrap_or_default().to_owned();
        tracing::debug!(queue = %self.name, message_id = %id, "sent message");
        Ok(id)
    }

    /// Send messages in calls of at most 10 entries and 256 KB; returns the message ids in input
    /// order. Entries SQS rejects are reported as [`SqsError::BatchFailures`] (the others were
    /// sent).
    pub async fn send_batch(&self, bodies: &[String]) -> Result<Vec<String>, SqsError> {
        let entries: Vec<(String, HashMap<String, MessageAttributeValue>)> = bodies.iter().map(|b| (b.clone(), HashMap::new())).collect();
        let (ids, failed) = self.send_entries(&entries).await?;
        if failed.is_empty() {
            Ok(ids.into_iter().map(Option::unwrap_or_default).collect())
        } else {
            Err(SqsError::BatchFailures { queue: self.name.clone(), operation: "SendMessageBatch", failed })
        }
    }

    /// Send (body, attributes) entries in batches; returns the message id per entry (None when
    /// it failed) and the failures.
    async fn send_entries(
        &self,
        entries: &[(String, HashMap<String, MessageAttributeValue>)],
    ) -> Result<(Vec<Option<String>>, Vec<(usize, String, String)>), SqsError> {
        let mut ids: Vec<Option<String>> = vec![None; entries.len()];
        let mut failed = Vec::new();
        let mut start = 0;
        while start < entries.len() {
            // Take up to 10 entries within the byte budget (at least one).
            let mut end = start;
            let mut bytes = 0;
            while end < entries.len() && end - start < MAX_BATCH {
                let size = entries[end].0.len();
                if end > start && bytes + size > MAX_BATCH_BYTES {
                    break;
                }
                bytes += size;
                end += 1;
            }
            let request_entries: Vec<SendMessageBatchRequestEntry> = entries[start..end]
                .iter()
                .enumerate()
                .map(|(i, (body, attrs))| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .set_message_attributes((!attrs.is_empty()).then(|| attrs.clone()))
                        .build()
                        .expect("id and body are set")
                })
                .collect();
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(request_entries))
                .send()
                .await
                .map_err(|err| self.sdk_error("SendMessageBatch", &err))?;
            for ok in output.successful() {
                if let Ok(i) = ok.id().parse::<usize>() {
                    ids[start + i] = Some(ok.message_id().to_owned());
                }
            }
            for entry in output.failed() {
                let position = start + entry.id().parse::<usize>().unwrap_or(0);
                failed.push((position, entry.code().to_owned(), entry.message().unwrap_or_default().to_owned()));
            }
            start = end;
        }
        tracing::debug!(queue = %self.name, sent = entries.len() - failed.len(), failed = failed.len(), "sent message batch");
        Ok((ids, failed))
    }

    /// Messages in the queue: visible plus in flight (received, not yet deleted). Approximate,
    /// as SQS says.
    pub async fn approximate_depth(&self) -> Result<u64, SqsError> {
        let attrs = self
            .attributes(&[QueueAttributeName::ApproximateNumberOfMessages, QueueAttributeName::ApproximateNumberOfMessagesNotVisible])
            .await?;
        let count = |name: &QueueAttributeName| attrs.get(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Ok(count(&QueueAttributeName::ApproximateNumberOfMessages) + count(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
    }

    async fn attributes(&self, names: &[QueueAttributeName]) -> Result<HashMap<QueueAttributeName, String>, SqsError> {
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .set_attribute_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|err| self.sdk_error("GetQueueAttributes", &err))?;
        Ok(output.attributes.unwrap_or_default())
    }

    /// The dead-letter queue named by this queue's RedrivePolicy, if it has one.
    pub async fn dead_letter_queue(&self) -> Result<Option<Queue>, SqsError> {
        let attrs = self.attributes(&[QueueAttributeName::RedrivePolicy]).await?;
        let Some(policy) = attrs.get(&QueueAttributeName::RedrivePolicy).filter(|p| !p.trim().is_empty()) else {
            return Ok(None);
        };
        let arn = dead_letter_target_arn(policy).map_err(|message| SqsError::BadRedrivePolicy { queue: self.name.clone(), message })?;
        let (account, name) = parse_queue_arn(&arn)
            .ok_or_else(|| SqsError::BadRedrivePolicy { queue: self.name.clone(), message: format!("bad queue ARN {arn}") })?;
        Self::lookup(self.client.clone(), name, Some(account)).await.map(Some)
    }

    /// Replay: move up to `max` messages from this queue's dead-letter queue back into this
    /// queue (send, then delete from the DLQ), keeping bodies and message attributes. Stops when
    /// the DLQ yields nothing. Returns how many were moved.
    pub async fn redrive_from_dlq(&self, max: usize) -> Result<usize, SqsError> {
        let dlq = self.dead_letter_queue().await?.ok_or_else(|| SqsError::NoDeadLetterQueue { queue: self.name.clone() })?;
        let mut moved = 0;
        while moved < max {
            let want = (max - moved).min(MAX_BATCH) as i32;
            let messages = dlq.receive_raw(want, 1, None).await?;
            if messages.is_empty() {
                break;
            }
            let entries: Vec<(String, HashMap<String, MessageAttributeValue>)> = messages
                .iter()
                .map(|m| (m.body().unwrap_or_default().to_owned(), m.message_attributes().cloned().unwrap_or_default()))
                .collect();
            let (ids, failed) = self.send_entries(&entries).await?;
            let sent_handles: Vec<String> = messages
                .iter()
                .zip(&ids)
                .filter(|(_, id)| id.is_some())
                .map(|(m, _)| m.receipt_handle().unwrap_or_default().to_owned())
                .collect();
            dlq.delete_batch(&sent_handles).await?;
            moved += sent_handles.len();
            tracing::info!(
                queue = %self.name, dlq = %dlq.name,
                message_ids = ?messages.iter().filter_map(Message::message_id).collect::<Vec<_>>(),
                moved = sent_handles.len(), "redrove messages from the dead-letter queue"
            );
            if !failed.is_empty() {
                return Err(SqsError::BatchFailures { queue: self.name.clone(), operation: "SendMessageBatch (redrive)", failed });
            }
        }
        Ok(moved)
    }
}

/// What a consumer needs to know of its queue's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuePolicy {
    /// The queue's default visibility timeout (SQS's default is 30 s).
    pub visibility_timeout: std::time::Duration,
    /// The RedrivePolicy's `maxReceiveCount`: on the receive after this many, SQS moves the
    /// message to the dead-letter queue. `None` when the queue has no redrive policy.
    pub max_receive_count: Option<u32>,
}

impl Queue {
    /// Find a queue from its ARN (`arn:aws:sqs:<region>:<account>:<name>`), as Lambda's SQS
    /// records name it.
    pub async fn from_arn(client: aws_sdk_sqs::Client, arn: &str) -> Result<Queue, SqsError> {
        let (account, name) =
            parse_queue_arn(arn).ok_or_else(|| SqsError::QueueNotFound { queue: format!("(not an SQS queue ARN: {arn})") })?;
        Self::lookup(client, name, Some(account)).await
    }

    /// The visibility timeout and redrive limit, read from the queue's attributes.
    pub async fn policy(&self) -> Result<QueuePolicy, SqsError> {
        let attrs = self.attributes(&[QueueAttributeName::VisibilityTimeout, QueueAttributeName::RedrivePolicy]).await?;
        let visibility = attrs.get(&QueueAttributeName::VisibilityTimeout).and_then(|v| v.parse::<u64>().ok()).unwrap_or(30);
        let max_receive_count = match attrs.get(&QueueAttributeName::RedrivePolicy).filter(|p| !p.trim().is_empty()) {
            None => None,
            Some(policy) => {
                Some(max_receive_count(policy).map_err(|message| SqsError::BadRedrivePolicy { queue: self.name.clone(), message })?)
            }
        };
        Ok(QueuePolicy { visibility_timeout: std::time::Duration::from_secs(visibility), max_receive_count })
    }

    /// Receive like [`Queue::receive`], asking for this visibility timeout instead of the queue's
    /// (a consumer's lease: see `pulse_runtime::poller`).
    pub async fn receive_for(
        &self,
        max_messages: i32,
        wait_time_seconds: i32,
        visibility: std::time::Duration,
    ) -> Result<Vec<ReceivedMessage>, SqsError> {
        self.receive_messages(max_messages, wait_time_seconds, Some(clamp_visibility(visibility))).await
    }

    /// Send one message that becomes visible after `delay` (SQS allows at most 15 minutes).
    pub async fn send_delayed(&self, body: &str, attributes: &[(&str, &str)], delay: std::time::Duration) -> Result<String, SqsError> {
        let mut request = self.client.send_message().queue_url(&self.url).message_body(body).delay_seconds(delay.as_secs().min(900) as i32);
        for (name, value) in attributes {
            request = request.message_attributes(*name, string_attribute(value));
        }
        let output = request.send().await.map_err(|err| self.sdk_error("SendMessage", &err))?;
        Ok(output.message_id().unwrap_or_default().to_owned())
    }
}

/// A visibility timeout in whole seconds within SQS's 0..=12 h.
pub fn clamp_visibility(visibility: std::time::Duration) -> i32 {
    visibility.as_secs().min(MAX_VISIBILITY_SECONDS as u64) as i32
}

/// `maxReceiveCount` from a RedrivePolicy document (SQS writes it as a string or a number).
fn max_receive_count(policy: &str) -> Result<u32, String> {
    let doc: serde_json::Value = serde_json::from_str(policy).map_err(|e| format!("not JSON: {e}"))?;
    let value = doc.get("maxReceiveCount").ok_or_else(|| "no maxReceiveCount".to_owned())?;
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("maxReceiveCount {value} is not a positive integer"))
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder().data_type("String").string_value(value).build().expect("data type is set")
}

/// `deadLetterTargetArn` from a RedrivePolicy document.
fn dead_letter_target_arn(policy: &str) -> Result<String, String> {
    let doc: serde_json::Value = serde_json::from_str(policy).map_err(|e| format!("not JSON: {e}"))?;
    doc.get("deadLetterTargetArn").and_then(serde_json::Value::as_str).map(str::to_owned).ok_or_else(|| "no deadLetterTargetArn".to_owned())
}

/// (account, queue name) from `arn:aws:sqs:<region>:<account>:<name>`.
fn parse_queue_arn(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", _, account, name] if !name.is_empty() => Some((account, name)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redrive_policy_and_arn() {
        let arn =
            dead_letter_target_arn(r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:q-dlq","maxReceiveCount":"2"}"#).unwrap();
        assert_eq!(parse_queue_arn(&arn), Some(("123456789012", "q-dlq")));
        assert!(dead_letter_target_arn("{}").is_err());
        assert!(dead_letter_target_arn("nope").is_err());
        assert_eq!(parse_queue_arn("arn:aws:sns:us-east-1:1:topic"), None);
        assert_eq!(parse_queue_arn("arn:aws-cn:sqs:cn-north-1:1:q"), Some(("1", "q")));
        assert_eq!(max_receive_count(r#"{"maxReceiveCount":"5"}"#), Ok(5));
        assert_eq!(max_receive_count(r#"{"maxReceiveCount":3}"#), Ok(3));
        assert!(max_receive_count(r#"{"maxReceiveCount":0}"#).is_err());
        assert!(max_receive_count("{}").is_err());
    }

    #[test]
    fn received_message_reads_count_and_string_attributes() {
        let message = Message::builder()
            .message_id("m1")
            .receipt_handle("rh")
            .body("{}")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "3")
            .message_attributes("kind", string_attribute("ci.workflow"))
            .message_attributes(
                "blob",
                MessageAttributeValue::builder()
                    .data_type("Binary")
                    .binary_value(aws_sdk_sqs::primitives::Blob::new(vec![1, 2]))
                    .build()
                    .unwrap(),
            )
            .build();
        let received = ReceivedMessage::from_sdk(&message);
        assert_eq!(received.receive_count, 3);
        assert_eq!(received.attributes.len(), 1);
        assert_eq!(received.attributes["kind"], "ci.workflow");
    }

    #[test]
    fn from_url_takes_the_name() {
        let conf = aws_sdk_sqs::Config::builder().behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest()).build();
        let q = Queue::from_url(aws_sdk_sqs::Client::from_conf(conf), "http://127.0.0.1:4602/123456789012/pulse-notifier");
        assert_eq!(q.name(), "pulse-notifier");
        assert_eq!(q.url(), "http://127.0.0.1:4602/123456789012/pulse-notifier");
    }
}
