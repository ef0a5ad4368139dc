//! At-least-once delivery, made worse on purpose: EventBridge delivering the same envelope
//! twice (it was published twice), and one event delivered five times at once to two workers
//! of each consumer. One effect each.

use std::time::{Duration, Instant};

use crate::fixtures::{self, alert, email, workflow};
use crate::harness::{Scene, WorkerOptions};
use crate::seen;
use crate::tally::Tally;

const USER: &str = "U0FAULTD1";

/// A CI run (into a feed, announced, DMed to its subscribed author) and an alert (posted).
async fn subscribed(scene: &Scene, ann: &str) {
    scene.publish(&[fixtures::subscription_changed(USER, ann, 1)]).await;
    assert!(scene.settle(&["notifier"], Duration::from_secs(30)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_envelope_published_twice_takes_effect_once() {
    let scene = Scene::start("duplicate_envelope_twice", &[]).await;
    let tag = scene.prefix.clone();
    let ann = email(&tag, "ann");
    let _workers =
        tokio::join!(scene.worker("feed-projector", WorkerOptions::default()), scene.worker("notifier", WorkerOptions::default()),);
    subscribed(&scene, &ann).await;
    let run = workflow(&tag, 1, std::slice::from_ref(&ann), true);
    let alert = alert(&tag, 1);
    let batch = [run.envelope.clone(), alert.envelope.clone()];
    let published = Instant::now();
    // Two separate publishes of the very same envelopes (same ids): two deliveries each,
    // the second possibly while the first is still being handled.
    tokio::join!(scene.publish(&batch), scene.publish(&batch));
    let drained = scene.drained(&["feed-projector", "notifier"], Duration::from_secs(60)).await.expect("queues drained");
    assert!(scene.settle(&["feed-projector", "notifier"], Duration::from_secs(30)).await);
    assert_eq!(scene.on_bus(&run.dedup_key).await, 2, "the run was not delivered twice");
    assert_eq!(scene.on_bus(&alert.dedup_key).await, 2, "the alert was not delivered twice");

    let mut tally = Tally::new(batch.len() * 2);
    tally.recovery = Some(drained.duration_since(published));
    seen::count_feeds(&scene, &mut tally, std::slice::from_ref(&run)).await;
    seen::count_alerts(&scene, &mut tally, std::slice::from_ref(&alert)).await;
    seen::count_dm(&scene, &mut tally, USER, &run).await;
    tally.finish(&scene, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_delivered_five_times_to_two_workers_takes_effect_once() {
    let scene = Scene::start("duplicate_five_deliveries_two_workers", &[]).await;
    let tag = scene.prefix.clone();
    let ann = email(&tag, "ann");
    let _workers = tokio::join!(
        scene.worker("feed-projector", WorkerOptions::default()),
        scene.worker("feed-projector", WorkerOptions::default()),
        scene.worker("notifier", WorkerOptions::default()),
        scene.worker("notifier", WorkerOptions::default()),
    );
    subscribed(&scene, &ann).await;
    let run = workflow(&tag, 1, std::slice::from_ref(&ann), true);
    let alert = alert(&tag, 1);
    // One PutEvents call of ten entries: five copies of each envelope.
    let mut batch = Vec::new();
    for _ in 0..5 {
        batch.push(run.envelope.clone());
        batch.push(alert.envelope.clone());
    }
    let published = Instant::now();
    scene.publish(&batch).await;
    let drained = scene.drained(&["feed-projector", "notifier"], Duration::from_secs(60)).await.expect("queues drained");
    assert!(scene.settle(&["feed-projector", "notifier"], Duration::from_secs(30)).await);
    assert_eq!(scene.on_bus(&run.dedup_key).await, 5);
    assert_eq!(scene.on_bus(&alert.dedup_key).await, 5);

    let mut tally = Tally::new(batch.len());
    tally.recovery = Some(drained.duration_since(published));
    seen::count_feeds(&scene, &mut tally, std::slice::from_ref(&run)).await;
    seen::count_alerts(&scene, &mut tally, std::slice::from_ref(&alert)).await;
    seen::count_dm(&scene, &mut tally, USER, &run).await;
    tally.finish(&scene, 0).await;
}
