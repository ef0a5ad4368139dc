//! The rules of the module documentation, one scenario each, without sockets or a clock: every
//! test drives the machine with events at chosen instants and asserts the exact actions and
//! deadlines it answers with.

use std::time::{Duration, Instant};

use pulse_core::retry::Rng;
use serde_json::json;

use super::*;

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);
const SEED: u64 = 14;

fn config() -> SocketModeConfig {
    let mut config = SocketModeConfig::new("http://127.0.0.1:1/api", "xapp-1-test");
    config.min_backoff = 100 * MS;
    config.max_backoff = 800 * MS;
    config.ack_timeout = 2500 * MS;
    config.ping_interval = 10 * SEC;
    config.pong_timeout = 5 * SEC;
    config.hello_timeout = 3 * SEC;
    config.healthy_after = 30 * SEC;
    config
}

/// The back-off delays the machine must draw, in order: the same schedule and seed, replayed.
/// `resets` lists after how many delays the schedule goes back to its first ceiling.
fn delays(count: usize, resets: &[usize]) -> Vec<Duration> {
    let mut retries = config().reconnects();
    let mut rng = Rng::with_seed(SEED);
    (0..count)
        .map(|i| {
            if resets.contains(&i) {
                retries.reset();
            }
            retries.next_delay_with(&mut rng)
        })
        .collect()
}

struct Harness {
    machine: Machine,
    t0: Instant,
}

impl Harness {
    fn new() -> Self {
        let t0 = Instant::now();
        Self { machine: Machine::new(&config(), Rng::with_seed(SEED), t0), t0 }
    }

    fn at(&self, since_start: Duration) -> Instant {
        self.t0 + since_start
    }

    fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.machine.poll_action()).collect()
    }

    fn input(&mut self, since_start: Duration, input: Input) -> Vec<Action> {
        self.machine.handle(self.at(since_start), input);
        self.actions()
    }

    fn timeout(&mut self, since_start: Duration) -> Vec<Action> {
        self.machine.handle_timeout(self.at(since_start));
        self.actions()
    }

    fn frame(&mut self, since_start: Duration, conn: u64, frame: Frame) -> Vec<Action> {
        self.input(since_start, Input::Frame { conn, frame })
    }

    /// `conn` connects and says hello at `since_start`.
    fn ready(&mut self, since_start: Duration, conn: u64) -> Vec<Action> {
        let mut actions = self.input(since_start, Input::Connected { conn });
        actions.extend(self.frame(since_start, conn, Frame::Hello { num_connections: Some(1) }));
        actions
    }

    fn envelope(&mut self, since_start: Duration, conn: u64, id: &str) -> Vec<Action> {
        self.frame(since_start, conn, Frame::Envelope(envelope(id)))
    }

    /// The sink acks `id` on `conn` and settles it.
    fn acked(&mut self, since_start: Duration, conn: u64, id: &str) -> Vec<Action> {
        let mut actions = self.input(since_start, Input::Ack { conn, envelope_id: id.into(), payload: None });
        actions.extend(self.input(since_start, Input::Settled { conn }));
        actions
    }

    fn deadline(&self) -> Option<Duration> {
        self.machine.poll_timeout().map(|at| at - self.t0)
    }
}

fn envelope(id: &str) -> Envelope {
    Envelope {
        envelope_id: id.into(),
        kind: "events_api".into(),
        payload: json!({"event_id": id}),
        accepts_response_payload: false,
        retry_attempt: 0,
        retry_reason: String::new(),
    }
}

fn dispatch(conn: u64, id: &str) -> Action {
    Action::Dispatch { conn, envelope: envelope(id) }
}

fn ack(conn: u64, id: &str) -> Action {
    Action::SendAck { conn, envelope_id: id.into(), payload: None }
}

fn disconnect(reason: &str) -> Frame {
    Frame::Disconnect(DisconnectReason::parse(reason))
}

fn transient(retry_after: Option<Duration>) -> OpenError {
    OpenError::Transient { reason: "HTTP 503".into(), retry_after }
}

