//! The Socket Mode transport against the fake Socket Mode server: acks, reconnects, refreshes,
//! redeliveries, `link_disabled`, failing `apps.connections.open`, and no secret in the logs.
//! Pure Rust: no AWS emulator, no network beyond loopback.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pulse_fake_socket_mode::{FakeSocketMode, OpenFailure};
use pulse_ingress::socket_mode::{EnvelopeSink, SocketModeClient, SocketModeConfig, SocketModeError};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};

/// Every test token carries this marker; no log line may ever contain it.
const SECRET_MARK: &str = "S3CR3TMARK";

fn token(name: &str) -> String {
    format!("xapp-1-A0PULSE-{name}-{SECRET_MARK}0123456789abcdef")
}

const SEC: Duration = Duration::from_secs(1);

// ---- log capture -------------------------------------------------------------------------

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// All log lines of this test binary (every test, every crate at debug, ours at trace).
fn logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug,pulse_ingress=trace"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init();
        buffer
    })
}

fn log_text() -> String {
    String::from_utf8_lossy(&logs().0.lock().unwrap()).into_owned()
}

// ---- sinks -------------------------------------------------------------------------------

/// Records every call; answers slash commands with an ephemeral message; can be slow (payload
/// field `delay_ms`) or fail (payload field `fail_first: true` fails the first call per id).
#[derive(Default)]
struct RecordingSink {
    calls: Mutex<Vec<(String, String, Value)>>,
    completed: Mutex<Vec<String>>,
    failed_once: Mutex<HashSet<String>>,
    delay: Duration,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

impl RecordingSink {
    fn with_delay(delay: Duration) -> Arc<Self> {
        Arc::new(Self { delay, ..Self::default() })
    }

    fn calls(&self) -> Vec<(String, String, Value)> {
        self.calls.lock().unwrap().clone()
    }

    /// How many times the sink saw each envelope id.
    fn counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for (_, id, _) in self.calls() {
            *counts.entry(id).or_default() += 1;
        }
        counts
    }

    fn completed(&self) -> Vec<String> {
        self.completed.lock().unwrap().clone()
    }
}

impl EnvelopeSink for RecordingSink {
    async fn accept(&self, kind: &str, payload: Value, envelope_id: &str) -> Result<Option<Value>, String> {
        self.calls.lock().unwrap().push((kind.to_owned(), envelope_id.to_owned(), payload.clone()));
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let delay = payload["delay_ms"].as_u64().map_or(self.delay, Duration::from_millis);
        sleep(delay).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        if payload["fail_first"] == json!(true) && self.failed_once.lock().unwrap().insert(envelope_id.to_owned()) {
            return Err("ledger unavailable".into());
        }
        self.completed.lock().unwrap().push(envelope_id.to_owned());
        Ok((kind == "slash_commands")
            .then(|| json!({"response_type": "ephemeral", "text": format!("Got it: {}", payload["text"].as_str().unwrap_or(""))})))
    }
}

// ---- harness -----------------------------------------------------------------------------

fn test_config(fake: &FakeSocketMode, token_value: &str) -> SocketModeConfig {
    let mut config = SocketModeConfig::new(fake.base_url(), token_value);
    config.min_backoff = Duration::from_millis(20);
    config.max_backoff = Duration::from_millis(300);
    config.ack_timeout = Duration::from_millis(1500);
    config.ping_interval = Duration::from_secs(5);
    config.pong_timeout = Duration::from_secs(5);
    config.hello_timeout = Duration::from_secs(3);
    config.connect_timeout = Duration::from_secs(3);
    config
}

struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), SocketModeError>>,
}

fn start<S: EnvelopeSink>(config: SocketModeConfig, sink: Arc<S>) -> Running {
    logs();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(SocketModeClient::new(config).run(sink, async move {
        let _ = stopped.await;
    }));
    Running { stop: Some(stop), task }
}

