//! The `pulse` command's conventions (issue #14), on the real binary against its own emulator:
//! exit statuses a script can rely on (`infra plan --detailed-exitcode`: 0, 2, and 64 for a usage
//! error, never 2), `--json` that is JSON, no panic on a bad argument, and a shutdown that asks
//! before it acts.

use serde_json::Value;

use crate::harness::Scene;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_statuses_json_and_a_shutdown_that_asks() {
    let scene = Scene::start("cli", &[]).await;
    let prefix = scene.prefix.clone();

    // The deployed stack: nothing to change. Another prefix: everything to create.
    let plan = |p: String| {
        let scene = &scene;
        async move { scene.pulse_status(&["infra", "plan", "--prefix", &p, "--local-tap", "--detailed-exitcode"]).await }
    };
    let (code, out, err) = plan(prefix.clone()).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = plan(format!("{prefix}x")).await;
    assert_eq!(code, Some(2), "changes pending: {out}{err}");
    let (code, _, err) = scene.pulse_status(&["infra", "plan", "--detailed-exitcode", "--no-such-flag"]).await;
    assert_eq!(code, Some(64), "a usage error is not 'changes pending': {err}");
    let (code, _, err) = scene.pulse_status(&["infra", "plan", "--only", "Teapot"]).await;
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("Teapot"), "{err}");
    let (code, help, _) = scene.pulse_status(&["infra", "plan", "--help"]).await;
    assert_eq!(code, Some(0));
    for kind in pulse_infra_reconciler::Kind::ALL {
        assert!(help.contains(kind.as_str()), "--only's help names {kind}: {help}");
    }

    // No panic on an argument that used to cause one.
    let (code, _, err) = scene.pulse_status(&["loadtest", "feed", "--events", "0"]).await;
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("--events") && !err.contains("panicked"), "{err}");

    // --json is JSON.
    let (code, out, err) = scene.pulse_status(&["dlq", "list", "notifier", "--json"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).expect("dlq list --json"), serde_json::json!([]));
    let run = crate::fixtures::workflow(&prefix, 1, &[crate::fixtures::email(&prefix, "ann")], false);
    let file = scene.dir.join("one.json");
    std::fs::write(&file, run.envelope.to_string()).unwrap();
    let (code, out, err) = scene.pulse_status(&["publish", "--json", &file.display().to_string()]).await;
    assert_eq!(code, Some(0), "{err}");
    let published: Value = serde_json::from_str(&out).expect("publish --json");
    assert_eq!(published[0]["dedup_key"], run.dedup_key.as_str());
    assert_eq!(published[0]["detail_type"], "ci.workflow.v1");
    let (code, out, err) = scene.pulse_status(&["feed", "list", "--json"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(serde_json::from_str::<Value>(&out).expect("feed list --json").is_array());

    // A shutdown with something to shut down asks first; with nobody to ask it refuses.
    let fleet = ["--config", "infra/examples/macos-fleet.json", "--prefix", prefix.as_str()];
    scene.pulse(&[&["infra", "deploy"][..], &fleet, &["--only", "DedicatedHost"]].concat()).await;
    let shutdown = [&["infra", "shutdown"][..], &fleet, &["--only", "DedicatedHost"]].concat();
    let (code, out, err) = scene.pulse_status(&shutdown).await;
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("nobody to ask") && err.contains("--yes"), "{err}");
    assert!(!out.contains("released"), "nothing was done: {out}");
    let (code, out, err) = scene.pulse_status(&[&shutdown[..], &["--yes"]].concat()).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Shut down stack"), "{out}");
}

/// The slim publisher a CI job builds (`pulse-publish`): the same validation, dedup key and
/// exit statuses as `pulse publish`, and the envelope on the stack's bus; `run` wraps a command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slim_publisher_publishes_what_pulse_publish_does() {
    let scene = Scene::start("publisher", &[]).await;
    let run = crate::fixtures::workflow(&scene.prefix, 1, &[crate::fixtures::email(&scene.prefix, "ann")], false);
    let file = scene.dir.join("run.json");
    std::fs::write(&file, run.envelope.to_string()).unwrap();
    let (code, out, err) = scene.publisher_status(&["publish", "--json", &file.display().to_string()]).await;
    assert_eq!(code, Some(0), "{err}");
    let published: Value = serde_json::from_str(&out).expect("publish --json");
    assert_eq!(published[0]["dedup_key"], run.dedup_key.as_str());

    let mut bad = run.envelope.clone();
    bad["detail"]["ext"]["commit_authors"] = Value::from("not-a-list");
    std::fs::write(&file, bad.to_string()).unwrap();
    let (code, _, err) = scene.publisher_status(&["publish", &file.display().to_string()]).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("/detail/ext/commit_authors") && err.contains("was not published"), "{err}");

    let (code, _, err) = scene.publisher_status(&["run", "--job", "slim-check", "--", "sh", "-c", "exit 3"]).await;
    assert_eq!(code, Some(3), "run exits with the command's status: {err}");
    let (code, _, err) = scene.publisher_status(&["deploy"]).await;
    assert_eq!(code, Some(64), "only publish and run: {err}");

    // What reached the bus: the workflow result and the job's two events, read off the tap.
    let (code, out, err) = scene.pulse_status(&["tap", "--json", "--idle", "2"]).await;
    assert_eq!(code, Some(0), "{err}");
    let seen: Vec<Value> = serde_json::Deserializer::from_str(&out).into_iter::<Value>().collect::<Result<_, _>>().expect("tap --json");
    let types: Vec<&str> = seen.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(seen.iter().any(|e| e["dedup_key"] == run.dedup_key.as_str()), "{out}");
    assert_eq!(types.iter().filter(|t| **t == "ci.job").count(), 2, "started and completed: {types:?}");
}
