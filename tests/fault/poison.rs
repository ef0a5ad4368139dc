//! A handler panicking on one message (`claimed=panic@<key>`) among others: the poll loop
//! survives, the other messages flow, the poisoned one is retried and, on its last receive,
//! dead-lettered by the runtime with the panic text as its reason. Once the cause is gone
//! (restart without the fault), `pulse dlq replay` puts it back and it is processed once.

use std::time::{Duration, Instant};

use crate::fixtures::{ALERT_CHANNEL, alert};
use crate::harness::{Scene, WorkerOptions, eventually};
use crate::seen;
use crate::tally::Tally;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_message_is_dead_lettered_with_its_reason_then_replayed_once() {
    let scene = Scene::start("poison_panic_then_replay", &[]).await;
    let tag = scene.prefix.clone();
    let alerts: Vec<_> = (1..=4).map(|n| alert(&tag, n)).collect();
    let poisoned = &alerts[1];
    let poisoned_id = poisoned.dedup_key.trim_start_matches("ops.alert:").to_owned();
    let mut worker = scene.worker("notifier", WorkerOptions::fault(format!("claimed=panic@{poisoned_id}"))).await;
    let published = Instant::now();
    scene.publish(&alerts.iter().map(|a| a.envelope.clone()).collect::<Vec<_>>()).await;

    // The others flow.
    let others = eventually(Duration::from_secs(20), Duration::from_millis(100), || async {
        for a in alerts.iter().filter(|a| a.dedup_key != poisoned.dedup_key) {
            if seen::posts(&scene, ALERT_CHANNEL, &a.title).await == 0 {
                return None;
            }
        }
        Some(published.elapsed())
    })
    .await
    .expect("the healthy alerts were not posted next to the poisoned one");

    // The poisoned one reaches the DLQ, with the panic as its reason, after its receives.
    let dead = eventually(Duration::from_secs(90), Duration::from_millis(250), || async {
        let letters = scene.dead_letters("notifier").await;
        (!letters.is_empty()).then_some(letters)
    })
    .await
    .expect("the poisoned message never reached the notifier's DLQ");
    let dead_after = published.elapsed();
    assert_eq!(dead.len(), 1, "{dead:#?}");
    assert_eq!(dead[0].dedup_key, poisoned.dedup_key);
    let reason = dead[0].reason.clone().expect("the dead letter carries pulse-rejected-reason");
    assert!(reason.to_lowercase().contains("panic"), "the reason does not name the panic: {reason}");
    assert!(worker.is_running(), "the panic killed the worker");
    assert_eq!(seen::posts(&scene, ALERT_CHANNEL, &poisoned.title).await, 0, "the poisoned alert was posted");
    let listed = scene.pulse(&["dlq", "list", "notifier"]).await;
    let head: String = reason.lines().next().unwrap_or_default().chars().take(60).collect();
    assert!(listed.contains(&head), "`pulse dlq list` does not show the reason:\n{listed}");
    let panics = worker.log_text().lines().filter(|l| l.contains(&poisoned_id) && l.to_lowercase().contains("panic")).count();

    // Fixed (restarted without the fault), replayed: processed once.
    worker.restart().await;
    let replayed = scene.pulse(&["dlq", "replay", "notifier"]).await;
    assert!(replayed.starts_with("1 message(s) moved"), "{replayed}");
    let replay_started = Instant::now();
    let posted = eventually(Duration::from_secs(30), Duration::from_millis(100), || async {
        (seen::posts(&scene, ALERT_CHANNEL, &poisoned.title).await > 0).then_some(replay_started.elapsed())
    })
    .await
    .expect("the replayed alert was not posted");
    assert!(scene.settle(&["notifier"], Duration::from_secs(30)).await);

    let mut tally = Tally::new(alerts.len() + 1);
    tally.recovery = Some(posted);
    tally.note("others_posted_after_s", others.as_secs_f64());
    tally.note("dead_lettered_after_s", dead_after.as_secs_f64());
    tally.note("panic_log_lines", panics);
    tally.note("reason", reason);
    seen::count_alerts(&scene, &mut tally, &alerts).await;
    tally.finish(&scene, 0).await;
}
