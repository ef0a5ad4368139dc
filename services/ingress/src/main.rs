//! The `ingress` binary: an API Gateway-triggered Lambda when `AWS_LAMBDA_RUNTIME_API` is set,
//! else a local HTTP server (`ingress serve --addr 127.0.0.1:3000`, or `PULSE_INGRESS_ADDR`), or
//! a Socket Mode client (`ingress socket-mode`) for workspaces without a public endpoint.
//! Configuration: see `pulse_ingress::config` and the crate's README.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pulse_core::{Clock, Ids};

#[derive(Parser)]
#[command(name = "ingress", about = "Pulse ingress: Slack requests in, slack.* events out")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve Slack's request URLs over HTTP (POST /slack/events, /slack/commands,
    /// /slack/interactivity; GET /healthz).
    Serve {
        #[arg(long, env = "PULSE_INGRESS_ADDR", default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
    },
    /// Connect to Slack over Socket Mode with the app-level token (`SLACK_APP_TOKEN`, or the SSM
    /// parameter named by `PULSE_SLACK_APP_TOKEN_PARAM`, default `pulse_slack_app_token`).
    SocketMode,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::logging::init();
    if pulse_runtime::logging::in_lambda() {
        let config = pulse_aws::config::load().await;
        let ingress = Arc::new(pulse_ingress::config::from_env(&config, Clock::system(), Ids::random()).await?);
        return pulse_ingress::http::run_lambda(ingress).await.map_err(|e| anyhow::anyhow!(e));
    }
    let cli = Cli::parse();
    let config = pulse_aws::config::load().await;
    let ingress = Arc::new(pulse_ingress::config::from_env(&config, Clock::system(), Ids::random()).await?);
    let addr = match cli.command {
        Some(Command::SocketMode) => return socket_mode(&config, ingress).await,
        Some(Command::Serve { addr }) => addr,
        None => std::env::var("PULSE_INGRESS_ADDR")
            .ok()
            .map(|a| a.parse().context("PULSE_INGRESS_ADDR must be an address like 127.0.0.1:3000"))
            .transpose()?
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000))),
    };
    pulse_ingress::http::serve_on(ingress, addr).await.context("serving HTTP")
}

async fn socket_mode(config: &aws_config::SdkConfig, ingress: Arc<pulse_ingress::Ingress>) -> anyhow::Result<()> {
    use pulse_ingress::socket_mode::{AppToken, SocketModeClient, SocketModeConfig};
    let parameter = std::env::var("PULSE_SLACK_APP_TOKEN_PARAM").unwrap_or_else(|_| "pulse_slack_app_token".to_owned());
    let ssm = pulse_aws::secrets::Secrets::new(aws_sdk_ssm::Client::new(config));
    let token = pulse_aws::secrets::resolve("SLACK_APP_TOKEN", &parameter, Some(&ssm)).await.context("the app-level token")?;
    let base_url = std::env::var("SLACK_API_URL").unwrap_or_else(|_| "https://slack.com/api".to_owned());
    let client = SocketModeClient::new(SocketModeConfig::new(base_url, AppToken::new(token.expose())));
    client.run(ingress, pulse_runtime::shutdown::signal()).await.map_err(|e| anyhow::anyhow!(e))
}
