//! A contract's next version rolled out while the old one is still published (issue #13): `ci.job`
//! v2 renames `host` to `runner`. Old and new `pulse run` (the same binary, told which version to
//! publish, as a CI fleet mid-upgrade would be) publish side by side, interleaved; the notifier
//! declares both. Every run's start and completion is posted once, the host shown whichever name
//! it travelled under, and nothing is dead-lettered. A version nobody declares yet (a producer
//! upgraded before its consumers) is dead-lettered with the versions the consumer takes.

use std::time::Duration;

use serde_json::json;

use crate::harness::{Scene, WorkerOptions, eventually};
use crate::seen;

const JOBS_CHANNEL: &str = "C0JOBS";
const RUNS_PER_VERSION: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_and_new_producers_side_by_side_lose_nothing() {
    let scene = Scene::start("contract-v2", &[]).await;
    let _notifier = scene.worker("notifier", WorkerOptions::default()).await;
    let tag = scene.prefix.clone();
    let runs: Vec<(String, &str)> =
        (0..RUNS_PER_VERSION * 2).map(|n| (format!("v2-rollout-{tag}-{n}"), if n % 2 == 0 { "1" } else { "2" })).collect();
    let host = format!("runner-{tag}");
    let commands =
        runs.iter().map(|(job, version)| {
            let host = host.clone();
            let scene = &scene;
            async move {
                scene.pulse_with(&[("HOSTNAME", host.as_str())], &["run", "--ci-job-version", version, "--job", job, "--", "true"]).await
            }
        });
    futures::future::join_all(commands).await;

    let expected = runs.len() * 2;
    let posted = eventually(Duration::from_secs(60), Duration::from_millis(250), || async {
        let n: usize =
            futures::future::join_all(runs.iter().map(|(job, _)| seen::posts(&scene, JOBS_CHANNEL, job))).await.into_iter().sum();
        (n >= expected).then_some(n)
    })
    .await;
    assert_eq!(posted, Some(expected), "a start and a completion per run, v1 and v2 alike");
    assert!(scene.settle(&["notifier"], Duration::from_secs(30)).await);
    for (job, version) in &runs {
        assert_eq!(seen::posts(&scene, JOBS_CHANNEL, job).await, 2, "{job} (v{version}): posted once each phase");
        let start = scene
            .slack
            .messages(JOBS_CHANNEL)
            .await
            .into_iter()
            .find(|m| m.to_string().contains(job.as_str()) && m.to_string().contains("started"));
        let start = start.unwrap_or_else(|| panic!("{job}: no start message")).to_string();
        assert!(start.contains(&host), "{job} (v{version}): the host is shown whichever name carried it: {start}");
    }
    let tapped = scene.tap(Duration::from_secs(1)).await;
    for version in ["ci.job.v1", "ci.job.v2"] {
        assert_eq!(tapped.iter().filter(|t| t.detail_type == version).count(), RUNS_PER_VERSION * 2, "{version} on the bus");
    }
    assert!(scene.dead_letters("notifier").await.is_empty(), "nothing dead-lettered");

    // A producer ahead of its consumers: v3 is declared by no one, and is kept, not lost.
    let v3 = json!({
        "id": uuid::Uuid::new_v4().to_string(), "type": "ci.job", "version": 3,
        "occurred_at": chrono::Utc::now().to_rfc3339(), "source": "pulse.cli",
        "dedup_key": format!("ci.job:v3-{tag}:started"),
        "detail": {"job": format!("v3-{tag}"), "phase": "started", "run_id": "r3", "started_at": chrono::Utc::now().to_rfc3339()}
    });
    let queue = scene.queue(&scene.names.queue("notifier")).await;
    queue.send(&v3.to_string(), &[]).await.expect("send v3");
    let dead = eventually(Duration::from_secs(30), Duration::from_millis(250), || async {
        let dead = scene.dead_letters("notifier").await;
        (!dead.is_empty()).then_some(dead)
    })
    .await
    .expect("v3 dead-lettered");
    let reason = dead[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("version 3") && reason.contains("1, 2"), "the reason names the version and what is taken: {reason}");
    assert_eq!(seen::posts(&scene, JOBS_CHANNEL, &format!("v3-{tag}")).await, 0);
}
