//! The supervisor: the I/O loop around the [`Machine`], which keeps one ready Socket Mode
//! connection, replaces it before Slack closes it, reconnects with backoff when it drops, and
//! stops on `link_disabled`, a refused token or the shutdown signal. This loop only feeds it
//! connection events, envelope settlements, the shutdown signal and the time, and carries out
//! its actions (spawn a connection task, dispatch an envelope, write an ack, ping or close
//! frame, drop a connection).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use pulse_core::retry::Rng;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::Connector;
use tracing::{info, warn};

use super::connection::{self, ConnHandle, Link};
use super::dispatch;
use super::machine::{Action, Input, Machine};
use super::recent::Recent;
use super::{EnvelopeSink, SocketModeConfig, SocketModeError};

/// State shared by the supervisor, the connection tasks and the envelope tasks.
pub(crate) struct Shared<S> {
    pub(crate) config: SocketModeConfig,
    pub(crate) http: reqwest::Client,
    pub(crate) sink: Arc<S>,
    pub(crate) permits: Semaphore,
    pub(crate) events: mpsc::UnboundedSender<Input>,
    recent: Mutex<Recent>,
    tls: OnceLock<Result<Connector, String>>,
}

impl<S> Shared<S> {
    pub(crate) fn lock_recent(&self) -> MutexGuard<'_, Recent> {
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The TLS connector for `wss://` URLs, built once (rustls with aws-lc-rs, the system's roots).
    pub(crate) fn tls(&self) -> Result<Connector, String> {
        self.tls.get_or_init(tls_connector).clone()
    }
}

fn tls_connector() -> Result<Connector, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(format!(
            "no usable root certificates found on this system ({} errors while loading them); \
             install ca-certificates or set SSL_CERT_FILE",
            found.errors.len()
        ));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Connector::Rustls(Arc::new(config)))
}

/// A Socket Mode client. Build it with a [`SocketModeConfig`], then [`SocketModeClient::run`].
#[derive(Debug, Clone)]
pub struct SocketModeClient {
    config: SocketModeConfig,
}

impl SocketModeClient {
    pub fn new(config: SocketModeConfig) -> Self {
        Self { config }
    }

    pub fn config(&self) -> &SocketModeConfig {
        &self.config
    }

    /// Runs until `shutdown` resolves (`Ok`), Slack turns Socket Mode off
    /// ([`SocketModeError::LinkDisabled`]) or refuses the token ([`SocketModeError::Rejected`]).
    /// Connection drops are not errors: they are retried with backoff, forever.
    ///
    /// Every envelope is passed to `sink` at most once per process (redeliveries are acked
    /// without calling it again) and acknowledged on the connection it came from.
    pub async fn run<S: EnvelopeSink>(self, sink: Arc<S>, shutdown: impl Future) -> Result<(), SocketModeError> {
        let config = self.config;
        match config.app_token.current().await {
            Ok(token) if super::open::is_app_level(&token) => {}
            _ => return Err(SocketModeError::InvalidToken),
        }
        if config.max_in_flight == 0 {
            return Err(SocketModeError::Config("max_in_flight must be at least 1".into()));
        }
        let http = pulse_http::client_builder()
            .timeout(config.connect_timeout)
            .build()
            .map_err(|e| SocketModeError::Config(format!("HTTP client: {e}")))?;
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            http,
            sink,
            permits: Semaphore::new(config.max_in_flight),
            events: events_tx,
            recent: Mutex::new(Recent::new(config.dedup_capacity)),
            tls: OnceLock::new(),
            config,
        });
        let config = &shared.config;
        info!(
            slack_base_url = %config.slack_base_url,
            max_in_flight = config.max_in_flight,
            "Socket Mode client starting"
        );

        // The machine decides; this loop feeds it events and the time, and carries out its actions.
        let mut machine = Machine::new(config, Rng::new(), now());
        let mut conns: HashMap<u64, ConnHandle> = HashMap::new();
        let mut shutdown_seen = false;
        tokio::pin!(shutdown);
        let result = 'run: loop {
            while let Some(action) = machine.poll_action() {
                match action {
                    Action::Open { conn } => {
                        conns.insert(conn, connection::spawn(Arc::clone(&shared), conn));
                    }
                    Action::Dispatch { conn, envelope } => {
                        dispatch::dispatch(&shared, &Link::new(conn, shared.events.clone()), envelope);
                    }
                    Action::SendAck { conn, envelope_id, payload } => {
                        if let Some(handle) = conns.get(&conn) {
                            handle.send_ack(&envelope_id, payload.as_ref());
                        }
                    }
                    Action::SendPing { conn } => {
                        if let Some(handle) = conns.get(&conn) {
                            handle.send_ping();
                        }
                    }
                    Action::Close { conn, reason } => {
                        if let Some(handle) = conns.get(&conn) {
                            handle.send_close(reason);
                        }
                    }
                    Action::Discard { conn } => {
                        if let Some(handle) = conns.remove(&conn) {
                            handle.abort();
                        }
                    }
                    Action::Stop(result) => break 'run result,
                }
            }
            let wake = machine.poll_timeout();
            tokio::select! {
                _ = &mut shutdown, if !shutdown_seen => {
                    shutdown_seen = true;
                    machine.handle(now(), Input::Shutdown);
                }
                Some(input) = events.recv() => machine.handle(now(), input),
                // Never spin: a deadline in the past fires once, and the machine moves it.
                () = sleep_until(wake.map_or_else(Instant::now, Instant::from_std).max(Instant::now())), if wake.is_some() => {
                    machine.handle_timeout(now());
                }
            }
        };

        // Every connection is closed; give sinks that outlived their ack a moment to finish.
        for (_, handle) in conns.drain() {
            handle.abort();
        }
        let all = u32::try_from(config.max_in_flight).unwrap_or(u32::MAX);
        if tokio::time::timeout(config.ack_timeout, shared.permits.acquire_many(all)).await.is_err() {
            warn!("some envelopes were still being processed at shutdown");
        }
        info!(outcome = ?result.as_ref().map_err(ToString::to_string), "Socket Mode client stopped");
        result
    }
}

/// The machine's clock: tokio's, so that paused-time tests would drive it too.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wss_gets_a_rustls_connector_with_the_system_roots() {
        if rustls_native_certs::load_native_certs().certs.is_empty() {
            eprintln!("no system root certificates here; skipped");
            return;
        }
        assert!(matches!(tls_connector(), Ok(Connector::Rustls(_))));
    }
}
