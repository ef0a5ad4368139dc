//! home-renderer binary: an SQS-triggered Lambda in AWS, a long-polling worker locally.
//!
//! Configuration: `settings.rs` (the README's table lists every variable).

use std::time::Duration;

use anyhow::Context;
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_aws::s3json::GzipJsonStore;
use pulse_aws::secrets::{Secrets, source};
use pulse_aws::settings::subscription_retention_days;
use pulse_core::{Clock, Ids, Settings};
use pulse_home_renderer::handler::HomeRenderer;
use pulse_home_renderer::settings::PULSE_SLACK_BOT_TOKEN;
use pulse_home_renderer::store::Store;
use pulse_home_renderer::views::ViewPublisher;
use pulse_slack::settings::SLACK_API_URL;
use pulse_slack::{ClientConfig, SlackClient};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::main(run()).await
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env();
    pulse_runtime::logging::init(&settings)?;
    let retention_days = u64::from(subscription_retention_days(&settings)?);
    let slack_api_url = settings.required(&SLACK_API_URL)?;
    let config = pulse_aws::config::load().await;
    let names = StackNames::from_settings(&settings)?;
    let location = names.feed_location(&settings)?;

    let ssm = Secrets::new(aws_sdk_ssm::Client::new(&config));
    let token = source(&PULSE_SLACK_BOT_TOKEN, &settings, &ssm).await.context("the Slack bot token")?;
    let slack = SlackClient::new(ClientConfig { base_url: slack_api_url, ..ClientConfig::new(token) });

    let clock = Clock::system();
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let store = Store::new(dynamo, names.table("home-renderer", "subscriptions"), clock.clone())
        .with_retention(Duration::from_secs(retention_days * 86_400));
    let views = ViewPublisher::new(
        store.clone(),
        GzipJsonStore::new(pulse_aws::config::s3_client(&config), location.bucket.clone()),
        location,
        slack,
        clock.clone(),
    )
    .with_retention_days(retention_days);
    let renderer =
        HomeRenderer::new(store, views, EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), names.bus()), clock, Ids::random());
    pulse_runtime::serve(&config, &settings, renderer).await.map_err(|e| anyhow::anyhow!(e))
}
