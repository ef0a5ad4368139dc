//! A fake of Slack's Socket Mode side, for tests and the local stack.
//!
//! [`FakeSocketMode::start`] serves, on loopback, `POST {base_url}/apps.connections.open`
//! (checks for an `xapp-` bearer token: `not_authed` / `invalid_auth` otherwise) answering
//! `ws://127.0.0.1:PORT/link?ticket=…` with single-use tickets, and the WebSocket endpoint. Each
//! connection gets `hello` (after an optional delay). The test then pushes envelopes, reads the
//! acks, and breaks things: abrupt drops, `disconnect` messages, refused handshakes, failing
//! `apps.connections.open`, stalls (no pongs).
//!
//! Delivery follows Slack: envelopes go to the newest ready connection; those sent while none is
//! ready wait for the next `hello`; those unacked when their connection closes are redelivered
//! on another with `retry_attempt + 1` and the same `envelope_id`.

mod http;
mod state;
mod ws;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;

use state::{Out, State};

/// An acknowledgement the client sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ack {
    pub envelope_id: String,
    /// The response payload, if the ack carried one.
    pub payload: Option<Value>,
    /// The connection (numbered from 1 in order of opening) the ack came on.
    pub connection: u64,
}

/// One envelope frame the fake sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub envelope_id: String,
    pub connection: u64,
    pub retry_attempt: u32,
}

/// A WebSocket connection as the fake saw it.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    pub id: u64,
    pub open: bool,
    pub ready: bool,
    pub opened_at: Instant,
    pub ready_at: Option<Instant>,
    pub closed_at: Option<Instant>,
}

/// How the next `apps.connections.open` call fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenFailure {
    /// This HTTP status with `{"ok":false,"error":"internal_error"}`.
    Http(u16),
    /// HTTP 200 with `{"ok":false,"error":…}` (`ratelimited`, `invalid_auth`, …).
    SlackError(String),
    /// HTTP 429 with `Retry-After` and `{"ok":false,"error":"ratelimited"}`.
    RateLimited { retry_after_secs: u64 },
}

pub(crate) struct Inner {
    state: Mutex<State>,
    /// Bumped on every change, so waiters wake without polling.
    changed: watch::Sender<u64>,
    /// Set to true when the owning handle is dropped: servers and connections end.
    stop: watch::Sender<bool>,
    http_addr: SocketAddr,
    ws_addr: SocketAddr,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

struct StopOnDrop(Arc<Inner>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop.send_replace(true);
    }
}

/// The fake Socket Mode server. Clones share it; it stops when the last clone of the handle
/// returned by [`FakeSocketMode::start`] is dropped.
#[derive(Clone)]
pub struct FakeSocketMode {
    inner: Arc<Inner>,
    _owner: Option<Arc<StopOnDrop>>,
}

impl std::fmt::Debug for FakeSocketMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSocketMode").field("http", &self.inner.http_addr).field("ws", &self.inner.ws_addr).finish()
    }
}

