//! Each consumer killed mid-message (`PULSE_FAULT=<point>=kill@<key>`: the process SIGKILLs
//! itself), then restarted without the fault: the message is completed once, within about one
//! visibility timeout, and nothing is dead-lettered.
//!
//! - `claimed`: the runtime wrote its claim, the handler has not run. The claim's lease ends
//!   with the visibility timeout, so the redelivery may take the message over.
//! - `handled`: the handler finished (its effects are done), its completion is not recorded.
//!   The redelivery must not do the effects again.

use std::time::{Duration, Instant};

use crate::fixtures::{self, alert, deploy_requested, email, workflow};
use crate::harness::{Scene, Worker, WorkerOptions};
use crate::seen;
use crate::tally::Tally;

const USER: &str = "U0FAULTC1";
const KILL_TIMEOUT: Duration = Duration::from_secs(40);

/// The worker dies of its fault; it is restarted with `next_fault` (or none), and the time of
/// the kill is returned.
async fn crash(worker: &mut Worker, next_fault: Option<String>) -> Instant {
    let killed = worker.killed_by_fault(KILL_TIMEOUT).await;
    worker.restart_with(next_fault).await;
    killed
}

/// Recovery: from the kill until `service`'s queue holds nothing (visible or in flight).
async fn recovered(scene: &Scene, service: &str, killed: Instant) -> Duration {
    let drained = scene.drained(&[service], Duration::from_secs(60)).await;
    let drained = drained.unwrap_or_else(|| panic!("{service}'s queue did not drain within 60 s of the restart"));
    drained.duration_since(killed)
}

async fn feed_projector(point: &str) {
    let scene = Scene::start(&format!("crash_feed_projector_{point}_kill"), &[]).await;
    let tag = scene.prefix.clone();
    let (ann, bob) = (email(&tag, "ann"), email(&tag, "bob"));
    let runs = vec![
        workflow(&tag, 1, std::slice::from_ref(&ann), false),
        workflow(&tag, 2, &[ann.clone(), bob.clone()], true),
        workflow(&tag, 3, std::slice::from_ref(&bob), false),
    ];
    let target = &runs[1];
    let mut worker = scene.worker("feed-projector", WorkerOptions::fault(format!("{point}=kill@{}", target.sha))).await;
    scene.publish(&runs.iter().map(|r| r.envelope.clone()).collect::<Vec<_>>()).await;

    let killed = worker.killed_by_fault(KILL_TIMEOUT).await;
    let at_kill = scene.feed_holds(&ann, &target.sha).await + scene.feed_holds(&bob, &target.sha).await;
    worker.restart().await;
    let recovery = recovered(&scene, "feed-projector", killed).await;
    assert!(scene.settle(&["feed-projector"], Duration::from_secs(30)).await);

    let mut tally = Tally::new(runs.len());
    tally.recovery = Some(recovery);
    tally.note("target_feed_entries_at_kill", at_kill);
    seen::count_feeds(&scene, &mut tally, &runs).await;
    tally.finish(&scene, 0).await;
}

async fn home_renderer(point: &str) {
    let scene = Scene::start(&format!("crash_home_renderer_{point}_kill"), &[]).await;
    let tag = scene.prefix.clone();
    let ann = email(&tag, "ann");
    let runs: Vec<_> = (1..=3).map(|n| workflow(&tag, n, std::slice::from_ref(&ann), n == 2)).collect();
    let target = &runs[1];
    let _projector = scene.worker("feed-projector", WorkerOptions::default()).await;
    let mut renderer = scene.worker("home-renderer", WorkerOptions::fault(format!("{point}=kill@{}", target.sha))).await;
    seen::subscribe(&scene, USER, &ann, &["feed-projector", "home-renderer"]).await;

    // One run at a time, each after the previous one's view, so every state has one view.
    let shows = |run: &fixtures::Run| {
        let (scene, pr) = (&scene, run.pr);
        async move {
            let shown = crate::harness::eventually(Duration::from_secs(40), Duration::from_millis(100), || async {
                let view = scene.slack.home(USER).await?;
                seen::prs_shown(&view, &[pr]).contains(&pr).then_some(())
            })
            .await;
            assert!(shown.is_some(), "the Home tab never showed PR #{pr}");
        }
    };
    scene.publish(std::slice::from_ref(&runs[0].envelope)).await;
    shows(&runs[0]).await;
    scene.publish(std::slice::from_ref(&target.envelope)).await;
    let killed = crash(&mut renderer, None).await;
    shows(target).await;
    let recovery = recovered(&scene, "home-renderer", killed).await;
    scene.publish(std::slice::from_ref(&runs[2].envelope)).await;
    shows(&runs[2]).await;
    assert!(scene.settle(&["feed-projector", "home-renderer"], Duration::from_secs(30)).await);

    let mut tally = Tally::new(runs.len() + 1);
    tally.recovery = Some(recovery);
    seen::count_subscription(&scene, &mut tally, USER).await;
    seen::count_feeds(&scene, &mut tally, &runs).await;
    seen::count_home(&scene, &mut tally, USER, &runs, true).await;
    tally.finish(&scene, 0).await;
}

