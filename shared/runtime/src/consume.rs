//! Processing one SQS message, identically for every transport: parse, accept, claim, run (with
//! a heartbeat, panics caught), settle. The decisions are [`crate::decide`]'s; this module does
//! what they say.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use pulse_aws::idempotency::{Claim, IdempotencyStore, Status};
use pulse_contracts::{Envelope, Event, from_sqs_body};
use pulse_core::metric::{self, Name};
use pulse_core::{Clock, Ids};
use tracing::{Instrument, error, info, info_span, warn};

use crate::attempt::{Attempt, Deadline};
use crate::dead_letter::DeadLetters;
use crate::decide::{self, Disposition, Ran, Receive, Step};
use crate::fault;
use crate::handler::{Accept, HandlerError, MessageHandler, Meta};

/// Message attribute on the copy that replaces a message on its last receive: the attempt it
/// stands in for. When it arrives and that attempt has finished, it is dropped.
pub const GUARD_ATTRIBUTE: &str = "pulse-guards-attempt";

/// How long a message whose key a live attempt holds waits for that attempt before it is put
/// back until the holder's lease ends.
const HOLDER_PATIENCE: Duration = Duration::from_secs(3);

/// One message as any transport receives it.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    /// Empty when the record had none (a Lambda test event).
    pub message_id: String,
    pub body: String,
    /// How many times SQS has delivered it (1 on the first delivery).
    pub receive_count: u32,
    /// The queue's `maxReceiveCount`, if it has a redrive policy.
    pub max_receive_count: Option<u32>,
    /// Its string message attributes.
    pub attributes: HashMap<String, String>,
    /// When the attempt that received it can no longer be running.
    pub deadline: Deadline,
}

impl InboundMessage {
    /// A message handled outside any queue (tools and tests): first delivery, no redrive limit,
    /// a quarter of an hour to finish.
    pub fn detached(body: impl Into<String>) -> Self {
        InboundMessage {
            message_id: String::new(),
            body: body.into(),
            receive_count: 1,
            max_receive_count: None,
            attributes: HashMap::new(),
            deadline: Deadline::after(Duration::from_secs(900)),
        }
    }

    fn receive(&self) -> Receive {
        Receive { count: self.receive_count, max: self.max_receive_count }
    }
}

/// What a transport can do with a message while it is being handled.
pub trait Inflight: Sync {
    /// How long one heartbeat keeps the message hidden and the claim held; `None` when the
    /// transport's deadline is final (Lambda: the invocation cannot outlive it).
    fn heartbeat(&self) -> Option<Duration>;

    /// Keep the message hidden for `period` from now.
    fn hide(&self, period: Duration) -> impl Future<Output = Result<(), String>> + Send;

    /// Send a fresh copy of the message (`body`, with `attributes`) visible after `after`.
    fn copy(&self, body: &str, attributes: &[(&str, &str)], after: Duration) -> impl Future<Output = Result<(), String>> + Send;

    /// Delete the original.
    fn delete(&self) -> impl Future<Output = Result<(), String>> + Send;

    /// A fresh copy in place of the original: its receive count starts again.
    fn replace(&self, body: &str, attributes: &[(&str, &str)], after: Duration) -> impl Future<Output = Result<(), String>> + Send {
        async move {
            self.copy(body, attributes, after).await?;
            self.delete().await
        }
    }
}

/// No queue behind the message ([`InboundMessage::detached`]): nothing to hide or replace.
pub struct Detached;

impl Inflight for Detached {
    fn heartbeat(&self) -> Option<Duration> {
        None
    }

    async fn hide(&self, _period: Duration) -> Result<(), String> {
        Ok(())
    }

    async fn copy(&self, _body: &str, _attributes: &[(&str, &str)], _after: Duration) -> Result<(), String> {
        Err("a detached message is on no queue".to_owned())
    }

