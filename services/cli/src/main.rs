//! `pulse`: the command-line tool for CI jobs and operators.
//!
//! - `pulse publish`, `pulse run`: a CI job publishes a workflow result (validated against the
//!   contract first) or runs a command as a job (both from `pulse-publisher`, whose slim
//!   `pulse-publish` binary serves CI jobs that should not compile the whole CLI);
//! - `pulse infra plan|deploy`: the reconciler for Pulse's stack (and, later, the CI fleet);
//! - `pulse dlq list|replay`: see and replay what a service could not process;
//! - `pulse feed show`: print a commit author's feed as stored in S3;
//! - `pulse tap`: print the events seen on the local stack's tap queue;
//! - `pulse migrate praktika`: import praktika's subscriptions (see the home-renderer's README);
//! - `pulse audit list`: who acted from Slack, and who tried;
//! - `pulse forget`: remove a person from everywhere Pulse keeps them;
//! - `pulse github send|redeliver|app-manifest`: GitHub webhooks by hand, redelivery, the App manifest;
//! - `pulse schedules list|run|fire`: the local stack's scheduler (emulators never fire schedules);
//! - `pulse completions SHELL`: the shell completion script.

mod dlq;
mod feed;
mod forget;
mod github_cmd;
mod github_payload;
mod infra_cmd;
mod loadtest;
mod migrate_cmd;
mod package_cmd;
mod progress;
mod reply;
mod schedules_cmd;
mod slack_cmd;
mod slack_load;
mod tap;

use clap::{CommandFactory, Parser, Subcommand};
use pulse_core::{Clock, Ids};

#[derive(Parser)]
#[command(name = "pulse", version, about = "Pulse: CI/CD feeds, alerts and deploys in Slack")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Publish CI events (a praktika workflow result, or any Pulse envelope) to the bus.
    Publish(pulse_publisher::publish::PublishArgs),
    /// Plan and deploy infrastructure from a declarative config.
    Infra(infra_cmd::InfraArgs),
    /// Inspect and replay a service's dead-letter queue.
    Dlq(dlq::DlqArgs),
    /// Inspect stored feeds.
    Feed(feed::FeedArgs),
    /// Print (and consume) the events captured by the local stack's tap queue.
    Tap(tap::TapArgs),
    /// Set up the Slack app (manifest) and drive a running ingress as Slack would (send, load).
    Slack(slack_cmd::SlackArgs),
    /// Send GitHub webhooks to ingress, redeliver failed deliveries, print the GitHub App manifest.
    Github(github_cmd::GithubArgs),
    /// Load tests against a running stack (see BENCHMARKS.md).
    Loadtest(loadtest::LoadtestArgs),
    /// Run a command as a job: publish ci.job started / completed (duration, status, stats, error).
    Run(pulse_publisher::run::RunArgs),
    /// Import state from the system Pulse replaces (`migrate praktika`).
    Migrate(migrate_cmd::MigrateArgs),
    /// Who acted from Slack, and who tried (`audit list`).
    Audit(pulse_cli::audit::AuditArgs),
    /// Remove a person (by e-mail and/or Slack user) from everywhere Pulse keeps them.
    Forget(forget::ForgetArgs),
    /// Fire the stack's scheduled rules locally, as EventBridge would (emulators never do).
    Schedules(schedules_cmd::SchedulesArgs),
    /// Print the completion script for a shell, e.g. `pulse completions bash > /etc/bash_completion.d/pulse`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = pulse_core::Settings::from_env().text(&pulse_runtime::settings::RUST_LOG).ok().flatten();
    tracing_subscriber::fmt()
        .with_env_filter(filter.and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok()).unwrap_or_else(|| "warn".into()))
        .with_writer(std::io::stderr)
        .compact()
        .init();
    // Usage errors exit 64 (EX_USAGE), not clap's 2, which `infra plan --detailed-exitcode`
    // means as "changes pending".
    let cli: Cli = match pulse_publisher::exit::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // The edge: the one place the CLI's time and fresh ids are the system's.
    let (clock, ids) = (Clock::system(), Ids::random());
    let result = match cli.command {
        Command::Publish(args) => pulse_publisher::publish::run(args, &clock, &ids).await,
        Command::Infra(args) => infra_cmd::run(args).await,
        Command::Dlq(args) => dlq::run(args).await,
        Command::Feed(args) => feed::run(args).await,
        Command::Tap(args) => tap::run(args).await,
        Command::Slack(args) => slack_cmd::run(args, &clock, &ids).await,
        Command::Github(args) => github_cmd::run(args, &clock, &ids).await,
        Command::Loadtest(args) => loadtest::run(args, &clock, &ids).await,
        Command::Run(args) => pulse_publisher::run::run(args, &clock, &ids).await,
        Command::Migrate(args) => migrate_cmd::run(args, &clock, &ids).await,
        Command::Audit(args) => pulse_cli::audit::run(args).await,
        Command::Forget(args) => forget::run(args, &clock, &ids).await,
        Command::Schedules(args) => schedules_cmd::run(args, &clock, &ids).await,
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "pulse", &mut std::io::stdout());
            Ok(())
        }
    };
    pulse_publisher::exit::status(result)
}