#[test]
fn the_first_connection_opens_at_once_and_must_say_hello_in_time() {
    let mut h = Harness::new();
    assert_eq!(h.actions(), [Action::Open { conn: 1 }]);
    assert_eq!(h.deadline(), None, "opening is bounded by the I/O, not by a timer here");
    assert_eq!(h.input(100 * MS, Input::Connected { conn: 1 }), []);
    assert_eq!(h.deadline(), Some(3100 * MS), "hello timeout");
    assert_eq!(h.frame(200 * MS, 1, Frame::Hello { num_connections: Some(1) }), []);
    assert_eq!(h.deadline(), Some(10_200 * MS), "then only the ping timer");
}

/// `refresh_requested`: the replacement opens first; the old connection is read until the new
/// one says hello, then closed only once its own acks are out.
#[test]
fn refresh_requested_opens_the_replacement_first_and_closes_the_old_after_the_new_hello_and_its_acks() {
    let mut h = Harness::new();
    h.actions();
    h.ready(Duration::ZERO, 1);
    assert_eq!(h.envelope(1 * SEC, 1, "E1"), [dispatch(1, "E1")]);
    assert_eq!(h.frame(2 * SEC, 1, disconnect("refresh_requested")), [Action::Open { conn: 2 }]);
    assert_eq!(h.envelope(2100 * MS, 1, "E2"), [dispatch(1, "E2")], "the old connection is still read");
    assert_eq!(h.input(2200 * MS, Input::Connected { conn: 2 }), [], "connected is not ready: nothing closes");
    assert_eq!(h.frame(2300 * MS, 1, disconnect("refresh_requested")), [], "no second replacement");

    assert_eq!(h.frame(2500 * MS, 2, Frame::Hello { num_connections: Some(2) }), [], "E1 and E2 still pending on 1");
    assert_eq!(h.deadline(), Some(2500 * MS + 2500 * MS + RETIRE_SLACK), "the retire deadline");
    assert_eq!(h.envelope(2600 * MS, 2, "E3"), [dispatch(2, "E3")], "the new connection delivers");
    assert_eq!(h.acked(2700 * MS, 1, "E1"), [ack(1, "E1")], "one ack still pending");
    assert_eq!(h.acked(2800 * MS, 1, "E2"), [ack(1, "E2"), Action::Close { conn: 1, reason: "replaced by a newer connection" }]);
    assert_eq!(h.deadline(), Some(2800 * MS + CLOSE_GRACE), "Slack's close reply is awaited");
    assert_eq!(h.envelope(2900 * MS, 1, "E4"), [], "after our close frame: Slack redelivers it");
    assert_eq!(h.input(3 * SEC, Input::Closed { conn: 1, error: None }), [Action::Discard { conn: 1 }]);
    assert_eq!(h.deadline(), Some(2600 * MS + 10 * SEC), "no reconnect scheduled, only conn 2's ping");
    assert_eq!(h.acked(3100 * MS, 2, "E3"), [ack(2, "E3")], "the new connection stays open");
}

/// `warning`: the same switch; an old connection without pending acks closes at the new hello.
#[test]
fn a_disconnect_warning_switches_connections_and_an_idle_old_one_closes_at_the_new_hello() {
    let mut h = Harness::new();
    h.actions();
    h.ready(Duration::ZERO, 1);
    assert_eq!(h.frame(5 * SEC, 1, disconnect("warning")), [Action::Open { conn: 2 }]);
    assert_eq!(h.input(5100 * MS, Input::Connected { conn: 2 }), []);
    assert_eq!(h.timeout(5100 * MS), [], "nothing is due");
    assert_eq!(
        h.frame(5200 * MS, 2, Frame::Hello { num_connections: Some(2) }),
        [Action::Close { conn: 1, reason: "replaced by a newer connection" }]
    );
    assert_eq!(h.timeout(7200 * MS), [Action::Discard { conn: 1 }], "no close reply within the grace: dropped");
    assert_eq!(h.deadline(), Some(15_200 * MS), "conn 2's ping; no reconnect");
}

