//! `pulse tap`: the local stack routes a copy of every event on the bus to `<prefix>-tap`, so a
//! person can see what the services published. This prints and consumes those copies.

use std::time::{Duration, Instant};

use anyhow::Context;
use pulse_aws::sqs::Queue;

#[derive(clap::Args)]
pub struct TapArgs {
    /// Keep reading until this many seconds pass with no new event (at most an hour).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(0..=3_600))]
    idle: u64,
    /// Print full envelopes instead of one line each.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: TapArgs) -> anyhow::Result<()> {
    let config = pulse_aws::config::load().await;
    let name = format!("{}-tap", pulse_cli::settings::stack()?.prefix());
    let queue = Queue::from_name(aws_sdk_sqs::Client::new(&config), &name)
        .await
        .with_context(|| format!("opening {name} (deploy the stack with the local tap enabled)"))?;
    let mut last_seen = Instant::now();
    let mut count = 0usize;
    while last_seen.elapsed() < Duration::from_secs(args.idle) {
        let batch = queue.receive(10, 1).await?;
        if batch.is_empty() {
            continue;
        }
        last_seen = Instant::now();
        for message in &batch {
            count += 1;
            let event: serde_json::Value = serde_json::from_str(&message.body).unwrap_or_default();
            let envelope = &event["detail"];
            if args.json {
                println!("{}", serde_json::to_string_pretty(envelope)?);
            } else {
                println!(
                    "{:<22} {}  source={}  dedup_key={}",
                    event["detail-type"].as_str().unwrap_or("?"),
                    envelope["id"].as_str().unwrap_or("?"),
                    envelope["source"].as_str().unwrap_or("?"),
                    envelope["dedup_key"].as_str().unwrap_or("?"),
                );
            }
        }
        let handles: Vec<String> = batch.into_iter().map(|m| m.receipt_handle).collect();
        queue.delete_batch(&handles).await?;
    }
    eprintln!("{count} event(s) seen on {name}");
    Ok(())
}
