//! home-renderer binary: an SQS-triggered Lambda in AWS, a long-polling worker locally.
//!
//! Configuration (environment):
//! - `PULSE_STACK`: stack prefix naming the queue, DLQ, tables and bus (default `pulse`);
//! - `EVENT_FEED_S3_PATH`: praktika's `bucket/prefix` of the feeds (default: the stack's feed
//!   bucket, no prefix), the same setting the feed-projector reads;
//! - `SLACK_BOT_TOKEN`, else the SSM parameter named by `PULSE_SLACK_BOT_TOKEN_PARAM`
//!   (default `pulse_slack_bot_token`); never logged;
//! - `SLACK_API_URL`: the Slack Web API root (default `https://slack.com/api`; the fake Slack's
//!   `/api` locally);
//! - `PULSE_SUBSCRIPTION_RETENTION_DAYS`: how long soft-deleted subscriptions are kept (30);
//! - `AWS_ENDPOINT_URL`: an emulator, if any.

use std::time::Duration;

use anyhow::Context;
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_aws::s3json::GzipJsonStore;
use pulse_aws::secrets::{Secrets, resolve};
use pulse_home_renderer::handler::HomeRenderer;
use pulse_home_renderer::store::Store;
use pulse_core::{Clock, Ids};
use pulse_home_renderer::views::ViewPublisher;
use pulse_slack::{ClientConfig, SlackClient};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::logging::init();
    let config = pulse_aws::config::load().await;
    let names = StackNames::from_env();
    let location = names.feed_location()?;
    let retention_days: u64 = match std::env::var("PULSE_SUBSCRIPTION_RETENTION_DAYS") {
        Ok(v) => v.parse().context("PULSE_SUBSCRIPTION_RETENTION_DAYS must be a whole number of days")?,
        Err(_) => 30,
    };

    let ssm = Secrets::new(aws_sdk_ssm::Client::new(&config));
    let parameter = std::env::var("PULSE_SLACK_BOT_TOKEN_PARAM").unwrap_or_else(|_| "pulse_slack_bot_token".to_owned());
    let token = resolve("SLACK_BOT_TOKEN", &parameter, Some(&ssm)).await.context("the Slack bot token")?;
    let mut slack_config = ClientConfig::new(token.expose());
    if let Ok(url) = std::env::var("SLACK_API_URL") {
        slack_config.base_url = url;
    }
    let slack = SlackClient::new(slack_config);

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
    let renderer = HomeRenderer::new(
        store,
        views,
        EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), names.bus()),
        clock,
        Ids::random(),
    );
    pulse_runtime::serve(&config, renderer).await.map_err(|e| anyhow::anyhow!(e))
}
