//! The Socket Mode connection logic as a pure state machine: events and the time in, actions
//! out as data. No sockets, no tasks, no clock: the I/O loop ([`super::client`] and
//! [`super::connection`]) hands every event over with the instant it happened, executes the
//! [`Action`]s it gets back, and calls [`Machine::handle_timeout`] at [`Machine::poll_timeout`].
//! The reconnect jitter comes from the [`Rng`] given to [`Machine::new`] (seeded in tests).
//!
//! Connections are numbered from 1 in the order they are opened (the `conn` of the logs); a
//! number is never reused. At most one connection is *pending* (being opened, or connected and
//! waiting for `hello`), at most one is *active* (ready, delivering envelopes), and any number
//! are *retiring* (replaced or shutting down: finishing their acks, then closing).
//!
//! ## Rules
//!
//! 1. **Open.** A connection is opened ([`Action::Open`]) when the reconnect time has come and
//!    none is pending: at once when the machine starts, after a back-off delay when one failed,
//!    at once when Slack announces the end of the active one. Opening has no timer here (the
//!    I/O bounds `apps.connections.open` and the handshake by `connect_timeout` and reports
//!    [`Input::OpenFailed`]).
//! 2. **Hello.** A connected socket must say `hello` within `hello_timeout`, or it is dropped
//!    (rule 8). The pending connection's `hello` makes it the active one; the connection it
//!    replaces retires (rule 6).
//! 3. **Liveness.** Every frame on a socket proves it alive. After `ping_interval` of silence a
//!    ping is sent ([`Action::SendPing`]); if nothing comes back within `pong_timeout` the
//!    socket is dropped (rule 8).
//! 4. **Envelopes.** An envelope is handed to the sink ([`Action::Dispatch`]) unless our close
//!    frame already went out on its connection (then Slack redelivers it). Each dispatched
//!    envelope is pending on its connection until the sink side reports it settled
//!    ([`Input::Settled`]); its ack ([`Input::Ack`]) goes out ([`Action::SendAck`]) only on a
//!    connection that is still open and has not sent its close frame.
//! 5. **Disconnect.** `disconnect` with reason `link_disabled` stops the client with
//!    [`SocketModeError::LinkDisabled`] (rule 10). Any other reason (`warning`,
//!    `refresh_requested`, unknown) on the active connection opens the replacement at once,
//!    unless one is already pending or scheduled; the active connection is read on meanwhile.
//! 6. **Retire.** A retiring connection finishes its pending acks, then closes gracefully
//!    ([`Action::Close`]); if acks are still pending `ack_timeout` + 1 s after it retired, it
//!    closes anyway. A connection still being opened holds no envelope and is discarded at once.
//! 7. **Close.** After our close frame, Slack has 2 s to close the socket, then it is dropped.
//! 8. **Drops.** A socket that ends (closed by Slack, read error) or is dropped by rules 2, 3 or
//!    7 is forgotten ([`Action::Discard`], exactly once per connection, also for one whose
//!    opening failed). If it was the active one and no replacement is pending, or it was the
//!    pending one, the next connection opens after the next back-off delay.
//! 9. **Back-off.** Delays follow [`SocketModeConfig::reconnects`]: full jitter under a ceiling
//!    that starts at `min_backoff` and doubles up to `max_backoff`. A failed open waits at least
//!    Slack's `Retry-After`. The end of an active connection that had been ready for
//!    `healthy_after` resets the ceiling first. The earliest scheduled reconnect wins.
//! 10. **Stop.** On shutdown, `link_disabled`, or an open failure retrying cannot fix (refused
//!     token, no TLS), no connection is opened any more: the pending one is discarded, the
//!     others retire (rule 6). When the last one is forgotten the machine emits
//!     [`Action::Stop`] with the outcome, once, and then ignores everything.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use pulse_core::retry::{Retries, Rng};
use serde_json::Value;
use tracing::{debug, error, info, warn};

use super::open::OpenError;
use super::protocol::{DisconnectReason, Envelope};
use super::{SocketModeConfig, SocketModeError};

