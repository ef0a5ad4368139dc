//! Ingress as an API Gateway-triggered function: REST API (v1) and HTTP API (v2) request events
//! written from AWS's documented shapes, bodies base64-encoded as API Gateway sends binary
//! media, for the Slack route (a signed slash command) and the GitHub route (a signed webhook).
//! Signatures are checked over the decoded body: signed requests are acknowledged and their
//! event is on the bus (the stack's tap queue); forged ones answer 401 and publish nothing.

use base64::Engine;
use pulse_slack_requests::{Command, Signed};
use serde_json::{Map, Value, json};

use crate::harness::Scene;
use crate::lambda::function::Function;

pub(super) const SIGNING_SECRET: &str = "pulse-local-signing-secret";
const WEBHOOK_SECRET: &str = "lambda-harness-webhook-secret";

/// Which API Gateway payload format.
#[derive(Debug, Clone, Copy)]
pub(super) enum Api {
    RestV1,
    HttpV2,
}

/// A POST to `path` with `headers` and `body` (base64-encoded, `isBase64Encoded: true`) as API
/// Gateway hands it to Lambda.
pub(super) fn request_event(api: Api, path: &str, headers: &[(&str, String)], body: &[u8]) -> Value {
    let body = base64::engine::general_purpose::STANDARD.encode(body);
    let now = chrono::Utc::now();
    let time = now.format("%d/%b/%Y:%H:%M:%S +0000").to_string();
    let request_id = uuid::Uuid::new_v4().to_string();
    match api {
        Api::RestV1 => {
            let single: Map<String, Value> = headers.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
            let multi: Map<String, Value> = headers.iter().map(|(k, v)| ((*k).to_owned(), json!([v]))).collect();
            json!({
                "resource": path, "path": path, "httpMethod": "POST",
                "headers": single, "multiValueHeaders": multi,
                "queryStringParameters": null, "multiValueQueryStringParameters": null,
                "pathParameters": null, "stageVariables": null,
                "requestContext": {
                    "accountId": "123456789012", "apiId": "a1b2c3d4e5", "resourceId": "r4nd0m",
                    "resourcePath": path, "httpMethod": "POST", "path": format!("/prod{path}"),
                    "protocol": "HTTP/1.1", "stage": "prod", "requestId": request_id,
                    "requestTime": time, "requestTimeEpoch": now.timestamp_millis(),
                    "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "domainPrefix": "a1b2c3d4e5",
                    "identity": {"sourceIp": "203.0.113.17", "userAgent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
                },
                "body": body, "isBase64Encoded": true
            })
        }
        Api::HttpV2 => {
            // HTTP APIs lower-case header names.
            let lowered: Map<String, Value> = headers.iter().map(|(k, v)| (k.to_lowercase(), json!(v))).collect();
            json!({
                "version": "2.0", "routeKey": format!("POST {path}"), "rawPath": path, "rawQueryString": "",
                "headers": lowered,
                "requestContext": {
                    "accountId": "123456789012", "apiId": "a1b2c3d4e5",
                    "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "domainPrefix": "a1b2c3d4e5",
                    "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.17", "userAgent": "GitHub-Hookshot/5a1b2c3"},
                    "requestId": request_id, "routeKey": format!("POST {path}"), "stage": "$default",
                    "time": time, "timeEpoch": now.timestamp_millis()
                },
                "body": body, "isBase64Encoded": true
            })
        }
    }
}

/// A `workflow_run` delivery of a branch of its own.
fn workflow_run(tag: &str) -> Vec<u8> {
    pulse_tests::github::WorkflowRun { id: 4242, head_branch: format!("lambda-{tag}"), ..Default::default() }.payload()
}

/// The answer's status, after checking it is in the request's format (only HTTP API v2 answers
/// carry `cookies`).
pub(super) fn status_of(api: Api, response: &Value) -> u64 {
    let v2 = response.get("cookies").is_some();
    assert_eq!(v2, matches!(api, Api::HttpV2), "{api:?} answered in the other format: {response}");
    response["statusCode"].as_u64().unwrap_or_else(|| panic!("no statusCode in {response}"))
}

