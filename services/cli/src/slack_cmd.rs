//! `pulse slack`: set up the Slack app, and drive a running ingress exactly as Slack would.
//!
//! - `pulse slack manifest --url https://…/slack/events` (or `--socket-mode`): the app manifest
//!   for this deployment, to paste into "Create New App → From an app manifest".
//! - `pulse slack send command "/praktika subscribe a@b.c" --user U123`, `send action ACTION_ID
//!   --value V --user U --channel C --ts TS [--response-url URL]`, `send home-opened --user U`, `send deploy-submit
//!   SERVICE --user U --channel C`: a request signed with the local signing secret, posted to
//!   ingress; prints the answer.
//! - `pulse slack load`: many signed requests, closed or open loop ([`crate::slack_load`]).
//!
//! The signing secret is `SLACK_SIGNING_SECRET`, or for the local stack
//! [`LOCAL_SIGNING_SECRET`] (give ingress the same one).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use pulse_core::{Clock, Ids};
use pulse_ingress::command::{PRAKTIKA_HINT, PULSER_HINT};
use pulse_slack_requests as requests;
use serde_json::{Value, json};

/// The signing secret of the local stack, when `SLACK_SIGNING_SECRET` is not set. Only for
/// local use: a real app's secret comes from its Slack settings page.
pub const LOCAL_SIGNING_SECRET: &str = "pulse-local-signing-secret";
const DEFAULT_URL: &str = "http://127.0.0.1:3000/slack/events";

#[derive(clap::Args)]
pub struct SlackArgs {
    #[command(subcommand)]
    command: SlackCommand,
}

#[derive(clap::Subcommand)]
enum SlackCommand {
    /// Print the Slack app manifest (JSON) for this deployment.
    Manifest(ManifestArgs),
    /// Sign a request with the local signing secret and send it to a running ingress.
    Send(SendArgs),
    /// Send many signed requests at once to a running ingress and report acknowledgement times.
    Load(crate::slack_load::LoadArgs),
}

#[derive(clap::Args)]
struct ManifestArgs {
    /// The ingress request URL (API Gateway), e.g. https://abc.execute-api.us-east-1.amazonaws.com/slack/events.
    /// Used for slash commands, events and interactivity alike: ingress routes by content.
    #[arg(long, required_unless_present = "socket_mode", conflicts_with = "socket_mode")]
    url: Option<String>,
    /// Receive everything over Socket Mode instead (no public endpoint; needs an app-level token).
    #[arg(long)]
    socket_mode: bool,
    /// The app's (and bot user's) name.
    #[arg(long, default_value = "Pulse")]
    name: String,
}

#[derive(clap::Args)]
pub(crate) struct Target {
    /// The ingress URL (any of /slack/events, /slack/commands, /slack/interactivity).
    #[arg(long, global = true, env = pulse_cli::settings::PULSE_INGRESS_URL.name, default_value = DEFAULT_URL)]
    pub(crate) url: String,
    /// The signing secret; the local stack's default when unset.
    #[arg(long = "signing-secret", global = true, env = pulse_ingress::settings::SLACK_SIGNING_SECRET.name, default_value = LOCAL_SIGNING_SECRET, hide_env_values = true, hide_default_value = true)]
    secret: String,
    /// The workspace id the request claims to come from.
    #[arg(long, global = true, default_value = requests::TEAM_ID)]
    pub(crate) team: String,
}

#[derive(clap::Args)]
struct SendArgs {
    #[command(flatten)]
    target: Target,
    #[command(subcommand)]
    what: Send,
}

