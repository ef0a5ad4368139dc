//! GitHub webhook deliveries through ingress, on the emulator: verified first, recorded once
//! under their `X-GitHub-Delivery`, published as `github.workflow_run` / `github.workflow_job`;
//! through the service, the local HTTP server and the Lambda handler (API Gateway v2, base64).

use std::sync::Arc;

use pulse_contracts::Event;
use pulse_core::{Secret, SecretSource};
use pulse_ingress::decide::LedgerKey;
use pulse_ingress::github::{self, GithubHeaders, GithubRequest};
use pulse_ingress::{Ingress, http};
use serde_json::{Value, json};

use pulse_tests::github::WorkflowRun;

use crate::harness::Stack;

const WEBHOOK_SECRET: &str = "github webhook secret for the ingress tests";
const SHA: &str = "0c4d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9";

/// A `workflow_run` delivery as GitHub sends it (the fields Pulse reads, and a few it does not).
fn run_payload(action: &str, conclusion: Option<&str>) -> Vec<u8> {
    WorkflowRun { action: action.into(), conclusion: conclusion.map(str::to_owned), head_sha: SHA.into(), ..WorkflowRun::default() }
        .payload()
}

/// Header pairs GitHub sends with `body`, signed with `secret`.
fn github_headers(event: &str, delivery: &str, secret: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "application/json".into()),
        ("User-Agent", "GitHub-Hookshot/5a1b2c3".into()),
        ("X-GitHub-Event", event.into()),
        ("X-GitHub-Delivery", delivery.into()),
        ("X-Hub-Signature-256", github::sign(secret, body)),
    ]
}

async fn deliver(ingress: &Ingress, event: &str, delivery: &str, secret: &str, body: &[u8]) -> (u16, Value) {
    let pairs = github_headers(event, delivery, secret, body);
    let headers = GithubHeaders::from_pairs(pairs.iter().map(|(n, v)| (*n, v.as_bytes())));
    let reply = ingress.handle_github(GithubRequest { method: "POST", path: http::GITHUB_ROUTE, headers, body }).await;
    (reply.status, reply.body.unwrap_or(Value::Null))
}

fn with_github(ingress: Ingress) -> Ingress {
    ingress.with_github_secret(SecretSource::fixed(WEBHOOK_SECRET), Secret::new(WEBHOOK_SECRET)).expect("a non-empty secret")
}

fn delivery_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn a_signed_run_is_published_once_and_a_redelivery_is_answered_without_a_second_event() {
    let stack = Stack::deploy().await;
    let ingress = with_github(stack.ingress());
    let delivery = delivery_id();
    let body = run_payload("completed", Some("failure"));

    let (status, _) = deliver(&ingress, "workflow_run", &delivery, WEBHOOK_SECRET, &body).await;
    assert_eq!(status, 200);
    let events = stack.tap(1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].dedup_key, format!("github.workflow_run:{delivery}"));
    let Event::GithubWorkflowRunV1(run) = &events[0].detail else { panic!("{:?}", events[0].detail) };
    assert_eq!((run.repository.as_str(), run.run.id, run.run.run_number), ("octo-org/widgets", 9001, 77));
    let key = LedgerKey { team_id: "github".into(), envelope_id: delivery.clone() };
    assert!(stack.record(&key).await.is_some(), "the delivery is in the ledger");

    // GitHub's "Redeliver" keeps the delivery id.
    let (status, _) = deliver(&ingress, "workflow_run", &delivery, WEBHOOK_SECRET, &body).await;
    assert_eq!(status, 200);
    assert!(stack.tap(0).await.is_empty(), "a redelivery publishes nothing");
}