/// How many events crossed the bus whose dedup key contains `text`.
pub(super) async fn published(scene: &Scene, text: &str) -> usize {
    scene.tap(std::time::Duration::from_millis(300)).await.iter().filter(|t| t.dedup_key.contains(text)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_slack_and_github_requests_through_both_api_formats_are_published_forged_ones_refused() {
    let scene = Scene::start("lambda_ingress", &[]).await;
    let mut ingress = Function::start(&scene, "ingress", &[("GITHUB_WEBHOOK_SECRET", Some(WEBHOOK_SECRET))]).await;
    for api in [Api::RestV1, Api::HttpV2] {
        // A slash command, signed over the bytes API Gateway base64-encodes.
        let command = Command::new(&format!("/praktika subscribe {api:?}@lambda.example"), "U0LAMBDA04");
        let form = command.form();
        let now = chrono::Utc::now().timestamp();
        let signed = Signed::form(SIGNING_SECRET, now, &form);
        let event = request_event(api, "/slack/commands", &signed.pairs(), form.as_bytes());
        let response = ingress.respond(event).await;
        assert_eq!(status_of(api, &response), 200, "{api:?}: {response}");
        assert_eq!(published(&scene, &command.trigger_id).await, 1, "{api:?}: the command's event is not on the bus once");

        let forged = Command::new("/praktika subscribe forged@lambda.example", "U0LAMBDA04");
        let forged_form = forged.form();
        let signed = Signed::form("not-the-signing-secret", now, &forged_form);
        let response = ingress.respond(request_event(api, "/slack/commands", &signed.pairs(), forged_form.as_bytes())).await;
        assert_eq!(status_of(api, &response), 401, "{api:?}: {response}");
        assert_eq!(published(&scene, &forged.trigger_id).await, 0, "{api:?}: a forged command was published");

        // A GitHub webhook.
        let delivery = uuid::Uuid::new_v4().to_string();
        let body = workflow_run(&scene.prefix);
        let headers = |secret: &str| {
            vec![
                ("Content-Type", "application/json".to_owned()),
                ("User-Agent", "GitHub-Hookshot/5a1b2c3".to_owned()),
                ("X-GitHub-Event", "workflow_run".to_owned()),
                ("X-GitHub-Delivery", delivery.clone()),
                ("X-Hub-Signature-256", pulse_ingress::github::sign(secret, &body)),
            ]
        };
        let forged = ingress.respond(request_event(api, "/github/webhook", &headers("a forged secret"), &body)).await;
        assert_eq!(status_of(api, &forged), 401, "{api:?}: {forged}");
        assert_eq!(published(&scene, &delivery).await, 0, "{api:?}: a forged webhook was published");
        let response = ingress.respond(request_event(api, "/github/webhook", &headers(WEBHOOK_SECRET), &body)).await;
        assert_eq!(status_of(api, &response), 200, "{api:?}: {response}");
        assert_eq!(published(&scene, &delivery).await, 1, "{api:?}: the webhook's event is not on the bus once");
    }
}

/// AWS accepting connections and never answering: ingress, in Lambda, still answers Slack within
/// Slack's 3 s, with a 503 Slack retries, because its request path's AWS calls have operation
/// timeouts (`PULSE_INGRESS_AWS_TIMEOUT_MS`, 900 ms in Lambda by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_aws_silent_ingress_still_answers_slack_within_three_seconds() {
    let scene = Scene::start("lambda_ingress_silent_aws", &[]).await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let holding = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            held.push(connection);
        }
    });
    let mut ingress = Function::start(&scene, "ingress", &[("AWS_ENDPOINT_URL", Some(&url))]).await;
    ingress.ready().await;
    let command = Command::new("/praktika subscribe silent@lambda.example", "U0LAMBDA06");
    let form = command.form();
    let signed = Signed::form(SIGNING_SECRET, chrono::Utc::now().timestamp(), &form);
    let started = std::time::Instant::now();
    let response = ingress.respond(request_event(Api::HttpV2, "/slack/commands", &signed.pairs(), form.as_bytes())).await;
    let took = started.elapsed();
    assert_eq!(status_of(Api::HttpV2, &response), 503, "{response}");
    assert!(took < std::time::Duration::from_secs(3), "answered after {took:?}");
    holding.abort();
}
