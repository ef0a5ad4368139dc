//! `pulse-fake-github`: the fake GitHub REST API as a process, for the local stack and
//! scripts. Serves the API at its root (and under `/api/v3`) and the control API under
//! `/_fake/` until killed, logging one line per call (never a credential).

use std::net::SocketAddr;

use clap::Parser;
use pulse_fake_github::{FakeGithub, Seed, TEST_APP_ID};

#[derive(Debug, Parser)]
#[command(name = "pulse-fake-github", about = "A recording fake of the GitHub REST API")]
struct Args {
    /// Address to listen on (port 0 picks a free one; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:4598")]
    addr: SocketAddr,
    /// The fake App's id (its key is the bundled test key).
    #[arg(long, default_value_t = TEST_APP_ID)]
    app_id: u64,
    /// A fine-grained token to accept as well.
    #[arg(long, hide_env_values = true)]
    token: Option<String>,
    /// Install the App on a repository or organisation, as `repos/OWNER/REPO=ID` or
    /// `orgs/ORG=ID`; repeatable.
    #[arg(long = "install", value_parser = parse_install)]
    installs: Vec<(String, u64)>,
}

fn parse_install(spec: &str) -> Result<(String, u64), String> {
    let (scope, id) = spec.rsplit_once('=').ok_or_else(|| format!("expected repos/OWNER/REPO=ID or orgs/ORG=ID, got {spec:?}"))?;
    let id = id.parse().map_err(|_| format!("the installation id must be a number, got {id:?}"))?;
    Ok((scope.to_owned(), id))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new("info")).with_writer(std::io::stderr).init();
    let args = Args::parse();
    let fake = FakeGithub::start_with(args.addr, args.app_id).await?;
    fake.seed(Seed { installations: args.installs.into_iter().collect(), token: args.token, ..Seed::default() });
    // One line on stdout that scripts can wait for and parse.
    println!("pulse-fake-github listening on {}", fake.base_url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