#[derive(clap::Subcommand)]
pub(crate) enum Send {
    /// A slash command, e.g. "/praktika subscribe a@b.c" or "/pulser deploy api".
    Command {
        /// The command line as typed in Slack.
        line: String,
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "C0PULSE01")]
        channel: String,
        /// Where the services post the outcome (default: the fake Slack's, if SLACK_API_URL
        /// points at it).
        #[arg(long)]
        response_url: Option<String>,
    },
    /// A button click (`block_actions`): in a message (`--channel` and `--ts`) or on the Home tab
    /// (`--view`).
    Action {
        action_id: String,
        #[arg(long, default_value = "")]
        value: String,
        #[arg(long)]
        user: String,
        #[arg(long, requires = "ts", conflicts_with = "view")]
        channel: Option<String>,
        /// The message's ts.
        #[arg(long, requires = "channel")]
        ts: Option<String>,
        /// The Home tab view id (for Home toggles).
        #[arg(long)]
        view: Option<String>,
        /// Where the services answer the click (default: the fake Slack's, if SLACK_API_URL
        /// points at it).
        #[arg(long)]
        response_url: Option<String>,
    },
    /// The user opened the app's Home tab (`app_home_opened`).
    HomeOpened {
        #[arg(long)]
        user: String,
        /// The Events API event id (default: a fresh one). Send the same one again to see
        /// deduplication.
        #[arg(long)]
        event_id: Option<String>,
        /// Send as Slack's retry number N (`X-Slack-Retry-Num`).
        #[arg(long)]
        retry: Option<u32>,
    },
    /// Submit the `/pulser deploy` confirmation modal for SERVICE.
    DeploySubmit {
        service: String,
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "C0PULSE01")]
        channel: String,
        /// Resource kinds to limit the deploy to.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
}

pub async fn run(args: SlackArgs, clock: &Clock, ids: &Ids) -> anyhow::Result<()> {
    match args.command {
        SlackCommand::Manifest(args) => {
            let manifest = manifest(&args.name, args.url.as_deref())?;
            println!("{}", serde_json::to_string_pretty(&manifest)?);
            Ok(())
        }
        SlackCommand::Send(args) => send(args, clock, ids).await,
        SlackCommand::Load(args) => crate::slack_load::load(args, clock, ids).await,
    }
}

// ---- manifest ------------------------------------------------------------------------------

/// The minimum bot scopes Pulse uses, each with what needs it.
const BOT_SCOPES: [(&str, &str); 9] = [
    // notifier: ops alerts, deploy reports, job start/finish threads, digests, DMs; and
    // chat.update of an alert after a button click.
    ("chat:write", "post and update messages"),
    // The /praktika and /pulser slash commands.
    ("commands", "slash commands"),
    // home-renderer: users.info to find the profile of who ran `/praktika subscribe`.
    ("users:read", "look up the user who subscribes"),
    // home-renderer: the profile email, for `/praktika subscribe` without an email.
    ("users:read.email", "subscribe with the Slack profile's email"),
    // notifier: conversations.open to DM subscribers their run results and digests.
    ("im:write", "open DMs for notifications"),
    // notifier: when a post's answer is lost (5xx, timeout), conversations.history/.replies
    // tells whether it landed, so it is re-sent only if it did not. Without these the notifier
    // falls back to NOTIFIER_UNCERTAIN_POLICY.
    ("channels:history", "confirm an uncertain post in a public channel"),
    ("groups:history", "confirm an uncertain post in a private channel"),
    ("im:history", "confirm an uncertain DM"),
    // notifier: usergroups.users.list, for a policy that lets a user group act from Slack.
    ("usergroups:read", "check who may approve, roll back or deploy"),
];
// Not needed: views.publish (Home tab) and views.open (the deploy modal) need no scope;
// app_home_opened needs none either. The bot posts to ops channels it was invited to, so no
// chat:write.public.

/// The app manifest: HTTP request URLs when `url` is given, else Socket Mode.
fn manifest(name: &str, url: Option<&str>) -> anyhow::Result<Value> {
    if let Some(url) = url
        && !url.starts_with("https://")
    {
        bail!("Slack only calls https:// request URLs (got {url}); for a local run use `pulse slack send` or --socket-mode");
    }
    let with_url = |mut object: Value| {
        if let Some(url) = url {
            object["url"] = url.into();
        }
        object
    };
    let mut event_subscriptions = json!({ "bot_events": ["app_home_opened"] });
    let mut interactivity = json!({ "is_enabled": true });
    if let Some(url) = url {
        event_subscriptions["request_url"] = url.into();
        interactivity["request_url"] = url.into();
    }
    Ok(json!({
        "_metadata": { "major_version": 1, "minor_version": 1 },
        "display_information": {
            "name": name,
            "description": "CI/CD feeds on your Home tab, run notifications, ops alerts with actions, and deploys.",
            "background_color": "#1d1c1d"
        },
        "features": {
            "app_home": {
                "home_tab_enabled": true,
                // DMs (run results, digests) appear in the Messages tab; Pulse reads no messages.
                "messages_tab_enabled": true,
                "messages_tab_read_only_enabled": true
            },
            "bot_user": { "display_name": name, "always_online": true },
            "slash_commands": [
                with_url(json!({
                    "command": "/praktika",
                    "description": "Follow a commit author's CI feed on your Pulse Home tab",
                    "usage_hint": PRAKTIKA_HINT,
                    "should_escape": false
                })),
                with_url(json!({
                    "command": "/pulser",
                    "description": "Platform status, health checks and deploys",
                    "usage_hint": PULSER_HINT,
                    "should_escape": false
                }))
            ]
        },
        "oauth_config": {
            "scopes": { "bot": BOT_SCOPES.iter().map(|(scope, _)| *scope).collect::<Vec<_>>() }
        },
        "settings": {
            "event_subscriptions": event_subscriptions,
            "interactivity": interactivity,
            "org_deploy_enabled": false,
            "socket_mode_enabled": url.is_none(),
            "token_rotation_enabled": false
        }
    }))
}

