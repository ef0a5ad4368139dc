//! The `/_fake/` control API: what [`super::FakeSlack`]'s methods do, over HTTP, for users in
//! other processes (the local stack, shell scripts, tests driving the `pulse-fake-slack`
//! binary).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Shared;
use super::fault::FaultRequest;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_fake/health", get(|| async { Json(json!({"ok": true})) }))
        .route("/_fake/calls", get(calls))
        .route("/_fake/calls/wait", get(wait_for_calls))
        .route("/_fake/faults", post(inject))
        .route("/_fake/reset", post(reset))
        .route("/_fake/users", post(add_users))
        .route("/_fake/token", post(set_token))
        .route("/_fake/home/{user}", get(home))
        .route("/_fake/messages", get(messages))
        .route("/_fake/messages/{channel}/{ts}", get(message))
        .route("/_fake/modals", get(modals))
        .route("/_fake/responses/{id}", get(responses))
}

type Ctx = AxumState<Arc<Shared>>;

fn not_found(error: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"ok": false, "error": error}))).into_response()
}

#[derive(Deserialize)]
struct MethodFilter {
    method: Option<String>,
}

/// `GET /_fake/calls[?method=chat.postMessage]`: recorded calls, oldest first.
async fn calls(AxumState(shared): Ctx, Query(filter): Query<MethodFilter>) -> Response {
    Json(shared.calls(filter.method.as_deref())).into_response()
}

#[derive(Deserialize)]
struct WaitQuery {
    method: Option<String>,
    n: usize,
    #[serde(default = "default_wait_ms")]
    timeout_ms: u64,
}

fn default_wait_ms() -> u64 {
    5000
}

/// `GET /_fake/calls/wait?method=..&n=..&timeout_ms=..`: waits until `n` calls are recorded
/// (or the timeout passes) and returns them; shell scripts use it instead of polling.
async fn wait_for_calls(AxumState(shared): Ctx, Query(q): Query<WaitQuery>) -> Response {
    let timeout = Duration::from_millis(q.timeout_ms);
    Json(shared.wait_for_calls(q.method.as_deref(), q.n, timeout).await).into_response()
}

/// `POST /_fake/faults {"method": "chat.postMessage", "fault": {"kind": ...}, "times": 2}`.
async fn inject(AxumState(shared): Ctx, Json(req): Json<FaultRequest>) -> Response {
    shared.lock().inject(&req.method, req.fault, req.times);
    Json(json!({"ok": true})).into_response()
}

/// `POST /_fake/reset`: forgets calls, messages, views and faults; keeps users and token.
async fn reset(AxumState(shared): Ctx) -> Response {
    shared.lock().reset();
    Json(json!({"ok": true})).into_response()
}

#[derive(Deserialize)]
struct UserRequest {
    id: String,
    name: String,
    real_name: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(UserRequest),
    Many(Vec<UserRequest>),
}

/// `POST /_fake/users {"id","name","email"?,"real_name"?}` or an array of them.
async fn add_users(AxumState(shared): Ctx, Json(users): Json<OneOrMany>) -> Response {
    let users = match users {
        OneOrMany::One(user) => vec![user],
        OneOrMany::Many(users) => users,
    };
    for u in users {
        shared.add_user(&u.id, &u.name, u.real_name.as_deref(), u.email.as_deref());
    }
    Json(json!({"ok": true})).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    token: Option<String>,
}

/// `POST /_fake/token {"token": "xoxb-..." | null}`: the only token accepted, or any.
async fn set_token(AxumState(shared): Ctx, Json(req): Json<TokenRequest>) -> Response {
    shared.lock().token = req.token;
    Json(json!({"ok": true})).into_response()
}

/// `GET /_fake/home/{user}`: the latest published App Home view, 404 if none.
async fn home(AxumState(shared): Ctx, Path(user): Path<String>) -> Response {
    match shared.lock().home_view(&user) {
        Some(view) => Json(view).into_response(),
        None => not_found("no_view"),
    }
}

#[derive(Deserialize)]
struct ChannelFilter {
    channel: Option<String>,
}

/// `GET /_fake/messages[?channel=C1]`: stored messages (current content), in post order.
async fn messages(AxumState(shared): Ctx, Query(filter): Query<ChannelFilter>) -> Response {
    Json(shared.lock().messages(filter.channel.as_deref())).into_response()
}

/// `GET /_fake/messages/{channel}/{ts}`: `{"message": ..., "thread": [...]}`, 404 if none.
async fn message(AxumState(shared): Ctx, Path((channel, ts)): Path<(String, String)>) -> Response {
    let state = shared.lock();
    match state.message(&channel, &ts) {
        Some(message) => {
            let thread = state.thread(&channel, &ts);
            Json(json!({"message": message, "thread": thread})).into_response()
        }
        None => not_found("message_not_found"),
    }
}

/// `GET /_fake/modals`: views opened with `views.open`, oldest first.
async fn modals(AxumState(shared): Ctx) -> Response {
    Json(Value::from(shared.lock().modals.clone())).into_response()
}

/// `GET /_fake/responses/{id}`: bodies accepted on that response URL, oldest first.
async fn responses(AxumState(shared): Ctx, Path(id): Path<String>) -> Response {
    let bodies = shared.lock().responses.get(&id).cloned().unwrap_or_default();
    Json(Value::from(bodies)).into_response()
}
