//! Latency of the whole DM path on the emulator: `ci.workflow` published → feed-projector →
//! `feed.updated` → notifier → failure DM recorded by the fake Slack. Ignored by default (it is
//! a measurement, not a check); run with
//! `cargo test -p pulse-tests --test notifier latency -- --ignored --nocapture`
//! (`PULSE_LATENCY_EVENTS`, default 200; `PULSE_LATENCY_RATE` events per second, default 5 — a
//! steady arrival rate, so the numbers are per-event latency rather than the queueing of a
//! burst; `PULSE_LATENCY_RATE=0` publishes all at once in batches of 10).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::s3json::GzipJsonStore;
use pulse_contracts::{Envelope, Event};
use pulse_core::{Clock, Ids};
use pulse_feed_projector::handler::{FeedLocation, FeedProjector};
use pulse_runtime::poller::{self, PollerOptions, Shutdown};

use crate::harness::{Stack, example};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run explicitly"]
async fn latency_from_ci_workflow_to_failure_dm() {
    let n: usize = std::env::var("PULSE_LATENCY_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let stack = Stack::deploy().await;
    let notifier = Arc::new(stack.notifier_paced(Duration::from_millis(1000)));

    // n subscribers, one per author, each asking for failure DMs.
    let subs: Vec<Envelope<Event>> = (0..n)
        .map(|i| {
            let mut env = example("subscription.changed", "subscribed");
            let Event::SubscriptionChangedV1(ref mut s) = env.detail else { unreachable!() };
            s.slack_user_id = format!("ULAT{i:04}");
            s.email = pulse_contracts::Email::parse(format!("dev{i}@example.com")).unwrap();
            s.preferences.notify_on_failure = true;
            env.dedup_key = format!("subscription.changed:lat:{i}");
            env
        })
        .collect();
    for chunk in subs.chunks(10) {
        stack.publish(chunk).await;
    }
    let stats = stack.run(&notifier, n, Duration::from_secs(120)).await;
    assert_eq!(stats.done, n, "{stats:?}");

    let projector = Arc::new(
        pulse_tests::worker(
            &stack.config,
            &stack.names,
            FeedProjector::new(
                GzipJsonStore::new(pulse_aws::config::s3_client(&stack.config), stack.names.feed_bucket()),
                FeedLocation::own_bucket(stack.names.feed_bucket()),
                EventPublisher::new(aws_sdk_eventbridge::Client::new(&stack.config), stack.names.bus()),
                Clock::system(),
                Ids::random(),
            ),
        )
        .with_max_retry_delay(Duration::from_secs(1)),
    );
    let (shutdown, stop) = Shutdown::new();
    let options = PollerOptions { concurrency: 4, batch_size: 10, wait_seconds: 1, ..PollerOptions::default() };
    let fp = tokio::spawn(poller::run(projector, stack.queue(&stack.names.queue("feed-projector")).await, options.clone(), stop.clone()));
    let notifier_worker =
        Arc::new(pulse_tests::worker(&stack.config, &stack.names, notifier.clone()).with_max_retry_delay(Duration::from_secs(1)));
    let nt = tokio::spawn(poller::run(notifier_worker, stack.queue(&stack.names.queue("notifier")).await, options, stop));

    // One failed workflow per author, published in PutEvents batches of 10.
    let base = example("ci.workflow", "completed-pr-failed-job");
    let now = chrono::Utc::now().timestamp();
    let mut published: HashMap<String, SystemTime> = HashMap::new();
    let events: Vec<(String, Envelope<Event>)> = (0..n)
        .map(|i| {
            let mut env = base.clone();
            env.id = uuid::Uuid::new_v4();
            let Event::CiWorkflowV1(ref mut w) = env.detail else { unreachable!() };
            w.timestamp = now;
            w.ext.pr_number = 100_000 + i as u64;
            w.ext.commit_authors = vec![format!("dev{i}@example.com")];
            env.dedup_key = format!("ci.workflow:lat:{i}:{now}");
            (format!("DULAT{i:04}"), env)
        })
        .collect();
    let rate: f64 = std::env::var("PULSE_LATENCY_RATE").ok().and_then(|v| v.parse().ok()).unwrap_or(5.0);
    let per_call = if rate > 0.0 { 1 } else { 10 };
    let started = Instant::now();
    for (k, chunk) in events.chunks(per_call).enumerate() {
        if rate > 0.0 {
            let due = started + Duration::from_secs_f64(k as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let at = SystemTime::now();
        let batch: Vec<Envelope<Event>> = chunk.iter().map(|(_, e)| e.clone()).collect();
        stack.publish(&batch).await;
        for (channel, _) in chunk {
            published.insert(channel.clone(), at);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut latencies: Vec<Duration> = Vec::new();
    while Instant::now() < deadline {
        let calls = stack.slack.calls_to("chat.postMessage");
        latencies = calls
            .iter()
            .filter(|c| c.succeeded())
            .filter_map(|c| Some(c.at.duration_since(*published.get(c.channel.as_deref()?)?).unwrap_or_default()))
            .collect();
        if latencies.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shutdown.trigger();
    let _ = tokio::join!(fp, nt);
    assert_eq!(latencies.len(), n, "every author got exactly one DM");
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1];
    println!(
        "ci.workflow → failure DM over {n} events at {rate}/s ({:.1}s wall): p50 {:?} p95 {:?} max {:?}",
        started.elapsed().as_secs_f64(),
        pct(0.50),
        pct(0.95),
        latencies[latencies.len() - 1]
    );
    assert!(pct(0.95) < Duration::from_secs(5), "seed 004's target: under 5 s");
}
