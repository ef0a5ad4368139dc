//! `pulse-fake-slack`: the fake Slack Web API as a process, for the local stack and scripts.
//!
//! Serves the Web API under `/api/`, response URLs under `/response/{id}`, the control API under
//! `/_fake/` and the page at `/` until killed, logging one line per call (never the token).
//! With `--ingress-url` and `--signing-secret` the page's stand-in signs what a person does and
//! sends it to that ingress; it refuses (exit 2) an ingress off this machine or a secret that
//! looks real or names an SSM parameter.

use std::net::SocketAddr;

use clap::Parser;
use pulse_fake_slack::FakeSlack;

#[derive(Debug, Parser)]
#[command(name = "pulse-fake-slack", about = "A recording fake of the Slack Web API")]
struct Args {
    /// Address to listen on (port 0 picks a free one; the chosen address is printed).
    #[arg(long, env = "PULSE_FAKE_SLACK_ADDR", default_value = "127.0.0.1:4599")]
    addr: SocketAddr,
    /// The only bot token accepted; without it any token is accepted.
    #[arg(long, env = "PULSE_FAKE_SLACK_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A user that users.info knows, as `ID:NAME[:EMAIL]`; repeatable.
    #[arg(long = "user", value_parser = parse_user)]
    users: Vec<(String, String, Option<String>)>,
    /// Ingress's root URL on this machine (e.g. http://127.0.0.1:3000): where the page's
    /// commands, clicks and submissions go, signed as Slack signs them.
    #[arg(long, env = "PULSE_FAKE_SLACK_INGRESS_URL", requires = "signing_secret")]
    ingress_url: Option<String>,
    /// The local stand-in signing secret ingress checks (never a real app's).
    #[arg(long, env = "PULSE_FAKE_SLACK_SIGNING_SECRET", hide_env_values = true, requires = "ingress_url")]
    signing_secret: Option<String>,
}

fn parse_user(spec: &str) -> Result<(String, String, Option<String>), String> {
    let mut parts = spec.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(id), Some(name), email) if !id.is_empty() && !name.is_empty() => {
            Ok((id.to_owned(), name.to_owned(), email.filter(|e| !e.is_empty()).map(str::to_owned)))
        }
        _ => Err(format!("expected ID:NAME[:EMAIL], got {spec:?}")),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let fake = FakeSlack::start_on(args.addr).await?;
    if let Some(token) = &args.token {
        fake.set_token(token);
    }
    for (id, name, email) in &args.users {
        fake.add_user(id, name, email.as_deref());
    }
    if let (Some(ingress), Some(secret)) = (&args.ingress_url, &args.signing_secret)
        && let Err(refused) = fake.set_stand_in(ingress, secret)
    {
        eprintln!("pulse-fake-slack: the page's stand-in will not sign: {refused}");
        std::process::exit(2);
    }
    // One line on stdout that scripts can wait for and parse.
    println!("pulse-fake-slack listening on {}", fake.base_url());
    println!("pulse-fake-slack page at {}/", fake.root_url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
