//! PutEvents calls failing part of their entries: every Pulse process (the `pulse publish` of
//! the test, the feed-projector's `feed.updated`, the infra-reconciler's `deploy.status`)
//! reaches AWS through [`PutEventsProxy`], which refuses each entry at an even position of a
//! call the first time it sees it, answering `FailedEntryCount` and a per-entry `ErrorCode` as
//! EventBridge does. The publishers resend the refused entries (pulse_aws::eventbridge): each
//! event reaches the bus once and each effect happens once.

use std::time::{Duration, Instant};

use crate::fixtures::{self, alert, deploy_requested, email, workflow};
use crate::harness::{Scene, WorkerOptions};
use crate::proxy::PutEventsProxy;
use crate::seen;
use crate::tally::Tally;

const USER: &str = "U0FAULTP1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partly_failed_put_events_calls_are_resent_and_take_effect_once() {
    let scene = Scene::start("put_events_partial_failure", &[]).await;
    let proxy = PutEventsProxy::refusing(&scene.moto.url).await;
    let tag = scene.prefix.clone();
    let (ann, bob) = (email(&tag, "ann"), email(&tag, "bob"));
    let via_proxy = || WorkerOptions { endpoint: Some(proxy.url.clone()), ..WorkerOptions::default() };
    let services = ["feed-projector", "notifier", "infra-reconciler"];
    let _workers = tokio::join!(
        scene.worker("feed-projector", via_proxy()),
        scene.worker("notifier", via_proxy()),
        scene.worker("infra-reconciler", via_proxy()),
    );
    let subscription = fixtures::subscription_changed(USER, &ann, 1);
    scene.publish_via(&proxy.url, std::slice::from_ref(&subscription)).await;
    assert!(scene.settle(&["notifier"], Duration::from_secs(30)).await);

    // Two authors per run: each feed.updated call carries two entries, and one is refused.
    // ann's newest run failed: one DM.
    let runs: Vec<_> = (1..=6).map(|n| workflow(&tag, n, &[ann.clone(), bob.clone()], n == 6)).collect();
    let alerts: Vec<_> = (1..=3).map(|n| alert(&tag, n)).collect();
    let deploy = deploy_requested("demo-runner");
    let mut batch: Vec<_> = runs.iter().map(|r| r.envelope.clone()).collect();
    batch.extend(alerts.iter().map(|a| a.envelope.clone()));
    batch.push(deploy.envelope.clone());
    let published = Instant::now();
    scene.publish_via(&proxy.url, &batch).await;
    let drained = scene.drained(&services, Duration::from_secs(90)).await.expect("the queues did not drain");
    assert!(scene.settle(&services, Duration::from_secs(30)).await);

    let stats = proxy.stats();
    assert!(stats.failed > 0 && stats.partly_failed_calls > 0, "the proxy refused nothing: {stats:?}");
    let mut tally = Tally::new(batch.len() + 1);
    tally.recovery = Some(drained.duration_since(published));
    tally.note("put_events_calls", stats.calls);
    tally.note("entries_refused", stats.failed);
    tally.note("partly_failed_calls", stats.partly_failed_calls);
    tally.note("entries_received", stats.entries);
    // What the proxy let through, per event: exactly once each.
    for ((detail_type, key), n) in &stats.forwarded {
        tally.effect(format!("forwarded {detail_type} {key}"), *n);
    }
    // The published events themselves, on the bus once each.
    for envelope in batch.iter().chain(std::iter::once(&subscription)) {
        let key = fixtures::dedup_key(envelope);
        tally.effect(format!("bus {key}"), scene.on_bus(&key).await);
    }
    seen::count_feeds(&scene, &mut tally, &runs).await;
    seen::count_alerts(&scene, &mut tally, &alerts).await;
    seen::count_dm(&scene, &mut tally, USER, &runs[5]).await;
    tally.effect(format!("dms to {USER} (one expected)"), seen::dms(&scene, USER).await);
    seen::count_deploy(&scene, &mut tally, &deploy).await;
    tally.finish(&scene, 0).await;
}
