//! `pulse schedules list|run|fire`: the local stack's scheduler. Emulators store scheduled rules
//! but never fire them; this fires the deployed ones as EventBridge would (see
//! `pulse_infra_reconciler::local_scheduler`), so digests run end to end locally.

use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, SubsecRound, Utc};
use clap::{Args, Subcommand};
use pulse_core::{Clock, Ids};
use pulse_infra_reconciler::Clients;
use pulse_infra_reconciler::local_scheduler::{DeployedSchedule, Timetable, deployed, fire, rfc3339};

/// How often `run` looks again at the deployed rules (a deploy may add or change one).
const REFRESH: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
pub struct SchedulesArgs {
    /// The stack prefix: only rules whose names start with it.
    #[arg(long, value_name = "NAME", env = pulse_aws::settings::PULSE_STACK.name, default_value = "pulse", global = true)]
    pub prefix: String,
    #[command(subcommand)]
    pub command: SchedulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum SchedulesCommand {
    /// The stack's scheduled rules, their expressions and next runs.
    List,
    /// Fire each schedule at its time until stopped (Ctrl-C or SIGTERM).
    Run,
    /// Fire one schedule now (by its rule name, with or without the prefix): deliver its event to
    /// its targets once, stamped with the current time.
    Fire {
        /// The rule, e.g. `pulse-local-digest-daily` or `digest-daily`.
        name: String,
    },
}

pub async fn run(args: SchedulesArgs, clock: &Clock, ids: &Ids) -> anyhow::Result<()> {
    let clients = Clients::from_env().await;
    match args.command {
        SchedulesCommand::List => {
            let now = clock.now();
            for s in deployed(&clients, &args.prefix).await? {
                let next = if s.enabled { s.schedule.next_after(now).map_or("never".into(), rfc3339) } else { "disabled".into() };
                println!("{}  {}  next run {next}  ({} target(s))", s.name, s.expression, s.targets.len());
            }
            Ok(())
        }
        SchedulesCommand::Fire { name } => {
            let schedules = deployed(&clients, &args.prefix).await?;
            let schedule = find(&schedules, &args.prefix, &name)?;
            let time = clock.now().trunc_subsecs(0);
            fire_one(&clients, schedule, time, ids).await
        }
        SchedulesCommand::Run => run_forever(&clients, &args.prefix, clock, ids).await,
    }
}

fn find<'a>(schedules: &'a [DeployedSchedule], prefix: &str, name: &str) -> anyhow::Result<&'a DeployedSchedule> {
    let full = format!("{prefix}-{name}");
    match schedules.iter().find(|s| s.name == name || s.name == full) {
        Some(s) => Ok(s),
        None => {
            let known: Vec<&str> = schedules.iter().map(|s| s.name.as_str()).collect();
            bail!(
                "no scheduled rule {name:?} under prefix {prefix:?} (deployed: {})",
                if known.is_empty() { "none".into() } else { known.join(", ") }
            )
        }
    }
}

async fn fire_one(clients: &Clients, schedule: &DeployedSchedule, time: DateTime<Utc>, ids: &Ids) -> anyhow::Result<()> {
    let cx = clients.context().await?;
    let event_id = ids.uuid().to_string();
    let delivered = fire(clients, &cx, schedule, time, &event_id).await.with_context(|| format!("firing {}", schedule.name))?;
    for d in delivered {
        println!("{} fired for {} → {} ({}): {}", d.rule, rfc3339(time), d.queue, d.target, d.body);
    }
    Ok(())
}

/// Refresh the deployed rules every [`REFRESH`], fire what is due, sleep until the next run or
/// refresh; stop at the shutdown signal. A failed delivery is logged and the runner goes on.
async fn run_forever(clients: &Clients, prefix: &str, clock: &Clock, ids: &Ids) -> anyhow::Result<()> {
    let mut timetable = Timetable::default();
    let stop = pulse_runtime::shutdown::signal();
    tokio::pin!(stop);
    let mut printed = String::new();
    let mut schedules = Vec::new();
    loop {
        // A failed listing keeps the rules known so far (and their next runs).
        match deployed(clients, prefix).await {
            Ok(found) => schedules = found,
            Err(err) => eprintln!("schedules: cannot list the deployed rules (keeping the last list): {err}"),
        }
        let now = clock.now();
        timetable.refresh(&schedules, now);
        let plan: String = timetable.runs().map(|(name, at)| format!("{name} next at {}\n", rfc3339(at))).collect();
        if plan != printed {
            print!("{plan}");
            printed = plan;
        }
        for (name, at) in timetable.take_due(&schedules, now) {
            if let Some(s) = schedules.iter().find(|s| s.name == name)
                && let Err(err) = fire_one(clients, s, at, ids).await
            {
                eprintln!("schedules: {err:#}");
            }
        }
        let until_next = timetable.earliest().map_or(REFRESH, |at| (at - clock.now()).to_std().unwrap_or(Duration::ZERO));
        tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = tokio::time::sleep(until_next.min(REFRESH)) => {}
        }
    }
}
