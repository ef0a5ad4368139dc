//! Building [`Ingress`] from the environment (the binary, the local stack, the Socket Mode
//! runner).
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `PULSE_STACK` | stack prefix: bus `<p>-bus`, ledger `<p>-ingress-envelopes` | `pulse` |
//! | `SLACK_SIGNING_SECRET` | the app's signing secret | read from SSM |
//! | `PULSE_SLACK_SIGNING_SECRET_PARAM` | its SSM parameter (praktika: `praktika_slack_app_signing_secret`) | `pulse_slack_signing_secret` |
//! | `SLACK_BOT_TOKEN` | the bot token (`xoxb-`), for `views.open` | read from SSM |
//! | `PULSE_SLACK_BOT_TOKEN_PARAM` | its SSM parameter | `pulse_slack_bot_token` |
//! | `SLACK_API_URL` | Slack Web API root (the fake Slack locally) | `https://slack.com/api` |
//!
//! Secret values never reach a log line or an error: [`SecretString`] prints `***`, and errors
//! name only the variable and parameter that were tried.

use std::time::Duration;

use anyhow::Context;
use aws_config::SdkConfig;
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_core::retry::Backoff;
use pulse_aws::secrets::{SecretString, Secrets, resolve};
use pulse_core::{Clock, Ids};
use pulse_slack::{ClientConfig, SlackClient};

use crate::decide::Core;
use crate::ledger::EnvelopeLedger;
use crate::service::Ingress;
use crate::verify::Verifier;

pub const SIGNING_SECRET_ENV: &str = "SLACK_SIGNING_SECRET";
pub const SIGNING_SECRET_PARAM_ENV: &str = "PULSE_SLACK_SIGNING_SECRET_PARAM";
pub const DEFAULT_SIGNING_SECRET_PARAM: &str = "pulse_slack_signing_secret";
pub const BOT_TOKEN_ENV: &str = "SLACK_BOT_TOKEN";
pub const BOT_TOKEN_PARAM_ENV: &str = "PULSE_SLACK_BOT_TOKEN_PARAM";
pub const DEFAULT_BOT_TOKEN_PARAM: &str = "pulse_slack_bot_token";
pub const SLACK_API_URL_ENV: &str = "SLACK_API_URL";

/// The ledger table of a stack.
pub fn ledger_table(names: &StackNames) -> String {
    names.table("ingress", "envelopes")
}

/// The publisher ingress uses: few, short resends, because Slack waits at most 3 seconds.
pub fn publisher(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> EventPublisher {
    EventPublisher::new(client, bus).with_backoff(Backoff::new(Duration::from_millis(25), Duration::from_millis(250), 3))
}

/// A Slack client for `views.open`: at most 2 attempts of 1 s, since the trigger id dies after 3 s.
pub fn slack_client(base_url: Option<String>, bot_token: &SecretString) -> SlackClient {
    let defaults = ClientConfig::new(bot_token.expose());
    SlackClient::new(ClientConfig {
        base_url: base_url.unwrap_or(defaults.base_url.clone()),
        max_attempts: 2,
        request_timeout: Duration::from_millis(1000),
        max_retry_after: Duration::from_millis(500),
        base_backoff: Duration::from_millis(100),
        ..defaults
    })
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

/// Build the service from the environment (see the module doc), deciding requests at `clock`'s
/// time and drawing event ids from `ids`.
pub async fn from_env(config: &SdkConfig, clock: Clock, ids: Ids) -> anyhow::Result<Ingress> {
    let names = StackNames::from_env();
    let ssm = Secrets::new(aws_sdk_ssm::Client::new(config));
    let secret_param = env_or(SIGNING_SECRET_PARAM_ENV, DEFAULT_SIGNING_SECRET_PARAM);
    let signing_secret = resolve(SIGNING_SECRET_ENV, &secret_param, Some(&ssm))
        .await
        .context("the Slack signing secret is required")?;
    let verifier = Verifier::new(signing_secret.expose()).context("the Slack signing secret")?;
    let token_param = env_or(BOT_TOKEN_PARAM_ENV, DEFAULT_BOT_TOKEN_PARAM);
    let slack_url = std::env::var(SLACK_API_URL_ENV).ok().filter(|v| !v.is_empty());
    let slack = match resolve(BOT_TOKEN_ENV, &token_param, Some(&ssm)).await {
        Ok(token) => Some(slack_client(slack_url, &token)),
        Err(err) => {
            tracing::warn!(error = %err, "no Slack bot token: `/pulser deploy` cannot open its confirmation");
            None
        }
    };
    let ledger = EnvelopeLedger::new(aws_sdk_dynamodb::Client::new(config), ledger_table(&names), clock.clone());
    let publisher = publisher(aws_sdk_eventbridge::Client::new(config), names.bus());
    tracing::info!(stack = names.prefix(), ledger = ledger.table(), bus = %names.bus(), "ingress configured");
    Ok(Ingress::new(Core::new(verifier, ids), ledger, publisher, slack, clock))
}
