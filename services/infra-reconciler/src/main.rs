//! infra-reconciler binary: consumes `deploy.requested` from `<prefix>-infra-reconciler` and
//! publishes `deploy.status` — an SQS-triggered Lambda in AWS, a long-polling worker locally
//! (`pulse_runtime::serve` picks one).
//!
//! Configuration (environment):
//! - `PULSE_STACK`: stack prefix naming the queue, DLQ, idempotency table and bus (default `pulse`);
//! - `PULSE_DEPLOY_CONFIG`: the deployment file to reconcile from (default: the copy of
//!   `infra/examples/pulse-deployment.json` built into the binary, which includes the built-in
//!   `infra/pulse-stack.json`);
//! - `PULSE_LAMBDA_ZIP_DIR`: where prebuilt `<bin>.zip` packages of `crate` functions are;
//! - `AWS_ENDPOINT_URL`: an emulator, if any.

use anyhow::Context;
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_core::{Clock, Ids};
use pulse_infra_reconciler::service::InfraReconciler;
use pulse_infra_reconciler::{Clients, LoadOptions, PULSE_DEPLOYMENT_JSON, StackConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::logging::init();
    let config = pulse_aws::config::load().await;
    let names = StackNames::from_env();
    let options = LoadOptions::new(names.prefix());
    let stack = match std::env::var("PULSE_DEPLOY_CONFIG") {
        Ok(path) if !path.is_empty() => StackConfig::load(&path, &options).with_context(|| format!("loading {path}"))?,
        _ => StackConfig::parse(PULSE_DEPLOYMENT_JSON, "infra/examples/pulse-deployment.json (built in)", &options)
            .context("the built-in deployment config")?,
    };
    let service = InfraReconciler::new(
        Clients::new(&config),
        stack,
        EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), names.bus()),
        Clock::system(),
        Ids::random(),
    );
    pulse_runtime::serve(&config, service).await.map_err(|e| anyhow::anyhow!(e))
}
