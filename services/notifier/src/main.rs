//! notifier binary: an SQS-triggered Lambda in AWS, a long-polling worker locally.
//!
//! Configuration: `settings.rs` and the routing file (`config.rs`); the README's table lists
//! every variable.

use std::time::Duration;

use anyhow::Context;
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_aws::s3json::GzipJsonStore;
use pulse_aws::secrets::{Secrets, source};
use pulse_core::Settings;
use pulse_notifier::config::Config;
use pulse_notifier::delivery::Deliverer;
use pulse_notifier::gather::Feeds;
use pulse_notifier::handler::Notifier;
use pulse_notifier::settings::{Options, PULSE_SLACK_BOT_TOKEN};
use pulse_notifier::sinks::{Discord, Email, ExternalSinks};
use pulse_notifier::store::Store;
use pulse_slack::ClientConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::main(run()).await
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env();
    pulse_runtime::logging::init(&settings)?;
    let options = Options::from_settings(&settings)?;
    let routing = Config::from_settings(&settings).context("the notifier's routing configuration")?;
    let config = pulse_aws::config::load().await;
    let names = StackNames::from_settings(&settings)?;
    let location = names.feed_location(&settings)?;

    let ssm = Secrets::new(aws_sdk_ssm::Client::new(&config));
    let token = source(&PULSE_SLACK_BOT_TOKEN, &settings, &ssm).await.context("the Slack bot token")?;
    let slack_config = ClientConfig { base_url: options.slack_api_url.clone(), ..ClientConfig::new(token) };

    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), names.table("notifier", "messages"), names.table("notifier", "audit"));
    let deliverer = Deliverer::new(slack_config, store, options.pacing, options.uncertain);
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), names.bus());
    let sinks = ExternalSinks {
        discord: Discord::new(Duration::from_secs(10)),
        email: routing.email_from.clone().map(|from| Email::new(aws_sdk_sesv2::Client::new(&config), from)),
        secrets: Some(ssm.clone()),
        settings: settings.clone(),
    };
    let feeds = Feeds { store: GzipJsonStore::new(pulse_aws::config::s3_client(&config), location.bucket.clone()), location };
    let notifier = Notifier::new(routing, deliverer, publisher)
        .with_feeds(feeds)
        .with_external_sinks(sinks)
        .with_retention(options.retention)
        .with_health(aws_sdk_sqs::Client::new(&config), aws_sdk_lambda::Client::new(&config), names.clone())
        // The re-run button's GitHub credentials (a token or an App) are looked up on the first
        // click, not here: a cold start does not wait on SSM for a button few messages need.
        .with_github(pulse_github::LazyClient::from_settings(settings.clone(), ssm, pulse_core::Clock::system()));
    pulse_runtime::serve(&config, &settings, notifier).await.map_err(|e| anyhow::anyhow!(e))
}
