//! Sending rejected messages to a consumer's dead-letter queue, with the reason attached.
//!
//! A message that can never succeed should not burn through the redrive count first: the consumer
//! copies it to the DLQ at once with message attributes saying why and from where, then deletes
//! it from its queue. `pulse dlq replay` moves DLQ messages back once the cause is fixed.

use pulse_aws::sqs::{Queue, SqsError};
use pulse_aws::text::truncate_utf8 as truncate;
use tokio::sync::OnceCell;

use crate::consume::InboundMessage;

/// Message attribute carrying the human-readable rejection reason.
pub const REASON_ATTRIBUTE: &str = "pulse-rejected-reason";
/// Message attribute naming the consumer that rejected it.
pub const CONSUMER_ATTRIBUTE: &str = "pulse-consumer";
/// Message attribute with the original SQS message id.
pub const ORIGINAL_ID_ATTRIBUTE: &str = "pulse-original-message-id";

/// The dead-letter queue of one consumer, resolved lazily (a consumer that never rejects anything
/// never looks it up).
pub struct DeadLetters {
    client: aws_sdk_sqs::Client,
    queue_name: String,
    consumer: String,
    queue: OnceCell<Queue>,
}

impl DeadLetters {
    pub fn new(client: aws_sdk_sqs::Client, queue_name: impl Into<String>, consumer: impl Into<String>) -> Self {
        Self { client, queue_name: queue_name.into(), consumer: consumer.into(), queue: OnceCell::new() }
    }

    pub fn queue_name(&self) -> &str {
        &self.queue_name
    }

    /// Copy `message` to the DLQ with `reason`. Reasons are cut to SQS's attribute size comfort
    /// zone; the full reason is in the consumer's log line.
    pub async fn send(&self, message: &InboundMessage, reason: &str) -> Result<(), SqsError> {
        let queue = self.queue.get_or_try_init(|| Queue::from_name(self.client.clone(), &self.queue_name)).await?;
        let reason = truncate(reason, 4096);
        queue
            .send(
                &message.body,
                &[(REASON_ATTRIBUTE, reason), (CONSUMER_ATTRIBUTE, &self.consumer), (ORIGINAL_ID_ATTRIBUTE, &message.message_id)],
            )
            .await
            .map(|_| ())
    }
}
