//! `pulse-fake-imagebuilder`: the fake Image Builder API as a process, for the local stack and
//! scripts. Point the SDK at it with `AWS_ENDPOINT_URL_IMAGEBUILDER=http://ADDR`.

use std::net::SocketAddr;

use clap::Parser;
use pulse_fake_imagebuilder::{Account, FakeImageBuilder};

#[derive(Debug, Parser)]
#[command(name = "pulse-fake-imagebuilder", about = "A recording fake of the EC2 Image Builder API")]
struct Args {
    /// Address to listen on (port 0 picks a free one; the chosen address is printed).
    #[arg(long, env = "PULSE_FAKE_IMAGEBUILDER_ADDR", default_value = "127.0.0.1:4600")]
    addr: SocketAddr,
    /// The region in ARNs.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The account id in ARNs.
    #[arg(long, default_value = "123456789012")]
    account_id: String,
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
    let account = Account { region: args.region, account_id: args.account_id };
    let fake = FakeImageBuilder::start_on(args.addr, account).await?;
    // One line on stdout that scripts can wait for and parse.
    println!("pulse-fake-imagebuilder listening on {}", fake.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
