//! An HTTP forwarder in the test process between Pulse's processes and moto: the one place that
//! relays AWS calls, so each proxy the suite needs (the PutEvents fault proxy, the call counter
//! of the cost model) says only what it does differently. A process reaches it by its
//! `AWS_ENDPOINT_URL` (`WorkerOptions::endpoint`, `Scene::pulse_via`); every request is signed
//! for the emulator's dummy credentials, so relaying it unchanged is enough.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request as received.
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What the upstream answered (or the forwarder's own 502 when it could not be reached).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.status, self.headers, self.body).into_response()
    }
}

/// Where requests go (moto's URL), and the client that takes them there.
pub struct Upstream {
    url: String,
    client: reqwest::Client,
}

const HOP_BY_HOP: [&str; 6] = ["host", "content-length", "transfer-encoding", "connection", "expect", "keep-alive"];

impl Upstream {
    /// Send `request` upstream with `body` in place of its own (a proxy may rewrite it).
    pub async fn send(&self, request: &Request, body: Bytes) -> Answer {
        let path = request.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut outgoing = self.client.request(request.method.clone(), format!("{}{path}", self.url)).body(body);
        for (name, value) in &request.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                outgoing = outgoing.header(name, value);
            }
        }
        match outgoing.send().await {
            Ok(response) => {
                let status = response.status();
                let mut headers = HeaderMap::new();
                for (name, value) in response.headers() {
                    if !HOP_BY_HOP.contains(&name.as_str()) {
                        headers.append(name, value.clone());
                    }
                }
                let body = response.bytes().await.unwrap_or_default();
                Answer { status, headers, body }
            }
            Err(err) => {
                Answer { status: StatusCode::BAD_GATEWAY, headers: HeaderMap::new(), body: Bytes::from(format!("forwarder: {err}")) }
            }
        }
    }
}

/// What a proxy does with each request: usually `upstream.send(&request, body)` plus its own
/// bookkeeping or fault.
pub trait Relay: Send + Sync + 'static {
    fn handle(&self, upstream: &Upstream, request: Request) -> impl Future<Output = Response> + Send;
}

/// A forwarder listening on a loopback port, stopped on drop.
pub struct Forwarder<R> {
    pub url: String,
    pub relay: Arc<R>,
    server: tokio::task::JoinHandle<()>,
}

impl<R: Relay> Forwarder<R> {
    /// Listen on a free loopback port and relay to `upstream` (moto's URL) through `relay`.
    pub async fn start(upstream: &str, relay: R) -> Forwarder<R> {
        let relay = Arc::new(relay);
        let upstream = Upstream {
            url: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder().pool_max_idle_per_host(8).build().expect("an HTTP client"),
        };
        let state = Arc::new((upstream, relay.clone()));
        let app = Router::new().fallback(handle::<R>).with_state(state);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind the forwarder");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Forwarder { url, relay, server }
    }
}

impl<R> Drop for Forwarder<R> {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle<R: Relay>(
    State(state): State<Arc<(Upstream, Arc<R>)>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (upstream, relay) = &*state;
    relay.handle(upstream, Request { method, uri, headers, body }).await
}
