//! Slack answering storms of 5xx and 429 (the fake Slack's injected faults, consumed one per
//! call in order) while the notifier posts channel alerts and DMs: every message is posted
//! once. 429s are waited out inside the call (`Retry-After`); a 5xx may or may not have posted,
//! so the retry reconciles against the channel's history first; one 500 here did post
//! (`fail_after_effect`) and must not be posted again.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::fixtures::{self, alert, email, workflow};
use crate::harness::{Scene, WorkerOptions};
use crate::seen;
use crate::tally::Tally;

const ANN_USER: &str = "U0FAULTS1";
const BOB_USER: &str = "U0FAULTS2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_message_is_posted_once_through_5xx_and_429_storms() {
    let scene = Scene::start("slack_5xx_429_storms", &[]).await;
    let tag = scene.prefix.clone();
    let (ann, bob) = (email(&tag, "ann"), email(&tag, "bob"));
    let _notifier = scene.worker("notifier", WorkerOptions::default()).await;
    scene.publish(&[fixtures::subscription_changed(ANN_USER, &ann, 1), fixtures::subscription_changed(BOB_USER, &bob, 1)]).await;
    assert!(scene.settle(&["notifier"], Duration::from_secs(30)).await);

    // The storm, in the order the calls will meet it. At most four 5xx in a row, so even a
    // message that meets all of them is retried fewer times than the redrive count.
    let storm: [(&str, serde_json::Value, u32); 7] = [
        ("chat.postMessage", json!({"kind": "server_error", "status": 503}), 2),
        ("chat.postMessage", json!({"kind": "rate_limited", "retry_after_secs": 1}), 3),
        ("chat.postMessage", json!({"kind": "server_error", "status": 500}), 1),
        ("chat.postMessage", json!({"kind": "fail_after_effect", "status": 500}), 1),
        ("chat.postMessage", json!({"kind": "rate_limited", "retry_after_secs": 1}), 2),
        ("chat.postMessage", json!({"kind": "server_error", "status": 502}), 1),
        ("conversations.open", json!({"kind": "server_error", "status": 503}), 2),
    ];
    let injected: u32 = storm.iter().map(|(_, _, n)| n).sum();
    for (method, fault, times) in &storm {
        scene.slack.inject(method, fault.clone(), *times).await;
    }

    let alerts: Vec<_> = (1..=4).map(|n| alert(&tag, n)).collect();
    let ann_run = workflow(&tag, 1, std::slice::from_ref(&ann), true);
    let bob_run = workflow(&tag, 2, std::slice::from_ref(&bob), true);
    let bucket = scene.names.feed_bucket();
    let mut batch: Vec<_> = alerts.iter().map(|a| a.envelope.clone()).collect();
    batch.push(fixtures::feed_updated(&ann_run, &ann, &bucket));
    batch.push(fixtures::feed_updated(&bob_run, &bob, &bucket));
    let published = Instant::now();
    scene.publish(&batch).await;
    let drained = scene.drained(&["notifier"], Duration::from_secs(120)).await.expect("the notifier's queue did not drain");
    assert!(scene.settle(&["notifier"], Duration::from_secs(30)).await);

    let mut faulted = 0;
    for method in ["chat.postMessage", "conversations.open"] {
        faulted += scene.slack.calls(method).await.iter().filter(|c| c["status"].as_u64() != Some(200) || !c["error"].is_null()).count();
    }
    assert!(faulted >= injected as usize, "only {faulted} of the {injected} injected faults were met: the storm did not happen");

    let mut tally = Tally::new(batch.len() + 2);
    tally.recovery = Some(drained.duration_since(published));
    tally.note("faults_injected", injected);
    tally.note("faulted_calls", faulted);
    tally.note("post_calls", scene.slack.calls("chat.postMessage").await.len());
    tally.note("history_checks", scene.slack.calls("conversations.history").await.len());
    seen::count_alerts(&scene, &mut tally, &alerts).await;
    seen::count_dm(&scene, &mut tally, ANN_USER, &ann_run).await;
    seen::count_dm(&scene, &mut tally, BOB_USER, &bob_run).await;
    tally.finish(&scene, 0).await;
}
