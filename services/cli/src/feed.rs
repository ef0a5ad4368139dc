//! `pulse feed show`: a commit author's feed as stored, one line per event.

use anyhow::Context;
use pulse_aws::s3json::GzipJsonStore;
use pulse_contracts::feed_layout::FeedLocation;
use pulse_contracts::praktika::EventFeed;

#[derive(clap::Args)]
pub struct FeedArgs {
    #[command(subcommand)]
    command: FeedCommand,
}

#[derive(clap::Subcommand)]
enum FeedCommand {
    /// Print the feed of one commit-author email.
    Show {
        email: String,
        /// Where the feeds are, as praktika's `bucket/prefix` (default: the stack's feed bucket).
        #[arg(long, env = pulse_aws::settings::EVENT_FEED_S3_PATH.name)]
        path: Option<String>,
        /// Print the stored JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// List the feeds in the bucket.
    List {
        /// Where the feeds are, as praktika's `bucket/prefix` (default: the stack's feed bucket).
        #[arg(long, env = pulse_aws::settings::EVENT_FEED_S3_PATH.name)]
        path: Option<String>,
        /// Print a JSON array (key, e-mail, bytes) instead.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(args: FeedArgs) -> anyhow::Result<()> {
    let config = pulse_aws::config::load().await;
    let s3 = pulse_aws::config::s3_client(&config);
    match args.command {
        FeedCommand::Show { email, path, json } => {
            let location = location(path.as_deref())?;
            let bucket = location.bucket.clone();
            let key = location.key(&email);
            let store = GzipJsonStore::new(s3, bucket.clone());
            let Some(feed) = store.get::<EventFeed>(&key).await.with_context(|| format!("reading s3://{bucket}/{key}"))? else {
                if json {
                    println!("null");
                }
                eprintln!("no feed for {email} (s3://{bucket}/{key})");
                return Ok(());
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&feed.value)?);
                return Ok(());
            }
            println!("s3://{bucket}/{key}: {} event(s), newest first", feed.value.events.len());
            for e in &feed.value.events {
                let pr =
                    if e.ext.pr_number == 0 { format!("merge {}", &e.sha[..e.sha.len().min(8)]) } else { format!("#{}", e.ext.pr_number) };
                let status = e.ext.pr_status.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_default();
                let failing = e.failing_job_names();
                println!(
                    "  {:<14} {:<8} ci={:<8} {:<10} {} {}{}",
                    pr,
                    status,
                    e.ci_status.as_str(),
                    e.ext.repo_name,
                    e.ext.pr_title,
                    if e.ext.is_cancelled { "(cancelled) " } else { "" },
                    if failing.is_empty() { String::new() } else { format!("failing: {}", failing.join(", ")) }
                );
            }
        }
        FeedCommand::List { path, json } => {
            let location = location(path.as_deref())?;
            let bucket = &location.bucket;
            let mut feeds = Vec::new();
            let mut pages = s3.list_objects_v2().bucket(bucket).prefix(location.events_prefix()).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.with_context(|| format!("listing s3://{bucket}"))?;
                for object in page.contents() {
                    let key = object.key().unwrap_or_default().to_owned();
                    feeds.push(
                        serde_json::json!({"key": key, "email": location.email_of(&key), "bytes": object.size().unwrap_or_default()}),
                    );
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&feeds)?);
            } else {
                for feed in &feeds {
                    println!("s3://{bucket}/{}  {} bytes", feed["key"].as_str().unwrap_or_default(), feed["bytes"]);
                }
            }
        }
    }
    Ok(())
}

/// The feeds' location: praktika's `bucket/prefix`, split by the one parser every service uses.
fn location(path: Option<&str>) -> anyhow::Result<FeedLocation> {
    let location = FeedLocation::from_setting(path, pulse_cli::settings::stack()?.feed_bucket())?;
    for warning in location.warnings() {
        eprintln!("warning: suspicious feed path: {warning}");
    }
    Ok(location)
}