impl Running {
    async fn stop(mut self) -> Result<(), SocketModeError> {
        let _ = self.stop.take().unwrap().send(());
        timeout(10 * SEC, self.task).await.expect("client stops in time").expect("no panic")
    }

    async fn outcome(self, within: Duration) -> Result<(), SocketModeError> {
        timeout(within, self.task).await.expect("client returns in time").expect("no panic")
    }
}

async fn ready(fake: &FakeSocketMode, connection: u64) {
    assert!(
        fake.wait_until(5 * SEC, |f| f.newest_connection() == Some(connection)).await,
        "connection {connection} ready; connections: {:?}",
        fake.connections()
    );
}

async fn all_acked(fake: &FakeSocketMode, ids: &[String], within: Duration) {
    let ok = fake
        .wait_until(within, |f| {
            let acked: HashSet<String> = f.acks().into_iter().map(|a| a.envelope_id).collect();
            ids.iter().all(|id| acked.contains(id))
        })
        .await;
    assert!(ok, "all envelopes acked; unacked: {:?}", fake.unacked());
}

fn assert_each_processed_once(sink: &RecordingSink, ids: &[String]) {
    let counts = sink.counts();
    for id in ids {
        assert_eq!(counts.get(id).copied(), Some(1), "envelope {id} processed exactly once");
    }
    assert_eq!(counts.len(), ids.len(), "no unexpected envelopes reached the sink");
}

fn command(text: &str) -> Value {
    json!({
        "token": "verification-token-not-used",
        "team_id": "T0PULSE",
        "channel_id": "C0OPS",
        "user_id": "U0ALICE",
        "command": "/pulser",
        "text": text,
        "response_url": "https://hooks.slack.com/commands/T0PULSE/1/abc",
        "trigger_id": "1.2.abc",
    })
}

// ---- tests -------------------------------------------------------------------------------

#[tokio::test]
async fn every_envelope_is_acked_once_and_slash_commands_carry_the_sink_response() {
    let fake = FakeSocketMode::start().await.unwrap();
    let sink = RecordingSink::with_delay(Duration::from_millis(5));
    let client = start(test_config(&fake, &token("acks")), Arc::clone(&sink));
    ready(&fake, 1).await;

    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(fake.send_envelope("slash_commands", command(&format!("status {i}"))));
        ids.push(
            fake.send_envelope("interactive", json!({"type": "block_actions", "actions": [{"action_id": "ack", "value": i.to_string()}]})),
        );
        ids.push(fake.send_envelope(
            "events_api",
            json!({"type": "event_callback", "event_id": format!("Ev{i}"), "event": {"type": "app_home_opened", "user": "U0ALICE"}}),
        ));
    }
    all_acked(&fake, &ids, 5 * SEC).await;
    sleep(Duration::from_millis(200)).await;

    let acks = fake.acks();
    assert_eq!(acks.len(), ids.len(), "one ack per envelope, no more: {acks:?}");
    let calls = sink.calls();
    for ack in &acks {
        assert_eq!(ack.connection, 1);
        let (kind, _, payload) = calls.iter().find(|(_, id, _)| *id == ack.envelope_id).unwrap();
        if kind == "slash_commands" {
            let text = payload["text"].as_str().unwrap();
            assert_eq!(
                ack.payload,
                Some(json!({"response_type": "ephemeral", "text": format!("Got it: {text}")})),
                "the sink's response rides on the ack"
            );
        } else {
            assert_eq!(ack.payload, None, "{kind} acks carry no payload");
        }
    }
    assert_each_processed_once(&sink, &ids);
    let kinds: HashSet<&str> = calls.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(kinds, HashSet::from(["slash_commands", "interactive", "events_api"]));

    assert_eq!(client.stop().await, Ok(()));
    assert!(fake.wait_until(3 * SEC, |f| f.open_connections() == 0).await, "closed on shutdown");
}

