//! The fake's HTTP side: `POST /api/apps.connections.open`, and a small control API under
//! `/_fake/` so that the local stack can drive Socket Mode without a Rust test:
//!
//! - `POST /_fake/envelope` `{"type": "slash_commands", "payload": {...}}` → `{"envelope_id"}`
//! - `GET /_fake/acks` → the acks, `GET /_fake/connections` → the connections
//! - `POST /_fake/disconnect` `{"reason": "warning", "connection": 2}` (newest when omitted)
//! - `POST /_fake/drop` `{"connection": 2}` (newest when omitted)

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{FakeSocketMode, Inner, OpenFailure};

pub(super) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/api/apps.connections.open", post(open))
        .route("/_fake/envelope", post(envelope))
        .route("/_fake/acks", get(acks))
        .route("/_fake/connections", get(connections))
        .route("/_fake/disconnect", post(disconnect))
        .route("/_fake/drop", post(drop_connection))
        .with_state(inner)
}

fn slack_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"ok": false, "error": error}))).into_response()
}

async fn open(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let failure = {
        let mut state = inner.lock();
        state.open_calls.push(tokio::time::Instant::now());
        state.open_failures.pop_front()
    };
    inner.bump();
    match failure {
        Some(OpenFailure::Http(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return slack_error(status, "internal_error");
        }
        Some(OpenFailure::SlackError(error)) => return slack_error(StatusCode::OK, &error),
        Some(OpenFailure::RateLimited { retry_after_secs }) => {
            let mut response = slack_error(StatusCode::TOO_MANY_REQUESTS, "ratelimited");
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return response;
        }
        None => {}
    }
    let token = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return slack_error(StatusCode::OK, "not_authed");
    };
    let mut state = inner.lock();
    let accepted = match &state.required_token {
        Some(required) => token == required,
        None => token.starts_with("xapp-"),
    };
    if !accepted {
        return slack_error(StatusCode::OK, "invalid_auth");
    }
    let ticket = state.new_ticket();
    drop(state);
    let url = format!("ws://{}/link?ticket={ticket}", inner.ws_addr);
    Json(json!({"ok": true, "url": url})).into_response()
}

#[derive(Deserialize)]
struct EnvelopeRequest {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Value,
    accepts_response_payload: Option<bool>,
}

async fn envelope(State(inner): State<Arc<Inner>>, Json(req): Json<EnvelopeRequest>) -> Response {
    let fake = FakeSocketMode::handle(inner);
    let accepts = req.accepts_response_payload.unwrap_or(req.kind == "slash_commands");
    let envelope_id = fake.send_envelope_with(&req.kind, req.payload, accepts, None);
    Json(json!({"ok": true, "envelope_id": envelope_id})).into_response()
}

async fn acks(State(inner): State<Arc<Inner>>) -> Response {
    Json(json!({"ok": true, "acks": FakeSocketMode::handle(inner).acks()})).into_response()
}

async fn connections(State(inner): State<Arc<Inner>>) -> Response {
    let fake = FakeSocketMode::handle(inner);
    let list: Vec<Value> = fake.connections().into_iter().map(|c| json!({"id": c.id, "open": c.open, "ready": c.ready})).collect();
    Json(json!({"ok": true, "connections": list, "max_open": fake.max_open_connections()})).into_response()
}

#[derive(Deserialize)]
struct ConnectionRequest {
    connection: Option<u64>,
    #[serde(default)]
    reason: Option<String>,
}

async fn disconnect(State(inner): State<Arc<Inner>>, Json(req): Json<ConnectionRequest>) -> Response {
    let fake = FakeSocketMode::handle(inner);
    let Some(conn) = req.connection.or_else(|| fake.newest_connection()) else {
        return slack_error(StatusCode::CONFLICT, "no_connection");
    };
    let reason = req.reason.unwrap_or_else(|| "warning".into());
    if fake.disconnect(conn, &reason) {
        Json(json!({"ok": true, "connection": conn})).into_response()
    } else {
        slack_error(StatusCode::NOT_FOUND, "no_such_connection")
    }
}

async fn drop_connection(State(inner): State<Arc<Inner>>, Json(req): Json<ConnectionRequest>) -> Response {
    let fake = FakeSocketMode::handle(inner);
    let Some(conn) = req.connection.or_else(|| fake.newest_connection()) else {
        return slack_error(StatusCode::CONFLICT, "no_connection");
    };
    if fake.drop_connection(conn) {
        Json(json!({"ok": true, "connection": conn})).into_response()
    } else {
        slack_error(StatusCode::NOT_FOUND, "no_such_connection")
    }
}
