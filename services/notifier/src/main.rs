//! notifier binary: an SQS-triggered Lambda in AWS, a long-polling worker locally.
//!
//! Configuration (environment):
//! - `PULSE_STACK`: stack prefix naming the queue, DLQ, tables and bus (default `pulse`);
//! - `NOTIFIER_CONFIG`: path of the routing file (see `config.rs`); `SLACK_DEFAULT_CHANNEL` and
//!   `SLACK_USERS_CHANNEL` fill what it leaves out; a default channel is required;
//! - `SLACK_BOT_TOKEN`, else the SSM parameter named by `PULSE_SLACK_BOT_TOKEN_PARAM`
//!   (default `pulse_slack_bot_token`); never logged;
//! - `SLACK_API_URL`: the Slack Web API root (the fake Slack's `/api` locally);
//! - `NOTIFIER_PACING_MS`: minimum gap between posts to one channel (default 1000);
//! - `NOTIFIER_UNCERTAIN_POLICY`: `assume_sent` (default) | `resend` | `hold`, for posts whose
//!   outcome Slack cannot confirm (see `delivery.rs`);
//! - `EVENT_FEED_S3_PATH`: praktika's `bucket/prefix` of the feeds, read for digests (default:
//!   the stack's feed bucket, no prefix);
//! - `PULSE_SUBSCRIPTION_RETENTION_DAYS`: how long soft-deleted subscriptions are kept before the
//!   daily tick purges them (30);
//! - `AWS_ENDPOINT_URL`: an emulator, if any.

use std::time::Duration;

use anyhow::Context;
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_aws::secrets::{Secrets, resolve};
use pulse_notifier::config::Config;
use pulse_aws::s3json::GzipJsonStore;
use pulse_notifier::delivery::{Deliverer, UncertainPolicy};
use pulse_notifier::gather::Feeds;
use pulse_notifier::sinks::{Discord, Email, ExternalSinks};
use pulse_notifier::handler::Notifier;
use pulse_notifier::store::Store;
use pulse_slack::ClientConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::logging::init();
    let config = pulse_aws::config::load().await;
    let names = StackNames::from_env();
    let routing = Config::from_env().context("the notifier's routing configuration")?;
    let pacing_ms: u64 = match std::env::var("NOTIFIER_PACING_MS") {
        Ok(v) => v.parse().context("NOTIFIER_PACING_MS must be milliseconds")?,
        Err(_) => 1000,
    };
    let policy = match std::env::var("NOTIFIER_UNCERTAIN_POLICY") {
        Ok(v) => UncertainPolicy::parse(&v).context("NOTIFIER_UNCERTAIN_POLICY must be assume_sent, resend or hold")?,
        Err(_) => UncertainPolicy::default(),
    };

    let ssm = Secrets::new(aws_sdk_ssm::Client::new(&config));
    let parameter = std::env::var("PULSE_SLACK_BOT_TOKEN_PARAM").unwrap_or_else(|_| "pulse_slack_bot_token".to_owned());
    let token = resolve("SLACK_BOT_TOKEN", &parameter, Some(&ssm)).await.context("the Slack bot token")?;
    let mut slack_config = ClientConfig::new(token.expose());
    if let Ok(url) = std::env::var("SLACK_API_URL") {
        slack_config.base_url = url;
    }

    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        names.table("notifier", "messages"),
        names.table("notifier", "audit"),
    );
    let deliverer = Deliverer::new(slack_config, store, Duration::from_millis(pacing_ms), policy);
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), names.bus());
    let location = names.feed_location()?;
    let retention_days: i64 = match std::env::var("PULSE_SUBSCRIPTION_RETENTION_DAYS") {
        Ok(v) => v.parse().context("PULSE_SUBSCRIPTION_RETENTION_DAYS must be a whole number of days")?,
        Err(_) => 30,
    };
    let sinks = ExternalSinks {
        discord: Discord::new(Duration::from_secs(10)),
        email: routing.email_from.clone().map(|from| Email::new(aws_sdk_sesv2::Client::new(&config), from)),
        secrets: Some(ssm.clone()),
    };
    let feeds = Feeds { store: GzipJsonStore::new(pulse_aws::config::s3_client(&config), location.bucket.clone()), location };
    let notifier = Notifier::new(routing, deliverer, publisher)
        .with_feeds(feeds)
        .with_external_sinks(sinks)
        .with_retention(chrono::Duration::days(retention_days))
        .with_health(aws_sdk_sqs::Client::new(&config), aws_sdk_lambda::Client::new(&config), names.clone());
    pulse_runtime::serve(&config, notifier).await.map_err(|e| anyhow::anyhow!(e))
}
