//! `pulse infra plan|deploy|package|shutdown`: plan and deploy a declarative stack (by default
//! Pulse's own, `infra/pulse-stack.json`) through the infra-reconciler, package its functions
//! ([`crate::package_cmd`]), and shut a CI fleet's instances and hosts down.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use pulse_infra_reconciler::packages::PackageStore;
use pulse_infra_reconciler::{
    ApiCalls, ApplyReport, Clients, Kind, LoadOptions, Plan, PlanOptions, StackConfig, apply, plan, plan_shutdown, shutdown,
};

#[derive(Debug, Args)]
pub struct InfraArgs {
    #[command(subcommand)]
    pub command: InfraCommand,
}

#[derive(Debug, Subcommand)]
pub enum InfraCommand {
    /// Show what a deploy would change; makes read calls only.
    Plan(PlanArgs),
    /// Plan, then apply the changes in dependency order (one line per resource as it is done).
    Deploy(DeployArgs),
    /// Build the file's `crate` functions into Lambda zips with cargo-lambda and upload the ones
    /// the package store (--packages) lacks; deploys with --packages then use them.
    Package(crate::package_cmd::PackageArgs),
    /// Terminate the stack's EC2 instances and/or release its dedicated hosts (only those tagged
    /// with the stack's ownership tags): shows what it will do, then does it.
    Shutdown(ShutdownArgs),
    /// Restore a table with point-in-time recovery, as it was at a moment of the last 35 days,
    /// into a new table (the original is left as it is).
    RestoreTable(RestoreArgs),
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The table to restore from (for example `pulse-notifier-audit`).
    pub source: String,
    /// The new table to restore into; it must not exist.
    pub target: String,
    /// The moment to restore to (RFC 3339); the latest restorable moment when absent.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<i64>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_time(s: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.timestamp())
        .map_err(|_| format!("{s:?} is not an RFC 3339 time such as 2026-12-01T09:00:00Z"))
}

/// What every infra command takes.
#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    /// The stack file.
    #[arg(long, value_name = "PATH", default_value = "infra/pulse-stack.json")]
    pub config: PathBuf,
    /// The stack prefix substituted for `${prefix}` in the file.
    #[arg(long, value_name = "NAME", env = pulse_aws::settings::PULSE_STACK.name, default_value = "pulse")]
    pub prefix: String,
    /// Only these kinds (the list is generated from the reconciler's kinds).
    #[arg(long, value_name = "KIND", num_args = 1.., value_parser = parse_kind, help = only_help())]
    pub only: Vec<Kind>,
    /// Print JSON instead of text (progress lines go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Add the local demo's tap queue (`<prefix>-tap`), which sees every event on the bus.
    #[arg(long)]
    pub local_tap: bool,
    /// Set a variable the file declares under `variables` (`${var.NAME}`); repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Set a flag the file declares under `flags` (`NAME` = true, or `NAME=false`); repeatable.
    #[arg(long = "flag", value_name = "NAME[=BOOL]", value_parser = parse_flag)]
    pub flags: Vec<(String, bool)>,
    /// The Lambda package store (`s3://BUCKET/PREFIX`, filled by `pulse infra package`): `crate`
    /// functions are deployed from its S3 keys instead of local zips.
    #[arg(long, value_name = "S3_URL", env = pulse_infra_reconciler::settings::PULSE_LAMBDA_PACKAGES.name)]
    pub packages: Option<PackageStore>,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