#[test]
fn a_replacement_that_fails_is_retried_with_back_off_while_the_old_one_keeps_serving() {
    let mut h = Harness::new();
    h.actions();
    h.ready(Duration::ZERO, 1);
    h.frame(1 * SEC, 1, disconnect("warning"));
    let d = delays(1, &[]);
    assert_eq!(h.input(1100 * MS, Input::OpenFailed { conn: 2, error: transient(None) }), [Action::Discard { conn: 2 }]);
    assert_eq!(h.deadline(), Some(1100 * MS + d[0]));
    assert_eq!(h.envelope(1100 * MS, 1, "E1"), [dispatch(1, "E1")]);
    assert_eq!(h.timeout(1100 * MS + d[0]), [Action::Open { conn: 3 }]);
}

/// A slow sink must not keep a replaced connection open forever.
#[test]
fn a_retiring_connection_with_stuck_acks_closes_at_the_retire_deadline() {
    let mut h = Harness::new();
    h.actions();
    h.ready(Duration::ZERO, 1);
    h.envelope(Duration::ZERO, 1, "E1");
    h.frame(1 * SEC, 1, disconnect("refresh_requested"));
    h.ready(1 * SEC, 2);
    let retire_by = 1 * SEC + 2500 * MS + RETIRE_SLACK;
    assert_eq!(h.timeout(retire_by - MS), []);
    assert_eq!(h.timeout(retire_by), [Action::Close { conn: 1, reason: "replaced by a newer connection" }]);
    assert_eq!(h.acked(retire_by + MS, 1, "E1"), [], "too late: the close frame went out");
    assert_eq!(h.input(retire_by + 10 * MS, Input::Closed { conn: 1, error: None }), [Action::Discard { conn: 1 }]);
}

/// Drops of every kind reconnect after a growing back-off; a healthy connection resets it.
#[test]
fn drops_reconnect_with_growing_back_off_and_a_healthy_connection_resets_it() {
    let d = delays(5, &[4]);
    for (i, delay) in d.iter().enumerate().take(4) {
        assert!(*delay <= 100 * MS * 2u32.pow(i as u32), "delay {i} under its ceiling: {delay:?}");
    }
    assert!(d[4] <= 100 * MS, "after the reset, the first ceiling again");

    let mut h = Harness::new();
    h.actions();
    // 1: closed by Slack after 1 s of service.
    h.ready(Duration::ZERO, 1);
    assert_eq!(h.input(1 * SEC, Input::Closed { conn: 1, error: None }), [Action::Discard { conn: 1 }]);
    let mut now = 1 * SEC + d[0];
    assert_eq!(h.deadline(), Some(now));
    assert_eq!(h.timeout(now - MS), []);
    assert_eq!(h.timeout(now), [Action::Open { conn: 2 }]);

    // 2: a read error before hello.
    h.input(now, Input::Connected { conn: 2 });
    assert_eq!(h.input(now + 50 * MS, Input::Closed { conn: 2, error: Some("reset".into()) }), [Action::Discard { conn: 2 }]);
    now += 50 * MS + d[1];
    assert_eq!(h.deadline(), Some(now));
    assert_eq!(h.timeout(now), [Action::Open { conn: 3 }]);

    // 3: connected, but no hello in time.
    h.input(now, Input::Connected { conn: 3 });
    now += 3 * SEC;
    assert_eq!(h.deadline(), Some(now));
    assert_eq!(h.timeout(now), [Action::Discard { conn: 3 }]);
    now += d[2];
    assert_eq!(h.deadline(), Some(now));
    assert_eq!(h.timeout(now), [Action::Open { conn: 4 }]);

    // 4: ready, then silent: a ping, and no pong.
    h.ready(now, 4);
    now += 10 * SEC;
    assert_eq!(h.deadline(), Some(now));
    assert_eq!(h.timeout(now), [Action::SendPing { conn: 4 }]);
    now += 5 * SEC;
    assert_eq!(h.deadline(), Some(now), "pong timeout");
    assert_eq!(h.timeout(now), [Action::Discard { conn: 4 }], "15 s of service is not healthy");
    now += d[3];
    assert_eq!(h.deadline(), Some(now));
    assert_eq!(h.timeout(now), [Action::Open { conn: 5 }]);

    // 5: healthy for 30 s, then dropped: the schedule starts over.
    h.ready(now, 5);
    for _ in 0..4 {
        now += 8 * SEC;
        h.frame(now, 5, Frame::Other);
    }
    assert_eq!(h.input(now, Input::Closed { conn: 5, error: None }), [Action::Discard { conn: 5 }]);
    assert_eq!(h.deadline(), Some(now + d[4]));
    assert_eq!(h.timeout(now + d[4]), [Action::Open { conn: 6 }]);
}

