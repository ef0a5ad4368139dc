//! Entry point shared by every consuming service's `main`: Lambda when running in Lambda, the
//! long-polling runner otherwise.

use std::sync::Arc;

use pulse_aws::names::StackNames;
use pulse_aws::sqs::Queue;
use tracing::info;

use crate::dead_letter::DeadLetters;
use crate::handler::MessageHandler;
use crate::logging::in_lambda;
use crate::poller::{self, PollerOptions, Shutdown};

/// Run `handler` on its queue. Queue names come from `PULSE_STACK` (see `StackNames`), or
/// `PULSE_QUEUE` / `PULSE_DLQ` when set. The local runner stops on Ctrl-C / SIGTERM.
pub async fn serve<H: MessageHandler>(
    config: &aws_config::SdkConfig,
    handler: H,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let names = StackNames::from_env();
    let service = handler.service();
    let queue_name = std::env::var("PULSE_QUEUE").unwrap_or_else(|_| names.queue(service));
    let dlq_name = std::env::var("PULSE_DLQ").unwrap_or_else(|_| names.dead_letter_queue(service));
    let sqs = aws_sdk_sqs::Client::new(config);
    let dead_letters = Arc::new(DeadLetters::new(sqs.clone(), dlq_name, service));
    let handler = Arc::new(handler);

    if in_lambda() {
        return crate::lambda::run(handler, dead_letters).await;
    }

    let queue = Queue::from_name(sqs, &queue_name).await?;
    let options = PollerOptions {
        concurrency: std::env::var("PULSE_POLLER_CONCURRENCY").ok().and_then(|v| v.parse().ok()).unwrap_or(2),
        ..PollerOptions::default()
    };
    info!(service, queue = %queue_name, concurrency = options.concurrency, "polling");
    let (shutdown, stop) = Shutdown::new();
    tokio::spawn(async move {
        wait_for_signal().await;
        shutdown.trigger();
    });
    poller::run(handler, queue, dead_letters, options, stop).await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