impl FakeSocketMode {
    /// Starts on `127.0.0.1`, on free ports.
    pub async fn start() -> std::io::Result<Self> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts with the HTTP side (`apps.connections.open`, `/_fake/…`) on `http` and the
    /// WebSocket side on `ws`.
    pub async fn bind(http: SocketAddr, ws: SocketAddr) -> std::io::Result<Self> {
        let http_listener = TcpListener::bind(http).await?;
        let ws_listener = TcpListener::bind(ws).await?;
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            changed: watch::channel(0).0,
            stop: watch::channel(false).0,
            http_addr: http_listener.local_addr()?,
            ws_addr: ws_listener.local_addr()?,
        });
        tokio::spawn(ws::accept_loop(Arc::clone(&inner), ws_listener));
        let router = http::router(Arc::clone(&inner));
        let mut stop = inner.stop.subscribe();
        tokio::spawn(async move {
            let _ = axum::serve(http_listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await;
        });
        tracing::info!(http = %inner.http_addr, ws = %inner.ws_addr, "fake Socket Mode server listening");
        Ok(Self { _owner: Some(Arc::new(StopOnDrop(Arc::clone(&inner)))), inner })
    }

    /// A non-owning handle (for the HTTP control handlers).
    fn handle(inner: Arc<Inner>) -> Self {
        Self { inner, _owner: None }
    }

    /// The Web API base to configure in the client: `http://127.0.0.1:PORT/api`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.inner.http_addr)
    }

    /// The address of the WebSocket side.
    pub fn ws_addr(&self) -> SocketAddr {
        self.inner.ws_addr
    }

    // ---- faults -------------------------------------------------------------------------

    /// The next `apps.connections.open` calls fail like this, in order.
    pub fn fail_opens(&self, failures: impl IntoIterator<Item = OpenFailure>) {
        self.inner.lock().open_failures.extend(failures);
    }

    /// The next `n` WebSocket handshakes are refused with HTTP 503.
    pub fn refuse_connections(&self, n: usize) {
        self.inner.lock().refuse_connections += n;
    }

    /// `hello` is sent this long after a connection opens (default: at once).
    pub fn set_hello_delay(&self, delay: Duration) {
        self.inner.lock().hello_delay = delay;
    }

    /// Only this exact token is accepted (default: any `xapp-` token).
    pub fn require_token(&self, token: impl Into<String>) {
        self.inner.lock().required_token = Some(token.into());
    }

    // ---- envelopes ----------------------------------------------------------------------

    /// Sends an envelope to the newest ready connection (or queues it until one is ready) and
    /// returns its `envelope_id`. `accepts_response_payload` is true for `slash_commands`.
    pub fn send_envelope(&self, kind: &str, payload: Value) -> String {
        self.send_envelope_with(kind, payload, kind == "slash_commands", None)
    }

    /// Like [`Self::send_envelope`], on connection `connection` if it is open and ready.
    pub fn send_envelope_to(&self, connection: u64, kind: &str, payload: Value) -> String {
        self.send_envelope_with(kind, payload, kind == "slash_commands", Some(connection))
    }

    /// Full control over an envelope.
    pub fn send_envelope_with(&self, kind: &str, payload: Value, accepts_response_payload: bool, connection: Option<u64>) -> String {
        let envelope_id = {
            let mut state = self.inner.lock();
            let envelope_id = state.new_envelope(kind, payload, accepts_response_payload);
            state.deliver(&envelope_id, connection);
            envelope_id
        };
        self.inner.bump();
        envelope_id
    }

    /// Sends an envelope again as Slack's retry does: same id, `retry_attempt + 1`,
    /// `retry_reason: "timeout"`, whether or not it was acked. False if the id is unknown.
    pub fn redeliver(&self, envelope_id: &str) -> bool {
        let done = self.inner.lock().redeliver(envelope_id, None);
        self.inner.bump();
        done
    }

    // ---- connections --------------------------------------------------------------------

    /// Closes the TCP connection without a close handshake.
    pub fn drop_connection(&self, connection: u64) -> bool {
        self.tell(connection, Out::Drop)
    }

    /// Sends `{"type":"disconnect","reason":…}` (`warning`, `refresh_requested`,
    /// `link_disabled`) and keeps the connection open; the client is expected to close it.
    pub fn disconnect(&self, connection: u64, reason: &str) -> bool {
        let frame = json!({
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": "fake-socket-mode"},
        });
        self.tell(connection, Out::Text(frame.to_string()))
    }

    /// Closes the connection with a close handshake, as Slack does after a `disconnect`.
    pub fn close_connection(&self, connection: u64) -> bool {
        self.tell(connection, Out::Close)
    }

    /// Stops reading the connection (so pings go unanswered) for `duration`.
    pub fn stall(&self, connection: u64, duration: Duration) -> bool {
        self.tell(connection, Out::Stall(duration))
    }

    fn tell(&self, connection: u64, out: Out) -> bool {
        let state = self.inner.lock();
        state.conns.get(&connection).is_some_and(|c| c.open && c.tx.send(out).is_ok())
    }

    /// The newest connection that said hello and is open.
    pub fn newest_connection(&self) -> Option<u64> {
        self.inner.lock().newest_ready()
    }

    // ---- observations -------------------------------------------------------------------

    /// Every ack received, in order.
    pub fn acks(&self) -> Vec<Ack> {
        self.inner.lock().acks.clone()
    }

    /// Every envelope frame sent, in order (retries included).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.lock().deliveries.clone()
    }

    /// Ids of envelopes sent and not acked yet.
    pub fn unacked(&self) -> Vec<String> {
        self.inner.lock().unacked()
    }

    /// WebSocket connections open now.
    pub fn open_connections(&self) -> usize {
        self.inner.lock().open_count()
    }

    /// The most WebSocket connections that were open at the same time.
    pub fn max_open_connections(&self) -> usize {
        self.inner.lock().max_open
    }

    /// Every connection so far, in order of opening.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        self.inner.lock().connection_infos()
    }

    /// How many times `apps.connections.open` was called (failures included).
    pub fn open_calls(&self) -> usize {
        self.inner.lock().open_calls.len()
    }

    /// When each `apps.connections.open` call came in.
    pub fn open_call_times(&self) -> Vec<Instant> {
        self.inner.lock().open_calls.clone()
    }

    /// How many WebSocket handshakes were refused by [`Self::refuse_connections`].
    pub fn refused_connections(&self) -> usize {
        self.inner.lock().refused_connections
    }

    /// Waits until `condition` holds, at most `within`; returns whether it does.
    pub async fn wait_until(&self, within: Duration, mut condition: impl FnMut(&Self) -> bool) -> bool {
        let mut changed = self.inner.changed.subscribe();
        let deadline = Instant::now() + within;
        loop {
            if condition(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed.changed()).await.is_err() {
                return condition(self);
            }
        }
    }
}
