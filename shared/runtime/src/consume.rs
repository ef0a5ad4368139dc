//! Processing one SQS message, identically for every transport.

use pulse_contracts::from_sqs_body;
use tracing::{Instrument, error, info, info_span, warn};

use crate::dead_letter::DeadLetters;
use crate::handler::{HandlerError, MessageHandler};

/// One message as any transport receives it.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub message_id: String,
    pub body: String,
    /// How many times SQS has delivered it (1 on the first delivery).
    pub receive_count: u32,
}

/// What the transport must do with the message afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Handled (or deliberately dropped): delete it from the queue.
    Done,
    /// Rejected and copied to the dead-letter queue with its reason: delete it from the queue.
    DeadLettered { reason: String },
    /// Leave it on the queue so SQS redelivers it; after the redrive count SQS moves it to the
    /// dead-letter queue.
    Retry { reason: String },
}

impl Disposition {
    /// Whether the transport should delete the message from the source queue.
    pub fn is_settled(&self) -> bool {
        !matches!(self, Disposition::Retry { .. })
    }
}

/// Parse, dispatch and classify one message. Every log line inside carries the message id and,
/// once parsed, the event id and type.
pub async fn process<H: MessageHandler>(
    handler: &H,
    dead_letters: &DeadLetters,
    message: &InboundMessage,
) -> Disposition {
    let span = info_span!(
        "message",
        service = handler.service(),
        message_id = %message.message_id,
        receive_count = message.receive_count,
        event_id = tracing::field::Empty,
        event_type = tracing::field::Empty,
        dedup_key = tracing::field::Empty,
    );
    process_in_span(handler, dead_letters, message).instrument(span).await
}

async fn process_in_span<H: MessageHandler>(
    handler: &H,
    dead_letters: &DeadLetters,
    message: &InboundMessage,
) -> Disposition {
    let envelope = match from_sqs_body(&message.body) {
        Ok(envelope) => envelope,
        Err(err) => {
            let reason = format!("{} cannot accept this message: {err}", handler.service());
            return dead_letter(dead_letters, message, reason).await;
        }
    };
    let span = tracing::Span::current();
    span.record("event_id", tracing::field::display(&envelope.id));
    span.record("event_type", tracing::field::display(envelope.detail_type()));
    span.record("dedup_key", envelope.dedup_key.as_str());

    match handler.handle(envelope).await {
        Ok(()) => {
            info!("handled");
            Disposition::Done
        }
        Err(HandlerError::Rejected(reason)) => dead_letter(dead_letters, message, reason).await,
        Err(HandlerError::Retryable(reason)) => {
            warn!(%reason, "handling failed; the message will be retried");
            Disposition::Retry { reason }
        }
    }
}

async fn dead_letter(dead_letters: &DeadLetters, message: &InboundMessage, reason: String) -> Disposition {
    match dead_letters.send(message, &reason).await {
        Ok(()) => {
            error!(%reason, "rejected; moved to the dead-letter queue");
            Disposition::DeadLettered { reason }
        }
        Err(err) => {
            // Leaving it on the queue is safe: SQS redrives it to the DLQ after the redrive count.
            error!(%reason, error = %err, "rejected, but the dead-letter queue could not be written; leaving it for redrive");
            Disposition::Retry { reason: format!("{reason} (dead-letter write failed: {err})") }
        }
    }
}
