//! feed-projector binary: an SQS-triggered Lambda in AWS, a long-polling worker locally.
//!
//! Configuration (environment):
//! - `PULSE_STACK`: stack prefix naming the queue, DLQ, idempotency table and bus (default `pulse`);
//! - `EVENT_FEED_S3_PATH`: praktika's `bucket/prefix` for feeds (default: the stack's feed bucket,
//!   no prefix), split exactly as praktika splits it;
//! - `PULSE_FEED_RETENTION_DAYS`: praktika's `MAX_TIMELINE_DAYS` (default 30);
//! - `AWS_ENDPOINT_URL`: an emulator, if any.

use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_aws::s3json::GzipJsonStore;
use pulse_core::{Clock, Ids};
use pulse_feed_projector::handler::FeedProjector;

/// mimalloc, not the system allocator: reading a feed the worker has not cached is tens of
/// thousands of small allocations, and the cold merge is ~15% faster with it (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::logging::init();
    let config = pulse_aws::config::load().await;
    let names = StackNames::from_env();
    let location = names.feed_location()?;
    let rules = pulse_feed_projector::merge::Rules::from_env().map_err(anyhow::Error::msg)?;
    let projector = FeedProjector::new(
        GzipJsonStore::new(pulse_aws::config::s3_client(&config), location.bucket.clone()),
        location,
        EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), names.bus()),
        Clock::system(),
        Ids::random(),
    )
    .with_rules(rules);
    pulse_runtime::serve(&config, projector).await.map_err(|e| anyhow::anyhow!(e))
}
