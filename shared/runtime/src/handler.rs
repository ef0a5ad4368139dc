//! The business-side contract of a queue consumer.
//!
//! A service says three things, and nothing about queues, batches or claims:
//! - which events it consumes ([`MessageHandler::accept`]): the ones it takes, typed; the ones of
//!   a type it consumes that are another service's work (the home-renderer and the notifier share
//!   `slack.command` and `slack.interaction`), acknowledged and ignored; anything else, rejected to
//!   the dead-letter queue with the reason;
//! - how its dedup key is derived ([`MessageHandler::dedup_key`]): by default the envelope's;
//! - what it does with one event ([`MessageHandler::handle`]).
//!
//! The runtime ([`crate::consume`]) claims the key, runs the handler once per claim, and settles.

use std::future::Future;

use pulse_contracts::{Envelope, Event};

use crate::attempt::Attempt;

/// The envelope without its detail: what the runtime and a handler know of an event besides
/// its typed content.
pub type Meta = Envelope<()>;

/// What a service makes of an event it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accept<T> {
    /// Its own: handle it.
    Consume(T),
    /// A type it consumes, carrying another service's work: acknowledged, nothing done.
    Ignore(String),
    /// Not something it consumes (type, version, or content that can never succeed): sent to the
    /// dead-letter queue with this reason.
    Reject(String),
}

/// What a service does with the events it consumes. Implementations are transport-free.
pub trait MessageHandler: Send + Sync {
    /// The typed events it consumes.
    type Input: Send;

    /// The consuming service's name, as in `pulse_aws::names::CONSUMERS` (logs, dead-letter
    /// reasons, its idempotency table).
    fn service(&self) -> &'static str;

    /// Take, ignore or reject one event.
    fn accept(&self, event: Event) -> Accept<Self::Input>;

    /// The key whose claim makes handling exactly once (by default the envelope's `dedup_key`).
    /// `None`: no claim; the handler's effects are idempotent by themselves.
    fn dedup_key(&self, meta: &Meta, _input: &Self::Input) -> Option<String> {
        Some(meta.dedup_key.clone())
    }

    /// Handle one event, once per claim. Effects that are not idempotent by themselves (a Slack
    /// post, an S3 write, a publish) keep their own exactly-once record: an attempt may die after
    /// its effect and before the runtime records the completion.
    fn handle(&self, attempt: &Attempt, input: Self::Input) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// A borrowed handler is a handler (tests and tools run one they keep).
impl<H: MessageHandler> MessageHandler for &H {
    type Input = H::Input;

    fn service(&self) -> &'static str {
        (**self).service()
    }

    fn accept(&self, event: Event) -> Accept<Self::Input> {
        (**self).accept(event)
    }

    fn dedup_key(&self, meta: &Meta, input: &Self::Input) -> Option<String> {
        (**self).dedup_key(meta, input)
    }

    fn handle(&self, attempt: &Attempt, input: Self::Input) -> impl Future<Output = Result<(), HandlerError>> + Send {
        (**self).handle(attempt, input)
    }
}

/// A shared handler is a handler.
impl<H: MessageHandler> MessageHandler for std::sync::Arc<H> {
    type Input = H::Input;

    fn service(&self) -> &'static str {
        (**self).service()
    }

    fn accept(&self, event: Event) -> Accept<Self::Input> {
        (**self).accept(event)
    }

    fn dedup_key(&self, meta: &Meta, input: &Self::Input) -> Option<String> {
        (**self).dedup_key(meta, input)
    }

    fn handle(&self, attempt: &Attempt, input: Self::Input) -> impl Future<Output = Result<(), HandlerError>> + Send {
        (**self).handle(attempt, input)
    }
}

/// Why a message was not handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// The message can never succeed (invalid data, an unknown alert). It goes straight to the
    /// dead-letter queue with this reason.
    #[error("rejected: {0}")]
    Rejected(String),
    /// A dependency failed (AWS, Slack, a conflict that outlasted its retries). The message is
    /// retried with backoff and, on its last receive, dead-lettered with this reason.
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
}

/// The rejection of an event type `service` does not consume.
pub fn not_consumed<T>(service: &str, event: &Event) -> Accept<T> {
    Accept::Reject(format!("{service} does not consume `{}` version {}", event.event_type(), event.version()))
}