fn parse_flag(s: &str) -> Result<(String, bool), String> {
    match s.split_once('=') {
        None => Ok((s.to_owned(), true)),
        Some((name, "true")) => Ok((name.to_owned(), true)),
        Some((name, "false")) => Ok((name.to_owned(), false)),
        Some(_) => Err(format!("{s:?} is not NAME, NAME=true or NAME=false")),
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Exit 0 when nothing would change, 2 when changes are pending, 1 on an error (as
    /// Terraform's `plan -detailed-exitcode`; a usage error exits 64, never 2).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub stack: StackArgs,
}

#[derive(Debug, Args)]
pub struct ShutdownArgs {
    /// The stack file.
    #[arg(long, value_name = "PATH", default_value = "infra/pulse-stack.json")]
    pub config: PathBuf,
    /// The stack prefix (the `pulse:stack` tag of what may be shut down).
    #[arg(long, value_name = "NAME", env = pulse_aws::settings::PULSE_STACK.name, default_value = "pulse")]
    pub prefix: String,
    /// What to shut down: EC2Instance and/or DedicatedHost.
    #[arg(long, value_name = "KIND", num_args = 1.., required = true, value_parser = parse_shutdown_kind)]
    pub only: Vec<Kind>,
    /// Print JSON instead of text (progress lines go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Do not ask before terminating and releasing (needed when not run from a terminal).
    #[arg(long)]
    pub yes: bool,
}

/// `--only`'s help: every kind the reconciler knows, so it cannot fall behind them.
fn only_help() -> String {
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    format!("Only these kinds: {}", kinds.join(", "))
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse::<Kind>().map_err(|e| e.to_string())
}

fn parse_shutdown_kind(s: &str) -> Result<Kind, String> {
    let kind = parse_kind(s)?;
    if Kind::SHUTDOWN.contains(&kind) {
        Ok(kind)
    } else {
        Err(format!("{kind} cannot be shut down; only EC2Instance and DedicatedHost can"))
    }
}

pub async fn run(args: InfraArgs) -> anyhow::Result<()> {
    match args.command {
        InfraCommand::Plan(a) => run_plan(&a).await,
        InfraCommand::Deploy(a) => run_deploy(&a.stack).await,
        InfraCommand::Package(a) => crate::package_cmd::run(&a).await,
        InfraCommand::Shutdown(a) => run_shutdown(&a).await,
        InfraCommand::RestoreTable(a) => run_restore(&a).await,
    }
}

async fn run_restore(args: &RestoreArgs) -> anyhow::Result<()> {
    let clients = Clients::from_env().await;
    eprintln!("restoring {} into {} (this waits until the new table is active)", args.source, args.target);
    let waiting = crate::progress::Waiting::start(format!("restoring {}", args.target));
    let restored = pulse_infra_reconciler::restore::restore_table(&clients, &args.source, &args.target, args.at).await?;
    drop(waiting);
    let at = restored
        .at
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map_or("the latest restorable moment".to_owned(), |t| t.to_rfc3339());
    if args.json {
        println!(
            "{}",
            serde_json::json!({"source": restored.source, "target": restored.target, "restored_to": at, "items": restored.items})
        );
    } else {
        println!("restored {} as of {at} into {}: {} item(s)", restored.source, restored.target, restored.items);
    }
    Ok(())
}

pub(crate) fn load(args: &StackArgs) -> anyhow::Result<StackConfig> {
    let mut options = LoadOptions::new(&args.prefix);
    if args.local_tap {
        options = options.flag("local_tap", true);
    }
    for (name, value) in &args.flags {
        options = options.flag(name, *value);
    }
    for (name, value) in &args.vars {
        options = options.var(name, value);
    }
    Ok(StackConfig::load(&args.config, &options)?)
}

async fn make_plan(args: &StackArgs) -> anyhow::Result<(Clients, Plan)> {
    let stack = load(args)?;
    let clients = Clients::from_env().await;
    let plan = plan(&stack, &clients, &PlanOptions::only(args.only.iter().copied()).packages(args.packages.clone()))
        .await
        .with_context(|| format!("planning stack {}", stack.prefix))?;
    Ok((clients, plan))
}

async fn run_plan(args: &PlanArgs) -> anyhow::Result<()> {
    let (_, plan) = make_plan(&args.stack).await?;
    if args.stack.json {
        println!("{}", serde_json::to_string_pretty(&plan.to_json())?);
    } else {
        println!("{plan}");
    }
    if args.detailed_exitcode && plan.has_changes() {
        return Err(pulse_cli::Exit(2).into());
    }
    Ok(())
}

async fn run_deploy(args: &StackArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (clients, plan) = make_plan(args).await?;
    if !args.json {
        println!("{plan}");
        if plan.has_changes() {
            println!("Applying:");
        }
    }
    let json = args.json;
    // Between two finished resources (a function settling, a role propagating) the terminal
    // shows what is being waited for.
    let mut waiting = plan.has_changes().then(|| crate::progress::Waiting::start(format!("applying: 0 of {}", plan.entries.len())));
    let result = apply(&plan, &clients, |p| {
        waiting = None;
        if json {
            eprintln!("{p}");
        } else {
            println!("  {p}");
        }
        waiting = Some(crate::progress::Waiting::start(format!("applying: {} of {} done", p.position, p.total)));
    })
    .await;
    drop(waiting);

    match result {
        Ok(report) => {
            if args.json {
                let doc = serde_json::json!({"plan": plan.to_json(), "apply": report});
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                println!("{}", summary("Deployed", &plan, &report, started));
            }
            Ok(())
        }
        Err(failure) => {
            if args.json {
                let doc = serde_json::json!({
                    "plan": plan.to_json(),
                    "apply": failure.report,
                    "failed": failure.failed,
                    "error": failure.error.to_string(),
                });
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                println!("{}", summary("Stopped", &plan, &failure.report, started));
            }
            let changed: Vec<String> = failure.report.changed().iter().map(|id| format!("  {id}")).collect();
            bail!(
                "deploy of stack {} failed at {}: {}\nalready changed ({}):\n{}\nnot attempted: {}",
                plan.stack,
                failure.failed,
                failure.error,
                changed.len(),
                if changed.is_empty() { "  none".to_owned() } else { changed.join("\n") },
                failure.report.not_attempted.len()
            )
        }
    }
}

fn calls(c: &ApiCalls) -> String {
    format!("{} read / {} write", c.read, c.write)
}

fn summary(verb: &str, plan: &Plan, report: &ApplyReport, started: Instant) -> String {
    let total = ApiCalls {
        read: plan.api_calls.read + report.api_calls.read,
        write: plan.api_calls.write + report.api_calls.write,
        by_operation: Default::default(),
    };
    format!(
        "{verb} stack {}: {} created, {} updated, {} unchanged · API calls: {} (plan {}, apply {}) · {:.2} s",
        plan.stack,
        report.created.len(),
        report.updated.len(),
        report.unchanged.len(),
        calls(&total),
        calls(&plan.api_calls),
        calls(&report.api_calls),
        started.elapsed().as_secs_f64()
    )
}

async fn run_shutdown(args: &ShutdownArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let stack = StackConfig::load(&args.config, &LoadOptions::new(&args.prefix))?;
    let clients = Clients::from_env().await;
    let plan =
        plan_shutdown(&stack, &clients, &args.only).await.with_context(|| format!("planning the shutdown of stack {}", stack.prefix))?;
    if args.json {
        eprintln!("{plan}");
    } else {
        println!("{plan}");
    }
    if plan.has_work() && !args.yes {
        confirm(&format!("Terminate and release what is listed above in stack {}?", plan.stack))?;
    }
    if plan.has_work() && !args.json {
        println!("Shutting down:");
    }
    let json = args.json;
    let result = shutdown(&plan, &clients, |p| {
        if json {
            eprintln!("{p}");
        } else {
            println!("  {p}");
        }
    })
    .await;
    let count = |done: &[(pulse_infra_reconciler::ResourceId, Vec<String>)]| done.iter().map(|(_, ids)| ids.len()).sum::<usize>();
    match result {
        Ok(report) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&serde_json::json!({"plan": plan, "shutdown": report}))?);
            } else {
                println!(
                    "Shut down stack {}: {} resource(s), {} instance(s)/host(s); {} owned nothing · API calls: {} · {:.2} s",
                    plan.stack,
                    report.done.len(),
                    count(&report.done),
                    report.nothing.len(),
                    calls(&ApiCalls {
                        read: plan.api_calls.read + report.api_calls.read,
                        write: report.api_calls.write,
                        by_operation: Default::default()
                    }),
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(())
        }
        Err(failure) => {
            if json {
                let doc = serde_json::json!({"plan": plan, "shutdown": failure.report, "failed": failure.failed, "error": failure.error.to_string()});
                println!("{}", serde_json::to_string_pretty(&doc)?);
            }
            let done: Vec<String> = failure.report.done.iter().map(|(id, ids)| format!("  {id}: {}", ids.join(", "))).collect();
            bail!(
                "shutdown of stack {} failed at {}: {}\nalready shut down ({}):\n{}\nnot attempted: {}",
                plan.stack,
                failure.failed,
                failure.error,
                done.len(),
                if done.is_empty() { "  none".to_owned() } else { done.join("\n") },
                failure.report.not_attempted.len()
            )
        }
    }
}

/// Ask on the terminal; refuse outright when there is none to ask on (a script must say `--yes`).
fn confirm(question: &str) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        bail!("not shutting down: nobody to ask (standard input is not a terminal); run it from a terminal, or pass --yes");
    }
    eprint!("{question} Type yes to go on: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("not shutting down: the answer was not `yes`");
    }
    Ok(())
}
