//! `pulse github`: drive a running ingress as GitHub would, redeliver what failed, and set up
//! a GitHub App.
//!
//! - `pulse github send workflow_run|workflow_job [--repo … --run-id … --conclusion …]`: a
//!   GitHub-shaped payload (`github_payload.rs`), signed with `X-Hub-Signature-256`, with a
//!   fresh `X-GitHub-Delivery` (or `--delivery` to replay one), posted to ingress; prints the
//!   answer. The secret is `GITHUB_WEBHOOK_SECRET`, or for the local stack
//!   [`LOCAL_WEBHOOK_SECRET`] (give ingress the same one).
//! - `pulse github redeliver --since 2h (--repo O/R --hook-id N | --org O --hook-id N | --app)`:
//!   GitHub never retries a failed delivery; this lists the hook's deliveries since then and
//!   redelivers each event that never succeeded, once (`pulse_github::to_redeliver`).
//! - `pulse github app-manifest --url https://…`: the GitHub App manifest with the minimum
//!   permissions.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use pulse_core::{Clock, Ids, Settings};
use pulse_github::{GithubClient, Hook, RepoName};
use serde_json::{Value, json};

use crate::github_payload::{self as payload, Job, Progress, Run};

/// The webhook secret of the local stack, when `GITHUB_WEBHOOK_SECRET` is not set. Only for
/// local use: a real hook's secret is the one typed into GitHub's settings.
pub const LOCAL_WEBHOOK_SECRET: &str = "pulse-local-github-secret";
const DEFAULT_URL: &str = "http://127.0.0.1:3000/github/webhook";

#[derive(clap::Args)]
pub struct GithubArgs {
    #[command(subcommand)]
    command: GithubCommand,
}

#[derive(clap::Subcommand)]
enum GithubCommand {
    /// Sign a GitHub Actions webhook delivery and send it to a running ingress.
    Send(Box<SendArgs>),
    /// Redeliver a hook's failed deliveries since a time (GitHub never retries them itself).
    Redeliver(RedeliverArgs),
    /// Print the GitHub App manifest (JSON) for this deployment.
    AppManifest(ManifestArgs),
}

#[derive(clap::Args)]
struct SendArgs {
    /// Ingress's GitHub route.
    #[arg(long, global = true, default_value = DEFAULT_URL)]
    url: String,
    /// The webhook secret; the local stack's default when unset.
    #[arg(long, global = true, env = pulse_ingress::settings::GITHUB_WEBHOOK_SECRET.name, default_value = LOCAL_WEBHOOK_SECRET, hide_env_values = true, hide_default_value = true)]
    secret: String,
    /// The `X-GitHub-Delivery` to send (default: a fresh one). Send one again to see a
    /// redelivery answered without a second effect.
    #[arg(long, global = true, value_parser = parse_delivery)]
    delivery: Option<String>,
    #[command(subcommand)]
    what: SendWhat,
}

#[derive(clap::Subcommand)]
enum SendWhat {
    /// A `workflow_run` delivery.
    #[command(name = "workflow_run")]
    WorkflowRun {
        #[command(flatten)]
        run: RunArgs,
        /// `requested`, `in_progress` or `completed`.
        #[arg(long, default_value = "completed", value_parser = ["requested", "in_progress", "completed"])]
        action: String,
    },
    /// A `workflow_job` delivery.
    #[command(name = "workflow_job")]
    WorkflowJob {
        #[command(flatten)]
        run: RunArgs,
        /// `queued`, `waiting`, `in_progress` or `completed`.
        #[arg(long, default_value = "completed", value_parser = ["queued", "waiting", "in_progress", "completed"])]
        action: String,
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=i64::MAX as u64))]
        job_id: u64,
        #[arg(long, default_value = "build", value_parser = parse_text)]
        job_name: String,
        /// A step that failed; repeatable (in order).
        #[arg(long = "failed-step", value_parser = parse_text)]
        failed_steps: Vec<String>,
    },
}

/// A positive id GitHub could hand out.
fn id() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=i64::MAX as u64)
}

