//! Long-polling SQS transport for the local stack and integration tests.
//!
//! Each receive asks for `visibility` (not the queue's, which is sized for Lambda): an attempt's
//! lease ends with it, and while the handler runs a heartbeat every third of it keeps the message
//! hidden and the claim held. A worker killed mid-message is thus recovered from a `visibility`
//! later, however long the queue's own timeout.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::join_all;
use pulse_aws::sqs::{Queue, ReceivedMessage, SqsError, clamp_visibility};
use pulse_core::retry::{Backoff, Retries};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use crate::attempt::Deadline;
use crate::consume::{InboundMessage, Inflight, Worker};
use crate::decide::Disposition;
use crate::handler::MessageHandler;

/// The wait after a failed receive: 0.4 s doubling up to 12.8 s (full jitter), reset by the
/// next successful one.
fn receive_backoff() -> Retries {
    Retries::new(Backoff::forever(Duration::from_millis(400), Duration::from_millis(12_800)))
}

/// How the poller behaves.
#[derive(Debug, Clone)]
pub struct PollerOptions {
    /// Receive loops running in parallel.
    pub concurrency: usize,
    /// Messages per receive (1..=10).
    pub batch_size: i32,
    /// Long-poll wait (0..=20 s).
    pub wait_seconds: i32,
    /// The visibility timeout each receive asks for: the lease of an attempt, renewed by its
    /// heartbeat.
    pub visibility: Duration,
    /// The queue's `maxReceiveCount`; [`run`] reads it from the queue when `None`.
    pub max_receive_count: Option<u32>,
}

impl Default for PollerOptions {
    fn default() -> Self {
        Self { concurrency: 2, batch_size: 10, wait_seconds: 20, visibility: Duration::from_secs(30), max_receive_count: None }
    }
}

/// What one receive-and-process round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundStats {
    pub received: usize,
    pub done: usize,
    pub dead_lettered: usize,
    pub retried: usize,
}

impl RoundStats {
    fn add(&mut self, other: &RoundStats) {
        self.received += other.received;
        self.done += other.done;
        self.dead_lettered += other.dead_lettered;
        self.retried += other.retried;
    }
}

/// A handle that stops pollers started with [`run`].
#[derive(Clone)]
pub struct Shutdown(watch::Sender<bool>);

impl Shutdown {
    pub fn new() -> (Self, watch::Receiver<bool>) {
        let (tx, rx) = watch::channel(false);
        (Self(tx), rx)
    }

    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

/// A receive loop ended without being asked to: the worker must not carry on as if healthy.
#[derive(Debug, thiserror::Error)]
#[error("a receive loop of queue {queue} died: {reason}")]
pub struct LoopDied {
    pub queue: String,
    pub reason: String,
}

/// Poll `queue` until `stop` turns true, with `options.concurrency` loops. Returns the totals, or
/// an error if a loop died (the others are stopped).
pub async fn run<H: MessageHandler + 'static>(
    worker: Arc<Worker<H>>,
    queue: Queue,
    mut options: PollerOptions,
    stop: watch::Receiver<bool>,
) -> Result<RoundStats, LoopDied> {
    if options.max_receive_count.is_none() {
        options.max_receive_count = match queue.policy().await {
            Ok(policy) => policy.max_receive_count,
            Err(err) => {
                warn!(queue = queue.name(), error = %err, "could not read the redrive policy; SQS alone decides when a message is dead");
                None
            }
        };
    }
    let (stop_all, _) = Shutdown::new();
    let mut loops = JoinSet::new();
    for _ in 0..options.concurrency.max(1) {
        let (worker, queue, options, mut stop, mut stop_all) =
            (worker.clone(), queue.clone(), options.clone(), stop.clone(), stop_all.0.subscribe());
        loops.spawn(async move {
            let mut totals = RoundStats::default();
            let mut failures = receive_backoff();
            while !*stop.borrow() && !*stop_all.borrow() {
                let round = tokio::select! {
                    round = poll_once(&worker, &queue, &options) => round,
                    _ = stop.changed() => break,
                    _ = stop_all.changed() => break,
                };
                match round {
                    Ok(stats) => {
                        failures.reset();
                        totals.add(&stats);
                    }
                    Err(err) => {
                        let delay = failures.next_delay();
                        warn!(queue = queue.url(), error = %err, ?delay, "receive failed; backing off");
                        tokio::time::sleep(delay).await;
                    }
                }
            }
            totals
        });
    }
    let mut totals = RoundStats::default();
    let mut died = None;
    while let Some(joined) = loops.join_next().await {
        match joined {
            Ok(stats) => totals.add(&stats),
            Err(err) => {
                error!(queue = queue.name(), error = %err, "a receive loop died; stopping the worker");
                stop_all.trigger();
                died.get_or_insert(LoopDied { queue: queue.name().to_owned(), reason: err.to_string() });
            }
        }
    }
    info!(?totals, "poller stopped");
    died.map_or(Ok(totals), Err)
}