#[cfg(test)]
mod tests;

/// How long Slack has to answer our close frame before the socket is dropped (rule 7).
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Extra time a retiring connection waits for its pending acks beyond the ack timeout (rule 6).
pub(crate) const RETIRE_SLACK: Duration = Duration::from_secs(1);

/// A frame received on a connection, classified.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Frame {
    Hello {
        num_connections: Option<u64>,
    },
    Disconnect(DisconnectReason),
    Envelope(Envelope),
    /// Any other frame (pong, ping, close, unknown or unreadable text): proves the link alive.
    Other,
}

/// What happened, as the I/O loop reports it.
#[derive(Debug)]
pub(crate) enum Input {
    /// The WebSocket of `conn` is open; `hello` is awaited.
    Connected {
        conn: u64,
    },
    /// No WebSocket was established for `conn`.
    OpenFailed {
        conn: u64,
        error: OpenError,
    },
    Frame {
        conn: u64,
        frame: Frame,
    },
    /// The socket of `conn` ended: closed (`error: None`) or a read error.
    Closed {
        conn: u64,
        error: Option<String>,
    },
    /// The sink side wants this envelope acked on `conn`.
    Ack {
        conn: u64,
        envelope_id: String,
        payload: Option<Value>,
    },
    /// One envelope dispatched on `conn` is settled (acked, or deliberately not).
    Settled {
        conn: u64,
    },
    /// The owner asked the client to stop.
    Shutdown,
}

/// What the I/O loop must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Call `apps.connections.open` and connect to the URL; report as connection `conn`.
    Open {
        conn: u64,
    },
    /// Hand this envelope to the sink (see `dispatch.rs`).
    Dispatch {
        conn: u64,
        envelope: Envelope,
    },
    SendAck {
        conn: u64,
        envelope_id: String,
        payload: Option<Value>,
    },
    SendPing {
        conn: u64,
    },
    /// Send a close frame with this reason, and keep reading until the socket ends.
    Close {
        conn: u64,
        reason: &'static str,
    },
    /// Drop the socket (no close frame) and the task of `conn`, if any; it is forgotten.
    Discard {
        conn: u64,
    },
    /// The client is done: nothing is left open.
    Stop(Result<(), SocketModeError>),
}

/// The timings the rules use.
#[derive(Debug, Clone, Copy)]
struct Timings {
    ack_timeout: Duration,
    ping_interval: Duration,
    pong_timeout: Duration,
    hello_timeout: Duration,
    healthy_after: Duration,
}

/// An open WebSocket.
#[derive(Debug)]
struct Socket {
    connected_at: Instant,
    ready_at: Option<Instant>,
    last_rx: Instant,
    ping_sent: Option<Instant>,
    pending_acks: usize,
    /// Retiring: close after the pending acks, at the latest at this instant, with this reason.
    retire: Option<(Instant, &'static str)>,
    /// Our close frame went out; drop the socket at this instant.
    close_by: Option<Instant>,
}

impl Socket {
    fn new(now: Instant) -> Self {
        Self { connected_at: now, ready_at: None, last_rx: now, ping_sent: None, pending_acks: 0, retire: None, close_by: None }
    }

