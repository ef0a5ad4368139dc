//! Building [`Ingress`] from its settings (the binary, the local stack, the Socket Mode runner).
//! What it reads is declared in `settings.rs`; the README's table lists every variable.
//!
//! Secret values never reach a log line or an error: a `Secret` prints `***`, and errors name
//! only the variable and parameter that were tried.

use std::time::Duration;

use anyhow::Context;
use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_aws::secrets::{Secrets, source};
use pulse_core::retry::Backoff;
use pulse_core::{Clock, Ids, SecretSource, Settings};
use pulse_slack::settings::SLACK_API_URL;
use pulse_slack::{ClientConfig, SlackClient};

use crate::decide::Core;
use crate::ledger::EnvelopeLedger;
use crate::service::Ingress;
use crate::settings::{BOT_TOKEN, GITHUB_SECRET, PULSE_INGRESS_AWS_TIMEOUT_MS, SIGNING_SECRET};
use crate::verify::Verifier;

/// The ledger table of a stack.
pub fn ledger_table(names: &StackNames) -> String {
    names.table("ingress", "envelopes")
}

/// The publisher ingress uses: few, short resends, because Slack waits at most 3 seconds.
pub fn publisher(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> EventPublisher {
    EventPublisher::new(client, bus).with_backoff(Backoff::new(Duration::from_millis(25), Duration::from_millis(250), 3))
}

/// A Slack client for `views.open`: at most 2 attempts of 1 s, since the trigger id dies after 3 s.
pub fn slack_client(base_url: String, bot_token: SecretSource) -> SlackClient {
    let defaults = ClientConfig::new(bot_token);
    SlackClient::new(ClientConfig {
        base_url,
        max_attempts: 2,
        request_timeout: Duration::from_millis(1000),
        max_retry_after: Duration::from_millis(500),
        base_backoff: Duration::from_millis(100),
        ..defaults
    })
}

/// The default [`PULSE_INGRESS_AWS_TIMEOUT_MS`] in Lambda: a request makes up to three AWS calls
/// one after another (ledger write, publish, ledger mark), and Slack gives up after 3 s.
pub const LAMBDA_AWS_TIMEOUT: Duration = Duration::from_millis(900);

/// The SDK configuration of the request path's clients: each call, retries included, ends
/// within `operation` (an attempt within two thirds of it, a connection within a third), so
/// an AWS that does not answer turns into a 503 Slack retries rather than no answer at all.
pub fn request_path(config: &SdkConfig, operation: Option<Duration>) -> SdkConfig {
    let Some(operation) = operation else { return config.clone() };
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(operation)
        .operation_attempt_timeout(operation * 2 / 3)
        .connect_timeout(operation / 3)
        .build();
    config.to_builder().timeout_config(timeouts).build()
}

/// Build the service from `settings` (see `settings.rs`), deciding requests at `clock`'s time
/// and drawing event ids from `ids`.
pub async fn from_settings(config: &SdkConfig, settings: &Settings, clock: Clock, ids: Ids) -> anyhow::Result<Ingress> {
    let names = StackNames::from_settings(settings)?;

    let slack_url = settings.required(&SLACK_API_URL)?;
    let in_lambda = settings.is_set(&pulse_runtime::settings::AWS_LAMBDA_RUNTIME_API);
    let timeout = settings.parse::<u64>(&PULSE_INGRESS_AWS_TIMEOUT_MS)?.map(Duration::from_millis);
    let request_path = request_path(config, timeout.or(in_lambda.then_some(LAMBDA_AWS_TIMEOUT)));
    // SSM is on the request path too: a secret is re-read when a signature does not match it (a
    // rotation), and at start an SSM that does not answer must fail init, not hang it.
    let ssm = Secrets::new(aws_sdk_ssm::Client::new(&request_path));
    let signing = source(&SIGNING_SECRET, settings, &ssm).await.context("the Slack signing secret is required")?;
    let secret = signing.current().await.context("the Slack signing secret")?;
    let verifier = Verifier::new(secret.expose()).context("the Slack signing secret")?;
    let slack = match source(&BOT_TOKEN, settings, &ssm).await {
        Ok(token) => Some(slack_client(slack_url, token)),
        Err(err) => {
            tracing::warn!(error = %err, "no Slack bot token: `/pulser deploy` cannot open its confirmation");
            None
        }
    };
    let ledger = EnvelopeLedger::new(aws_sdk_dynamodb::Client::new(&request_path), ledger_table(&names), clock.clone(), ids.clone());
    let publisher = publisher(aws_sdk_eventbridge::Client::new(&request_path), names.bus());
    tracing::info!(stack = names.prefix(), ledger = ledger.table(), bus = %names.bus(), "ingress configured");
    let ingress = Ingress::new(Core::new(verifier, ids), ledger, publisher, slack, clock).with_signing_secret(signing, secret);
    // GitHub webhooks are optional: without their secret the route answers 404.
    let github = match source(&GITHUB_SECRET, settings, &ssm).await {
        Ok(source) => Some((source.current().await.context("the GitHub webhook secret")?, source)),
        Err(err) => {
            tracing::info!(error = %err, "no GitHub webhook secret: POST /github/webhook answers 404");
            None
        }
    };
    match github {
        Some((secret, source)) => Ok(ingress.with_github_secret(source, secret).context("the GitHub webhook secret")?),
        None => Ok(ingress),
    }
}