#[test]
fn any_frame_proves_liveness_and_a_pong_cancels_the_drop() {
    let mut h = Harness::new();
    h.actions();
    h.ready(Duration::ZERO, 1);
    assert_eq!(h.frame(4 * SEC, 1, Frame::Other), []);
    assert_eq!(h.deadline(), Some(14 * SEC));
    assert_eq!(h.timeout(14 * SEC), [Action::SendPing { conn: 1 }]);
    assert_eq!(h.deadline(), Some(19 * SEC));
    assert_eq!(h.frame(15 * SEC, 1, Frame::Other), [], "the pong");
    assert_eq!(h.timeout(19 * SEC), [], "not dropped");
    assert_eq!(h.deadline(), Some(25 * SEC), "next ping after another interval of silence");
    assert_eq!(h.envelope(20 * SEC, 1, "E1"), [dispatch(1, "E1")]);
    assert_eq!(h.deadline(), Some(30 * SEC), "envelopes count too");
}

#[test]
fn open_failures_back_off_and_honour_retry_after() {
    let d = delays(3, &[]);
    let mut h = Harness::new();
    h.actions();
    assert_eq!(h.input(10 * MS, Input::OpenFailed { conn: 1, error: transient(None) }), [Action::Discard { conn: 1 }]);
    let mut now = 10 * MS + d[0];
    assert_eq!(h.deadline(), Some(now));
    assert_eq!(h.timeout(now), [Action::Open { conn: 2 }]);
    assert_eq!(h.input(now, Input::OpenFailed { conn: 2, error: transient(Some(5 * SEC)) }), [Action::Discard { conn: 2 }]);
    assert!(d[1] < 5 * SEC);
    now += 5 * SEC;
    assert_eq!(h.deadline(), Some(now), "Slack's Retry-After beats a shorter back-off");
    assert_eq!(h.timeout(now), [Action::Open { conn: 3 }]);
    h.input(now, Input::OpenFailed { conn: 3, error: transient(None) });
    assert_eq!(h.deadline(), Some(now + d[2]), "the schedule went on growing underneath");
    assert_eq!(h.input(now, Input::OpenFailed { conn: 3, error: transient(None) }), [], "a stale report changes nothing");
}

#[test]
fn a_refused_token_or_no_tls_stops_without_retrying() {
    let mut h = Harness::new();
    h.actions();
    let error = OpenError::Fatal { error: "invalid_auth".into() };
    assert_eq!(
        h.input(10 * MS, Input::OpenFailed { conn: 1, error }),
        [Action::Discard { conn: 1 }, Action::Stop(Err(SocketModeError::Rejected { error: "invalid_auth".into() }))]
    );
    assert_eq!(h.deadline(), None);
    assert_eq!(h.input(20 * MS, Input::Shutdown), [], "stopped: nothing more");

    let mut h = Harness::new();
    h.actions();
    let error = OpenError::Tls("no roots".into());
    assert_eq!(
        h.input(10 * MS, Input::OpenFailed { conn: 1, error }),
        [Action::Discard { conn: 1 }, Action::Stop(Err(SocketModeError::Tls("no roots".into())))]
    );
}

