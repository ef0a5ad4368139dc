//! The `ingress` binary: an API Gateway-triggered Lambda when `AWS_LAMBDA_RUNTIME_API` is set,
//! else a local HTTP server (`ingress serve --addr 127.0.0.1:3000`, or `PULSE_INGRESS_ADDR`).
//! Configuration: see `pulse_ingress::config` and the crate's README.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pulse_runtime::logging::init();
    let config = pulse_aws::config::load().await;
    let ingress = Arc::new(pulse_ingress::config::from_env(&config).await?);
    if pulse_runtime::logging::in_lambda() {
        return pulse_ingress::http::run_lambda(ingress).await.map_err(|e| anyhow::anyhow!(e));
    }
    let cli = Cli::parse();
    let addr = match cli.command {
        Some(Command::Serve { addr }) => addr,
        None => std::env::var("PULSE_INGRESS_ADDR")
            .ok()
            .map(|a| a.parse().context("PULSE_INGRESS_ADDR must be an address like 127.0.0.1:3000"))
            .transpose()?
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000))),
    };
    pulse_ingress::http::serve_on(ingress, addr).await.context("serving HTTP")
}
