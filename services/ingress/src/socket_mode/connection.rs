//! One Socket Mode connection's I/O: open the URL, connect, then pump frames both ways. All
//! decisions (when to ping, close or give up) are the [`Machine`](super::machine::Machine)'s:
//! the task reports what happens as [`Input`]s and writes what the supervisor hands it.
//!
//! Envelope tasks never hold the socket: their acks and settlements go to the supervisor
//! (through a [`Link`]), which writes the ack on the connection the machine names.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{Instrument, debug, info_span, warn};

use super::EnvelopeSink;
use super::client::Shared;
use super::machine::{Frame, Input};
use super::open::{OpenError, open_url};
use super::protocol::{self, Inbound, redact_url};

/// The supervisor's handle on a connection task.
pub(crate) struct ConnHandle {
    out: mpsc::UnboundedSender<Message>,
    task: JoinHandle<()>,
}

impl ConnHandle {
    pub(crate) fn send_ack(&self, envelope_id: &str, payload: Option<&Value>) {
        let _ = self.out.send(Message::text(protocol::ack(envelope_id, payload)));
    }

    pub(crate) fn send_ping(&self) {
        let _ = self.out.send(Message::Ping(b"pulse".to_vec().into()));
    }

    /// Sends a close frame; the task reads on until Slack closes the socket.
    pub(crate) fn send_close(&self, reason: &'static str) {
        let _ = self.out.send(Message::Close(Some(CloseFrame { code: CloseCode::Normal, reason: reason.into() })));
    }

    /// Drops the socket now (no close frame).
    pub(crate) fn abort(self) {
        self.task.abort();
    }
}

/// Held by an envelope task until its ack is settled (sent, or deliberately not sent): dropping
/// it tells the machine, so a retiring connection knows when its acks are done.
pub(crate) struct InFlightGuard {
    conn: u64,
    events: mpsc::UnboundedSender<Input>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let _ = self.events.send(Input::Settled { conn: self.conn });
    }
}

/// What envelope tasks need of their connection: a way to have their ack sent on it.
#[derive(Clone)]
pub(crate) struct Link {
    conn: u64,
    events: mpsc::UnboundedSender<Input>,
}

impl Link {
    pub(crate) fn new(conn: u64, events: mpsc::UnboundedSender<Input>) -> Self {
        Self { conn, events }
    }

    pub(crate) fn conn(&self) -> u64 {
        self.conn
    }

    /// Counts one envelope of this connection as pending until the guard is dropped.
    pub(crate) fn enter(&self) -> InFlightGuard {
        InFlightGuard { conn: self.conn, events: self.events.clone() }
    }

    /// Asks for an ack on this connection. If the connection is gone by then the ack is lost
    /// (the machine logs it), Slack redelivers the envelope, and the dedup set answers the
    /// redelivery. `false` if the client itself is gone.
    pub(crate) async fn ack(&self, envelope_id: &str, payload: Option<&Value>) -> bool {
        self.events.send(Input::Ack { conn: self.conn, envelope_id: envelope_id.to_owned(), payload: payload.cloned() }).is_ok()
    }
}

/// Starts connection number `conn`: it reports `Connected` or `OpenFailed`, then its frames,
/// then `Closed`.
pub(crate) fn spawn<S: EnvelopeSink>(shared: Arc<Shared<S>>, conn: u64) -> ConnHandle {
    let (out, out_rx) = mpsc::unbounded_channel();
    let span = info_span!("socket_mode_connection", conn);
    let task = tokio::spawn(
        async move {
            let input = run(&shared, conn, out_rx).await;
            let _ = shared.events.send(input);
        }
        .instrument(span),
    );
    ConnHandle { out, task }
}

/// Returns the last input: `OpenFailed` or `Closed`.
async fn run<S: EnvelopeSink>(shared: &Shared<S>, conn: u64, mut out: mpsc::UnboundedReceiver<Message>) -> Input {
    let config = &shared.config;
    let events = &shared.events;
    let failed = |error: OpenError| Input::OpenFailed { conn, error };

    // 1. A one-time URL.
    let url = match timeout(config.connect_timeout, open_url(&shared.http, &config.slack_base_url, &config.app_token)).await {
        Ok(Ok(url)) => url,
        Ok(Err(error)) => return failed(error),
        Err(_) => return failed(OpenError::Transient { reason: "apps.connections.open timed out".into(), retry_after: None }),
    };
    let shown = redact_url(&url);

    // 2. The WebSocket.
    let connector = if url.starts_with("wss://") {
        match shared.tls() {
            Ok(connector) => Some(connector),
            Err(error) => return failed(OpenError::Tls(error)),
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
            return failed(OpenError::Transient { reason, retry_after: None });
        }
        Err(_) => return failed(OpenError::Transient { reason: format!("WebSocket handshake with {shown} timed out"), retry_after: None }),
    };
    drop(url);
    debug!(url = %shown, "WebSocket open; waiting for hello");
    let _ = events.send(Input::Connected { conn });

    // 3. Pump: frames in to the machine, the supervisor's messages out, until the socket ends.
    let (mut write, mut read) = ws.split();
    let mut writing = true;
    loop {
        tokio::select! {
            message = out.recv(), if writing => {
                let Some(message) = message else { return Input::Closed { conn, error: None } };
                let closing = matches!(message, Message::Close(_));
                if let Err(e) = write.send(message).await {
                    debug!(error = %e, "write failed");
                    writing = false;
                }
                if closing {
                    // tungstenite answers Slack's close reply; the read side then ends.
                    writing = false;
                }
            }
            frame = read.next() => {
                let frame = match frame {
                    None => return Input::Closed { conn, error: None },
                    Some(Err(e)) => return Input::Closed { conn, error: Some(e.to_string()) },
                    Some(Ok(message)) => classify(message),
                };
                let _ = events.send(Input::Frame { conn, frame });
            }
        }
    }
}

fn classify(message: Message) -> Frame {
    match message {
        Message::Text(text) => match protocol::parse(text.as_str()) {
            Ok(Inbound::Hello { num_connections }) => Frame::Hello { num_connections },
            Ok(Inbound::Disconnect(reason)) => Frame::Disconnect(reason),
            Ok(Inbound::Envelope(envelope)) => Frame::Envelope(envelope),
            Ok(Inbound::Unknown { kind }) => {
                debug!(kind = kind.as_deref().unwrap_or("-"), "ignored a message of an unknown type");
                Frame::Other
            }
            Err(e) => {
                warn!(error = %e, "ignored a frame");
                Frame::Other
            }
        },
        Message::Close(frame) => {
            debug!(code = frame.as_ref().map(|f| u16::from(f.code)), "close frame received");
            // tungstenite queues the close reply; the next read sends it and ends.
            Frame::Other
        }
        // Pings are answered by tungstenite; pongs and any frame only prove liveness.
        _ => Frame::Other,
    }
}
