//! The HTTP transports: API Gateway → Lambda (both payload formats, REST v1 and HTTP API v2,
//! base64-encoded bodies included, decoded by `lambda_http`), and a local axum server. Both hand
//! the raw body and headers to [`Ingress::handle_http`]; neither looks at the path (Slack's
//! three request URLs may all point at one endpoint), except to send GitHub's webhook
//! ([`GITHUB_ROUTE`]) to [`Ingress::handle_github`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body as AxumBody;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::decide::{RawRequest, Reply};
use crate::github::{self, GithubHeaders, GithubRequest};
use crate::headers::SlackHeaders;
use crate::parse::MAX_BODY_BYTES;
use crate::service::Ingress;

/// The request URLs ingress serves locally (any of them takes any kind of Slack request).
pub const ROUTES: [&str; 3] = ["/slack/events", "/slack/commands", "/slack/interactivity"];

/// GitHub's webhook URL (repository and organisation hooks, GitHub Apps). In Lambda, any path
/// ending so (API Gateway may put a stage before it).
pub const GITHUB_ROUTE: &str = "/github/webhook";

fn github_headers(headers: &HeaderMap) -> GithubHeaders<'_> {
    GithubHeaders::from_pairs(headers.iter().map(|(name, value)| (name.as_str(), value.as_bytes())))
}
fn slack_headers(headers: &HeaderMap) -> SlackHeaders<'_> {
    SlackHeaders::from_pairs(headers.iter().map(|(name, value)| (name.as_str(), value.as_bytes())))
}

fn reply_parts(reply: &Reply) -> (StatusCode, Option<String>) {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, reply.body.as_ref().map(|b| b.to_string()))
}

/// `X-Slack-No-Retry: 1` on 4xx answers: the same bytes would be refused again, so Slack should
/// not redeliver them (5xx answers, where a retry may succeed, do not carry it).
const NO_RETRY: &str = "x-slack-no-retry";

fn no_retry(status: StatusCode) -> bool {
    status.is_client_error()
}

// ---- Lambda --------------------------------------------------------------------------------

/// Handle one API Gateway request (REST v1 or HTTP API v2; `lambda_http` has already decoded
/// a base64 body). Public so tests can call it with requests built from JSON fixtures.
pub async fn lambda_handler(ingress: &Ingress, request: lambda_http::Request) -> lambda_http::Response<lambda_http::Body> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let headers = slack_headers(request.headers());
    let body: &[u8] = request.body().as_ref();
    let reply = if path.ends_with(GITHUB_ROUTE) {
        let headers = github_headers(request.headers());
        ingress.handle_github(GithubRequest { method: &method, path: &path, headers, body }).await
    } else {
        ingress.handle_http(RawRequest { method: &method, path: &path, headers, body }).await
    };
    let (status, body) = reply_parts(&reply);
    let mut response = lambda_http::Response::builder().status(status);
    if no_retry(status) {
        response = response.header(NO_RETRY, "1");
    }
    let body = match body {
        Some(json) => {
            response = response.header(header::CONTENT_TYPE, "application/json");
            lambda_http::Body::Text(json)
        }
        None => lambda_http::Body::Empty,
    };
    response.body(body).expect("a response of a valid status and static header builds")
}

/// Run as an API Gateway-triggered Lambda until the runtime stops.
pub async fn run_lambda(ingress: Arc<Ingress>) -> Result<(), lambda_http::Error> {
    lambda_http::run(lambda_http::service_fn(move |request: lambda_http::Request| {
        let ingress = Arc::clone(&ingress);
        async move { Ok::<_, std::convert::Infallible>(lambda_handler(&ingress, request).await) }
    }))
    .await
}

// ---- Local server --------------------------------------------------------------------------

/// The local HTTP server's routes: `POST` on [`ROUTES`] and [`GITHUB_ROUTE`], `GET /healthz`.
pub fn router(ingress: Arc<Ingress>) -> Router {
    let mut router = Router::new();
    for route in ROUTES {
        router = router.route(route, post(handle_axum));
    }
    router.route(GITHUB_ROUTE, post(handle_github_axum)).route("/healthz", get(|| async { "ok" })).with_state(ingress)
}

async fn handle_github_axum(State(ingress): State<Arc<Ingress>>, method: Method, uri: Uri, headers: HeaderMap, body: AxumBody) -> Response {
    let bytes = match axum::body::to_bytes(body, github::MAX_BODY_BYTES + 1).await {
        Ok(bytes) => bytes,
        Err(_) => return to_axum(&Reply::error(413, format!("the body is over the {}-byte limit", github::MAX_BODY_BYTES))),
    };
    let request = GithubRequest { method: method.as_str(), path: uri.path(), headers: github_headers(&headers), body: &bytes };
    to_axum(&ingress.handle_github(request).await)
}

async fn handle_axum(State(ingress): State<Arc<Ingress>>, method: Method, uri: Uri, headers: HeaderMap, body: AxumBody) -> Response {
    // Read at most one byte past the limit, so an oversized body is refused without buffering it.
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES + 1).await {
        Ok(bytes) => bytes,
        Err(_) => return to_axum(&Reply::error(413, format!("the body is over the {MAX_BODY_BYTES}-byte limit"))),
    };
    let reply =
        ingress.handle_http(RawRequest { method: method.as_str(), path: uri.path(), headers: slack_headers(&headers), body: &bytes }).await;
    to_axum(&reply)
}

fn to_axum(reply: &Reply) -> Response {
    let (status, body) = reply_parts(reply);
    let mut response = match body {
        Some(json) => {
            let mut response = (status, json).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        None => status.into_response(),
    };
    if no_retry(status) {
        response.headers_mut().insert(NO_RETRY, HeaderValue::from_static("1"));
    }
    response
}

/// Serve [`router`] on `listener` until Ctrl-C / SIGTERM.
pub async fn serve(ingress: Arc<Ingress>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(ingress)).with_graceful_shutdown(pulse_runtime::shutdown::signal()).await
}

/// Bind `addr` and [`serve`].
pub async fn serve_on(ingress: Arc<Ingress>, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, routes = ?ROUTES, github = GITHUB_ROUTE, "ingress listening");
    serve(ingress, listener).await
}
