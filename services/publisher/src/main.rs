//! `pulse-publish`: the slim publisher for CI jobs. The same `publish` and `run` as the full
//! `pulse` command, with one AWS SDK (EventBridge) to compile instead of eleven.
//!
//! - `pulse-publish publish [FILES]`: send a workflow result (or any Pulse envelope), validated
//!   against its contract first;
//! - `pulse-publish run --job NAME -- COMMAND...`: run a command as a `ci.job`, started and
//!   completed.

use clap::{Parser, Subcommand};
use pulse_core::{Clock, Ids};

#[derive(Parser)]
#[command(name = "pulse-publish", version, about = "Send CI results to Pulse (the slim publisher: EventBridge only)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Publish workflow results or Pulse envelopes (JSON files, or stdin), validated first.
    Publish(pulse_publisher::publish::PublishArgs),
    /// Run a command as a job: publish ci.job started / completed (duration, status, stats, error).
    Run(pulse_publisher::run::RunArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli: Cli = match pulse_publisher::exit::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // The edge: the one place the publisher's time and fresh ids are the system's.
    let (clock, ids) = (Clock::system(), Ids::random());
    let result = match cli.command {
        Command::Publish(args) => pulse_publisher::publish::run(args, &clock, &ids).await,
        Command::Run(args) => pulse_publisher::run::run(args, &clock, &ids).await,
    };
    pulse_publisher::exit::status(result)
}