// ---- send ----------------------------------------------------------------------------------

/// A request ready to sign: body, content type and extra headers.
pub(crate) struct Outgoing {
    body: String,
    json: bool,
    retry: Option<u32>,
}

fn response_url(ids: &Ids) -> String {
    // The fake Slack serves response URLs at `<root>/response/<id>`; SLACK_API_URL is `<root>/api`.
    let settings = pulse_core::Settings::from_env();
    let api = pulse_slack::settings::SLACK_API_URL;
    let set = if settings.is_set(&api) { settings.text(&api).ok().flatten() } else { None };
    match set.as_deref().and_then(|u| u.strip_suffix("/api")) {
        Some(root) => format!("{root}/response/{}", ids.uuid().simple()),
        None => requests::Command::new("/pulser", "U").response_url,
    }
}

fn set_team(payload: &mut Value, team: &str) {
    payload["team"]["id"] = team.into();
    if payload["user"].get("team_id").is_some() {
        payload["user"]["team_id"] = team.into();
    }
}

pub(crate) fn outgoing(what: Send, team: &str, ids: &Ids) -> Outgoing {
    match what {
        Send::Command { line, user, channel, response_url: url } => {
            let mut command = requests::Command::new(&line, &user);
            command.team_id = team.to_owned();
            command.channel_id = channel;
            command.response_url = url.unwrap_or_else(|| response_url(ids));
            Outgoing { body: command.form(), json: false, retry: None }
        }
        Send::Action { action_id, value, user, channel, ts, view, response_url: url } => {
            let mut payload = match (channel, ts, view) {
                (Some(channel), Some(ts), _) => {
                    let mut payload = requests::block_actions_payload(&action_id, &value, &user, &channel, &ts);
                    payload["response_url"] = url.unwrap_or_else(|| response_url(ids)).into();
                    payload
                }
                (_, _, view) => requests::home_toggle_payload(&action_id, &value, &user, view.as_deref().unwrap_or("V0HOME")),
            };
            set_team(&mut payload, team);
            Outgoing { body: requests::interactivity_form(&payload), json: false, retry: None }
        }
        Send::HomeOpened { user, event_id, retry } => {
            let mut payload = requests::home_opened_payload(&event_id.unwrap_or_else(requests::event_id), &user);
            payload["team_id"] = team.into();
            Outgoing { body: payload.to_string(), json: true, retry }
        }
        Send::DeploySubmit { service, user, channel, only } => {
            let only: Vec<&str> = only.iter().map(String::as_str).collect();
            let mut payload = requests::deploy_submission_payload(&service, &channel, &user, &only);
            set_team(&mut payload, team);
            Outgoing { body: requests::interactivity_form(&payload), json: false, retry: None }
        }
    }
}

/// `outgoing` signed as Slack signs, at `now` (Unix seconds).
pub(crate) fn signed_request(http: &reqwest::Client, target: &Target, outgoing: &Outgoing, now: i64) -> reqwest::RequestBuilder {
    let timestamp = now.to_string();
    let signature = requests::sign(&target.secret, &timestamp, outgoing.body.as_bytes());
    let content_type = if outgoing.json { "application/json" } else { "application/x-www-form-urlencoded" };
    let mut request = http
        .post(&target.url)
        .header("Content-Type", content_type)
        .header("X-Slack-Request-Timestamp", timestamp)
        .header("X-Slack-Signature", signature)
        .body(outgoing.body.clone());
    if let Some(n) = outgoing.retry {
        request = request.header("X-Slack-Retry-Num", n.to_string()).header("X-Slack-Retry-Reason", "http_timeout");
    }
    request
}

