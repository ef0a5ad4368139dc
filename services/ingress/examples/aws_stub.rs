//! An AWS endpoint that answers ingress's request-path calls at once, so a load test measures
//! ingress and not the emulator (moto serves one call at a time). It answers DynamoDB's
//! `UpdateItem`/`PutItem`/`GetItem` with `{}` (a ledger record written, none found) and
//! EventBridge's `PutEvents` with every entry accepted; anything else with 400, naming it.
//!
//! ```text
//! cargo run --release -p pulse-ingress --example aws_stub -- 127.0.0.1:4599
//! AWS_ENDPOINT_URL=http://127.0.0.1:4599 ingress serve ...
//! ```
//!
//! `benches/ingress-open-loop` runs it; it counts the calls it answered and prints them on exit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:4599".to_owned());
    let calls = Arc::new(AtomicU64::new(0));
    let counted = calls.clone();
    let app = Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        counted.fetch_add(1, Ordering::Relaxed);
        async move { answer(&headers, &body) }
    });
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("AWS stub on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    eprintln!("AWS stub answered {} calls", calls.load(Ordering::Relaxed));
    Ok(())
}

fn answer(headers: &HeaderMap, body: &[u8]) -> axum::response::Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (service, operation) = target.split_once('.').unwrap_or(("", target));
    match (service, operation) {
        ("DynamoDB_20120810", "UpdateItem" | "PutItem" | "GetItem") => json_reply("1.0", json!({})),
        ("AWSEvents", "PutEvents") => {
            let entries = serde_json::from_slice::<Value>(body).ok().and_then(|b| b["Entries"].as_array().map(Vec::len)).unwrap_or(0);
            let results: Vec<Value> = (0..entries).map(|i| json!({"EventId": format!("stub-{i}")})).collect();
            json_reply("1.1", json!({"FailedEntryCount": 0, "Entries": results}))
        }
        _ => (StatusCode::BAD_REQUEST, format!("the AWS stub does not answer {target:?}")).into_response(),
    }
}

fn json_reply(version: &str, body: Value) -> axum::response::Response {
    ([("content-type", format!("application/x-amz-json-{version}"))], body.to_string()).into_response()
}
