//! No fault at all: every consumer's effects once and no dead letter. This is the control for
//! the other tests (the counting itself is right) and runs with binaries built with or without
//! the fault hooks.

use std::time::{Duration, Instant};

use crate::fixtures::{self, alert, deploy_requested, email, workflow};
use crate::harness::{Scene, WorkerOptions};
use crate::seen;
use crate::tally::Tally;

const USER: &str = "U0FAULTA1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_consumer_takes_effect_once_without_faults() {
    let scene = Scene::start("baseline", &[]).await;
    let tag = scene.prefix.clone();
    let (ann, bob) = (email(&tag, "ann"), email(&tag, "bob"));
    let _workers = tokio::join!(
        scene.worker("feed-projector", WorkerOptions::default()),
        scene.worker("home-renderer", WorkerOptions::default()),
        scene.worker("notifier", WorkerOptions::default()),
        scene.worker("infra-reconciler", WorkerOptions::default()),
    );
    seen::subscribe(&scene, USER, &ann, &pulse_aws::names::CONSUMERS).await;

    // ann's newest run is the failed one, so her one DM is certain whatever order the merges
    // land in (a feed.updated announces the feed's newest event).
    let runs = vec![
        workflow(&tag, 1, std::slice::from_ref(&ann), false),
        workflow(&tag, 2, &[ann.clone(), bob.clone()], false),
        workflow(&tag, 3, std::slice::from_ref(&bob), true),
        workflow(&tag, 4, std::slice::from_ref(&ann), true),
    ];
    let alerts: Vec<_> = (1..=3).map(|n| alert(&tag, n)).collect();
    let deploy = deploy_requested("demo-runner");
    let mut batch: Vec<_> = runs.iter().map(|r| r.envelope.clone()).collect();
    batch.extend(alerts.iter().map(|a| a.envelope.clone()));
    batch.push(deploy.envelope.clone());
    let sent = Instant::now();
    scene.publish(&batch).await;
    let settled = scene.settle(&pulse_aws::names::CONSUMERS, Duration::from_secs(90)).await;
    assert!(settled, "the queues did not drain");

    let mut tally = Tally::new(batch.len() + 1);
    tally.recovery = None;
    tally.note("flow_s", (sent.elapsed().as_secs_f64() * 10.0).round() / 10.0);
    seen::count_subscription(&scene, &mut tally, USER).await;
    seen::count_feeds(&scene, &mut tally, &runs).await;
    seen::count_alerts(&scene, &mut tally, &alerts).await;
    seen::count_dm(&scene, &mut tally, USER, &runs[3]).await;
    tally.effect(format!("dms to {USER} (one expected)"), seen::dms(&scene, USER).await);
    seen::count_home(&scene, &mut tally, USER, &[runs[0].clone(), runs[1].clone(), runs[3].clone()], false).await;
    seen::count_deploy(&scene, &mut tally, &deploy).await;
    let _ = fixtures::TEAM;
    tally.finish(&scene, 0).await;
}
