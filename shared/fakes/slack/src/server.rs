//! The fake's HTTP face for Slack clients: `/api/{method}` (the Web API) and `/response/{id}`
//! (response URLs). Parses the request like Slack does, applies any queued fault, lets
//! `state.rs` answer, and records the call.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Path, Query, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{Map, Value, json};

use super::Shared;
use super::control;
use super::fault::Fault;
use super::record::RecordedCall;
use super::state::State;

/// Largest request body accepted; well above Slack's own limits so the fake can answer
/// `view_too_large` rather than failing at the transport.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Form arguments whose value Slack parses as JSON.
const JSON_ARGS: &[&str] = &["blocks", "attachments", "view", "metadata"];

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/{method}", get(web_api).post(web_api))
        .route("/response/{id}", post(response_url))
        .route("/api/webhooks/{id}/{token}", post(discord_webhook))
        .merge(control::routes())
        .merge(super::ui::routes())
        .with_state(shared)
}

/// An HTTP answer of the fake.
pub(super) struct Reply {
    status: StatusCode,
    body: Value,
    retry_after: Option<u64>,
}

impl Reply {
    /// Slack's normal answer: HTTP 200 whatever `ok` says.
    fn slack(body: Value) -> Self {
        Self { status: StatusCode::OK, body, retry_after: None }
    }

    fn status(status: u16, body: Value) -> Self {
        Self { status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body, retry_after: None }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

async fn web_api(AxumState(shared): AxumState<Arc<Shared>>, Path(method): Path<String>, request: Request) -> Reply {
    let parsed = parse_request(request).await;
    let (body, token) = parsed.clone().unwrap_or_else(|_| (json!({}), None));
    let call = RecordedCall::new(&method, body.clone(), token.clone());
    handle(&shared, call, |state| match parsed {
        Err(error) => Reply::slack(json!({"ok": false, "error": error})),
        Ok(_) => Reply::slack(state.answer(&method, &body, token.as_deref())),
    })
    .await
}

async fn response_url(AxumState(shared): AxumState<Arc<Shared>>, Path(id): Path<String>, request: Request) -> Reply {
    let parsed = parse_request(request).await;
    let body = parsed.clone().map_or_else(|_| json!({}), |(body, _)| body);
    let mut call = RecordedCall::new(super::RESPONSE_URL_METHOD, body.clone(), None);
    call.response_id = Some(id.clone());
    handle(&shared, call, |state| match parsed {
        Err(error) => Reply::status(400, json!({"ok": false, "error": error})),
        Ok(_) => match state.respond(&id, &body) {
            Ok(()) => Reply::slack(json!({"ok": true})),
            Err(answer) => Reply::status(404, answer),
        },
    })
    .await
}

/// Discord's webhook execution (`discord.rs`); `?wait=true` answers with the message.
async fn discord_webhook(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path((id, _token)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    request: Request,
) -> Response {
    let wait = query.iter().any(|(k, v)| k == "wait" && v == "true");
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await.ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let call = RecordedCall::new(super::discord::DISCORD_METHOD, body.clone().unwrap_or_else(|| json!({})), None);
    let reply = handle(&shared, call, |state| match &body {
        None => Reply::status(400, json!({"code": 50109, "message": "The request body contains invalid JSON."})),
        Some(body) => match state.execute_webhook(&id, body) {
            Ok(message) => Reply::slack(message),
            Err(super::discord::Refused(error)) => Reply::status(400, error),
        },
    })
    .await;
    if reply.status == StatusCode::OK && !wait {
        return StatusCode::NO_CONTENT.into_response();
    }
    reply.into_response()
}

/// Applies the next queued fault around `effect`, records the call with its outcome, and
/// answers (late, for a `Delay`).
async fn handle(shared: &Shared, mut call: RecordedCall, effect: impl FnOnce(&mut State) -> Reply) -> Reply {
    let (reply, delay) = {
        let mut state = shared.lock();
        let (reply, delay) = match state.take_fault(&call.method) {
            None => (effect(&mut state), None),
            Some(Fault::Delay(wait)) => (effect(&mut state), Some(wait)),
            Some(Fault::RateLimited { retry_after_secs }) => (
                Reply {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    body: json!({"ok": false, "error": "ratelimited"}),
                    retry_after: Some(retry_after_secs),
                },
                None,
            ),
            Some(Fault::ServerError(status)) => (Reply::status(status, json!({"ok": false, "error": "fatal_error"})), None),
            Some(Fault::SlackError(error)) => (Reply::slack(json!({"ok": false, "error": error})), None),
            Some(Fault::FailAfterEffect(status)) => {
                let _applied = effect(&mut state);
                (Reply::status(status, json!({"ok": false, "error": "fatal_error"})), None)
            }
        };
        call.status = reply.status.as_u16();
        if reply.body.get("ok") == Some(&Value::Bool(false)) {
            call.error = reply.body.get("error").and_then(Value::as_str).map(str::to_owned);
        }
        shared.record(&mut state, call);
        (reply, delay)
    };
    if let Some(wait) = delay {
        tokio::time::sleep(wait).await;
    }
    reply
}

/// Reads the arguments from a query (GET), a JSON body or a form body, and the token from
/// `Authorization: Bearer` or a `token` argument, as Slack accepts them.
async fn parse_request(request: Request) -> Result<(Value, Option<String>), &'static str> {
    let header_token = bearer(request.headers());
    let mut body = if request.method() == Method::GET {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(request.uri()).map_err(|_| "invalid_arguments")?;
        form_to_json(pairs)
    } else {
        let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await.map_err(|_| "request_timeout")?;
        if content_type.starts_with("application/x-www-form-urlencoded") {
            form_to_json(parse_form(bytes).await.ok_or("invalid_form_data")?)
        } else if bytes.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            value
        } else if content_type.starts_with("application/json") {
            return Err("invalid_json");
        } else {
            form_to_json(parse_form(bytes).await.ok_or("invalid_form_data")?)
        }
    };
    let body_token = body.as_object_mut().and_then(|o| o.remove("token")).and_then(|t| t.as_str().map(str::to_owned));
    Ok((body, header_token.or(body_token)))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    (!token.is_empty()).then(|| token.to_owned())
}

async fn parse_form(bytes: axum::body::Bytes) -> Option<Vec<(String, String)>> {
    let request = Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(bytes))
        .ok()?;
    let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, &()).await.ok()?;
    Some(pairs)
}

fn form_to_json(pairs: Vec<(String, String)>) -> Value {
    let mut map = Map::new();
    for (key, value) in pairs {
        let parsed = JSON_ARGS
            .contains(&key.as_str())
            .then(|| serde_json::from_str::<Value>(&value).ok())
            .flatten()
            .filter(|v| v.is_object() || v.is_array());
        map.insert(key, parsed.unwrap_or(Value::String(value)));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_holding_json_are_parsed() {
        let body = form_to_json(vec![
            ("channel".into(), "C1".into()),
            ("blocks".into(), r#"[{"type":"divider"}]"#.into()),
            ("text".into(), "[not json".into()),
        ]);
        assert_eq!(body["channel"], "C1");
        assert_eq!(body["blocks"][0]["type"], "divider");
        assert_eq!(body["text"], "[not json");
    }

    #[test]
    fn bearer_token() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer xoxb-1"));
        assert_eq!(bearer(&headers).as_deref(), Some("xoxb-1"));
    }

    #[test]
    fn fake_server_statuses_are_kept() {
        assert_eq!(Reply::status(503, json!({})).status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(Reply::status(1, json!({})).status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