async fn send(args: SendArgs, clock: &Clock, ids: &Ids) -> anyhow::Result<()> {
    let outgoing = outgoing(args.what, &args.target.team, ids);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let started = Instant::now();
    let response = signed_request(&http, &args.target, &outgoing, clock.now_secs())
        .send()
        .await
        .with_context(|| format!("sending to {} (is ingress running?)", args.target.url))?;
    crate::reply::print("", started, response).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_manifest_points_everything_at_the_url() {
        let url = "https://abc.execute-api.us-east-1.amazonaws.com/slack/events";
        let m = manifest("Pulse", Some(url)).unwrap();
        assert_eq!(m["settings"]["socket_mode_enabled"], false);
        assert_eq!(m["settings"]["event_subscriptions"]["request_url"], url);
        assert_eq!(m["settings"]["event_subscriptions"]["bot_events"], json!(["app_home_opened"]));
        assert_eq!(m["settings"]["interactivity"], json!({"is_enabled": true, "request_url": url}));
        assert_eq!(m["features"]["app_home"]["home_tab_enabled"], true);
        let commands = m["features"]["slash_commands"].as_array().unwrap();
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[0]["command"], "/praktika");
        assert_eq!(commands[0]["usage_hint"], "subscribe [email] | unsubscribe | github add ID+login | github remove LOGIN");
        assert_eq!(commands[1]["command"], "/pulser");
        assert_eq!(
            commands[1]["usage_hint"],
            "status | health | deploy <service> | subscribe OWNER/REPO [filters] | unsubscribe OWNER/REPO | subscriptions"
        );
        assert!(commands.iter().all(|c| c["url"] == url));
        assert_eq!(
            m["oauth_config"]["scopes"]["bot"],
            json!([
                "chat:write",
                "commands",
                "users:read",
                "users:read.email",
                "im:write",
                "channels:history",
                "groups:history",
                "im:history",
                "usergroups:read"
            ])
        );
    }

    #[test]
    fn socket_mode_manifest_has_no_urls() {
        let m = manifest("Pulse", None).unwrap();
        assert_eq!(m["settings"]["socket_mode_enabled"], true);
        assert!(m["settings"]["event_subscriptions"].get("request_url").is_none());
        assert!(m["settings"]["interactivity"].get("request_url").is_none());
        assert!(m["features"]["slash_commands"].as_array().unwrap().iter().all(|c| c.get("url").is_none()));
        assert!(manifest("Pulse", Some("http://insecure")).is_err());
    }

    #[test]
    fn sent_requests_are_signed_for_the_team() {
        let ids = Ids::sequence(1);
        let o = outgoing(
            Send::Command { line: "/pulser deploy api".into(), user: "U1".into(), channel: "C9".into(), response_url: None },
            "T9",
            &ids,
        );
        assert!(o.body.contains("team_id=T9") && o.body.contains("channel_id=C9") && o.body.contains("text=deploy+api"));
        let o = outgoing(Send::HomeOpened { user: "U1".into(), event_id: Some("Ev1".into()), retry: Some(1) }, "T9", &ids);
        let v: Value = serde_json::from_str(&o.body).unwrap();
        assert_eq!((v["team_id"].as_str(), v["event_id"].as_str(), o.retry), (Some("T9"), Some("Ev1"), Some(1)));
        let o = outgoing(
            Send::Action {
                action_id: "a".into(),
                value: "v".into(),
                user: "U1".into(),
                channel: None,
                ts: None,
                view: Some("V1".into()),
                response_url: None,
            },
            "T9",
            &ids,
        );
        assert!(o.body.starts_with("payload="));
        // A click on a message's button is answered where the caller says.
        let click = Send::Action {
            action_id: "github_rerun_failed_jobs".into(),
            value: "o/r#9#1".into(),
            user: "U1".into(),
            channel: Some("C1".into()),
            ts: Some("1.2".into()),
            view: None,
            response_url: Some("http://127.0.0.1:9/response/click-1".into()),
        };
        let o = outgoing(click, "T9", &ids);
        // Form-encoded: `"response_url":"http://127.0.0.1:9/response/click-1"`.
        assert!(o.body.contains("%22response_url%22%3A%22http%3A%2F%2F127.0.0.1%3A9%2Fresponse%2Fclick-1%22"), "{}", o.body);
    }
}
