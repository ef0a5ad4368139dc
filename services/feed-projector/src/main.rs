//! feed-projector binary: an SQS-triggered Lambda in AWS, a long-polling worker locally.
//!
//! Configuration: `settings.rs` (the README's table lists every variable).

use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_aws::s3json::GzipJsonStore;
use pulse_core::{Clock, Ids, Settings};
use pulse_feed_projector::cache::FeedCache;
use pulse_feed_projector::handler::FeedProjector;

/// mimalloc, not the system allocator: reading a feed the worker has not cached is tens of
/// thousands of small allocations, and the cold merge is ~15% faster with it (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::main(run()).await
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env();
    pulse_runtime::logging::init(&settings)?;
    let own = pulse_feed_projector::settings::Config::from_settings(&settings)?;
    let config = pulse_aws::config::load().await;
    let names = StackNames::from_settings(&settings)?;
    let location = names.feed_location(&settings)?;
    let projector = FeedProjector::new(
        GzipJsonStore::new(pulse_aws::config::s3_client(&config), location.bucket.clone()),
        location,
        EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), names.bus()),
        Clock::system(),
        Ids::random(),
    )
    .with_rules(own.rules)
    .with_cache(FeedCache::new(own.cache_capacity));
    pulse_runtime::serve(&config, &settings, projector).await.map_err(|e| anyhow::anyhow!(e))
}