    /// The next instant a rule applies to this socket.
    fn deadline(&self, t: &Timings) -> Instant {
        if let Some(by) = self.close_by {
            return by;
        }
        let mut at = match self.ping_sent {
            Some(sent) => sent + t.pong_timeout,
            None => self.last_rx + t.ping_interval,
        };
        if self.ready_at.is_none() {
            at = at.min(self.connected_at + t.hello_timeout);
        }
        if let Some((by, _)) = self.retire {
            at = at.min(by);
        }
        at
    }
}

/// The Socket Mode client's connection logic. See the module documentation for the rules.
#[derive(Debug)]
pub(crate) struct Machine {
    timings: Timings,
    reconnects: Retries,
    rng: Rng,
    /// The last connection number handed out.
    last_conn: u64,
    /// Every connection not yet forgotten; `None` while it is being opened.
    conns: BTreeMap<u64, Option<Socket>>,
    active: Option<u64>,
    pending: Option<u64>,
    /// When to open the next connection (None: none wanted).
    connect_at: Option<Instant>,
    /// Set when the client stops, with the outcome to report.
    stopping: Option<Result<(), SocketModeError>>,
    stopped: bool,
    actions: VecDeque<Action>,
}

impl Machine {
    /// A machine started at `now`: its first action opens connection 1.
    pub(crate) fn new(config: &SocketModeConfig, rng: Rng, now: Instant) -> Self {
        let timings = Timings {
            ack_timeout: config.ack_timeout,
            ping_interval: config.ping_interval,
            pong_timeout: config.pong_timeout,
            hello_timeout: config.hello_timeout,
            healthy_after: config.healthy_after,
        };
        let mut machine = Self {
            timings,
            reconnects: config.reconnects(),
            rng,
            last_conn: 0,
            conns: BTreeMap::new(),
            active: None,
            pending: None,
            connect_at: Some(now),
            stopping: None,
            stopped: false,
            actions: VecDeque::new(),
        };
        machine.open_if_due(now);
        machine
    }

