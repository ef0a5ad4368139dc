//! praktika-compat binary: a Lambda function deployed as `praktika_slack_worker` (us-east-1),
//! invoked asynchronously by praktika with a raw JSON payload.
//!
//! Configuration (environment):
//! - `PULSE_STACK`: stack prefix naming the bus (default `pulse`);
//! - `EVENT_FEED_S3_PATH`: praktika's `bucket/prefix` for feeds, the same value praktika and the
//!   feed-projector use (default: the stack's feed bucket, no prefix);
//! - `PULSE_SLACK_TEAM_ID`: the Slack workspace praktika's app serves (required);
//! - `PULSE_BUS_REGION`: the region of Pulse's bus when it is not the function's own (praktika
//!   invokes the worker in us-east-1 whatever region Pulse runs in);
//! - `AWS_ENDPOINT_URL`: an emulator, if any.

use anyhow::Context;
use lambda_runtime::{LambdaEvent, service_fn};
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_core::{Clock, Ids};
use pulse_praktika_compat::{Compat, Config};
use serde_json::Value;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::logging::init();
    let aws = pulse_aws::config::load().await;
    let names = StackNames::from_env();
    let location = names.feed_location()?;
    let team_id = std::env::var("PULSE_SLACK_TEAM_ID").ok().filter(|t| !t.trim().is_empty()).context("PULSE_SLACK_TEAM_ID must name the Slack workspace praktika's app serves")?;
    let eventbridge = match std::env::var("PULSE_BUS_REGION").ok().filter(|r| !r.trim().is_empty()) {
        Some(region) => {
            let config = aws_sdk_eventbridge::config::Builder::from(&aws).region(aws_sdk_eventbridge::config::Region::new(region)).build();
            aws_sdk_eventbridge::Client::from_conf(config)
        }
        None => aws_sdk_eventbridge::Client::new(&aws),
    };
    let compat = Compat::new(Config { location, team_id }, EventPublisher::new(eventbridge, names.bus()), Clock::system(), Ids::random());
    let compat = &compat;
    // Boxed: the runtime's future is too deep for the compiler's layout query otherwise.
    Box::pin(lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        compat.handle(&event.payload, &event.context.request_id).await.map_err(lambda_runtime::Error::from)
    })))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
