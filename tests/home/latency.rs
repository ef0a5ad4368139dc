//! Feed updated → Home view received by the fake Slack, measured on the emulator (ignored by
//! default; the lead runs it in release):
//!
//! ```sh
//! AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
//!   cargo test --release -p pulse-tests --test home -- --ignored --nocapture latency
//! ```
//!
//! Each sample writes a new version of a subscriber's feed into the stack's bucket (as the
//! feed-projector would), publishes its `feed.updated` on the bus, and times until the fake Slack
//! has received a Home view rendered from that version (its `private_metadata` names the feed's
//! ETag). The path measured is the production one: EventBridge rule → SQS → the home-renderer's
//! long-polling worker (the runtime's poller, 2 loops) → idempotency claim → membership query →
//! view record, subscription and S3 feed reads → render → `views.publish` over HTTP → view
//! record. `PULSE_LATENCY_SAMPLES` sets the number of samples (100), `PULSE_LATENCY_FEED` the
//! feed size in events (50).

use std::sync::Arc;
use std::time::{Duration, Instant};

use pulse_home_renderer::testing::sample_feed;
use pulse_runtime::poller::{self, PollerOptions, Shutdown};

use crate::harness::{Home, handle};

const EMAIL: &str = "latency@clickhouse.com";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: run with --ignored --nocapture"]
async fn latency_feed_updated_to_home_view() {
    let samples = env_usize("PULSE_LATENCY_SAMPLES", 100);
    let feed_len = env_usize("PULSE_LATENCY_FEED", 50);
    let home = Home::deploy().await;
    let renderer = home.renderer();
    handle(&renderer, &home.subscribe("U0LATENCY", "subscribe", Some(EMAIL), "r")).await.unwrap();

    let queue = home.queue(&home.names.queue("home-renderer")).await;
    let (shutdown, stop) = Shutdown::new();
    let worker = Arc::new(pulse_tests::worker(&home.config, &home.names, home.handler()).with_max_retry_delay(Duration::from_secs(1)));
    let worker = tokio::spawn(poller::run(
        worker,
        queue,
        PollerOptions { concurrency: 2, batch_size: 10, wait_seconds: 20, ..PollerOptions::default() },
        stop,
    ));

    let mut times = Vec::with_capacity(samples);
    let now = chrono::Utc::now().timestamp();
    for i in 0..samples {
        let mut events = sample_feed(feed_len, now);
        events[0].sha = format!("{i:040x}");
        let update = home.write_feed(EMAIL, events).await;
        let key = match &update.detail {
            pulse_contracts::Event::FeedUpdatedV1(u) => u.key.clone(),
            _ => unreachable!(),
        };
        let etag = home.feeds().get::<serde_json::Value>(&key).await.unwrap().unwrap().etag;
        let mut seen = home.slack.calls_to("views.publish").len();
        let started = Instant::now();
        home.publish(std::slice::from_ref(&update)).await;
        loop {
            let calls = home.slack.wait_for_calls("views.publish", seen + 1, Duration::from_secs(30)).await;
            assert!(calls.len() > seen, "no view within 30 s for sample {i}");
            seen = calls.len();
            let shows_it = home
                .home("U0LATENCY")
                .and_then(|v| v["private_metadata"].as_str().map(str::to_owned))
                .is_some_and(|m| m.contains(&etag.replace('"', "\\\"")));
            if shows_it {
                break;
            }
        }
        times.push(started.elapsed());
    }
    shutdown.trigger();
    let _ = worker.await;

    // The same work without the bus and the queue: the handler alone, called directly.
    let mut direct = Vec::with_capacity(samples);
    for i in 0..samples {
        let mut events = sample_feed(feed_len, now);
        events[0].sha = format!("{:040x}", samples + i);
        let update = home.write_feed(EMAIL, events).await;
        let started = Instant::now();
        handle(&renderer, &update).await.unwrap();
        direct.push(started.elapsed());
    }
    direct.sort();
    println!(
        "feed.updated handled directly (no bus, no queue), {} samples: p50 {:.1} ms, p95 {:.1} ms",
        direct.len(),
        percentile(&direct, 50.0).as_secs_f64() * 1e3,
        percentile(&direct, 95.0).as_secs_f64() * 1e3,
    );

    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "feed.updated → Home view at the fake Slack, {} samples, {feed_len}-event feed: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms, mean {:.1} ms",
        times.len(),
        percentile(&times, 50.0).as_secs_f64() * 1e3,
        percentile(&times, 95.0).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
    );
}
