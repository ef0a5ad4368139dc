//! The supervisor: keeps one ready Socket Mode connection, replaces it before Slack closes it,
//! reconnects with backoff when it drops, and stops on `link_disabled`, a refused token or the
//! shutdown signal.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::Connector;
use tracing::{error, info, warn};

use super::connection::{self, ConnEvent, ConnHandle};
use super::open::OpenError;
use super::protocol::DisconnectReason;
use super::recent::Recent;
use super::{EnvelopeSink, SocketModeConfig, SocketModeError};

/// State shared by the supervisor, the connection tasks and the envelope tasks.
pub(crate) struct Shared<S> {
    pub(crate) config: SocketModeConfig,
    pub(crate) http: reqwest::Client,
    pub(crate) sink: Arc<S>,
    pub(crate) permits: Semaphore,
    pub(crate) events: mpsc::UnboundedSender<ConnEvent>,
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

/// The connection that currently delivers envelopes.
struct Active {
    handle: ConnHandle,
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
        let http = reqwest::Client::builder()
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

        let mut backoff = config.reconnects();
        let mut next_conn = 0u64;
        let mut active: Option<Active> = None;
        let mut pending: Option<ConnHandle> = None;
        let mut retiring: Vec<ConnHandle> = Vec::new();
        // When to open the next connection (None: no connection wanted).
        let mut connect_at: Option<Instant> = Some(Instant::now());
        tokio::pin!(shutdown);

        let result = loop {
            let want_connect = pending.is_none() && connect_at.is_some();
            let far = Instant::now() + Duration::from_secs(3600);
            tokio::select! {
                _ = &mut shutdown => {
                    info!("shutdown requested; closing Socket Mode connections");
                    break Ok(());
                }
                () = sleep_until(connect_at.unwrap_or(far)), if want_connect => {
                    connect_at = None;
                    next_conn += 1;
                    info!(
                        conn = next_conn,
                        replacing = active.as_ref().map(|a| a.handle.id),
                        attempt = backoff.attempt(),
                        "opening a Socket Mode connection"
                    );
                    pending = Some(connection::spawn(Arc::clone(&shared), next_conn));
                }
                Some(event) = events.recv() => match event {
                    ConnEvent::Ready { conn } => {
                        if pending.as_ref().is_some_and(|p| p.id == conn) {
                            let handle = pending.take().expect("checked");
                            if let Some(old) = active.replace(Active { handle }) {
                                info!(
                                    conn = old.handle.id,
                                    replaced_by = conn,
                                    "replacement ready; closing the old connection after its pending acks"
                                );
                                old.handle.retire("replaced by a newer connection");
                                retiring.push(old.handle);
                            }
                        }
                    }
                    ConnEvent::Disconnect { conn, reason } => {
                        if reason == DisconnectReason::LinkDisabled {
                            error!(
                                conn,
                                "Slack disabled Socket Mode for this app (link_disabled); stopping"
                            );
                            break Err(SocketModeError::LinkDisabled);
                        }
                        let is_active = active.as_ref().is_some_and(|a| a.handle.id == conn);
                        if is_active && pending.is_none() && connect_at.is_none() {
                            info!(
                                conn,
                                reason = reason.as_str(),
                                "opening a replacement before Slack closes this connection"
                            );
                            connect_at = Some(Instant::now());
                        }
                    }
                    ConnEvent::OpenFailed { conn, error } => {
                        if pending.as_ref().is_none_or(|p| p.id != conn) {
                            continue;
                        }
                        pending = None;
                        match error {
                            OpenError::Fatal { error } => {
                                error!(conn, %error, "apps.connections.open refused the app-level token; stopping");
                                break Err(SocketModeError::Rejected { error });
                            }
                            OpenError::Tls(reason) => {
                                error!(conn, %reason, "cannot set up TLS for wss://; stopping");
                                break Err(SocketModeError::Tls(reason));
                            }
                            OpenError::Transient { reason, retry_after } => {
                                let delay = backoff.next_delay().max(retry_after.unwrap_or_default());
                                warn!(
                                    conn,
                                    %reason,
                                    attempt = backoff.attempt(),
                                    delay_ms = millis(delay),
                                    "could not open a Socket Mode connection; retrying"
                                );
                                schedule(&mut connect_at, Instant::now() + delay);
                            }
                        }
                    }
                    ConnEvent::Ended { conn, reason, ready_for } => {
                        if active.as_ref().is_some_and(|a| a.handle.id == conn) {
                            active = None;
                            if ready_for.is_some_and(|up| up >= config.healthy_after) {
                                backoff.reset();
                            }
                            if pending.is_some() {
                                info!(conn, %reason, "connection ended; its replacement is on the way");
                            } else {
                                let delay = backoff.next_delay();
                                warn!(
                                    conn,
                                    %reason,
                                    attempt = backoff.attempt(),
                                    delay_ms = millis(delay),
                                    "Socket Mode connection lost; reconnecting"
                                );
                                schedule(&mut connect_at, Instant::now() + delay);
                            }
                        } else if pending.as_ref().is_some_and(|p| p.id == conn) {
                            pending = None;
                            let delay = backoff.next_delay();
                            warn!(
                                conn,
                                %reason,
                                attempt = backoff.attempt(),
                                delay_ms = millis(delay),
                                "Socket Mode connection ended before it was ready; retrying"
                            );
                            schedule(&mut connect_at, Instant::now() + delay);
                        } else {
                            retiring.retain(|h| h.id != conn);
                            info!(conn, %reason, "old connection closed");
                        }
                    }
                },
            }
        };

        // Teardown: connections that may hold envelopes finish their acks and close; the one
        // still connecting holds none and is dropped. Then give sinks that outlived their ack a
        // moment to finish.
        if let Some(p) = pending.take() {
            p.abort();
        }
        let grace = config.ack_timeout + Duration::from_secs(3);
        let mut closing: Vec<ConnHandle> = retiring;
        if let Some(a) = active.take() {
            closing.push(a.handle);
        }
        for handle in &closing {
            handle.retire("client shutting down");
        }
        futures::future::join_all(closing.into_iter().map(|h| h.finish(grace))).await;
        let all = u32::try_from(config.max_in_flight).unwrap_or(u32::MAX);
        if tokio::time::timeout(config.ack_timeout, shared.permits.acquire_many(all)).await.is_err() {
            warn!("some envelopes were still being processed at shutdown");
        }
        info!(outcome = ?result.as_ref().map_err(ToString::to_string), "Socket Mode client stopped");
        result
    }
}

fn schedule(connect_at: &mut Option<Instant>, at: Instant) {
    *connect_at = Some(connect_at.map_or(at, |current| current.min(at)));
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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

    #[test]
    fn the_earliest_schedule_wins() {
        let now = Instant::now();
        let mut at = None;
        schedule(&mut at, now + Duration::from_secs(5));
        schedule(&mut at, now + Duration::from_secs(1));
        schedule(&mut at, now + Duration::from_secs(3));
        assert_eq!(at, Some(now + Duration::from_secs(1)));
    }
}