/// `link_disabled` stops the client: nothing reconnects, pending acks still go out, the
/// connection closes gracefully, then the error.
#[test]
fn link_disabled_stops_with_the_error_after_closing_gracefully() {
    let mut h = Harness::new();
    h.actions();
    h.ready(Duration::ZERO, 1);
    h.envelope(1 * SEC, 1, "E1");
    assert_eq!(h.frame(2 * SEC, 1, disconnect("link_disabled")), [], "E1's ack is pending");
    assert_eq!(h.acked(2100 * MS, 1, "E1"), [ack(1, "E1"), Action::Close { conn: 1, reason: "client shutting down" }]);
    assert_eq!(
        h.input(2200 * MS, Input::Closed { conn: 1, error: None }),
        [Action::Discard { conn: 1 }, Action::Stop(Err(SocketModeError::LinkDisabled))]
    );
    assert_eq!(h.deadline(), None, "no reconnect");
}

#[test]
fn link_disabled_during_a_switch_discards_the_replacement() {
    let mut h = Harness::new();
    h.actions();
    h.ready(Duration::ZERO, 1);
    h.frame(1 * SEC, 1, disconnect("warning"));
    h.input(1100 * MS, Input::Connected { conn: 2 });
    assert_eq!(
        h.frame(1200 * MS, 1, disconnect("link_disabled")),
        [Action::Discard { conn: 2 }, Action::Close { conn: 1, reason: "client shutting down" }]
    );
    assert_eq!(h.frame(1300 * MS, 2, Frame::Hello { num_connections: Some(2) }), [], "forgotten");
    assert_eq!(h.timeout(3200 * MS), [Action::Discard { conn: 1 }, Action::Stop(Err(SocketModeError::LinkDisabled))]);
}

#[test]
fn shutdown_closes_every_connection_after_its_acks_then_stops() {
    let mut h = Harness::new();
    h.actions();
    h.ready(Duration::ZERO, 1);
    h.envelope(1 * SEC, 1, "E1");
    h.frame(1 * SEC, 1, disconnect("refresh_requested"));
    h.ready(1100 * MS, 2);
    h.envelope(1200 * MS, 2, "E2");
    h.frame(1300 * MS, 2, disconnect("warning"));
    assert_eq!(h.actions(), []);
    // 1 retiring with E1, 2 active with E2, 3 being opened.
    assert_eq!(h.input(1400 * MS, Input::Shutdown), [Action::Discard { conn: 3 }]);
    assert_eq!(h.acked(1500 * MS, 2, "E2"), [ack(2, "E2"), Action::Close { conn: 2, reason: "client shutting down" }]);
    assert_eq!(h.input(1600 * MS, Input::Closed { conn: 2, error: None }), [Action::Discard { conn: 2 }]);
    assert_eq!(h.acked(1700 * MS, 1, "E1"), [ack(1, "E1"), Action::Close { conn: 1, reason: "replaced by a newer connection" }]);
    assert_eq!(h.input(1800 * MS, Input::Closed { conn: 1, error: None }), [Action::Discard { conn: 1 }, Action::Stop(Ok(()))]);
    assert_eq!(h.deadline(), None);
}

#[test]
fn shutdown_while_waiting_to_reconnect_stops_at_once() {
    let mut h = Harness::new();
    h.actions();
    h.input(10 * MS, Input::OpenFailed { conn: 1, error: transient(None) });
    assert_eq!(h.input(20 * MS, Input::Shutdown), [Action::Stop(Ok(()))]);
    assert_eq!(h.deadline(), None, "the scheduled reconnect is cancelled");
    assert_eq!(h.timeout(10 * SEC), []);
}

#[test]
fn acks_for_a_forgotten_connection_are_not_sent() {
    let mut h = Harness::new();
    h.actions();
    h.ready(Duration::ZERO, 1);
    h.envelope(1 * SEC, 1, "E1");
    assert_eq!(h.input(2 * SEC, Input::Closed { conn: 1, error: Some("reset".into()) }), [Action::Discard { conn: 1 }]);
    let d = delays(1, &[]);
    assert_eq!(h.acked(2 * SEC + d[0], 1, "E1"), [Action::Open { conn: 2 }], "no ack: lost with its connection, Slack redelivers");
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
