//! `pulse-publish`: the slim publisher for CI jobs. The same `publish` and `run` as the full
//! `pulse` command, with one AWS SDK (EventBridge) to compile instead of eleven.
//!
//! - `pulse-publish publish [FILES]`: send a workflow result (or any Pulse envelope), validated
//!   against its contract first;
//! - `pulse-publish run --job NAME -- COMMAND...`: run a command as a `ci.job`, started and
//!   completed.

use clap::{Parser, Subcommand};
use pulse_core::{Clock, Ids};

/// The exit status of a usage error (BSD's `EX_USAGE`).
const EX_USAGE: u8 = 64;

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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let usage = err.use_stderr();
            let _ = err.print();
            return std::process::ExitCode::from(if usage { EX_USAGE } else { 0 });
        }
    };
    // The edge: the one place the publisher's time and fresh ids are the system's.
    let (clock, ids) = (Clock::system(), Ids::random());
    let result = match cli.command {
        Command::Publish(args) => pulse_publisher::publish::run(args, &clock, &ids).await,
        Command::Run(args) => pulse_publisher::run::run(args, &clock, &ids).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