#[derive(clap::Args)]
struct RunArgs {
    #[arg(long, default_value = "octo-org/api", value_parser = parse_repo)]
    repo: String,
    #[arg(long, default_value_t = 1, value_parser = id())]
    run_id: u64,
    #[arg(long, default_value_t = 1, value_parser = id())]
    run_number: u64,
    /// `run_attempt`: above 1 is a re-run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    attempt: u64,
    /// The workflow's name.
    #[arg(long, default_value = "CI", value_parser = parse_text)]
    workflow: String,
    #[arg(long, default_value = "main", value_parser = parse_text)]
    branch: String,
    /// The head commit (40 hex digits).
    #[arg(long, default_value = "0123456789abcdef0123456789abcdef01234567", value_parser = parse_sha)]
    sha: String,
    /// What triggered the run: `push`, `pull_request`, `schedule`, `workflow_dispatch`, ….
    #[arg(long, default_value = "push", value_parser = parse_text)]
    event: String,
    /// Overrides the status the action implies (e.g. `queued` for a `requested` run).
    #[arg(long, value_parser = ["requested", "queued", "pending", "waiting", "in_progress", "completed"])]
    status: Option<String>,
    /// The conclusion of a completed run or job.
    #[arg(long, default_value = "success", value_parser = ["success", "failure", "cancelled", "skipped", "timed_out", "action_required", "neutral", "stale", "startup_failure"])]
    conclusion: String,
    #[arg(long, default_value = "Ann Author", value_parser = parse_text)]
    author_name: String,
    /// The head commit's author e-mail (whose feed the run lands in).
    #[arg(long, default_value = "ann@example.com", value_parser = parse_email)]
    author_email: String,
    /// The login of who triggered the run.
    #[arg(long, default_value = "ann", value_parser = parse_login)]
    actor: String,
    #[arg(long, default_value_t = 1, value_parser = id())]
    actor_id: u64,
    /// The pull request the run is for (none: a push, or a fork's run).
    #[arg(long, value_parser = id())]
    pr: Option<u64>,
    #[arg(long, default_value = "main", value_parser = parse_text)]
    default_branch: String,
}

impl RunArgs {
    fn run(&self) -> Run {
        Run {
            repo: self.repo.clone(),
            run_id: self.run_id,
            run_number: self.run_number,
            attempt: self.attempt,
            workflow: self.workflow.clone(),
            branch: self.branch.clone(),
            sha: self.sha.clone(),
            event: self.event.clone(),
            author_name: self.author_name.clone(),
            author_email: self.author_email.clone(),
            actor: self.actor.clone(),
            actor_id: self.actor_id,
            pr: self.pr,
            default_branch: self.default_branch.clone(),
        }
    }
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("hook").required(true).args(["repo", "org", "app"])))]
struct RedeliverArgs {
    /// Only deliveries since then: an age (`30m`, `12h`, `7d`), a time or a date.
    #[arg(long, value_parser = parse_since)]
    since: DateTime<Utc>,
    /// A repository's hook (with `--hook-id`).
    #[arg(long, value_parser = parse_repo, requires = "hook_id")]
    repo: Option<String>,
    /// An organisation's hook (with `--hook-id`).
    #[arg(long, value_parser = parse_login, requires = "hook_id")]
    org: Option<String>,
    /// The GitHub App's hook (needs the App's credentials).
    #[arg(long)]
    app: bool,
    /// The hook's id (Settings → Webhooks → the hook: the number in its URL).
    #[arg(long, value_parser = id())]
    hook_id: Option<u64>,
    /// List what would be redelivered, and redeliver nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct ManifestArgs {
    /// Pulse's public API root (API Gateway), e.g. https://abc.execute-api.us-east-1.amazonaws.com;
    /// the hook is its `/github/webhook`.
    #[arg(long, value_parser = parse_https)]
    url: String,
    /// The App's name (GitHub allows 34 characters).
    #[arg(long, default_value = "Pulse", value_parser = parse_app_name)]
    name: String,
}

pub async fn run(args: GithubArgs, clock: &Clock, ids: &Ids) -> anyhow::Result<()> {
    match args.command {
        GithubCommand::Send(args) => send(*args, clock, ids).await,
        GithubCommand::Redeliver(args) => redeliver(args, clock).await,
        GithubCommand::AppManifest(args) => {
            println!("{}", serde_json::to_string_pretty(&manifest(&args.name, &args.url))?);
            Ok(())
        }
    }
}

// ---- argument parsers ----------------------------------------------------------------------

/// Free text GitHub would accept in a name: 1 to 255 characters, no control characters.
fn parse_text(text: &str) -> Result<String, String> {
    if text.trim().is_empty() || text.chars().count() > 255 || text.chars().any(char::is_control) {
        return Err("1 to 255 characters, not blank, no control characters".into());
    }
    Ok(text.to_owned())
}

fn parse_repo(text: &str) -> Result<String, String> {
    RepoName::parse(text).map(|r| r.to_string())
}