#[tokio::test]
async fn forged_pings_and_unused_events_record_and_publish_nothing() {
    let stack = Stack::deploy().await;
    let ingress = with_github(stack.ingress());
    let body = run_payload("completed", Some("success"));

    let forged = delivery_id();
    let (status, answer) = deliver(&ingress, "workflow_run", &forged, "not the secret", &body).await;
    assert_eq!(status, 401, "{answer}");
    assert!(stack.record(&LedgerKey { team_id: "github".into(), envelope_id: forged }).await.is_none(), "nothing recorded");

    let (status, _) =
        deliver(&ingress, "ping", &delivery_id(), WEBHOOK_SECRET, br#"{"zen":"Keep it logically awesome.","hook_id":1}"#).await;
    assert_eq!(status, 200);
    let (status, answer) = deliver(&ingress, "push", &delivery_id(), WEBHOOK_SECRET, br#"{"ref":"refs/heads/main"}"#).await;
    assert_eq!((status, answer["ignored"].as_str()), (200, Some("push")));
    let (status, answer) = deliver(&ingress, "workflow_run", &delivery_id(), WEBHOOK_SECRET, b"{not json").await;
    assert_eq!(status, 400, "{answer}");
    assert!(stack.tap(0).await.is_empty(), "nothing was published");
}

#[tokio::test]
async fn without_a_secret_the_route_is_not_served_and_a_failed_publish_is_a_5xx_to_redeliver() {
    let stack = Stack::deploy().await;
    let body = run_payload("completed", Some("success"));
    let (status, answer) = deliver(&stack.ingress(), "workflow_run", &delivery_id(), WEBHOOK_SECRET, &body).await;
    assert_eq!(status, 404, "{answer}");
    assert!(answer["error"].as_str().unwrap_or_default().contains("GITHUB_WEBHOOK_SECRET"), "{answer}");

    // A bus that does not exist: GitHub must see the delivery failed, so it can be redelivered.
    let ingress = with_github(stack.ingress_on_bus("no-such-bus"));
    let (status, _) = deliver(&ingress, "workflow_run", &delivery_id(), WEBHOOK_SECRET, &body).await;
    assert_eq!(status, 503);
}

#[tokio::test]
async fn the_local_server_and_the_lambda_handler_take_the_webhook_route() {
    let stack = Stack::deploy().await;
    let ingress = Arc::new(with_github(stack.ingress()));

    // The local axum server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(http::serve(Arc::clone(&ingress), listener));
    let body = run_payload("in_progress", None);
    let mut request = reqwest::Client::new().post(format!("http://{addr}{}", http::GITHUB_ROUTE)).body(body.clone());
    for (name, value) in github_headers("workflow_run", &delivery_id(), WEBHOOK_SECRET, &body) {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);

    // API Gateway HTTP API (v2) with a base64 body: the signature is over the decoded bytes.
    let body = run_payload("completed", Some("success"));
    let headers: serde_json::Map<String, Value> = github_headers("workflow_run", &delivery_id(), WEBHOOK_SECRET, &body)
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), Value::from(v)))
        .collect();
    use base64::Engine;
    let event = json!({
        "version": "2.0", "routeKey": "POST /github/webhook", "rawPath": "/github/webhook", "rawQueryString": "",
        "headers": headers,
        "requestContext": {"accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
            "http": {"method": "POST", "path": "/github/webhook", "protocol": "HTTP/1.1", "sourceIp": "192.30.252.1", "userAgent": "GitHub-Hookshot/5a1b2c3"},
            "requestId": "req-1", "routeKey": "POST /github/webhook", "stage": "$default", "time": "03/Dec/2026:09:00:00 +0000", "timeEpoch": 1764752400000_u64},
        "body": base64::engine::general_purpose::STANDARD.encode(&body),
        "isBase64Encoded": true
    });
    let request = lambda_http::request::from_str(&event.to_string()).expect("lambda_http understands an HTTP API v2 event");
    let response = http::lambda_handler(&ingress, request).await;
    assert_eq!(response.status(), 200);

    let events = stack.tap(2).await;
    let types: Vec<&str> = events.iter().map(|e| e.detail.event_type()).collect();
    assert_eq!(types, ["github.workflow_run", "github.workflow_run"], "{events:?}");
}
