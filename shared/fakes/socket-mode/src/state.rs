//! The fake's state and Slack's delivery rules: envelopes go to the newest ready connection;
//! those sent while none is ready wait; those unacked when their connection closes are
//! redelivered with `retry_attempt + 1`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Ack, ConnectionInfo, Delivery, OpenFailure};

/// What the fake's connection task is told to do.
#[derive(Debug)]
pub(super) enum Out {
    /// Send this text frame.
    Text(String),
    /// Drop the TCP connection without a close handshake.
    Drop,
    /// Send a close frame and finish the close handshake.
    Close,
    /// Stop reading (and so answering pings) for this long.
    Stall(Duration),
}

pub(super) struct Conn {
    pub(super) tx: mpsc::UnboundedSender<Out>,
    pub(super) ready: bool,
    pub(super) open: bool,
    pub(super) opened_at: Instant,
    pub(super) ready_at: Option<Instant>,
    pub(super) closed_at: Option<Instant>,
}

struct Rec {
    kind: String,
    payload: Value,
    accepts_response_payload: bool,
    retry_attempt: u32,
    retry_reason: String,
    delivered_on: Option<u64>,
    acked: bool,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) open_calls: Vec<Instant>,
    pub(super) open_failures: VecDeque<OpenFailure>,
    pub(super) refuse_connections: usize,
    pub(super) refused_connections: usize,
    pub(super) hello_delay: Duration,
    pub(super) required_token: Option<String>,
    next_ticket: u64,
    tickets: HashSet<String>,
    next_conn: u64,
    pub(super) conns: BTreeMap<u64, Conn>,
    pub(super) max_open: usize,
    next_envelope: u64,
    envelopes: HashMap<String, Rec>,
    order: Vec<String>,
    pub(super) acks: Vec<Ack>,
    pub(super) deliveries: Vec<Delivery>,
}

impl State {
    pub(super) fn new_ticket(&mut self) -> String {
        self.next_ticket += 1;
        let ticket = format!("fake-{}-{:016x}", self.next_ticket, fastrand::u64(..));
        self.tickets.insert(ticket.clone());
        ticket
    }

    /// Consumes a ticket (tickets are single-use, as Slack's are).
    pub(super) fn take_ticket(&mut self, ticket: &str) -> bool {
        self.tickets.remove(ticket)
    }

    pub(super) fn add_conn(&mut self, tx: mpsc::UnboundedSender<Out>) -> u64 {
        self.next_conn += 1;
        let id = self.next_conn;
        let now = Instant::now();
        self.conns.insert(id, Conn { tx, ready: false, open: true, opened_at: now, ready_at: None, closed_at: None });
        self.max_open = self.max_open.max(self.open_count());
        id
    }

    pub(super) fn open_count(&self) -> usize {
        self.conns.values().filter(|c| c.open).count()
    }

    /// The newest connection that said hello and is still open.
    pub(super) fn newest_ready(&self) -> Option<u64> {
        self.conns.iter().rev().find(|(_, c)| c.open && c.ready).map(|(id, _)| *id)
    }

    pub(super) fn mark_ready(&mut self, id: u64) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.ready = true;
            c.ready_at = Some(Instant::now());
        }
        // Envelopes that waited for a connection go out now, in order.
        let waiting: Vec<String> =
            self.order.iter().filter(|e| self.envelopes.get(*e).is_some_and(|r| !r.acked && r.delivered_on.is_none())).cloned().collect();
        for envelope_id in waiting {
            self.deliver(&envelope_id, None);
        }
    }

    pub(super) fn mark_closed(&mut self, id: u64) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.open = false;
            c.ready = false;
            c.closed_at = Some(Instant::now());
        }
        // Unacked envelopes of that connection come back on another one, as retries.
        let lost: Vec<String> =
            self.order.iter().filter(|e| self.envelopes.get(*e).is_some_and(|r| !r.acked && r.delivered_on == Some(id))).cloned().collect();
        for envelope_id in lost {
            if let Some(rec) = self.envelopes.get_mut(&envelope_id) {
                rec.delivered_on = None;
                rec.retry_attempt += 1;
                rec.retry_reason = "timeout".into();
            }
            self.deliver(&envelope_id, None);
        }
    }

    pub(super) fn new_envelope(&mut self, kind: &str, payload: Value, accepts: bool) -> String {
        self.next_envelope += 1;
        let envelope_id = format!("env-{:04}-{:08x}", self.next_envelope, fastrand::u32(..));
        self.envelopes.insert(
            envelope_id.clone(),
            Rec {
                kind: kind.to_owned(),
                payload,
                accepts_response_payload: accepts,
                retry_attempt: 0,
                retry_reason: String::new(),
                delivered_on: None,
                acked: false,
            },
        );
        self.order.push(envelope_id.clone());
        envelope_id
    }

    /// Sends an envelope to `target` if it is open and ready, else to the newest ready
    /// connection; with none ready it waits for the next `hello`. Returns the connection.
    pub(super) fn deliver(&mut self, envelope_id: &str, target: Option<u64>) -> Option<u64> {
        let conn_id = target.filter(|t| self.conns.get(t).is_some_and(|c| c.open && c.ready)).or_else(|| self.newest_ready())?;
        let rec = self.envelopes.get_mut(envelope_id)?;
        let frame = json!({
            "envelope_id": envelope_id,
            "type": rec.kind,
            "payload": rec.payload,
            "accepts_response_payload": rec.accepts_response_payload,
            "retry_attempt": rec.retry_attempt,
            "retry_reason": rec.retry_reason,
        })
        .to_string();
        let conn = self.conns.get(&conn_id)?;
        if conn.tx.send(Out::Text(frame)).is_err() {
            return None;
        }
        rec.delivered_on = Some(conn_id);
        self.deliveries.push(Delivery { envelope_id: envelope_id.to_owned(), connection: conn_id, retry_attempt: rec.retry_attempt });
        Some(conn_id)
    }

    /// Slack's retry of an envelope: same id, `retry_attempt + 1`, even if it was acked.
    pub(super) fn redeliver(&mut self, envelope_id: &str, target: Option<u64>) -> bool {
        let Some(rec) = self.envelopes.get_mut(envelope_id) else {
            return false;
        };
        rec.retry_attempt += 1;
        rec.retry_reason = "timeout".into();
        rec.acked = false;
        rec.delivered_on = None;
        self.deliver(envelope_id, target);
        true
    }

    pub(super) fn record_ack(&mut self, conn: u64, text: &str) {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            tracing::warn!(conn, "fake socket mode: a frame from the client is not JSON");
            return;
        };
        let Some(envelope_id) = value.get("envelope_id").and_then(Value::as_str) else {
            tracing::warn!(conn, "fake socket mode: a frame from the client has no envelope_id");
            return;
        };
        if let Some(rec) = self.envelopes.get_mut(envelope_id) {
            rec.acked = true;
        }
        self.acks.push(Ack { envelope_id: envelope_id.to_owned(), payload: value.get("payload").cloned(), connection: conn });
    }

    pub(super) fn unacked(&self) -> Vec<String> {
        self.order.iter().filter(|e| self.envelopes.get(*e).is_some_and(|r| !r.acked)).cloned().collect()
    }

    pub(super) fn connection_infos(&self) -> Vec<ConnectionInfo> {
        self.conns
            .iter()
            .map(|(id, c)| ConnectionInfo {
                id: *id,
                open: c.open,
                ready: c.ready,
                opened_at: c.opened_at,
                ready_at: c.ready_at,
                closed_at: c.closed_at,
            })
            .collect()
    }
}
