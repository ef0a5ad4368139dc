//! DynamoDB applied ingress's ledger claim, but the answer never reached ingress (in Lambda, an
//! attempt that outlived its operation timeout; anywhere, a dropped connection). The SDK sends
//! the same `UpdateItem` again, and its condition now fails on ingress's own `received` record.
//! [`LoseFirstClaimAnswer`] stands between ingress and moto and does exactly that: it forwards
//! the first claim, then answers 500 as DynamoDB does when it fails internally.
//!
//! Ingress must know its own claim (the `owner` token, `services/ingress/src/ledger.rs`) and
//! publish the command once, where it used to take it for another delivery in flight and drop
//! it, answering 200 with nothing published.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pulse_slack_requests::Command;

use crate::forward::{Forwarder, Relay, Request, Upstream};
use crate::harness::{Scene, in_process_ingress, post_signed};
use crate::tally::Tally;

/// Relays everything to moto; the first ledger claim is applied there but answered 500.
#[derive(Default)]
struct LoseFirstClaimAnswer {
    /// Ledger claims (`begin`'s conditional UpdateItem) seen, the lost one included.
    claims: AtomicUsize,
}

impl Relay for LoseFirstClaimAnswer {
    async fn handle(&self, upstream: &Upstream, request: Request) -> Response {
        let target = request.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let body = request.body.clone();
        // `begin` is the one UpdateItem whose condition admits a missing item.
        let claim = target == "DynamoDB_20120810.UpdateItem" && String::from_utf8_lossy(&body).contains("attribute_not_exists(pk)");
        let answer = upstream.send(&request, body).await;
        if claim && self.claims.fetch_add(1, Ordering::SeqCst) == 0 {
            assert_eq!(answer.status, StatusCode::OK, "moto refused the first claim: {:?}", answer.body);
            let mut headers = HeaderMap::new();
            headers.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.0"));
            let lost = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"the answer was lost"}"#;
            return (StatusCode::INTERNAL_SERVER_ERROR, headers, lost).into_response();
        }
        answer.into_response()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_claim_whose_answer_was_lost_is_still_published_once() {
    let scene = Scene::start("lost_claim_answer", &[]).await;
    let proxy = Forwarder::start(&scene.moto.url, LoseFirstClaimAnswer::default()).await;
    let ingress = in_process_ingress(&scene, &proxy.url).await;

    let mut command = Command::new("/praktika subscribe lost-answer@example.com", "U0LOSTANS");
    command.response_url = scene.slack.response_url("lost-answer");
    post_signed(&ingress, "/slack/commands", command.form(), false).await;
    assert_eq!(proxy.relay.claims.load(Ordering::SeqCst), 2, "the SDK did not send the claim again after its answer was lost");
    // A second delivery of the same command (a replay): a duplicate, answered, not published.
    post_signed(&ingress, "/slack/commands", command.form(), false).await;

    let dedup_key = format!("slack.command:{}:{}", command.team_id, command.trigger_id);
    let mut tally = Tally::new(1);
    tally.note("claims", proxy.relay.claims.load(Ordering::SeqCst));
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Counted strictly: ingress never takes its own claim over, so a second copy is a bug.
    tally.effect(format!("bus {dedup_key}"), scene.on_bus(&dedup_key).await);
    tally.finish(&scene, 0).await;
}
