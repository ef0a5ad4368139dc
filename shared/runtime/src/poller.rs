//! Long-polling SQS transport for the local stack and integration tests.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use pulse_aws::sqs::{Queue, ReceivedMessage, SqsError};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::consume::{Disposition, InboundMessage, process};
use crate::dead_letter::DeadLetters;
use crate::handler::MessageHandler;

/// How the poller behaves.
#[derive(Debug, Clone)]
pub struct PollerOptions {
    /// Receive loops running in parallel.
    pub concurrency: usize,
    /// Messages per receive (1..=10).
    pub batch_size: i32,
    /// Long-poll wait (0..=20 s).
    pub wait_seconds: i32,
    /// Longest delay before a retryable failure is seen again.
    pub max_retry_delay: Duration,
}

impl Default for PollerOptions {
    fn default() -> Self {
        Self { concurrency: 2, batch_size: 10, wait_seconds: 20, max_retry_delay: Duration::from_secs(300) }
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

/// Poll `queue` until `stop` turns true, with `options.concurrency` loops. Returns the totals.
pub async fn run<H: MessageHandler>(
    handler: Arc<H>,
    queue: Queue,
    dead_letters: Arc<DeadLetters>,
    options: PollerOptions,
    stop: watch::Receiver<bool>,
) -> RoundStats {
    let loops = (0..options.concurrency.max(1)).map(|_| {
        let (handler, queue, dead_letters, options, mut stop) =
            (handler.clone(), queue.clone(), dead_letters.clone(), options.clone(), stop.clone());
        tokio::spawn(async move {
            let mut totals = RoundStats::default();
            let mut failures = 0u32;
            while !*stop.borrow() {
                let round = tokio::select! {
                    round = poll_once(&*handler, &queue, &dead_letters, &options) => round,
                    _ = stop.changed() => break,
                };
                match round {
                    Ok(stats) => {
                        failures = 0;
                        totals.add(&stats);
                    }
                    Err(err) => {
                        failures += 1;
                        let delay = Duration::from_millis(200 * 2u64.pow(failures.min(6)));
                        warn!(queue = queue.url(), error = %err, ?delay, "receive failed; backing off");
                        tokio::time::sleep(delay).await;
                    }
                }
            }
            totals
        })
    });
    let mut totals = RoundStats::default();
    for stats in join_all(loops).await.into_iter().flatten() {
        totals.add(&stats);
    }
    info!(?totals, "poller stopped");
    totals
}

/// One receive (long poll), every message processed concurrently, settled ones deleted in one
/// batch, retryable ones made visible again after a delay that grows with the receive count.
pub async fn poll_once<H: MessageHandler>(
    handler: &H,
    queue: &Queue,
    dead_letters: &DeadLetters,
    options: &PollerOptions,
) -> Result<RoundStats, SqsError> {
    let received = queue.receive(options.batch_size, options.wait_seconds).await?;
    let mut stats = RoundStats { received: received.len(), ..RoundStats::default() };
    if received.is_empty() {
        return Ok(stats);
    }
    let inbound: Vec<InboundMessage> = received.iter().map(to_inbound).collect();
    let dispositions = join_all(inbound.iter().map(|m| process(handler, dead_letters, m))).await;

    let mut settled = Vec::new();
    for (message, disposition) in received.iter().zip(&dispositions) {
        match disposition {
            Disposition::Done => {
                stats.done += 1;
                settled.push(message.receipt_handle.clone());
            }
            Disposition::DeadLettered { .. } => {
                stats.dead_lettered += 1;
                settled.push(message.receipt_handle.clone());
            }
            Disposition::Retry { .. } => {
                stats.retried += 1;
                let delay = retry_delay(message.receive_count, options.max_retry_delay);
                if let Err(err) = queue.change_visibility(&message.receipt_handle, delay.as_secs() as i32).await {
                    warn!(message_id = %message.message_id, error = %err, "could not delay the retry; SQS visibility timeout applies");
                }
            }
        }
    }
    if !settled.is_empty() {
        queue.delete_batch(&settled).await?;
    }
    Ok(stats)
}

/// 1 s, 2 s, 4 s ... capped: a failing dependency is not hammered, a transient blip retries fast.
pub fn retry_delay(receive_count: u32, max: Duration) -> Duration {
    let secs = 1u64 << receive_count.saturating_sub(1).min(16);
    Duration::from_secs(secs).min(max)
}

fn to_inbound(message: &ReceivedMessage) -> InboundMessage {
    InboundMessage {
        message_id: message.message_id.clone(),
        body: message.body.clone(),
        receive_count: message.receive_count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_and_caps() {
        let max = Duration::from_secs(300);
        assert_eq!(retry_delay(1, max), Duration::from_secs(1));
        assert_eq!(retry_delay(2, max), Duration::from_secs(2));
        assert_eq!(retry_delay(4, max), Duration::from_secs(8));
        assert_eq!(retry_delay(30, max), max);
    }
}