#[tokio::test]
async fn a_slow_sink_does_not_hold_back_other_envelopes_and_is_acked_at_the_timeout() {
    let fake = FakeSocketMode::start().await.unwrap();
    let sink = RecordingSink::with_delay(Duration::from_millis(10));
    let mut config = test_config(&fake, &token("slow"));
    config.ack_timeout = Duration::from_millis(600);
    let client = start(config, Arc::clone(&sink));
    ready(&fake, 1).await;

    let sent = Instant::now();
    let slow = fake.send_envelope("slash_commands", json!({"text": "deploy api", "delay_ms": 2500}));
    let fast: Vec<String> = (0..5).map(|i| fake.send_envelope("slash_commands", command(&format!("health {i}")))).collect();
    all_acked(&fake, &fast, 2 * SEC).await;
    assert!(!fake.acks().iter().any(|a| a.envelope_id == slow), "the fast envelopes were acked while the slow one was still running");
    all_acked(&fake, std::slice::from_ref(&slow), 2 * SEC).await;
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(550) && waited < Duration::from_millis(2000),
        "the slow envelope is acked at the ack timeout, not when the sink finishes: {waited:?}"
    );
    let ack = fake.acks().into_iter().find(|a| a.envelope_id == slow).unwrap();
    assert_eq!(ack.payload, None, "acked at the timeout, without a response payload");
    assert!(!sink.completed().contains(&slow), "the sink is still working");
    // The sink goes on and finishes; the envelope is not processed twice.
    let finished = timeout(4 * SEC, async {
        while !sink.completed().contains(&slow) {
            sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(finished.is_ok(), "the slow sink call completed after the ack");
    assert_eq!(sink.counts()[&slow], 1);
    assert_eq!(fake.acks().len(), 6, "one ack each");
    assert_eq!(client.stop().await, Ok(()));
}

#[tokio::test]
async fn sink_calls_are_bounded_by_max_in_flight() {
    let fake = FakeSocketMode::start().await.unwrap();
    let sink = RecordingSink::with_delay(Duration::from_millis(100));
    let mut config = test_config(&fake, &token("bounded"));
    config.max_in_flight = 2;
    config.ack_timeout = Duration::from_secs(3);
    let client = start(config, Arc::clone(&sink));
    ready(&fake, 1).await;
    let ids: Vec<String> = (0..8).map(|i| fake.send_envelope("events_api", json!({"event_id": format!("Ev{i}")}))).collect();
    all_acked(&fake, &ids, 5 * SEC).await;
    assert_eq!(sink.max_running.load(Ordering::SeqCst), 2, "never more than max_in_flight at once");
    assert_each_processed_once(&sink, &ids);
    assert_eq!(client.stop().await, Ok(()));
}

#[tokio::test]
async fn an_abrupt_drop_reconnects_fast_and_loses_or_duplicates_nothing() {
    let fake = FakeSocketMode::start().await.unwrap();
    // Slow enough that several envelopes are in flight when the connection drops.
    let sink = RecordingSink::with_delay(Duration::from_millis(150));
    let client = start(test_config(&fake, &token("drop")), Arc::clone(&sink));
    ready(&fake, 1).await;

    let mut ids = Vec::new();
    for i in 0..60 {
        if i == 20 {
            assert!(fake.drop_connection(1));
        }
        ids.push(fake.send_envelope("events_api", json!({"event_id": format!("Ev{i}")})));
        sleep(Duration::from_millis(10)).await;
    }
    all_acked(&fake, &ids, 10 * SEC).await;
    sleep(Duration::from_millis(300)).await;

    assert_each_processed_once(&sink, &ids);
    let connections = fake.connections();
    assert!(connections.len() >= 2, "reconnected: {connections:?}");
    let dropped_at = connections[0].closed_at.expect("connection 1 closed");
    let back_at = connections[1].ready_at.expect("connection 2 ready");
    let gap = back_at - dropped_at;
    assert!(gap < 2 * SEC, "reconnection took {gap:?}, well under 30 s");
    let retries = fake.deliveries().into_iter().filter(|d| d.retry_attempt > 0).count();
    assert!(retries > 0, "the drop left envelopes unacked, which Slack (the fake) redelivered");
    assert_eq!(client.stop().await, Ok(()));
}

/// `warning` / `refresh_requested`: the replacement opens before the old connection closes,
/// the old one is read until the new one is ready, and nothing is lost, duplicated or even
/// redelivered across the switch.
async fn switch_on(reason: &str) {
    let fake = FakeSocketMode::start().await.unwrap();
    let sink = RecordingSink::with_delay(Duration::from_millis(50));
    let client = start(test_config(&fake, &token("refresh")), Arc::clone(&sink));
    ready(&fake, 1).await;
    // The new connection's hello comes late: envelopes keep flowing on the old one meanwhile.
    fake.set_hello_delay(Duration::from_millis(300));

    let mut ids = Vec::new();
    let mut after_disconnect = Vec::new();
    for i in 0..80 {
        if i == 20 {
            assert!(fake.disconnect(1, reason));
            // A quiet moment: the old connection must stay open (idle) until the new one is
            // ready, not close as soon as its own work is done.
            sleep(Duration::from_millis(150)).await;
        }
        let id = fake.send_envelope("events_api", json!({"event_id": format!("Ev{i}")}));
        if i >= 20 {
            after_disconnect.push(id.clone());
        }
        ids.push(id);
        sleep(Duration::from_millis(10)).await;
    }
    all_acked(&fake, &ids, 10 * SEC).await;
    assert!(fake.wait_until(5 * SEC, |f| f.connections()[0].closed_at.is_some()).await, "the client closed the old connection");

    assert_eq!(fake.max_open_connections(), 2, "both connections were open at once");
    let connections = fake.connections();
    assert_eq!(connections.len(), 2, "exactly one replacement: {connections:?}");
    let (old, new) = (&connections[0], &connections[1]);
    assert!(new.open && !old.open);
    assert!(old.closed_at.unwrap() >= new.ready_at.unwrap(), "the old connection closed only after the new one was ready");
    assert_each_processed_once(&sink, &ids);
    let acks = fake.acks();
    assert_eq!(acks.len(), ids.len(), "one ack each");
    assert!(
        acks.iter().any(|a| a.connection == 1 && after_disconnect.contains(&a.envelope_id)),
        "envelopes that came on the old connection after the disconnect message were processed"
    );
    assert!(acks.iter().any(|a| a.connection == 2), "the new connection took over");
    let retries: Vec<_> = fake.deliveries().into_iter().filter(|d| d.retry_attempt > 0).collect();
    assert!(retries.is_empty(), "a graceful switch leaves nothing to redeliver: {retries:?}");
    assert_eq!(client.stop().await, Ok(()));
}

#[tokio::test]
async fn a_disconnect_warning_opens_the_new_connection_before_closing_the_old() {
    switch_on("warning").await;
}

#[tokio::test]
async fn refresh_requested_opens_the_new_connection_before_closing_the_old() {
    switch_on("refresh_requested").await;
}

#[tokio::test]
async fn a_redelivered_envelope_is_acked_again_but_not_processed_again() {
    let fake = FakeSocketMode::start().await.unwrap();
    let sink = RecordingSink::with_delay(Duration::ZERO);
    let client = start(test_config(&fake, &token("redeliver")), Arc::clone(&sink));
    ready(&fake, 1).await;

    let id = fake.send_envelope("slash_commands", command("status"));
    all_acked(&fake, std::slice::from_ref(&id), 3 * SEC).await;
    assert!(fake.redeliver(&id));
    assert!(fake.wait_until(3 * SEC, |f| f.acks().len() == 2).await, "the redelivery is acked");
    let acks = fake.acks();
    assert!(acks.iter().all(|a| a.envelope_id == id));
    assert_eq!(acks[1].payload, acks[0].payload, "the redelivery's ack repeats the response");
    assert!(acks[0].payload.is_some());
    let deliveries = fake.deliveries();
    assert_eq!(deliveries.iter().map(|d| d.retry_attempt).collect::<Vec<_>>(), [0, 1]);
    sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.counts()[&id], 1, "the sink saw it once");
    assert_eq!(client.stop().await, Ok(()));
}

#[tokio::test]
async fn a_failed_envelope_is_not_acked_so_slacks_retry_is_processed() {
    let fake = FakeSocketMode::start().await.unwrap();
    let sink = RecordingSink::with_delay(Duration::ZERO);
    let client = start(test_config(&fake, &token("fail")), Arc::clone(&sink));
    ready(&fake, 1).await;

    let id = fake.send_envelope("events_api", json!({"event_id": "Ev1", "fail_first": true}));
    assert!(fake.wait_until(5 * SEC, |_| sink.counts().get(&id) == Some(&1)).await);
    sleep(Duration::from_millis(300)).await;
    assert!(fake.acks().is_empty(), "a sink failure is not acked");
    assert!(fake.redeliver(&id));
    all_acked(&fake, std::slice::from_ref(&id), 3 * SEC).await;
    assert_eq!(sink.counts()[&id], 2, "the retry reached the sink");
    assert_eq!(sink.completed(), [id]);
    assert_eq!(client.stop().await, Ok(()));
}

#[tokio::test]
async fn link_disabled_stops_the_client_with_a_clear_error() {
    let fake = FakeSocketMode::start().await.unwrap();
    let sink = RecordingSink::with_delay(Duration::ZERO);
    let client = start(test_config(&fake, &token("disabled")), Arc::clone(&sink));
    ready(&fake, 1).await;
    let id = fake.send_envelope("events_api", json!({"event_id": "Ev1"}));
    all_acked(&fake, std::slice::from_ref(&id), 3 * SEC).await;

    assert!(fake.disconnect(1, "link_disabled"));
    let outcome = client.outcome(5 * SEC).await;
    assert_eq!(outcome, Err(SocketModeError::LinkDisabled));
    let message = outcome.unwrap_err().to_string();
    assert!(message.contains("Socket Mode was turned off"), "{message}");
    assert!(fake.wait_until(3 * SEC, |f| f.open_connections() == 0).await, "connection closed");
    assert_eq!(fake.connections().len(), 1, "no reconnect after link_disabled");
}

#[tokio::test]
async fn failing_apps_connections_open_is_retried_with_backoff_then_connects() {
    let fake = FakeSocketMode::start().await.unwrap();
    fake.fail_opens([
        OpenFailure::Http(500),
        OpenFailure::SlackError("ratelimited".into()),
        OpenFailure::Http(503),
        OpenFailure::RateLimited { retry_after_secs: 1 },
    ]);
    let sink = RecordingSink::with_delay(Duration::ZERO);
    let started = Instant::now();
    let client = start(test_config(&fake, &token("retry")), Arc::clone(&sink));
    ready(&fake, 1).await;
    let took = started.elapsed();

    let calls = fake.open_call_times();
    assert_eq!(calls.len(), 5, "four failures, then success");
    assert!(calls[4] - calls[3] >= Duration::from_millis(990), "Retry-After is honoured: {:?}", calls[4] - calls[3]);
    assert!(took < 5 * SEC, "connected within {took:?}");
    let id = fake.send_envelope("slash_commands", command("health"));
    all_acked(&fake, std::slice::from_ref(&id), 3 * SEC).await;
    assert_eq!(client.stop().await, Ok(()));
}

#[tokio::test]
async fn refused_websocket_handshakes_are_retried() {
    let fake = FakeSocketMode::start().await.unwrap();
    fake.refuse_connections(3);
    let sink = RecordingSink::with_delay(Duration::ZERO);
    let client = start(test_config(&fake, &token("refused")), Arc::clone(&sink));
    ready(&fake, 1).await;
    assert_eq!(fake.refused_connections(), 3);
    assert_eq!(fake.open_calls(), 4, "a fresh URL (ticket) for each attempt");
    assert_eq!(client.stop().await, Ok(()));
}

#[tokio::test]
async fn a_stalled_link_is_detected_by_ping_and_replaced() {
    let fake = FakeSocketMode::start().await.unwrap();
    let sink = RecordingSink::with_delay(Duration::ZERO);
    let mut config = test_config(&fake, &token("stall"));
    config.ping_interval = Duration::from_millis(300);
    config.pong_timeout = Duration::from_millis(300);
    let client = start(config, Arc::clone(&sink));
    ready(&fake, 1).await;
    assert!(fake.stall(1, 10 * SEC));
    ready(&fake, 2).await;
    let id = fake.send_envelope("events_api", json!({"event_id": "Ev1"}));
    all_acked(&fake, std::slice::from_ref(&id), 3 * SEC).await;
    assert_eq!(fake.acks()[0].connection, 2);
    assert_eq!(client.stop().await, Ok(()));
}

#[tokio::test]
async fn a_refused_token_stops_the_client_and_a_bot_token_is_rejected_up_front() {
    let fake = FakeSocketMode::start().await.unwrap();
    fake.require_token(token("the-right-one"));
    let sink = RecordingSink::with_delay(Duration::ZERO);
    let outcome = start(test_config(&fake, &token("a-wrong-one")), Arc::clone(&sink)).outcome(5 * SEC).await;
    assert_eq!(outcome, Err(SocketModeError::Rejected { error: "invalid_auth".into() }));
    assert_eq!(fake.open_calls(), 1, "an auth error is not retried");

    let outcome = start(test_config(&fake, "xoxb-1-not-an-app-token"), Arc::clone(&sink)).outcome(5 * SEC).await;
    assert_eq!(outcome, Err(SocketModeError::InvalidToken));
    assert_eq!(fake.open_calls(), 1, "no call with a bot token");
}

/// An app-level token store that serves its cached value until invalidated, as the SSM-backed
/// one does.
struct RotatingToken {
    stored: std::sync::Arc<std::sync::Mutex<String>>,
    cached: std::sync::Mutex<Option<String>>,
}

impl pulse_core::secret::FetchSecret for RotatingToken {
    fn fetch(&self) -> pulse_core::secret::SecretFuture<'_> {
        let value = self.cached.lock().unwrap().get_or_insert_with(|| self.stored.lock().unwrap().clone()).clone();
        Box::pin(async move { Ok(pulse_core::Secret::new(value)) })
    }
    fn invalidate(&self) {
        *self.cached.lock().unwrap() = None;
    }
}

