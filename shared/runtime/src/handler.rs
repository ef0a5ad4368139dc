//! The business-side contract of a queue consumer.

use std::future::Future;

use pulse_contracts::Envelope;
use pulse_contracts::Event;

/// What a service does with one event. Implementations are transport-free: they receive a typed
/// envelope (parsed and schema-checked at the edge) and return how it went.
pub trait MessageHandler: Send + Sync + 'static {
    /// The consuming service's name, as in `pulse_aws::names::CONSUMERS` (used in logs and in
    /// the dead-letter reason).
    fn service(&self) -> &'static str;

    /// Handle one event. Must be idempotent: SQS delivers at least once.
    fn handle(&self, envelope: Envelope<Event>) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// Why a message was not handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// The message can never succeed (wrong type or version for this consumer, invalid data).
    /// It goes straight to the dead-letter queue with this reason.
    #[error("rejected: {0}")]
    Rejected(String),
    /// A dependency failed (AWS, Slack, a conflict that outlasted its retries). The message is
    /// retried with backoff and reaches the dead-letter queue after the redrive count.
    #[error("retryable: {0}")]
    Retryable(String),
}

impl HandlerError {
    pub fn rejected(reason: impl std::fmt::Display) -> Self {
        Self::Rejected(reason.to_string())
    }

    pub fn retryable(reason: impl std::fmt::Display) -> Self {
        Self::Retryable(reason.to_string())
    }

    /// The error for an event type this consumer does not declare.
    pub fn unsupported(service: &str, event: &Event) -> Self {
        Self::Rejected(format!(
            "{service} does not consume `{}` version {}",
            event.event_type(),
            event.version()
        ))
    }
}