/// One receive (long poll), every message processed concurrently, settled ones deleted in one
/// batch, the others made visible again when their disposition says.
pub async fn poll_once<H: MessageHandler>(worker: &Worker<H>, queue: &Queue, options: &PollerOptions) -> Result<RoundStats, SqsError> {
    let received = queue.receive_for(options.batch_size, options.wait_seconds, options.visibility).await?;
    // SQS started each message's visibility before this moment; a lease a second shorter ends
    // before the message can be received again, so a redelivery after a crash never finds it held.
    let deadline = Deadline::at(SystemTime::now() + options.visibility.saturating_sub(Duration::from_secs(1)));
    let mut stats = RoundStats { received: received.len(), ..RoundStats::default() };
    if received.is_empty() {
        return Ok(stats);
    }
    let dispositions = join_all(received.iter().map(|message| {
        let inbound = to_inbound(message, options.max_receive_count, deadline);
        let inflight = Polled { queue, receipt: &message.receipt_handle, visibility: options.visibility };
        async move { worker.process(&inbound, &inflight).await }
    }))
    .await;

    let mut settled = Vec::new();
    for (message, disposition) in received.iter().zip(&dispositions) {
        let inflight = Polled { queue, receipt: &message.receipt_handle, visibility: options.visibility };
        match disposition {
            Disposition::Done => {
                stats.done += 1;
                settled.push(message.receipt_handle.clone());
            }
            Disposition::Replaced { dead_lettered: None } => stats.done += 1,
            Disposition::Replaced { dead_lettered: Some(_) } => stats.dead_lettered += 1,
            Disposition::DeadLettered { .. } => {
                stats.dead_lettered += 1;
                settled.push(message.receipt_handle.clone());
            }
            Disposition::Retry { after, .. } => {
                stats.retried += 1;
                if let Err(err) = queue.change_visibility(&message.receipt_handle, clamp_visibility(*after)).await {
                    warn!(message_id = %message.message_id, error = %err, "could not delay the retry; the visibility timeout applies");
                }
            }
            Disposition::Requeue { after, .. } => {
                stats.retried += 1;
                if let Err(err) = inflight.replace(&message.body, &attributes(message), *after).await {
                    warn!(message_id = %message.message_id, error = %err, "could not replace the message on its last receive");
                }
            }
        }
    }
    if !settled.is_empty() {
        queue.delete_batch(&settled).await?;
    }
    Ok(stats)
}

fn attributes(message: &ReceivedMessage) -> Vec<(&str, &str)> {
    message.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn to_inbound(message: &ReceivedMessage, max_receive_count: Option<u32>, deadline: Deadline) -> InboundMessage {
    InboundMessage {
        message_id: message.message_id.clone(),
        body: message.body.clone(),
        receive_count: message.receive_count,
        max_receive_count,
        attributes: message.attributes.clone(),
        deadline,
    }
}

/// A received message of the poller's queue.
struct Polled<'a> {
    queue: &'a Queue,
    receipt: &'a str,
    visibility: Duration,
}

impl Inflight for Polled<'_> {
    fn heartbeat(&self) -> Option<Duration> {
        Some(self.visibility)
    }

    async fn hide(&self, period: Duration) -> Result<(), String> {
        self.queue.change_visibility(self.receipt, clamp_visibility(period)).await.map_err(|e| e.to_string())
    }

    async fn copy(&self, body: &str, attributes: &[(&str, &str)], after: Duration) -> Result<(), String> {
        self.queue.send_delayed(body, attributes, after).await.map(|_| ()).map_err(|e| e.to_string())
    }

    async fn delete(&self) -> Result<(), String> {
        self.queue.delete(self.receipt).await.map_err(|e| e.to_string())
    }
}
