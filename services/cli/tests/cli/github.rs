//! `pulse github` as an operator runs it: `send` signs GitHub-shaped deliveries that ingress's
//! own verifier accepts, `redeliver` redelivers each failed event once through the fake GitHub
//! (and does nothing with `--dry-run`), `app-manifest` prints the App to create.

use std::process::Output;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use chrono::Utc;
use pulse_fake_github::{FakeGithub, SeedDelivery, TEST_APP_ID, TEST_APP_PRIVATE_KEY};
use pulse_ingress::github::WebhookVerifier;
use serde_json::Value;

/// Runs `pulse` off the runtime's threads (the fakes serve on them), with no AWS reachable.
async fn pulse(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = crate::offline_pulse();
    command
        .args(args)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_APP_ID")
        .env_remove("GITHUB_APP_PRIVATE_KEY")
        .env_remove("GITHUB_WEBHOOK_SECRET");
    for (k, v) in env {
        command.env(k, v);
    }
    tokio::task::spawn_blocking(move || command.output().expect("pulse runs")).await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver that answers 200 to a delivery ingress's verifier accepts, 401 otherwise.
async fn receiver(secret: &'static str) -> (String, Received) {
    let received: Received = Arc::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/github/webhook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let kept = kept.clone();
            async move {
                let signature = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok()).map(str::to_owned);
                let ok = WebhookVerifier::new(secret).unwrap().verify(signature.as_deref(), &body).is_ok();
                kept.lock().unwrap().push((headers, body));
                if ok {
                    (axum::http::StatusCode::OK, "{\"ok\":true}")
                } else {
                    (axum::http::StatusCode::UNAUTHORIZED, "{\"error\":\"bad signature\"}")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/github/webhook"), received)
}

#[tokio::test(flavor = "multi_thread")]
async fn send_signs_a_github_shaped_delivery_and_replays_a_delivery_id() {
    let (url, received) = receiver("s3cret").await;
    let args = [
        "github",
        "send",
        "workflow_job",
        "--url",
        &url,
        "--repo",
        "octo-org/api",
        "--run-id",
        "77",
        "--job-name",
        "test",
        "--conclusion",
        "failure",
        "--failed-step",
        "Unit tests",
        "--delivery",
        "11111111-2222-3333-4444-555555555555",
    ];
    let out = pulse(&args, &[("GITHUB_WEBHOOK_SECRET", "s3cret")]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("workflow_job delivery 11111111-2222-3333-4444-555555555555: HTTP 200"), "{}", text(&out.stdout));
    {
        let received = received.lock().unwrap();
        let (headers, body) = &received[0];
        assert_eq!(headers["x-github-event"], "workflow_job");
        assert_eq!(headers["x-github-delivery"], "11111111-2222-3333-4444-555555555555");
        assert_eq!(headers["content-type"], "application/json");
        let body: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(body["workflow_job"]["run_id"], 77);
        assert_eq!(body["workflow_job"]["steps"][1]["name"], "Unit tests");
        assert_eq!(body["workflow_job"]["steps"][1]["conclusion"], "failure");
    }
    // The wrong secret: the receiver refuses, and pulse says so and fails.
    let out = pulse(&["github", "send", "workflow_run", "--url", &url], &[("GITHUB_WEBHOOK_SECRET", "wrong")]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("ingress answered HTTP 401"), "{}", text(&out.stderr));
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 2);
    assert_ne!(received[1].0["x-github-delivery"], "11111111-2222-3333-4444-555555555555", "a fresh delivery id by default");
}

#[tokio::test(flavor = "multi_thread")]
async fn redeliver_sends_each_failed_event_once_and_a_dry_run_nothing() {
    let fake = FakeGithub::start().await;
    fake.install("repos/octo-org/api", 7);
    let now = Utc::now();
    let delivery = |guid: &str, minutes: i64, status_code: u16| SeedDelivery {
        hook: "repos/octo-org/api/hooks/9".into(),
        guid: guid.into(),
        event: "workflow_run".into(),
        action: Some("completed".into()),
        status_code,
        delivered_at: now - chrono::Duration::minutes(minutes),
    };
    fake.add_delivery(delivery("fine", 10, 200));
    fake.add_delivery(delivery("lost", 20, 503));
    fake.add_delivery(delivery("too-old", 300, 0));
    let env = [
        ("GITHUB_API_URL", fake.base_url()),
        ("GITHUB_APP_ID", TEST_APP_ID.to_string()),
        ("GITHUB_APP_PRIVATE_KEY", TEST_APP_PRIVATE_KEY.to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = ["github", "redeliver", "--since", "2h", "--repo", "octo-org/api", "--hook-id", "9"];

    let out = pulse(&[&args[..], &["--dry-run"][..]].concat(), &env).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("would redeliver lost (workflow_run completed, answered 503"), "{}", text(&out.stdout));
    assert!(fake.redeliveries().is_empty());

    let out = pulse(&args, &env).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("2 deliveries since"), "{}", text(&out.stdout));
    assert_eq!(fake.redeliveries().iter().map(|r| r.guid.as_str()).collect::<Vec<_>>(), ["lost"]);
    // Again: the event's redelivery succeeded, so nothing more is sent.
    let out = pulse(&[&args[..], &["--json"][..]].concat(), &env).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["redelivered"].as_array().map(Vec::len), report["listed"].as_u64()), (Some(0), Some(3)));
    assert_eq!(fake.redeliveries().len(), 1);
    assert!(fake.calls().iter().all(|c| !c.credential.starts_with("invalid")));
}

#[tokio::test(flavor = "multi_thread")]
async fn redeliver_without_credentials_or_with_a_refused_token_says_why() {
    let fake = FakeGithub::start().await;
    let args = ["github", "redeliver", "--since", "1h", "--org", "octo-org", "--hook-id", "3"];
    let url = fake.base_url();
    let out = pulse(&args, &[("GITHUB_API_URL", url.as_str())]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no GitHub credentials: set GITHUB_APP_ID"), "{}", text(&out.stderr));
    let out = pulse(&args, &[("GITHUB_API_URL", url.as_str()), ("GITHUB_TOKEN", "github_pat_wrong")]).await;
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("listing the deliveries of hook 3 of organisation octo-org") && stderr.contains("HTTP 401: Bad credentials"),
        "{stderr}"
    );
    assert!(!stderr.contains("github_pat_wrong"));
}

#[tokio::test(flavor = "multi_thread")]
async fn app_manifest_points_the_hook_at_ingress() {
    let out = pulse(&["github", "app-manifest", "--url", "https://api.example.com/", "--name", "Pulse CI"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["hook_attributes"]["url"], "https://api.example.com/github/webhook");
    assert_eq!(manifest["name"], "Pulse CI");
    assert_eq!(manifest["default_permissions"]["actions"], "write");
    let out = pulse(&["github", "app-manifest", "--url", "http://insecure"], &[]).await;
    assert_eq!(out.status.code(), Some(64));
}