#[tokio::test]
async fn a_rotated_app_token_is_re_read_when_slack_refuses_the_old_one() {
    let fake = FakeSocketMode::start().await.unwrap();
    let stored = std::sync::Arc::new(std::sync::Mutex::new(token("before-rotation")));
    let source = pulse_core::SecretSource::store(RotatingToken { stored: stored.clone(), cached: std::sync::Mutex::new(None) });
    let mut config = test_config(&fake, "xapp-placeholder");
    config.app_token = source;
    // The token was rotated in Slack and in the store after the client read it.
    let _ = config.app_token.current().await;
    *stored.lock().unwrap() = token("after-rotation");
    fake.require_token(token("after-rotation"));

    let sink = RecordingSink::with_delay(Duration::ZERO);
    let client = start(config, Arc::clone(&sink));
    ready(&fake, 1).await;
    assert_eq!(fake.open_calls(), 2, "refused once with the old token, opened with the new one");
    assert_eq!(client.stop().await, Ok(()));
}

#[tokio::test]
async fn the_token_and_the_ticket_never_appear_in_logs_or_errors() {
    let fake = FakeSocketMode::start().await.unwrap();
    let secret = token("leak-check");
    // A refused token: the error and its logs.
    fake.require_token(token("another"));
    let sink = RecordingSink::with_delay(Duration::from_millis(20));
    let error = start(test_config(&fake, &secret), Arc::clone(&sink)).outcome(5 * SEC).await.unwrap_err();
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains(SECRET_MARK), "{shown}");
    }
    let config = test_config(&fake, &secret);
    assert!(!format!("{config:?}").contains(SECRET_MARK));
    assert!(format!("{config:?}").contains("app_token: SecretSource::Fixed(***)"), "{config:?}");

    // A working session with failures, a drop and a refresh.
    fake.require_token(secret.clone());
    fake.fail_opens([OpenFailure::Http(500), OpenFailure::SlackError("ratelimited".into())]);
    let client = start(config, Arc::clone(&sink));
    ready(&fake, 1).await;
    let first = fake.send_envelope("slash_commands", command("status"));
    all_acked(&fake, std::slice::from_ref(&first), 3 * SEC).await;
    fake.drop_connection(1);
    ready(&fake, 2).await;
    fake.disconnect(2, "refresh_requested");
    ready(&fake, 3).await;
    let last = fake.send_envelope("events_api", json!({"event_id": "Ev9"}));
    all_acked(&fake, std::slice::from_ref(&last), 3 * SEC).await;
    assert_eq!(client.stop().await, Ok(()));

    let text = log_text();
    let ws = format!("ws://{}/link", fake.ws_addr());
    assert!(text.contains(&ws), "the redacted WebSocket URL is logged (so the check below means something)");
    assert!(text.contains("envelope_id"), "envelope logs captured");
    for (n, line) in text.lines().enumerate() {
        assert!(!line.contains(SECRET_MARK), "line {n} leaks a token: {line}");
        assert!(!line.contains("xapp-1-"), "line {n} leaks a token: {line}");
        assert!(!line.contains("ticket="), "line {n} leaks a WebSocket ticket: {line}");
        assert!(!line.contains("fake-1-"), "line {n} leaks a ticket value: {line}");
    }
}