    /// The next action to carry out, in order.
    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Machine::handle_timeout`] must be called next (None: only an input can change
    /// anything). May be in the past.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        let reconnect = self.connect_at.filter(|_| self.pending.is_none() && self.stopping.is_none());
        self.conns.values().flatten().map(|socket| socket.deadline(&self.timings)).chain(reconnect).min()
    }

    /// Applies the rules whose time has come.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.stopped {
            return;
        }
        let t = self.timings;
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for conn in ids {
            let Some(Some(socket)) = self.conns.get_mut(&conn) else { continue };
            if let Some(by) = socket.close_by {
                if now >= by {
                    self.end(now, conn, "closed by this client (no close reply from Slack)".to_owned());
                }
            } else if socket.retire.is_some_and(|(by, _)| now >= by) {
                warn!(conn, "acks still pending when retiring; closing anyway (Slack redelivers those envelopes)");
                self.close(now, conn);
            } else if socket.ready_at.is_none() && now >= socket.connected_at + t.hello_timeout {
                self.end(now, conn, format!("no hello within {} ms", t.hello_timeout.as_millis()));
            } else if let Some(sent) = socket.ping_sent {
                if now >= sent + t.pong_timeout {
                    self.end(now, conn, format!("no pong within {} ms of our ping (link stalled)", t.pong_timeout.as_millis()));
                }
            } else if now >= socket.last_rx + t.ping_interval {
                socket.ping_sent = Some(now);
                self.actions.push_back(Action::SendPing { conn });
            }
        }
        self.settle(now);
    }

    /// Applies one input that happened at `now`.
    pub(crate) fn handle(&mut self, now: Instant, input: Input) {
        if self.stopped {
            return;
        }
        match input {
            Input::Connected { conn } => {
                if let Some(slot @ None) = self.conns.get_mut(&conn) {
                    *slot = Some(Socket::new(now));
                }
            }
            Input::OpenFailed { conn, error } => self.open_failed(now, conn, error),
            Input::Frame { conn, frame } => self.frame(now, conn, frame),
            Input::Closed { conn, error } => {
                if let Some(Some(socket)) = self.conns.get(&conn) {
                    let reason = match error {
                        _ if socket.close_by.is_some() => "closed by this client".to_owned(),
                        None => "connection closed by Slack".to_owned(),
                        Some(e) => format!("read error: {e}"),
                    };
                    self.end(now, conn, reason);
                }
            }
            Input::Ack { conn, envelope_id, payload } => match self.conns.get(&conn) {
                Some(Some(socket)) if socket.close_by.is_none() => {
                    debug!(conn, %envelope_id, with_payload = payload.is_some(), "acknowledged");
                    self.actions.push_back(Action::SendAck { conn, envelope_id, payload });
                }
                _ => warn!(
                    conn,
                    %envelope_id,
                    "ack not sent: the connection is closed; Slack redelivers the envelope and the \
                     redelivery is acknowledged without processing it again"
                ),
            },
            Input::Settled { conn } => {
                if let Some(Some(socket)) = self.conns.get_mut(&conn) {
                    socket.pending_acks = socket.pending_acks.saturating_sub(1);
                    if socket.pending_acks == 0 && socket.retire.is_some() && socket.close_by.is_none() {
                        self.close(now, conn);
                    }
                }
            }
            Input::Shutdown => {
                info!("shutdown requested; closing Socket Mode connections");
                self.stop(now, Ok(()));
            }
        }
        self.settle(now);
    }

    /// Rules 1 and 10 after every step: open when due, stop when done.
    fn settle(&mut self, now: Instant) {
        self.open_if_due(now);
        if let Some(outcome) = &self.stopping
            && self.conns.is_empty()
            && !self.stopped
        {
            self.stopped = true;
            self.actions.push_back(Action::Stop(outcome.clone()));
        }
    }

    fn open_if_due(&mut self, now: Instant) {
        if self.stopping.is_some() || self.pending.is_some() || self.connect_at.is_none_or(|at| at > now) {
            return;
        }
        self.connect_at = None;
        self.last_conn += 1;
        let conn = self.last_conn;
        info!(conn, replacing = self.active, attempt = self.reconnects.attempt(), "opening a Socket Mode connection");
        self.conns.insert(conn, None);
        self.pending = Some(conn);
        self.actions.push_back(Action::Open { conn });
    }

    /// Rule 9: the next reconnect no later than `now` + the next back-off delay (at least `floor`).
    fn back_off(&mut self, now: Instant, floor: Duration) -> Duration {
        let delay = self.reconnects.next_delay_with(&mut self.rng).max(floor);
        schedule(&mut self.connect_at, now + delay);
        delay
    }

    fn frame(&mut self, now: Instant, conn: u64, frame: Frame) {
        let Some(Some(socket)) = self.conns.get_mut(&conn) else { return };
        socket.last_rx = now;
        socket.ping_sent = None;
        match frame {
            Frame::Hello { num_connections } => {
                if socket.ready_at.is_some() {
                    return;
                }
                socket.ready_at = Some(now);
                let connect_ms = millis(now.saturating_duration_since(socket.connected_at));
                info!(conn, num_connections, connect_ms, "Socket Mode connection ready");
                if self.pending == Some(conn) {
                    self.pending = None;
                    if let Some(old) = self.active.replace(conn) {
                        info!(conn = old, replaced_by = conn, "replacement ready; closing the old connection after its pending acks");
                        self.retire(now, old, "replaced by a newer connection");
                    }
                }
            }
            Frame::Disconnect(reason) => {
                info!(conn, reason = reason.as_str(), "Slack announced it will close this connection");
                if reason == DisconnectReason::LinkDisabled {
                    error!(conn, "Slack disabled Socket Mode for this app (link_disabled); stopping");
                    self.stop(now, Err(SocketModeError::LinkDisabled));
                } else if self.active == Some(conn) && self.pending.is_none() && self.connect_at.is_none() {
                    info!(conn, reason = reason.as_str(), "opening a replacement before Slack closes this connection");
                    self.connect_at = Some(now);
                }
            }
            Frame::Envelope(envelope) => {
                if socket.close_by.is_some() {
                    debug!(
                        conn,
                        envelope_id = %envelope.envelope_id,
                        "envelope arrived after our close frame; not processed, Slack redelivers it"
                    );
                } else {
                    socket.pending_acks += 1;
                    self.actions.push_back(Action::Dispatch { conn, envelope });
                }
            }
            Frame::Other => {}
        }
    }

    fn open_failed(&mut self, now: Instant, conn: u64, error: OpenError) {
        if self.pending != Some(conn) {
            return;
        }
        self.pending = None;
        self.forget(conn);
        match error {
            OpenError::Fatal { error } => {
                error!(conn, %error, "apps.connections.open refused the app-level token; stopping");
                self.stop(now, Err(SocketModeError::Rejected { error }));
            }
            OpenError::Tls(reason) => {
                error!(conn, %reason, "cannot set up TLS for wss://; stopping");
                self.stop(now, Err(SocketModeError::Tls(reason)));
            }
            OpenError::Transient { reason, retry_after } => {
                let delay = self.back_off(now, retry_after.unwrap_or_default());
                warn!(
                    conn,
                    %reason,
                    attempt = self.reconnects.attempt(),
                    delay_ms = millis(delay),
                    "could not open a Socket Mode connection; retrying"
                );
            }
        }
    }

    /// Rule 8: `conn`'s socket ended (or is dropped) for `reason`.
    fn end(&mut self, now: Instant, conn: u64, reason: String) {
        let Some(Some(socket)) = self.conns.get(&conn) else { return };
        let ready_for = socket.ready_at.map(|at| now.saturating_duration_since(at));
        self.forget(conn);
        if self.stopping.is_some() {
            self.active = self.active.filter(|&a| a != conn);
            debug!(conn, %reason, "connection ended");
        } else if self.active == Some(conn) {
            self.active = None;
            if ready_for.is_some_and(|up| up >= self.timings.healthy_after) {
                self.reconnects.reset();
            }
            if self.pending.is_some() {
                info!(conn, %reason, "connection ended; its replacement is on the way");
            } else {
                self.reconnect_later(now, conn, &reason, "Socket Mode connection lost; reconnecting");
            }
        } else if self.pending == Some(conn) {
            self.pending = None;
            self.reconnect_later(now, conn, &reason, "Socket Mode connection ended before it was ready; retrying");
        } else {
            info!(conn, %reason, "old connection closed");
        }
    }

    /// Schedule the next connection after a back-off delay (rule 9) and say why, as a warning.
    fn reconnect_later(&mut self, now: Instant, conn: u64, reason: &dyn std::fmt::Display, what: &str) {
        let delay = self.back_off(now, Duration::ZERO);
        warn!(conn, %reason, attempt = self.reconnects.attempt(), delay_ms = millis(delay), "{what}");
    }

    /// Rule 6.
    fn retire(&mut self, now: Instant, conn: u64, reason: &'static str) {
        match self.conns.get_mut(&conn) {
            None => {}
            Some(None) => self.forget(conn),
            Some(Some(socket)) => {
                if socket.retire.is_some() || socket.close_by.is_some() {
                    return;
                }
                socket.retire = Some((now + self.timings.ack_timeout + RETIRE_SLACK, reason));
                debug!(conn, pending_acks = socket.pending_acks, "retiring: finishing pending acks before closing");
                if socket.pending_acks == 0 {
                    self.close(now, conn);
                }
            }
        }
    }

    /// Rule 7: our close frame goes out.
    fn close(&mut self, now: Instant, conn: u64) {
        let Some(Some(socket)) = self.conns.get_mut(&conn) else { return };
        let reason = socket.retire.map_or("closing", |(_, reason)| reason);
        socket.close_by = Some(now + CLOSE_GRACE);
        debug!(conn, pending_acks = socket.pending_acks, reason, "close frame sent");
        self.actions.push_back(Action::Close { conn, reason });
    }

    /// Rule 10: no more connections; the pending one goes, the others retire.
    fn stop(&mut self, now: Instant, outcome: Result<(), SocketModeError>) {
        if self.stopping.is_some() {
            return;
        }
        self.stopping = Some(outcome);
        self.connect_at = None;
        if let Some(pending) = self.pending.take() {
            self.forget(pending);
        }
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for conn in ids {
            self.retire(now, conn, "client shutting down");
        }
    }

    fn forget(&mut self, conn: u64) {
        if self.conns.remove(&conn).is_some() {
            self.actions.push_back(Action::Discard { conn });
        }
    }
}

/// Keeps the earlier of the scheduled reconnect and `at`.
fn schedule(connect_at: &mut Option<Instant>, at: Instant) {
    *connect_at = Some(connect_at.map_or(at, |current| current.min(at)));
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
