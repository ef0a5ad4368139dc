//! The emulator frozen for 10 s (SIGSTOP, then SIGCONT) while events flow through three
//! consumers: every AWS call of every worker hangs meanwhile, and in-flight messages outlive
//! their visibility timeout in the emulator's clock. Afterwards every effect happened once and
//! the workers recovered on their own (same processes, no restart).

use std::time::{Duration, Instant};

use crate::fixtures::{alert, email, workflow};
use crate::harness::{Scene, WorkerOptions, eventually};
use crate::seen;
use crate::tally::Tally;

const USER: &str = "U0FAULTF1";
const FREEZE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_emulator_delays_effects_but_never_doubles_them() {
    let scene = Scene::start("freeze_emulator_10s", &[]).await;
    let tag = scene.prefix.clone();
    let (ann, bob) = (email(&tag, "ann"), email(&tag, "bob"));
    let services = ["feed-projector", "home-renderer", "notifier"];
    let (mut projector, mut renderer, mut notifier) = tokio::join!(
        scene.worker("feed-projector", WorkerOptions::default()),
        scene.worker("home-renderer", WorkerOptions::default()),
        scene.worker("notifier", WorkerOptions::default()),
    );
    seen::subscribe(&scene, USER, &ann, &services).await;

    // Six runs (ann's newest one failed: exactly one DM), four alerts; half of them published
    // before the freeze, half by a publisher that starts while the emulator is frozen (its
    // PutEvents call hangs until the thaw).
    let runs: Vec<_> = (1..=6)
        .map(|n| {
            let authors = match n % 3 {
                0 => vec![ann.clone()],
                1 => vec![bob.clone()],
                _ => vec![ann.clone(), bob.clone()],
            };
            workflow(&tag, n, &authors, n == 6)
        })
        .collect();
    let alerts: Vec<_> = (1..=4).map(|n| alert(&tag, n)).collect();
    let first: Vec<_> = runs[..3].iter().map(|r| r.envelope.clone()).chain(alerts[..2].iter().map(|a| a.envelope.clone())).collect();
    let second: Vec<_> = runs[3..].iter().map(|r| r.envelope.clone()).chain(alerts[2..].iter().map(|a| a.envelope.clone())).collect();
    scene.publish(&first).await;

    // Freeze as soon as the first effect shows: the rest is in flight or still queued.
    let flowing = eventually(Duration::from_secs(20), Duration::from_millis(20), || async {
        (!scene.slack.succeeded("chat.postMessage").await.is_empty() || scene.feed(&bob).await.is_some()).then_some(())
    })
    .await;
    assert!(flowing.is_some(), "nothing flowed before the freeze");
    let mut at_freeze = serde_json::Map::new();
    for service in services {
        let (visible, in_flight) = scene.queue_counts(service).await;
        at_freeze.insert(service.to_owned(), serde_json::json!({"visible": visible, "in_flight": in_flight}));
    }
    let pids = [projector.pid(), renderer.pid(), notifier.pid()];
    scene.moto.freeze();
    let frozen_at = Instant::now();
    let (_, thawed) = tokio::join!(scene.publish(&second), async {
        tokio::time::sleep(FREEZE.saturating_sub(frozen_at.elapsed())).await;
        scene.moto.thaw();
        Instant::now()
    });
    let drained = scene.drained(&services, Duration::from_secs(90)).await.expect("the queues did not drain after the thaw");
    let recovery = drained.duration_since(thawed);
    assert!(scene.settle(&services, Duration::from_secs(30)).await);
    for worker in [&mut projector, &mut renderer, &mut notifier] {
        assert!(worker.is_running() && worker.log_files.len() == 1, "{} did not survive the freeze on its own", worker.service);
    }
    assert_eq!(pids, [projector.pid(), renderer.pid(), notifier.pid()]);

    let mut tally = Tally::new(first.len() + second.len() + 2);
    tally.recovery = Some(recovery);
    tally.note("frozen_s", FREEZE.as_secs());
    tally.note("queues_at_freeze", serde_json::Value::Object(at_freeze));
    seen::count_subscription(&scene, &mut tally, USER).await;
    seen::count_feeds(&scene, &mut tally, &runs).await;
    seen::count_alerts(&scene, &mut tally, &alerts).await;
    seen::count_dm(&scene, &mut tally, USER, &runs[5]).await;
    tally.effect(format!("dms to {USER} (one expected)"), seen::dms(&scene, USER).await);
    let anns: Vec<_> = runs.iter().filter(|r| r.authors.contains(&ann)).cloned().collect();
    seen::count_home(&scene, &mut tally, USER, &anns, false).await;
    tally.finish(&scene, 0).await;
}
