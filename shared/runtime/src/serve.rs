//! Entry point shared by every consuming service's `main`: Lambda when running in Lambda, the
//! long-polling runner otherwise.

use std::sync::Arc;

use pulse_aws::idempotency::IdempotencyStore;
use pulse_aws::names::StackNames;
use pulse_aws::sqs::Queue;
use pulse_core::{Clock, Ids, Settings};
use tracing::info;

use crate::consume::Worker;
use crate::dead_letter::DeadLetters;
use crate::handler::MessageHandler;
use crate::poller::{self, PollerOptions, Shutdown};
use crate::settings::{AWS_LAMBDA_RUNTIME_API, Runner};

/// Run `handler` on its queue, with its claims in `<stack>-<service>-idempotency`. Queue names
/// come from `PULSE_STACK` (see `StackNames`), or `PULSE_QUEUE` / `PULSE_DLQ` when set. The local
/// runner reads `PULSE_POLLER_CONCURRENCY` and `PULSE_POLLER_VISIBILITY_SECONDS`
/// ([`crate::settings`]) and stops on Ctrl-C / SIGTERM; it returns an error if a receive loop
/// died, so the process never exits 0 with its loops dead.
pub async fn serve<H: MessageHandler + 'static>(
    config: &aws_config::SdkConfig,
    settings: &Settings,
    handler: H,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if let Err(why) = crate::fault::check_env() {
        // The fault suite's contract: a binary that cannot inject faults refuses them, exit 2.
        eprintln!("error: {why}");
        std::process::exit(2);
    }
    let names = StackNames::from_settings(settings)?;
    let runner = Runner::from_settings(settings)?;
    let service = handler.service();
    let queue_name = runner.queue.clone().unwrap_or_else(|| names.queue(service));
    let dlq_name = runner.dead_letter_queue.clone().unwrap_or_else(|| names.dead_letter_queue(service));
    let sqs = aws_sdk_sqs::Client::new(config);
    // The edge: the one place a consumer's clock and attempt ids are the system's.
    let clock = Clock::system();
    let claims = IdempotencyStore::new(aws_sdk_dynamodb::Client::new(config), names.table(service, "idempotency"), clock.clone());
    let worker = Arc::new(Worker::new(handler, DeadLetters::new(sqs.clone(), dlq_name, service), claims, clock, Ids::random()));

    if settings.is_set(&AWS_LAMBDA_RUNTIME_API) {
        return crate::lambda::run(worker, sqs).await;
    }

    let queue = Queue::from_name(sqs, &queue_name).await?;
    let options = PollerOptions { concurrency: runner.concurrency, visibility: runner.visibility, ..PollerOptions::default() };
    info!(service, queue = %queue_name, concurrency = options.concurrency, visibility = ?options.visibility, "polling");
    let (shutdown, stop) = Shutdown::new();
    tokio::spawn(async move {
        crate::shutdown::signal().await;
        shutdown.trigger();
    });
    poller::run(worker, queue, options, stop).await?;
    Ok(())
}