async fn notifier(point: &str) {
    let scene = Scene::start(&format!("crash_notifier_{point}_kill"), &[]).await;
    let tag = scene.prefix.clone();
    let ann = email(&tag, "ann");
    let alerts: Vec<_> = (1..=3).map(|n| alert(&tag, n)).collect();
    let run = workflow(&tag, 1, std::slice::from_ref(&ann), true);
    let update = fixtures::feed_updated(&run, &ann, &scene.names.feed_bucket());
    let alert_id = alerts[1].dedup_key.trim_start_matches("ops.alert:").to_owned();
    let mut worker = scene.worker("notifier", WorkerOptions::fault(format!("{point}=kill@{alert_id}"))).await;
    scene.publish(&[fixtures::subscription_changed(USER, &ann, 1)]).await;
    assert!(scene.settle(&["notifier"], Duration::from_secs(30)).await);

    // A channel post killed, then a DM killed.
    scene.publish(&alerts.iter().map(|a| a.envelope.clone()).collect::<Vec<_>>()).await;
    let killed = crash(&mut worker, Some(format!("{point}=kill@{}", run.sha))).await;
    let post_recovery = recovered(&scene, "notifier", killed).await;
    scene.publish(std::slice::from_ref(&update)).await;
    let killed = crash(&mut worker, None).await;
    let dm_recovery = recovered(&scene, "notifier", killed).await;
    assert!(scene.settle(&["notifier"], Duration::from_secs(30)).await);

    let mut tally = Tally::new(alerts.len() + 2);
    tally.recovery = Some(post_recovery.max(dm_recovery));
    tally.note("post_recovery_s", post_recovery.as_secs_f64());
    tally.note("dm_recovery_s", dm_recovery.as_secs_f64());
    seen::count_alerts(&scene, &mut tally, &alerts).await;
    seen::count_dm(&scene, &mut tally, USER, &run).await;
    tally.finish(&scene, 0).await;
}

async fn infra_reconciler(point: &str) {
    let scene = Scene::start(&format!("crash_infra_reconciler_{point}_kill"), &[]).await;
    let deploy = deploy_requested("demo-runner");
    let mut worker = scene.worker("infra-reconciler", WorkerOptions::fault(format!("{point}=kill@{}", deploy.deploy_id))).await;
    scene.publish(std::slice::from_ref(&deploy.envelope)).await;
    let killed = worker.killed_by_fault(KILL_TIMEOUT).await;
    let at_kill = scene.on_bus(&deploy.status_key("started")).await;
    worker.restart().await;
    let recovery = recovered(&scene, "infra-reconciler", killed).await;
    assert!(scene.settle(&["infra-reconciler"], Duration::from_secs(30)).await);

    let mut tally = Tally::new(1);
    tally.recovery = Some(recovery);
    tally.note("started_on_bus_at_kill", at_kill);
    seen::count_deploy(&scene, &mut tally, &deploy).await;
    tally.finish(&scene, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_projector_killed_after_claiming() {
    feed_projector("claimed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_projector_killed_after_handling() {
    feed_projector("handled").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_renderer_killed_after_claiming() {
    home_renderer("claimed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_renderer_killed_after_handling() {
    home_renderer("handled").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifier_killed_after_claiming() {
    notifier("claimed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifier_killed_after_handling() {
    notifier("handled").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infra_reconciler_killed_after_claiming() {
    infra_reconciler("claimed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infra_reconciler_killed_after_handling() {
    infra_reconciler("handled").await;
}