fn parse_login(text: &str) -> Result<String, String> {
    Hook::org(text, 1).map(|_| text.to_owned()).map_err(|e| e.replace("organisation", "login"))
}

fn parse_sha(text: &str) -> Result<String, String> {
    if text.len() != 40 || !text.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("a commit sha is 40 hex digits".into());
    }
    Ok(text.to_ascii_lowercase())
}

fn parse_email(text: &str) -> Result<String, String> {
    match text.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && text.len() <= 254 && !text.contains(char::is_whitespace) => {
            Ok(text.to_owned())
        }
        _ => Err("an e-mail address like ann@example.com".into()),
    }
}

fn parse_delivery(text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() > 100 || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("a delivery id is 1 to 100 letters, digits or hyphens (GitHub sends a GUID)".into());
    }
    Ok(text.to_owned())
}

fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    pulse_cli::audit::parse_since(text, Clock::system().now())
}

fn parse_https(text: &str) -> Result<String, String> {
    let rest = text.strip_prefix("https://").ok_or_else(|| format!("GitHub calls https:// URLs only (got {text:?})"))?;
    if rest.is_empty() || rest.len() > 2000 || rest.contains(char::is_whitespace) || rest.starts_with('/') {
        return Err(format!("not a URL: {text:?}"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

fn parse_app_name(text: &str) -> Result<String, String> {
    if text.trim().is_empty() || text.chars().count() > 34 || text.chars().any(char::is_control) {
        return Err("a GitHub App's name is 1 to 34 characters".into());
    }
    Ok(text.to_owned())
}

// ---- send ----------------------------------------------------------------------------------

/// The event type, body and delivery id of what `send` posts.
fn delivery(what: &SendWhat, now: DateTime<Utc>) -> (&'static str, Value) {
    match what {
        SendWhat::WorkflowRun { run, action } => {
            ("workflow_run", payload::workflow_run(&run.run(), &Progress::new(action, run.status.as_deref(), &run.conclusion), now))
        }
        SendWhat::WorkflowJob { run, action, job_id, job_name, failed_steps } => {
            let job = Job { id: *job_id, name: job_name.clone(), failed_steps: failed_steps.clone() };
            let progress = Progress::new(action, run.status.as_deref(), &run.conclusion);
            ("workflow_job", payload::workflow_job(&run.run(), &job, &progress, now))
        }
    }
}

async fn send(args: SendArgs, clock: &Clock, ids: &Ids) -> anyhow::Result<()> {
    let (event, body) = delivery(&args.what, clock.now());
    let body = body.to_string();
    let guid = args.delivery.unwrap_or_else(|| ids.uuid().hyphenated().to_string());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let started = Instant::now();
    let response = http
        .post(&args.url)
        .header("Content-Type", "application/json")
        .header("User-Agent", "GitHub-Hookshot/pulse-cli")
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", &guid)
        .header("X-Hub-Signature-256", pulse_ingress::github::sign(&args.secret, body.as_bytes()))
        .body(body)
        .send()
        .await
        .with_context(|| format!("sending to {} (is ingress running?)", args.url))?;
    crate::reply::print(&format!("{event} delivery {guid}: "), started, response).await
}

// ---- redeliver -----------------------------------------------------------------------------

async fn redeliver(args: RedeliverArgs, clock: &Clock) -> anyhow::Result<()> {
    let hook = match (&args.repo, &args.org, args.hook_id) {
        (Some(repo), _, Some(id)) => Hook::repo(repo, id),
        (_, Some(org), Some(id)) => Hook::org(org, id),
        _ => Ok(Hook::App),
    }
    .map_err(anyhow::Error::msg)?;
    let settings = Settings::from_env();
    let aws = pulse_aws::config::load().await;
    let ssm = pulse_aws::secrets::Secrets::new(aws_sdk_ssm::Client::new(&aws));
    let credentials = pulse_github::credentials::from_settings(&settings, &ssm).await?;
    let client = GithubClient::new(pulse_github::credentials::config(&settings, credentials)?, clock.clone());

    let listed = client.deliveries(&hook, args.since).await.with_context(|| format!("listing the deliveries of {hook}"))?;
    let chosen = pulse_github::to_redeliver(&listed, args.since);
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for delivery in &chosen {
        let line = json!({
            "id": delivery.id, "guid": delivery.guid, "event": delivery.event, "action": delivery.action,
            "status_code": delivery.status_code, "delivered_at": delivery.delivered_at,
        });
        if args.dry_run {
            done.push(line);
            continue;
        }
        match client.redeliver(&hook, delivery.id).await {
            Ok(()) => done.push(line),
            Err(err) => failed.push(json!({"delivery": line, "error": err.to_string()})),
        }
    }
    if args.json {
        println!(
            "{}",
            json!({"hook": hook.to_string(), "since": args.since, "listed": listed.len(), "dry_run": args.dry_run,
                   "redelivered": done, "failed": failed})
        );
    } else {
        let verb = if args.dry_run { "would redeliver" } else { "redelivered" };
        for line in &done {
            println!(
                "{verb} {} ({} {}, answered {} at {})",
                line["guid"].as_str().unwrap_or_default(),
                line["event"].as_str().unwrap_or_default(),
                line["action"].as_str().unwrap_or("-"),
                line["status_code"],
                line["delivered_at"].as_str().unwrap_or_default()
            );
        }
        for line in &failed {
            println!(
                "could not redeliver {}: {}",
                line["delivery"]["guid"].as_str().unwrap_or_default(),
                line["error"].as_str().unwrap_or_default()
            );
        }
        println!(
            "{hook}: {} deliveries since {}, {} events never succeeded: {} {verb}{}",
            listed.len(),
            args.since.to_rfc3339(),
            chosen.len(),
            done.len(),
            if failed.is_empty() { String::new() } else { format!(", {} failed", failed.len()) }
        );
    }
    if !failed.is_empty() {
        bail!("{} of {} redeliveries failed", failed.len(), chosen.len());
    }
    Ok(())
}

// ---- app manifest --------------------------------------------------------------------------

/// The App's permissions, each with what needs it. Nothing else: no contents, no checks, no
/// organisation permissions.
const PERMISSIONS: [(&str, &str, &str); 3] = [
    // `workflow_run` and `workflow_job` events need actions read; the re-run button's
    // `POST …/actions/runs/{id}/rerun-failed-jobs` needs write (which includes read).
    ("actions", "write", "receive run and job events; re-run failed jobs from Slack"),
    // Mandatory with any repository permission; also what `GET …/collaborators/{login}/permission`
    // (may the clicker re-run?) reads.
    ("metadata", "read", "repository metadata and a collaborator's permission"),
    // `GET …/commits/{sha}/pulls`: the pull request of a fork's run, whose payload names none.
    ("pull_requests", "read", "find the pull request of a run from a fork"),
];
// The App's own hook deliveries (`pulse github redeliver --app`) are read with its JWT and
// need no permission.

/// The GitHub App manifest: the hook at `url` + `/github/webhook`, the two events, the
/// permissions above.
fn manifest(name: &str, url: &str) -> Value {
    let permissions: serde_json::Map<String, Value> = PERMISSIONS.iter().map(|(p, level, _)| ((*p).to_owned(), (*level).into())).collect();
    json!({
        "name": name,
        "url": url,
        "description": "CI results from GitHub Actions in Slack: feeds, channel messages updated in place, red/green transitions, re-runs.",
        "hook_attributes": { "url": format!("{url}/github/webhook"), "active": true },
        "public": false,
        "default_permissions": permissions,
        "default_events": ["workflow_run", "workflow_job"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_asks_for_the_minimum() {
        let m = manifest("Pulse", "https://abc.example.com");
        assert_eq!(m["hook_attributes"]["url"], "https://abc.example.com/github/webhook");
        assert_eq!(m["default_events"], json!(["workflow_run", "workflow_job"]));
        assert_eq!(m["default_permissions"], json!({"actions": "write", "metadata": "read", "pull_requests": "read"}));
        assert_eq!(parse_https("https://abc.example.com/"), Ok("https://abc.example.com".to_owned()));
        assert!(parse_https("http://abc").is_err() && parse_https("https://").is_err());
    }

    #[test]
    fn arguments_are_parsed_strictly() {
        assert!(parse_repo("a/b/c").is_err() && parse_repo("o/r").is_ok());
        assert!(parse_login("a/b").is_err() && parse_login("ann").is_ok());
        assert!(parse_sha("abc").is_err());
        assert!(parse_email("x").is_err() && parse_email("a@b.c").is_ok());
        assert!(parse_delivery("").is_err() && parse_delivery("%s%n{}").is_err());
        assert!(parse_text("").is_err() && parse_text("a\u{0}").is_err());
        assert!(parse_app_name(&"x".repeat(35)).is_err());
    }
}
