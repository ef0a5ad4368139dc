//! One Socket Mode connection: open the URL, connect, wait for `hello`, read frames, dispatch
//! envelopes, keep the link alive with pings, and close gracefully when retired.
//!
//! The task reports to the supervisor ([`super::client`]) through [`ConnEvent`]s and obeys
//! [`ConnCmd`]s. Acks go out through a writer task fed by a channel, so that envelope tasks
//! never hold the socket.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{Instrument, debug, info, info_span, warn};

use super::EnvelopeSink;
use super::client::Shared;
use super::dispatch;
use super::open::{OpenError, open_url};
use super::protocol::{self, DisconnectReason, Inbound, redact_url};

/// How long to wait for Slack's reply to our close frame before dropping the socket.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Extra time a retiring connection waits for its pending acks beyond the ack timeout.
const RETIRE_SLACK: Duration = Duration::from_secs(1);

/// What a connection tells the supervisor.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    /// `hello` received: the connection delivers envelopes.
    Ready { conn: u64 },
    /// Slack announced it will close the connection.
    Disconnect { conn: u64, reason: DisconnectReason },
    /// No WebSocket was established (URL not obtained, handshake failed or timed out).
    OpenFailed { conn: u64, error: OpenError },
    /// The WebSocket ended. `ready_for` is how long it had been ready (None: never was).
    Ended { conn: u64, reason: String, ready_for: Option<Duration> },
}

/// What the supervisor tells a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ConnCmd {
    /// Another connection took over, or the client stops: finish the acks of envelopes in
    /// flight, then close with this reason.
    Retire(&'static str),
}

/// The supervisor's handle on a connection task.
pub(crate) struct ConnHandle {
    pub(crate) id: u64,
    cmds: mpsc::UnboundedSender<ConnCmd>,
    task: JoinHandle<()>,
}

impl ConnHandle {
    pub(crate) fn retire(&self, reason: &'static str) {
        let _ = self.cmds.send(ConnCmd::Retire(reason));
    }

    /// Waits for the task to end, at most `within`; then aborts it.
    pub(crate) async fn finish(mut self, within: Duration) {
        if timeout(within, &mut self.task).await.is_err() {
            debug!(conn = self.id, "connection task did not end in time; aborted");
            self.task.abort();
        }
    }

    /// Ends the task now (for a connection that is not ready and holds no envelopes).
    pub(crate) fn abort(self) {
        self.task.abort();
    }
}

/// Counts envelopes of one connection whose ack is not settled yet.
#[derive(Default)]
pub(crate) struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// Held by an envelope task until its ack is sent (or deliberately not sent).
pub(crate) struct InFlightGuard(Arc<InFlight>);

impl InFlight {
    pub(crate) fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(Arc::clone(self))
    }

    /// Resolves when no ack is pending.
    async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// What envelope tasks need of their connection: where to send the ack.
#[derive(Clone)]
pub(crate) struct Link {
    out: mpsc::Sender<Message>,
    pub(crate) in_flight: Arc<InFlight>,
}

impl Link {
    /// Sends an ack on this connection. If the connection is gone the ack is lost, Slack
    /// redelivers the envelope, and the dedup set answers the redelivery.
    pub(crate) async fn ack(&self, envelope_id: &str, payload: Option<&serde_json::Value>) -> bool {
        let sent = self.out.send(Message::text(protocol::ack(envelope_id, payload))).await.is_ok();
        if sent {
            debug!(with_payload = payload.is_some(), "acknowledged");
        } else {
            warn!(
                "ack not sent: the connection is closed; Slack redelivers the envelope and the \
                 redelivery is acknowledged without processing it again"
            );
        }
        sent
    }
}

/// Starts connection number `conn`.
pub(crate) fn spawn<S: EnvelopeSink>(shared: Arc<Shared<S>>, conn: u64) -> ConnHandle {
    let (cmds, rx) = mpsc::unbounded_channel();
    let span = info_span!("socket_mode_connection", conn);
    let task = tokio::spawn(run(shared, conn, rx).instrument(span));
    ConnHandle { id: conn, cmds, task }
}

