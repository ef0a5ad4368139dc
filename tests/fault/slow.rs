//! A handler that runs longer than the visibility timeout (`claimed=sleep:20` with visibility
//! 6 s) while a second worker polls the same queue: the runtime's heartbeat extends the
//! message's visibility and the claim's lease, so the message is received once, handled once,
//! and the second worker never sees it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::fixtures::alert;
use crate::harness::{Scene, WorkerOptions, eventually};
use crate::seen;
use crate::tally::Tally;

const SLEEP_SECONDS: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_outliving_the_visibility_timeout_keeps_its_message() {
    let scene = Scene::start("slow_handler_no_takeover", &[]).await;
    let tag = scene.prefix.clone();
    let alerts: Vec<_> = (1..=3).map(|n| alert(&tag, n)).collect();
    let slow = &alerts[0];
    let slow_id = slow.dedup_key.trim_start_matches("ops.alert:").to_owned();
    let mut first = scene.worker("notifier", WorkerOptions::fault(format!("claimed=sleep:{SLEEP_SECONDS}@{slow_id}"))).await;
    let published_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let published = Instant::now();
    scene.publish(std::slice::from_ref(&slow.envelope)).await;

    // The first worker holds it: in flight, nothing visible. Only then the second worker starts.
    let held = eventually(Duration::from_secs(20), Duration::from_millis(100), || async {
        (scene.queue_counts("notifier").await == (0, 1)).then_some(())
    })
    .await;
    assert!(held.is_some(), "the first worker never took the slow message");
    let mut second = scene.worker("notifier", WorkerOptions::default()).await;
    // Both keep working meanwhile: the other alerts flow while the slow one sleeps.
    scene.publish(&alerts[1..].iter().map(|a| a.envelope.clone()).collect::<Vec<_>>()).await;
    let others = eventually(Duration::from_secs(15), Duration::from_millis(100), || async {
        for a in &alerts[1..] {
            if seen::posts(&scene, crate::fixtures::ALERT_CHANNEL, &a.title).await == 0 {
                return None;
            }
        }
        Some(published.elapsed())
    })
    .await
    .expect("the other alerts were not posted while the slow one was being handled");
    let done = scene.drained(&["notifier"], Duration::from_secs(SLEEP_SECONDS + 30)).await;
    let done = done.expect("the slow message was never completed");
    assert!(scene.settle(&["notifier"], Duration::from_secs(20)).await);
    assert!(first.is_running() && second.is_running(), "a worker died");

    // The slow post happened after the sleep, once; nobody else touched the message.
    let posted_at: Vec<u64> = scene
        .slack
        .succeeded("chat.postMessage")
        .await
        .iter()
        .filter(|c| c["body"].to_string().contains(&slow.title))
        .filter_map(|c| c["at_ms"].as_u64())
        .collect();
    let slept = posted_at.first().map(|at| at.saturating_sub(published_ms) as f64 / 1000.0);
    assert!(
        slept.is_some_and(|s| s >= (SLEEP_SECONDS - 2) as f64),
        "the slow alert was posted {slept:?} s after publishing: the handler did not sleep {SLEEP_SECONDS} s (fault hooks built in?)"
    );
    let mentions = |lines: Vec<serde_json::Value>| -> Vec<serde_json::Value> {
        lines.into_iter().filter(|l| l.to_string().contains(&slow_id)).collect()
    };
    let second_saw = mentions(second.log_lines());
    assert!(second_saw.is_empty(), "the second worker took the slow message over: {second_saw:#?}");
    let receive_counts: std::collections::BTreeSet<u64> = mentions(first.log_lines())
        .iter()
        .filter_map(|l| l["span"]["receive_count"].as_u64().or_else(|| l["receive_count"].as_u64()))
        .collect();
    assert!(receive_counts.iter().all(|&n| n == 1), "the slow message was received again: receive counts {receive_counts:?}");

    let mut tally = Tally::new(alerts.len());
    tally.note("slow_post_after_s", slept);
    tally.note("others_posted_after_s", others.as_secs_f64());
    tally.note("completed_after_s", done.duration_since(published).as_secs_f64());
    tally.note("receive_counts_logged", receive_counts.into_iter().collect::<Vec<_>>());
    tally.effect("takeovers (none expected, counted as one item)", 1 + second_saw.len());
    seen::count_alerts(&scene, &mut tally, &alerts).await;
    tally.finish(&scene, 0).await;
}
