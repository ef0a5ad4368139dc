//! The two HTTP transports around the same handler: API Gateway (REST v1 and HTTP API v2 with a
//! base64 body) through the Lambda handler function, and the local axum server.

use std::sync::Arc;

use base64::Engine;
use pulse_contracts::Event;
use pulse_slack_requests::{self as requests, Command};
use serde_json::Value;

use crate::harness::{SlackPost, Stack};

/// An API Gateway event from `fixtures/`, with `${NAME}` placeholders filled in.
fn fixture(name: &str, fill: &[(&str, String)]) -> lambda_http::Request {
    let path = format!("{}/ingress/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut value: Value = serde_json::from_str(&text).unwrap();
    replace(&mut value, fill);
    lambda_http::request::from_str(&value.to_string()).expect("lambda_http understands the fixture")
}

fn replace(value: &mut Value, fill: &[(&str, String)]) {
    match value {
        Value::String(s) => {
            for (name, with) in fill {
                if *s == format!("${{{name}}}") {
                    *s = with.clone();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| replace(v, fill)),
        Value::Object(map) => map.values_mut().for_each(|v| replace(v, fill)),
        _ => {}
    }
}

fn body_text(response: &lambda_http::Response<lambda_http::Body>) -> String {
    String::from_utf8(response.body().as_ref().to_vec()).unwrap()
}

#[tokio::test]
async fn api_gateway_rest_v1_and_http_api_v2_base64_through_the_lambda_handler() {
    let stack = Stack::deploy().await;
    let ingress = stack.ingress();

    // REST API (v1): a slash command, plain form body, Slack's header spelling.
    let command = Command::new("/praktika unsubscribe", "U07BOB");
    let post = SlackPost::form(command.form());
    let request = fixture(
        "apigw-rest-v1.json",
        &[("BODY", post.body.clone()), ("TIMESTAMP", post.signed.timestamp.clone()), ("SIGNATURE", post.signed.signature.clone())],
    );
    let response = pulse_ingress::http::lambda_handler(&ingress, request).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer: Value = serde_json::from_str(&body_text(&response)).unwrap();
    assert_eq!(answer["response_type"], "ephemeral");

    // HTTP API (v2): an Events API event, base64-encoded body, lowercase headers.
    let event_id = requests::event_id();
    let post = SlackPost::json(requests::home_opened_payload(&event_id, "U07BOB").to_string());
    let request = fixture(
        "apigw-http-v2.json",
        &[
            ("BODY", base64::engine::general_purpose::STANDARD.encode(&post.body)),
            ("LENGTH", post.body.len().to_string()),
            ("TIMESTAMP", post.signed.timestamp.clone()),
            ("SIGNATURE", post.signed.signature.clone()),
        ],
    );
    let response = pulse_ingress::http::lambda_handler(&ingress, request).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert!(body_text(&response).is_empty());

    // A v2 request whose signature is for other bytes than the decoded body is refused.
    let request = fixture(
        "apigw-http-v2.json",
        &[
            ("BODY", base64::engine::general_purpose::STANDARD.encode(post.body.replace("U07BOB", "U0EVIL"))),
            ("LENGTH", post.body.len().to_string()),
            ("TIMESTAMP", post.signed.timestamp.clone()),
            ("SIGNATURE", post.signed.signature.clone()),
        ],
    );
    let response = pulse_ingress::http::lambda_handler(&ingress, request).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-slack-no-retry"], "1");

    let mut events = stack.tap(2).await;
    assert_eq!(events.len(), 2, "{events:?}");
    events.sort_by_key(|e| e.event_type.clone());
    let Event::SlackCommandV1(detail) = &events[0].detail else { panic!() };
    assert_eq!(detail.user_id, "U07BOB");
    let Event::SlackHomeOpenedV1(detail) = &events[1].detail else { panic!() };
    assert_eq!(detail.user_id, "U07BOB");
}

#[tokio::test]
async fn local_http_server_routes_by_content_on_every_path() {
    let stack = Stack::deploy().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(pulse_ingress::http::serve(Arc::new(stack.ingress()), listener));
    let http = reqwest::Client::new();

    let send = |path: &'static str, post: SlackPost| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            let mut request = http.post(url).body(post.body.clone());
            for (name, value) in post.header_pairs() {
                request = request.header(name, value);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let no_retry = response.headers().get("x-slack-no-retry").is_some();
            assert_eq!(no_retry, (400..500).contains(&status), "X-Slack-No-Retry on exactly the 4xx answers");
            (status, response.text().await.unwrap())
        }
    };

    // Any kind of request on any of the three paths.
    let command = Command::new("/pulser status", "U1");
    let (status, body) = send("/slack/events", SlackPost::form(command.form())).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ephemeral"), "{body}");
    let click = requests::block_actions_payload("ops_ack", "alert-7", "U1", "C0OPS", "1763651024.001900");
    let (status, body) = send("/slack/commands", SlackPost::form(requests::interactivity_form(&click))).await;
    assert_eq!((status, body.as_str()), (200, ""));
    let challenge = requests::url_verification_payload("abc123");
    let (status, body) = send("/slack/interactivity", SlackPost::json(challenge.to_string())).await;
    assert_eq!((status, body.as_str()), (200, r#"{"challenge":"abc123"}"#));

    // Refusals.
    let (status, _) = send("/slack/events", SlackPost::form(command.form()).signed_with("wrong")).await;
    assert_eq!(status, 401);
    let big = "x".repeat(pulse_ingress::MAX_BODY_BYTES + 10);
    let (status, body) = send("/slack/events", SlackPost::form(big)).await;
    assert_eq!(status, 413, "{body}");
    let (status, body) = send("/slack/events", SlackPost::json("{\"type\":".to_owned())).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("the Events API body is not valid"), "{body}");
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let events = stack.tap(2).await;
    let mut types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    types.sort();
    assert_eq!(types, vec!["slack.command", "slack.interaction"]);
    server.abort();
}
