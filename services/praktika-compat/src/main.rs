//! praktika-compat binary: a Lambda function deployed as `praktika_slack_worker` (us-east-1),
//! invoked asynchronously by praktika with a raw JSON payload.
//!
//! Configuration: `settings.rs` (the README's table lists every variable).

use lambda_runtime::{LambdaEvent, service_fn};
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_core::{Clock, Ids, Settings};
use pulse_praktika_compat::settings::{PULSE_BUS_REGION, PULSE_SLACK_TEAM_ID};
use pulse_praktika_compat::{Compat, Config};
use serde_json::Value;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::main(run()).await
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env();
    pulse_runtime::logging::init(&settings)?;
    let team_id = settings.required(&PULSE_SLACK_TEAM_ID)?.trim().to_owned();
    let bus_region = settings.text(&PULSE_BUS_REGION)?;
    let aws = pulse_aws::config::load().await;
    let names = StackNames::from_settings(&settings)?;
    let location = names.feed_location(&settings)?;
    let eventbridge = match bus_region {
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