async fn run<S: EnvelopeSink>(shared: Arc<Shared<S>>, conn: u64, mut cmds: mpsc::UnboundedReceiver<ConnCmd>) {
    let config = &shared.config;
    let events = &shared.events;

    // 1. A one-time URL.
    let url = match timeout(config.connect_timeout, open_url(&shared.http, &config.slack_base_url, &config.app_token)).await {
        Ok(Ok(url)) => url,
        Ok(Err(error)) => {
            let _ = events.send(ConnEvent::OpenFailed { conn, error });
            return;
        }
        Err(_) => {
            let error = OpenError::Transient { reason: "apps.connections.open timed out".into(), retry_after: None };
            let _ = events.send(ConnEvent::OpenFailed { conn, error });
            return;
        }
    };
    let shown = redact_url(&url);

    // 2. The WebSocket.
    let connector = if url.starts_with("wss://") {
        match shared.tls() {
            Ok(connector) => Some(connector),
            Err(error) => {
                let _ = events.send(ConnEvent::OpenFailed { conn, error: OpenError::Tls(error) });
                return;
            }
        }
    } else {
        None
    };
    debug!(url = %shown, "connecting");
    let connected =
        timeout(config.connect_timeout, tokio_tungstenite::connect_async_tls_with_config(url.as_str(), None, true, connector)).await;
    let ws = match connected {
        Ok(Ok((ws, _response))) => ws,
        Ok(Err(e)) => {
            // tungstenite's messages do not quote the URL, but make sure the ticket never leaks.
            let reason = format!("WebSocket handshake with {shown} failed: {e}").replace(&url, &shown);
            let error = OpenError::Transient { reason, retry_after: None };
            let _ = events.send(ConnEvent::OpenFailed { conn, error });
            return;
        }
        Err(_) => {
            let reason = format!("WebSocket handshake with {shown} timed out");
            let error = OpenError::Transient { reason, retry_after: None };
            let _ = events.send(ConnEvent::OpenFailed { conn, error });
            return;
        }
    };
    drop(url);
    debug!(url = %shown, "WebSocket open; waiting for hello");

    // 3. Writer task: acks, pings and the close frame go out through `out`.
    let (mut write, mut read) = ws.split();
    let (out, mut out_rx) = mpsc::channel::<Message>(256);
    let writer = tokio::spawn(
        async move {
            while let Some(message) = out_rx.recv().await {
                let closing = matches!(message, Message::Close(_));
                if let Err(e) = write.send(message).await {
                    debug!(error = %e, "write failed");
                    break;
                }
                if closing {
                    break;
                }
            }
        }
        .in_current_span(),
    );

    let link = Link { out: out.clone(), in_flight: Arc::new(InFlight::default()) };
    let connected_at = Instant::now();
    let mut ready_at: Option<Instant> = None;
    let mut last_rx = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    let mut retire_by: Option<Instant> = None;
    let mut retire_reason = "closing";
    let mut close_by: Option<Instant> = None;
    let mut cmds_open = true;

    let send_close = |reason: &'static str| {
        let frame = CloseFrame { code: CloseCode::Normal, reason: reason.into() };
        // try_send: a full queue means the writer is stuck; the grace timer ends it anyway.
        let _ = out.try_send(Message::Close(Some(frame)));
    };

    // 4. The read loop.
    let reason: String = loop {
        let mut wake = if let Some(at) = close_by {
            at
        } else {
            let mut at = match ping_sent {
                Some(sent) => sent + config.pong_timeout,
                None => last_rx + config.ping_interval,
            };
            if ready_at.is_none() {
                at = at.min(connected_at + config.hello_timeout);
            }
            if let Some(by) = retire_by {
                at = at.min(by);
            }
            at
        };
        // Never spin: a deadline in the past fires once and is then moved.
        wake = wake.max(Instant::now());

        tokio::select! {
            cmd = cmds.recv(), if cmds_open && close_by.is_none() => match cmd {
                Some(ConnCmd::Retire(reason)) => {
                    retire_reason = reason;
                    if retire_by.is_none() {
                        retire_by = Some(Instant::now() + config.ack_timeout + RETIRE_SLACK);
                        debug!("retiring: finishing pending acks before closing");
                    }
                }
                None => cmds_open = false,
            },
            () = link.in_flight.idle(), if retire_by.is_some() && close_by.is_none() => {
                send_close(retire_reason);
                close_by = Some(Instant::now() + CLOSE_GRACE);
                debug!("pending acks done; close frame sent");
            }
            () = sleep_until(wake) => {
                let now = Instant::now();
                if let Some(by) = close_by {
                    if now >= by {
                        break "closed by this client (no close reply from Slack)".to_owned();
                    }
                } else if retire_by.is_some_and(|by| now >= by) {
                    warn!("acks still pending when retiring; closing anyway (Slack redelivers those envelopes)");
                    send_close(retire_reason);
                    close_by = Some(now + CLOSE_GRACE);
                } else if ready_at.is_none() && now >= connected_at + config.hello_timeout {
                    break format!("no hello within {} ms", config.hello_timeout.as_millis());
                } else if let Some(sent) = ping_sent {
                    if now >= sent + config.pong_timeout {
                        break format!(
                            "no pong within {} ms of our ping (link stalled)",
                            config.pong_timeout.as_millis()
                        );
                    }
                } else if now >= last_rx + config.ping_interval {
                    if out.try_send(Message::Ping(b"pulse".to_vec().into())).is_err() {
                        break "writer gone".to_owned();
                    }
                    ping_sent = Some(now);
                }
            }
            frame = read.next() => {
                last_rx = Instant::now();
                ping_sent = None;
                match frame {
                    None => {
                        break if close_by.is_some() {
                            "closed by this client".to_owned()
                        } else {
                            "connection closed by Slack".to_owned()
                        };
                    }
                    Some(Err(e)) => {
                        break if close_by.is_some() {
                            "closed by this client".to_owned()
                        } else {
                            format!("read error: {e}")
                        };
                    }
                    Some(Ok(Message::Text(text))) => match protocol::parse(text.as_str()) {
                        Ok(Inbound::Hello { num_connections }) => {
                            if ready_at.is_none() {
                                ready_at = Some(Instant::now());
                                info!(
                                    num_connections,
                                    connect_ms = connected_at.elapsed().as_millis() as u64,
                                    "Socket Mode connection ready"
                                );
                                let _ = events.send(ConnEvent::Ready { conn });
                            }
                        }
                        Ok(Inbound::Disconnect(reason)) => {
                            info!(reason = reason.as_str(), "Slack announced it will close this connection");
                            let _ = events.send(ConnEvent::Disconnect { conn, reason });
                        }
                        Ok(Inbound::Envelope(envelope)) => {
                            if close_by.is_some() {
                                debug!(
                                    envelope_id = %envelope.envelope_id,
                                    "envelope arrived after our close frame; not processed, Slack redelivers it"
                                );
                            } else {
                                dispatch::dispatch(&shared, &link, envelope);
                            }
                        }
                        Ok(Inbound::Unknown { kind }) => {
                            debug!(kind = kind.as_deref().unwrap_or("-"), "ignored a message of an unknown type");
                        }
                        Err(e) => warn!(error = %e, "ignored a frame"),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        debug!(code = frame.as_ref().map(|f| u16::from(f.code)), "close frame received");
                        // tungstenite queues the close reply; the next read sends it and ends.
                    }
                    // Pings are answered by tungstenite; pongs and any frame only prove liveness.
                    Some(Ok(_)) => {}
                }
            }
        }
    };

    drop(out);
    drop(link);
    writer.abort();
    let ready_for = ready_at.map(|at| at.elapsed());
    debug!(%reason, "connection ended");
    let _ = events.send(ConnEvent::Ended { conn, reason, ready_for });
}
