//! Shared helpers for Pulse's integration tests: they run against the AWS emulator named by
//! `AWS_ENDPOINT_URL` (see `tests/run`) and create uniquely named resources, so tests can run in
//! parallel on one emulator without seeing each other.

use aws_config::SdkConfig;

pub mod github;
pub mod praktika;

/// The SDK configuration for the emulator. Panics with instructions when `AWS_ENDPOINT_URL` is
/// unset: these tests must never run against a real account by accident.
pub async fn emulator_config() -> SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "AWS_ENDPOINT_URL is not set: run the integration tests through `./tests/run`, which starts the emulator"
    );
    pulse_aws::config::load().await
}

/// A lowercase name unique to this test run, safe for queues, tables and buckets.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// Deploy Pulse's own stack (`infra/pulse-stack.json`) under `prefix` on the emulator through
/// the infra-reconciler, with the local tap queue (`<prefix>-tap`, every event on the bus) when
/// `local_tap`. Returns the stack's resource names.
pub async fn deploy_stack(prefix: &str, local_tap: bool) -> pulse_aws::names::StackNames {
    use pulse_infra_reconciler::{Clients, LoadOptions, PlanOptions, StackConfig, apply, plan};
    let config = emulator_config().await;
    let stack = StackConfig::pulse(&LoadOptions::new(prefix).flag("local_tap", local_tap)).expect("the stack file loads");
    let clients = Clients::new(&config);
    let plan = plan(&stack, &clients, &PlanOptions::default()).await.expect("plan the stack");
    apply(&plan, &clients, |_| {}).await.expect("deploy the stack");
    pulse_aws::names::StackNames::new(prefix)
}

/// An in-memory log sink for asserting what operators would read: hand it to a
/// `tracing_subscriber::fmt().json()` subscriber as its writer, then read the lines back.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Every line that is JSON, parsed.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.text().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Capture logs as the Lambda format writes them (JSON, the current span's fields on every line)
/// for the current thread; `#[tokio::test]` runs a test's tasks on it. Under `cargo nextest`
/// every test is its own process, so nothing else writes into the capture.
pub fn capture_logs() -> (CapturedLogs, tracing::subscriber::DefaultGuard) {
    let captured = CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

/// Everything currently in `queue` (received and deleted), waiting up to 10 s for at least
/// `expect_at_least` messages.
pub async fn drain(queue: &pulse_aws::sqs::Queue, expect_at_least: usize) -> Vec<pulse_aws::sqs::ReceivedMessage> {
    let mut all = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let batch = queue.receive(10, 1).await.expect("receive");
        if batch.is_empty() && (all.len() >= expect_at_least || std::time::Instant::now() > deadline) {
            break;
        }
        let handles: Vec<String> = batch.iter().map(|m| m.receipt_handle.clone()).collect();
        if !handles.is_empty() {
            queue.delete_batch(&handles).await.expect("delete");
        }
        all.extend(batch);
    }
    all
}

/// `handler` with its dead-letter queue and its claims table in the stack named `names`, as
/// `pulse_runtime::serve` builds it; failed messages are retried at once.
pub fn worker<H: pulse_runtime::MessageHandler>(
    config: &aws_config::SdkConfig,
    names: &pulse_aws::names::StackNames,
    handler: H,
) -> pulse_runtime::Worker<H> {
    let service = handler.service();
    let dead_letters = pulse_runtime::DeadLetters::new(aws_sdk_sqs::Client::new(config), names.dead_letter_queue(service), service);
    let clock = pulse_core::Clock::system();
    let claims = pulse_aws::idempotency::IdempotencyStore::new(
        aws_sdk_dynamodb::Client::new(config),
        names.table(service, "idempotency"),
        clock.clone(),
    );
    pulse_runtime::Worker::new(handler, dead_letters, claims, clock, pulse_core::Ids::random())
        .with_max_retry_delay(std::time::Duration::ZERO)
}

/// Handle one envelope through the runtime (accept, claim, run, settle) outside any queue.
pub async fn process_envelope<H: pulse_runtime::MessageHandler>(
    worker: &pulse_runtime::Worker<H>,
    envelope: &pulse_contracts::Envelope<pulse_contracts::Event>,
) -> pulse_runtime::Disposition {
    let message = pulse_runtime::InboundMessage::detached(envelope.to_json());
    worker.process(&message, &pulse_runtime::Detached).await
}

/// Run `worker` on `queue` (one receive round at a time, as the local worker does) until
/// `until_settled` messages were handled or dead-lettered, or `timeout` passes.
pub async fn poll_until_settled<H: pulse_runtime::MessageHandler>(
    worker: &pulse_runtime::Worker<H>,
    queue: &pulse_aws::sqs::Queue,
    options: &pulse_runtime::poller::PollerOptions,
    until_settled: usize,
    timeout: std::time::Duration,
) -> pulse_runtime::poller::RoundStats {
    let deadline = std::time::Instant::now() + timeout;
    let mut totals = pulse_runtime::poller::RoundStats::default();
    while totals.done + totals.dead_lettered < until_settled && std::time::Instant::now() < deadline {
        let round = pulse_runtime::poller::poll_once(worker, queue, options).await.expect("poll");
        totals.received += round.received;
        totals.done += round.done;
        totals.dead_lettered += round.dead_lettered;
        totals.retried += round.retried;
    }
    totals
}