#[tokio::test]
async fn the_fake_can_be_driven_over_http_for_the_local_stack() {
    let fake = FakeSocketMode::start().await.unwrap();
    let sink = RecordingSink::with_delay(Duration::ZERO);
    let client = start(test_config(&fake, &token("control")), Arc::clone(&sink));
    ready(&fake, 1).await;
    let http = reqwest::Client::new();
    let root = fake.base_url().trim_end_matches("/api").to_owned();

    let sent: Value = http
        .post(format!("{root}/_fake/envelope"))
        .json(&json!({"type": "slash_commands", "payload": command("status")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = sent["envelope_id"].as_str().unwrap().to_owned();
    all_acked(&fake, std::slice::from_ref(&id), 3 * SEC).await;
    let acks: Value = http.get(format!("{root}/_fake/acks")).send().await.unwrap().json().await.unwrap();
    assert_eq!(acks["acks"][0]["envelope_id"], json!(id));
    assert_eq!(acks["acks"][0]["payload"]["response_type"], "ephemeral");

    let answer: Value = http
        .post(format!("{root}/_fake/disconnect"))
        .json(&json!({"reason": "refresh_requested"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["connection"], 1);
    ready(&fake, 2).await;
    let listed: Value = http.get(format!("{root}/_fake/connections")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["max_open"], 2);

    let unauthenticated: Value = http.post(format!("{root}/api/apps.connections.open")).send().await.unwrap().json().await.unwrap();
    assert_eq!(unauthenticated, json!({"ok": false, "error": "not_authed"}));
    let bot: Value =
        http.post(format!("{root}/api/apps.connections.open")).bearer_auth("xoxb-1-bot").send().await.unwrap().json().await.unwrap();
    assert_eq!(bot, json!({"ok": false, "error": "invalid_auth"}));
    assert_eq!(client.stop().await, Ok(()));
}