    async fn delete(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A handler with what the runtime needs around it: its dead-letter queue, its claims, the clock
/// its claim and retry decisions are taken at and the source of its attempt ids.
pub struct Worker<H> {
    pub handler: H,
    pub dead_letters: DeadLetters,
    claims: IdempotencyStore,
    max_retry_delay: Duration,
    clock: Clock,
    ids: Ids,
}

impl<H: MessageHandler> Worker<H> {
    pub fn new(handler: H, dead_letters: DeadLetters, claims: IdempotencyStore, clock: Clock, ids: Ids) -> Self {
        Self { handler, dead_letters, claims, max_retry_delay: Duration::from_secs(300), clock, ids }
    }

    /// Longest delay before a retryable failure is seen again (5 minutes by default).
    pub fn with_max_retry_delay(mut self, max: Duration) -> Self {
        self.max_retry_delay = max;
        self
    }

    pub fn claims(&self) -> &IdempotencyStore {
        &self.claims
    }

    /// Parse, accept, claim, run and settle one message. Every log line inside carries the
    /// message id and, once parsed, the event id, type and dedup key.
    pub async fn process(&self, message: &InboundMessage, inflight: &impl Inflight) -> Disposition {
        let span = info_span!(
            "message",
            service = self.handler.service(),
            message_id = %message.message_id,
            receive_count = message.receive_count,
            event_id = tracing::field::Empty,
            event_type = tracing::field::Empty,
            dedup_key = tracing::field::Empty,
        );
        let disposition = self.process_in_span(message, inflight).instrument(span).await;
        if matches!(disposition, Disposition::Retry { .. } | Disposition::Requeue { .. }) {
            metric::count(Name::MessagesRetried);
        }
        disposition
    }

    async fn process_in_span(&self, message: &InboundMessage, inflight: &impl Inflight) -> Disposition {
        let service = self.handler.service();
        let envelope = match from_sqs_body(&message.body) {
            Ok(envelope) => envelope,
            Err(err) => return self.dead_letter(message, format!("{service} cannot accept this message: {err}")).await,
        };
        let span = tracing::Span::current();
        span.record("event_id", tracing::field::display(&envelope.id));
        span.record("event_type", tracing::field::display(envelope.detail_type()));
        span.record("dedup_key", envelope.dedup_key.as_str());
        let (meta, event) = split(envelope);
        let input = match self.handler.accept(event) {
            Accept::Consume(input) => input,
            Accept::Ignore(reason) => {
                info!(%reason, "not this service's work; acknowledged");
                return Disposition::Done;
            }
            Accept::Reject(reason) => return self.dead_letter(message, reason).await,
        };
        let attempt = Attempt {
            id: self.ids.uuid().to_string(),
            meta,
            receive_count: message.receive_count,
            took_over_from: None,
            deadline: message.deadline,
        };
        match self.handler.dedup_key(&attempt.meta, &input) {
            Some(key) => self.claimed(message, inflight, attempt, input, &key).await,
            None => {
                let ran = self.run(&attempt, input, None, inflight).await;
                self.settle_unclaimed(message, &attempt, ran).await
            }
        }
    }

    async fn claimed(
        &self,
        message: &InboundMessage,
        inflight: &impl Inflight,
        mut attempt: Attempt,
        input: H::Input,
        key: &str,
    ) -> Disposition {
        if let Some(guarded) = message.attributes.get(GUARD_ATTRIBUTE) {
            match self.claims.get(key).await {
                Ok(Some(record)) if record.status == Status::InProgress && record.attempt.as_deref() == Some(guarded) => {}
                Ok(_) => {
                    info!(guarded, "the attempt this copy stood in for has finished; dropping the copy");
                    metric::count(Name::MessagesDeduplicated);
                    return Disposition::Done;
                }
                Err(err) => return self.retry(message, format!("reading the claim: {err}")),
            }
        }
        let claim = match self.claim(key, &attempt).await {
            Ok(claim) => claim,
            Err(err) => return self.retry(message, format!("claiming {key}: {err}")),
        };
        if let Claim::Acquired { died, previous } = &claim
            && *died > 0
        {
            warn!(died, previous, "taking over an event whose earlier attempt(s) did not finish");
            attempt.took_over_from = previous.clone();
        }
        let replace_first = match decide::after_claim(&claim, message.receive(), self.clock.now_ms()) {
            Step::Settle(disposition) => {
                if let Disposition::Done = disposition {
                    info!("already handled; nothing to do");
                    metric::count(Name::MessagesDeduplicated);
                } else {
                    info!(?disposition, "held by a live attempt; put back until its lease ends");
                }
                return disposition;
            }
            Step::DeadLetter(reason) => return self.dead_letter_claimed(message, key, &attempt, reason).await,
            Step::Run { replace_first } => replace_first,
        };
        let replaced = replace_first && self.replace_before_run(message, inflight, &attempt).await;
        let ran = self.run(&attempt, input, Some(key), inflight).await;
        if ran == Ran::Ok {
            fault::point("handled", key).await;
        }
        let disposition = decide::after_run(ran, message.receive(), self.max_retry_delay, self.clock.now_ms());
        let disposition = match disposition {
            Disposition::Done => {
                if let Err(err) = self.claims.complete(key, &attempt.id, None).await {
                    // The effect happened; a duplicate meets an ended lease and its effect's own
                    // record (ledger, conditional write, dedup key) makes it a no-op.
                    warn!(error = %err, "handled, but the completion could not be recorded");
                }
                info!("handled");
                self.count_handled(&attempt);
                Disposition::Done
            }
            Disposition::DeadLettered { reason } => self.dead_letter_claimed(message, key, &attempt, reason).await,
            Disposition::Retry { reason, after } | Disposition::Requeue { reason, after } if replaced => {
                // The original is gone and the copy standing in for this attempt will drop itself
                // (the attempt settled): a plain copy brings the event back.
                warn!(%reason, ?after, "not finished on its last receive; a fresh copy will bring it back");
                self.record(self.claims.fail(key, &attempt.id, &reason).await);
                let attributes = plain_attributes(message);
                if let Err(err) = inflight.copy(&message.body, &attributes, after).await {
                    error!(error = %err, "could not send the copy; the event is lost unless redelivered");
                }
                Disposition::Replaced { dead_lettered: None }
            }
            Disposition::Retry { reason, after } => {
                warn!(%reason, ?after, "not handled; the message will be retried");
                self.record(self.claims.fail(key, &attempt.id, &reason).await);
                Disposition::Retry { reason, after }
            }
            Disposition::Requeue { reason, after } => {
                warn!(%reason, ?after, "not handled on its last receive; replaced by a fresh copy");
                self.record(self.claims.fail(key, &attempt.id, &reason).await);
                Disposition::Requeue { reason, after }
            }
            other => other,
        };
        match disposition {
            Disposition::Done if replaced => Disposition::Replaced { dead_lettered: None },
            Disposition::DeadLettered { reason } if replaced => Disposition::Replaced { dead_lettered: Some(reason) },
            other => other,
        }
    }

    /// Claim `key`; if a live attempt holds it, watch it for a few seconds before giving up the
    /// receive: a duplicate delivered alongside the original is then settled as soon as the
    /// original finishes, not a whole lease later.
    async fn claim(&self, key: &str, attempt: &Attempt) -> Result<Claim, pulse_aws::idempotency::IdempotencyError> {
        // Never more than a third of this attempt's own time, so that it still has most of its
        // lease left if the holder finishes without completing (a failure: the key is free).
        let patience = tokio::time::Instant::now() + HOLDER_PATIENCE.min(attempt.deadline.remaining() / 3);
        loop {
            let claim = self.claims.claim(key, &attempt.id, attempt.deadline.unix_ms()).await?;
            match claim {
                Claim::Held { until_ms, .. } if tokio::time::Instant::now() < patience => {
                    let left = until_ms.saturating_sub(self.clock.now_ms()).max(0) as u64;
                    tokio::time::sleep(Duration::from_millis(left.clamp(50, 250))).await;
                }
                claim => return Ok(claim),
            }
        }
    }

    /// The last receive: swap the message for a copy that shows up when this attempt's lease ends.
    async fn replace_before_run(&self, message: &InboundMessage, inflight: &impl Inflight, attempt: &Attempt) -> bool {
        let after = attempt.deadline.remaining() + Duration::from_secs(1);
        let mut attributes = plain_attributes(message);
        attributes.push((GUARD_ATTRIBUTE, attempt.id.as_str()));
        match inflight.replace(&message.body, &attributes, after).await {
            Ok(()) => {
                info!(?after, "last receive: replaced by a copy that takes over if this attempt dies");
                true
            }
            Err(err) => {
                warn!(error = %err, "last receive, and the message could not be replaced; running anyway");
                false
            }
        }
    }

    /// Run the handler with panics caught and, where the transport has one, a heartbeat that
    /// keeps the message hidden and the claim held while it runs. An attempt whose lease could not
    /// be renewed before it ended (the claims table unreachable, or the key taken over) stops
    /// there, as if it had died: another attempt may own the event now, and two live attempts at
    /// once is what the lease exists to prevent.
    async fn run(&self, attempt: &Attempt, input: H::Input, key: Option<&str>, inflight: &impl Inflight) -> Ran {
        let started = std::time::Instant::now();
        // Boxed: a handler's future is large (in debug builds several times so), and inline it
        // would sit on the stack of whatever awaits the worker; one allocation per message.
        let ran = Box::pin(self.run_guarded(attempt, input, key, inflight)).await;
        metric::duration(Name::HandlerTime, started.elapsed());
        ran
    }

    async fn run_guarded(&self, attempt: &Attempt, input: H::Input, key: Option<&str>, inflight: &impl Inflight) -> Ran {
        let work = async {
            if let Some(key) = key {
                fault::point("claimed", key).await;
            }
            let handled = attempt.scope(self.handler.handle(attempt, input));
            // A final deadline (Lambda's) is every retry's budget inside the handler: none may
            // sleep past it. A renewable one (the poller's, extended by the heartbeat) is not.
            match inflight.heartbeat() {
                None => attempt.deadline.scope(handled).await,
                Some(_) => handled.await,
            }
        };
        let guarded = AssertUnwindSafe(work).catch_unwind();
        let result = match (inflight.heartbeat(), key) {
            (Some(period), Some(key)) => {
                let beats = self.heartbeat(attempt, key, period, inflight);
                tokio::select! {
                    result = guarded => result,
                    lost = beats => {
                        error!(reason = %lost, "lease lost; stopping this attempt");
                        Ok(Err(HandlerError::Retryable(format!("stopped: {lost}"))))
                    }
                }
            }
            _ => guarded.await,
        };
        match result {
            Ok(Ok(())) => Ran::Ok,
            Ok(Err(HandlerError::Rejected(reason))) => Ran::Rejected(reason),
            Ok(Err(HandlerError::Retryable(reason))) => Ran::Retryable(reason),
            Ok(Err(HandlerError::Wait { reason, until })) => Ran::Wait { reason, until_ms: until.unix_ms() },
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                error!(panic = %message, "the handler panicked");
                Ran::Panicked(message)
            }
        }
    }

    /// Renew the lease every third of `period`; returns why it was lost, if it ever is.
    async fn heartbeat(&self, attempt: &Attempt, key: &str, period: Duration, inflight: &impl Inflight) -> String {
        use tokio::time::{Instant, sleep, timeout_at};
        let every = (period / 3).max(Duration::from_millis(200));
        // A second short of the message's visibility, as the poller's first lease.
        let length = period.saturating_sub(Duration::from_secs(1));
        let mut lease_end = Instant::now() + attempt.deadline.remaining();
        loop {
            sleep(every).await;
            let next_end = Instant::now() + length;
            let renewal = async {
                if let Err(err) = inflight.hide(period).await {
                    warn!(error = %err, "heartbeat: could not keep the message hidden");
                }
                self.claims.extend(key, &attempt.id, Deadline::after(length).unix_ms()).await
            };
            match timeout_at(lease_end, renewal).await {
                Ok(Ok(true)) => lease_end = next_end,
                Ok(Ok(false)) => return "another attempt holds the claim now".to_owned(),
                Ok(Err(err)) => warn!(error = %err, "heartbeat: could not extend the claim"),
                Err(_) => return "the lease ended before the heartbeat could renew it".to_owned(),
            }
            if Instant::now() >= lease_end {
                return "the lease ended before the heartbeat could renew it".to_owned();
            }
        }
    }

    async fn settle_unclaimed(&self, message: &InboundMessage, attempt: &Attempt, ran: Ran) -> Disposition {
        match decide::after_run(ran, message.receive(), self.max_retry_delay, self.clock.now_ms()) {
            Disposition::DeadLettered { reason } => self.dead_letter(message, reason).await,
            Disposition::Retry { reason, after } => {
                warn!(%reason, ?after, "handling failed; the message will be retried");
                Disposition::Retry { reason, after }
            }
            other => {
                info!("handled");
                self.count_handled(attempt);
                other
            }
        }
    }

    /// A message handled: counted, with the time from its event to now (its effects done).
    fn count_handled(&self, attempt: &Attempt) {
        metric::count(Name::MessagesHandled);
        let since = self.clock.now() - attempt.meta.occurred_at;
        metric::duration(Name::EndToEndLatency, since.to_std().unwrap_or_default());
    }

    /// Dead-letter a message whose key this attempt holds, and say so on the key (a replay after
    /// a fix then starts afresh).
    async fn dead_letter_claimed(&self, message: &InboundMessage, key: &str, attempt: &Attempt, reason: String) -> Disposition {
        let disposition = self.dead_letter(message, reason.clone()).await;
        let recorded = match &disposition {
            Disposition::DeadLettered { .. } => self.claims.dead_lettered(key, &attempt.id, &reason).await,
            _ => self.claims.fail(key, &attempt.id, &reason).await,
        };
        self.record(recorded);
        disposition
    }

    fn retry(&self, message: &InboundMessage, reason: String) -> Disposition {
        let after = decide::retry_delay(message.receive_count, self.max_retry_delay);
        warn!(%reason, ?after, "could not reach the claims table; the message will be retried");
        Disposition::Retry { reason, after }
    }

    fn record(&self, result: Result<(), pulse_aws::idempotency::IdempotencyError>) {
        if let Err(err) = result {
            warn!(error = %err, "could not record the outcome on the claim; its lease will end instead");
        }
    }

    async fn dead_letter(&self, message: &InboundMessage, reason: String) -> Disposition {
        match self.dead_letters.send(message, &reason).await {
            Ok(()) => {
                error!(%reason, "rejected; moved to the dead-letter queue");
                metric::count(Name::MessagesDeadLettered);
                Disposition::DeadLettered { reason }
            }
            Err(err) => {
                // Leaving it on the queue is safe: a later receive tries again.
                error!(%reason, error = %err, "rejected, but the dead-letter queue could not be written; leaving it for a retry");
                let after = decide::retry_delay(message.receive_count, self.max_retry_delay);
                Disposition::Retry { reason: format!("{reason} (dead-letter write failed: {err})"), after }
            }
        }
    }
}

/// The message's attributes, less the guard mark of an earlier copy.
fn plain_attributes(message: &InboundMessage) -> Vec<(&str, &str)> {
    message.attributes.iter().filter(|(k, _)| k.as_str() != GUARD_ATTRIBUTE).map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn split(envelope: Envelope<Event>) -> (Meta, Event) {
    let Envelope { id, event_type, version, occurred_at, source, dedup_key, detail } = envelope;
    (Envelope { id, event_type, version, occurred_at, source, dedup_key, detail: () }, detail)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_owned())
}
