//! `pulse loadtest feed`: drive the feed-projector of a running stack with synthetic CI results
//! and measure what a user would feel: events per second end to end (published → `feed.updated`
//! on the bus) and the latency distribution. Run it through `benches/load-feed-projector`, which
//! also starts the emulator and the projector and reads the projector's peak RSS.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::sqs::Queue;
use pulse_contracts::praktika::FeedEvent;
use pulse_contracts::{Envelope, Event};
use pulse_core::{Clock, Ids};
use serde_json::json;

#[derive(clap::Args)]
pub struct LoadtestArgs {
    #[command(subcommand)]
    target: Target,
}

#[derive(clap::Subcommand)]
enum Target {
    /// Publish N ci.workflow events and wait for every feed.updated (read from the notifier queue,
    /// which nothing else consumes during the test).
    Feed {
        /// How many events to publish (at least 1).
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
        events: u32,
        /// Distinct commit authors (feeds); fewer authors means more contention per feed.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        authors: u32,
        /// Give up waiting after this many seconds (at most a day).
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        timeout: u64,
    },
}

pub async fn run(args: LoadtestArgs, clock: &Clock, ids: &Ids) -> anyhow::Result<()> {
    let Target::Feed { events, authors, timeout } = args.target;
    let (events, authors) = (events as usize, authors as usize);
    let config = pulse_aws::config::load().await;
    let names = pulse_cli::settings::stack()?;
    let publisher = EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), names.bus());
    let announcements = Queue::from_name(aws_sdk_sqs::Client::new(&config), &names.queue("notifier"))
        .await
        .context("opening the notifier queue (is the stack deployed?)")?;

    let run_id = ids.uuid().simple().to_string();
    let now = clock.now();
    let envelopes: Vec<Envelope> = (0..events).map(|i| synthetic(i, authors.max(1), now, &run_id, ids)).map(|e| e.to_raw()).collect();

    let started = Instant::now();
    let mut published_at: HashMap<String, Instant> = HashMap::with_capacity(events);
    // Publish in waves of 100 (10 PutEvents calls) so the projector starts while we publish.
    for wave in envelopes.chunks(100) {
        publisher.publish(wave).await.context("publishing")?;
        let at = Instant::now();
        for e in wave {
            published_at.insert(e.dedup_key.clone(), at);
        }
    }
    let publish_time = started.elapsed();

    let mut latencies = Vec::with_capacity(events);
    let deadline = started + Duration::from_secs(timeout);
    while latencies.len() < events && Instant::now() < deadline {
        let batch = announcements.receive(10, 1).await?;
        let arrived = Instant::now();
        let mut handles = Vec::with_capacity(batch.len());
        for message in batch {
            handles.push(message.receipt_handle.clone());
            let Ok(envelope) = pulse_contracts::from_sqs_body(&message.body) else { continue };
            let Event::FeedUpdatedV1(_) = envelope.detail else { continue };
            let source_key = envelope.dedup_key.splitn(3, ':').nth(2).unwrap_or_default();
            if let Some(at) = published_at.remove(source_key) {
                latencies.push(arrived.duration_since(at));
            }
        }
        if !handles.is_empty() {
            announcements.delete_batch(&handles).await?;
        }
    }
    let total = started.elapsed();
    if latencies.len() < events {
        bail!("only {} of {events} feed.updated events arrived within {timeout}s", latencies.len());
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1];
    println!("events: {events}  authors: {authors}");
    println!("published in {:.2}s; all feed.updated received after {:.2}s", publish_time.as_secs_f64(), total.as_secs_f64());
    println!("throughput: {:.1} events/s end to end", events as f64 / total.as_secs_f64());
    println!(
        "latency published→feed.updated: p50 {} ms, p95 {} ms, max {} ms",
        pct(0.50).as_millis(),
        pct(0.95).as_millis(),
        latencies.last().unwrap().as_millis()
    );
    Ok(())
}

/// A completed PR run with a few jobs, by author `i % authors`, unique per run of the test.
fn synthetic(i: usize, authors: usize, at: DateTime<Utc>, run_id: &str, ids: &Ids) -> Envelope<Event> {
    let now = at.timestamp();
    let author = format!("dev{}@load.test", i % authors);
    let sha = format!("{:040x}", i as u128 * 7919 + 1);
    let failing = i.is_multiple_of(7);
    let detail = json!({
        "type": "completed",
        "timestamp": now - (i as i64 % 3600),
        "sha": sha,
        "ci_status": if failing { "failure" } else { "success" },
        "result": {
            "name": "PR",
            "status": if failing { "failure" } else { "success" },
            "start_time": (now - 3600) as f64,
            "duration": 1800.5,
            "results": (0..8).map(|j| json!({
                "name": format!("Stateless tests ({j}/8)"),
                "status": if failing && j == 3 { "failure" } else { "success" },
                "start_time": (now - 3000) as f64, "duration": 600.25, "results": [], "links": [], "ext": {}
            })).collect::<Vec<_>>(),
            "links": [format!("https://github.com/org/repo/pull/{}", 10_000 + i)],
            "ext": {}
        },
        "ext": {
            "pr_number": 10_000 + i, "pr_title": format!("Load test PR {i}"), "repo_name": "org/repo",
            "workflow_name": "PR", "commit_authors": [author],
            "run_url": format!("https://github.com/org/repo/actions/runs/{i}"),
        },
    });
    let event: FeedEvent = serde_json::from_value(detail).expect("synthetic events are valid");
    Event::CiWorkflowV1(event).into_envelope("loadtest", format!("ci.workflow:loadtest:{run_id}:{i}"), ids.uuid(), at)
}
