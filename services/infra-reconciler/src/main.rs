//! infra-reconciler binary: consumes `deploy.requested` from `<prefix>-infra-reconciler` and
//! publishes `deploy.status` — an SQS-triggered Lambda in AWS, a long-polling worker locally
//! (`pulse_runtime::serve` picks one).
//!
//! Configuration: `settings.rs` (the README's table lists every variable).

use anyhow::Context;
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_core::{Clock, Ids, Settings};
use pulse_infra_reconciler::packages::PackageStore;
use pulse_infra_reconciler::service::InfraReconciler;
use pulse_infra_reconciler::settings::{PULSE_DEPLOY_CONFIG, PULSE_LAMBDA_PACKAGES};
use pulse_infra_reconciler::{Clients, LoadOptions, PULSE_DEPLOYMENT_JSON, StackConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::main(run()).await
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env();
    pulse_runtime::logging::init(&settings)?;
    let names = StackNames::from_settings(&settings)?;
    let options = LoadOptions::new(names.prefix());
    let config = pulse_aws::config::load().await;
    let stack = match settings.text(&PULSE_DEPLOY_CONFIG)? {
        Some(path) => StackConfig::load(&path, &options).with_context(|| format!("loading {path}"))?,
        None => StackConfig::parse(PULSE_DEPLOYMENT_JSON, "infra/examples/pulse-deployment.json (built in)", &options)
            .context("the built-in deployment config")?,
    };
    let packages = settings.parse::<PackageStore>(&PULSE_LAMBDA_PACKAGES)?;
    let service = InfraReconciler::new(
        Clients::new(&config),
        stack,
        EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), names.bus()),
        Clock::system(),
        Ids::random(),
    )
    .with_packages(packages);
    pulse_runtime::serve(&config, &settings, service).await.map_err(|e| anyhow::anyhow!(e))
}
