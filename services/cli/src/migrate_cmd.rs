//! `pulse migrate praktika`: the command-line edge of [`pulse_cli::migrate`] (arguments, progress
//! bar, output, exit status).

use std::io::IsTerminal;

use anyhow::Context;
use clap::{Args, Subcommand};
use pulse_aws::eventbridge::EventPublisher;
use pulse_cli::migrate::{self, Options, Progress};
use pulse_contracts::feed_layout::FeedLocation;
use pulse_core::{Clock, Ids};

#[derive(Args)]
pub struct MigrateArgs {
    #[command(subcommand)]
    command: MigrateCommand,
}

#[derive(Subcommand)]
enum MigrateCommand {
    /// Import praktika's Slack subscriptions (S3 `{prefix}/subscriptions/`) into Pulse.
    Praktika(PraktikaArgs),
}

#[derive(Args)]
struct PraktikaArgs {
    /// praktika's `EVENT_FEED_S3_PATH`: `bucket/prefix` (only read, never written).
    #[arg(long, value_name = "BUCKET/PREFIX")]
    from: String,
    /// The Slack workspace (team id, `T…`) the users belong to.
    #[arg(long, value_name = "TEAM_ID")]
    team: String,
    /// Print what would be imported; publish nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also re-publish every imported user's Home tab (the switch step).
    #[arg(long)]
    publish_home: bool,
    /// Print the report as JSON on stdout instead of the summary.
    #[arg(long)]
    json: bool,
    /// The event bus (default: the stack's bus, from PULSE_STACK).
    #[arg(long)]
    bus: Option<String>,
}

pub async fn run(args: MigrateArgs, clock: &Clock, ids: &Ids) -> anyhow::Result<()> {
    let MigrateCommand::Praktika(args) = args.command;
    let from = FeedLocation::parse(&args.from)?;
    for warning in from.warnings() {
        eprintln!("warning: --from {:?}: {warning}", args.from);
    }
    anyhow::ensure!(!args.team.trim().is_empty(), "--team must be a Slack team id (T…)");
    let config = pulse_aws::config::load().await;
    let s3 = pulse_aws::config::s3_client(&config);
    let bus = match args.bus {
        Some(bus) => bus,
        None => pulse_cli::settings::stack()?.bus(),
    };
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), bus.clone());
    let options =
        Options { from: from.clone(), team_id: args.team.trim().to_owned(), publish_home: args.publish_home, dry_run: args.dry_run };

    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} reading praktika's subscriptions {pos}/{len} [{bar:30}] {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    let progress = |p: Progress| {
        if let Some(bar) = &bar {
            match p {
                Progress::Listed(n) => bar.set_length(n as u64),
                Progress::Read => bar.inc(1),
            }
        }
    };
    let result = migrate::run(&s3, &publisher, &options, clock, ids, &progress).await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report =
        result.with_context(|| format!("importing praktika's subscriptions from s3://{}/{}", from.bucket, from.subscriptions_prefix()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", migrate::summary(&report));
        if !args.dry_run {
            eprintln!("published to bus {bus}");
        }
    }
    Ok(())
}
