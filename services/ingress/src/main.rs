//! The `ingress` binary: an API Gateway-triggered Lambda when `AWS_LAMBDA_RUNTIME_API` is set,
//! else a local HTTP server (`ingress serve --addr 127.0.0.1:3000`, or `PULSE_INGRESS_ADDR`), or
//! a Socket Mode client (`ingress socket-mode`) for workspaces without a public endpoint.
//! Configuration: `pulse_ingress::settings` (the README's table lists every variable).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pulse_core::{Clock, Ids, Settings};
use pulse_ingress::settings::{APP_TOKEN, PULSE_INGRESS_ADDR};
use pulse_slack::settings::SLACK_API_URL;

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
        /// Where to listen [default: `PULSE_INGRESS_ADDR`, else 127.0.0.1:3000]
        #[arg(long)]
        addr: Option<SocketAddr>,
    },
    /// Connect to Slack over Socket Mode with the app-level token (`SLACK_APP_TOKEN`, or the SSM
    /// parameter named by `PULSE_SLACK_APP_TOKEN_PARAM`, default `pulse_slack_app_token`).
    SocketMode,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::main(run()).await
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env();
    let logging = pulse_runtime::logging::init(&settings)?;
    if logging.in_lambda {
        let config = pulse_aws::config::load().await;
        let ingress = Arc::new(pulse_ingress::config::from_settings(&config, &settings, Clock::system(), Ids::random()).await?);
        return pulse_ingress::http::run_lambda(ingress).await.map_err(|e| anyhow::anyhow!(e));
    }
    let cli = Cli::parse();
    let configured: SocketAddr = settings.parse_required(&PULSE_INGRESS_ADDR)?;
    let config = pulse_aws::config::load().await;
    let ingress = Arc::new(pulse_ingress::config::from_settings(&config, &settings, Clock::system(), Ids::random()).await?);
    let addr = match cli.command {
        Some(Command::SocketMode) => return socket_mode(&config, &settings, ingress).await,
        Some(Command::Serve { addr }) => addr.unwrap_or(configured),
        None => configured,
    };
    pulse_ingress::http::serve_on(ingress, addr).await.context("serving HTTP")
}

async fn socket_mode(config: &aws_config::SdkConfig, settings: &Settings, ingress: Arc<pulse_ingress::Ingress>) -> anyhow::Result<()> {
    use pulse_ingress::socket_mode::{SocketModeClient, SocketModeConfig};
    let ssm = pulse_aws::secrets::Secrets::new(aws_sdk_ssm::Client::new(config));
    let token = pulse_aws::secrets::source(&APP_TOKEN, settings, &ssm).await.context("the app-level token")?;
    let base_url = settings.required(&SLACK_API_URL)?;
    let client = SocketModeClient::new(SocketModeConfig::new(base_url, token));
    client.run(ingress, pulse_runtime::shutdown::signal()).await.map_err(|e| anyhow::anyhow!(e))
}
