//! The runtime's claim layer (`pulse_runtime::Worker`) against the emulator, with a toy handler
//! whose behaviour each message's dedup key picks: `ok:` counts an effect, `panic:` panics,
//! `hang:` never finishes while the test says so (a dropped poll round is an attempt that died
//! mid-message, its claim left behind). The fault suite (`tests/fault`) proves the same with the
//! real binaries and SIGKILL; these show each rule on its own, in seconds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_sqs::types::QueueAttributeName;
use pulse_aws::idempotency::{Claim, IdempotencyStore};
use pulse_aws::sqs::Queue;
use pulse_contracts::{DigestPeriod, DigestTick, Event, EventDetail};
use pulse_core::{Clock, Ids};
use pulse_runtime::dead_letter::REASON_ATTRIBUTE;
use pulse_runtime::poller::{self, PollerOptions, Shutdown};
use pulse_runtime::{Accept, Attempt, DeadLetters, Deadline, HandlerError, MessageHandler, Worker, not_consumed};
use pulse_tests::{emulator_config, unique};
use serde_json::json;

use crate::common::{create_key_table, create_queue, drain, init_tracing};

/// Counts effects by dedup key.
#[derive(Default)]
struct Toy {
    effects: Mutex<HashMap<String, u32>>,
    hang: AtomicBool,
}

impl Toy {
    fn effects(&self, key: &str) -> u32 {
        self.effects.lock().unwrap().get(key).copied().unwrap_or(0)
    }
}

impl MessageHandler for Toy {
    type Input = DigestTick;

    fn service(&self) -> &'static str {
        "toy"
    }

    fn accept(&self, event: Event) -> Accept<DigestTick> {
        match event {
            Event::DigestTickV1(tick) => Accept::Consume(tick),
            other => not_consumed(self.service(), &other),
        }
    }

    async fn handle(&self, attempt: &Attempt, _tick: DigestTick) -> Result<(), HandlerError> {
        let key = attempt.meta.dedup_key.as_str();
        if key.starts_with("panic:") {
            panic!("toy cannot take {key}");
        }
        if key.starts_with("hang:") && self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if key.starts_with("slow:") {
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        *self.effects.lock().unwrap().entry(key.to_owned()).or_default() += 1;
        Ok(())
    }
}

struct Rig {
    worker: Arc<Worker<Arc<Toy>>>,
    toy: Arc<Toy>,
    queue: Queue,
    dlq: Queue,
    claims: IdempotencyStore,
}

/// A queue that dead-letters after `max_receive` receives, its DLQ, a claims table, the toy.
async fn rig(max_receive: u32) -> Rig {
    init_tracing();
    let config = emulator_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = unique("rt");
    let (dlq_url, dlq_arn) = create_queue(&sqs, &format!("{name}-dlq"), &[]).await;
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}).to_string();
    let (url, _) = create_queue(&sqs, &name, &[(QueueAttributeName::RedrivePolicy, redrive)]).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    create_key_table(&dynamo, &format!("{name}-claims")).await;
    let claims = IdempotencyStore::new(dynamo, format!("{name}-claims"), Clock::system());
    let toy = Arc::new(Toy::default());
    let dead_letters = DeadLetters::new(sqs.clone(), format!("{name}-dlq"), "toy");
    let worker = Arc::new(
        Worker::new(toy.clone(), dead_letters, claims.clone(), Clock::system(), Ids::random()).with_max_retry_delay(Duration::ZERO),
    );
    Rig { worker, toy, queue: Queue::from_url(sqs.clone(), url), dlq: Queue::from_url(sqs, dlq_url), claims }
}

fn body(key: &str) -> String {
    let tick = DigestTick { period: DigestPeriod::Daily, scheduled_for: chrono::Utc::now() };
    pulse_contracts::eventbridge_wrap(
        &tick.into_envelope("pulse.tests", key, uuid::Uuid::new_v4(), chrono::Utc::now()).to_raw(),
        "pulse.tests",
    )
    .to_string()
}

fn options(max_receive: u32, visibility_secs: u64) -> PollerOptions {
    PollerOptions {
        concurrency: 1,
        batch_size: 10,
        wait_seconds: 1,
        visibility: Duration::from_secs(visibility_secs),
        max_receive_count: Some(max_receive),
    }
}

#[tokio::test]
async fn a_panicking_handler_fails_only_its_message_its_loop_lives_and_its_last_receive_dead_letters_it() {
    let rig = rig(3).await;
    for key in ["ok:1", "panic:1", "ok:2"] {
        rig.queue.send(&body(key), &[]).await.unwrap();
    }
    let (shutdown, stop) = Shutdown::new();
    let run = tokio::spawn(poller::run(rig.worker.clone(), rig.queue.clone(), options(3, 5), stop));
    let dead = drain(&rig.dlq, 1, Duration::from_secs(30)).await;
    assert_eq!(dead.len(), 1, "the poisoned message reached the DLQ");
    let reason = &dead[0].attributes[REASON_ATTRIBUTE];
    assert!(reason.contains("the handler panicked: toy cannot take panic:1") && reason.contains("receive 3 of 3"), "{reason}");
    assert_eq!((rig.toy.effects("ok:1"), rig.toy.effects("ok:2")), (1, 1), "the others flowed, once each");

    assert!(!run.is_finished(), "the poll loop survived three panics");
    rig.queue.send(&body("ok:3"), &[]).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while rig.toy.effects("ok:3") == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rig.toy.effects("ok:3"), 1, "and still handles what comes next");
    shutdown.trigger();
    let totals = run.await.unwrap().expect("no loop died");
    assert_eq!(totals.dead_lettered, 1, "{totals:?}");
}

#[tokio::test]
async fn a_duplicate_delivered_alongside_the_original_waits_for_it_and_is_settled_once() {
    let rig = rig(5).await;
    let message = body("slow:dup");
    rig.queue.send(&message, &[]).await.unwrap();
    rig.queue.send(&message, &[]).await.unwrap();
    let mut settled = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while settled < 2 && std::time::Instant::now() < deadline {
        let round = poller::poll_once(&rig.worker, &rig.queue, &options(5, 10)).await.unwrap();
        assert_eq!(round.retried, 0, "the duplicate waited for the holder instead of spending a receive");
        settled += round.done;
    }
    assert_eq!(settled, 2);
    assert_eq!(rig.toy.effects("slow:dup"), 1, "one effect");
}

#[tokio::test]
async fn a_live_lease_puts_a_redelivery_back_until_just_after_it_ends() {
    let rig = rig(5).await;
    // Another worker's attempt holds the key for 5 s more.
    let held_until = chrono::Utc::now().timestamp_millis() + 5_000;
    assert_eq!(rig.claims.claim("ok:held", "elsewhere", held_until).await.unwrap(), Claim::Acquired { died: 0, previous: None });
    rig.queue.send(&body("ok:held"), &[]).await.unwrap();

    let first = poller::poll_once(&rig.worker, &rig.queue, &options(5, 10)).await.unwrap();
    assert_eq!((first.received, first.retried), (1, 1), "put back: {first:?}");
    let early = rig.queue.receive(10, 0).await.unwrap();
    assert!(early.is_empty(), "hidden while the lease lasts");

    // The holder died: once its lease ends the redelivery takes over, on its second receive.
    let mut done = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while done == 0 && std::time::Instant::now() < deadline {
        done += poller::poll_once(&rig.worker, &rig.queue, &options(5, 10)).await.unwrap().done;
    }
    assert!(chrono::Utc::now().timestamp_millis() >= held_until, "not before the lease ended");
    assert_eq!((done, rig.toy.effects("ok:held")), (1, 1));
    assert!(drain(&rig.dlq, 0, Duration::from_millis(200)).await.is_empty());
}

/// One poll round that dies with its attempt: the round is dropped mid-handler after `after`.
async fn die_during_a_round(rig: &Rig, options: &PollerOptions, after: Duration) {
    let round = tokio::time::timeout(after, poller::poll_once(&rig.worker, &rig.queue, options)).await;
    assert!(round.is_err(), "the attempt was meant to hang until it died");
}

#[tokio::test]
async fn fewer_deaths_than_the_receive_limit_never_dead_letter_and_the_last_receive_is_protected() {
    // Two receives allowed. The first attempt dies; the second receive is the last one, so the
    // runtime first swaps the message for a copy, then runs it: it succeeds, and the copy that
    // shows up later is dropped.
    let rig = rig(2).await;
    let opts = options(2, 3);
    rig.toy.hang.store(true, Ordering::SeqCst);
    rig.queue.send(&body("hang:a"), &[]).await.unwrap();
    die_during_a_round(&rig, &opts, Duration::from_millis(1500)).await;
    rig.toy.hang.store(false, Ordering::SeqCst);

    let mut stats = pulse_runtime::poller::RoundStats::default();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stats.done < 2 && std::time::Instant::now() < deadline {
        let round = poller::poll_once(&rig.worker, &rig.queue, &opts).await.unwrap();
        stats.done += round.done;
        stats.dead_lettered += round.dead_lettered;
    }
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "the last receive and its dropped copy: {stats:?}");
    assert_eq!(rig.toy.effects("hang:a"), 1, "one effect");
    assert!(drain(&rig.dlq, 0, Duration::from_millis(500)).await.is_empty(), "nothing dead-lettered");
}

#[tokio::test]
async fn a_message_that_kills_every_attempt_is_dead_lettered_by_the_runtime_with_the_count() {
    let rig = rig(2).await;
    let opts = options(2, 3);
    rig.toy.hang.store(true, Ordering::SeqCst);
    rig.queue.send(&body("hang:b"), &[]).await.unwrap();
    die_during_a_round(&rig, &opts, Duration::from_millis(1500)).await;
    // The second (last) receive: replaced by a copy, then dies too.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if tokio::time::timeout(Duration::from_millis(2500), poller::poll_once(&rig.worker, &rig.queue, &opts)).await.is_err() {
            break;
        }
    }
    // The copy that stood in for the last receive shows up once that attempt's lease ends, finds
    // it died, and gives up.
    let mut dead_lettered = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while dead_lettered == 0 && std::time::Instant::now() < deadline {
        dead_lettered += poller::poll_once(&rig.worker, &rig.queue, &opts).await.unwrap().dead_lettered;
    }
    let dead = drain(&rig.dlq, 1, Duration::from_secs(5)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attributes[REASON_ATTRIBUTE], "attempt did not finish 2 times", "the runtime, not SQS, dead-lettered it");
    let queue_left = drain(&rig.queue, 0, Duration::from_millis(500)).await;
    assert!(queue_left.is_empty(), "nothing left behind: {queue_left:?}");
    assert_eq!(rig.toy.effects("hang:b"), 0);
}

#[tokio::test]
async fn a_lambda_record_without_a_message_id_is_dead_lettered_instead_of_failing_the_batch() {
    let rig = rig(5).await;
    let record = |id: Option<&str>, key: &str| -> SqsMessage {
        serde_json::from_value(json!({
            "messageId": id,
            "receiptHandle": "unknown",
            "body": body(key),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
        }))
        .unwrap()
    };
    let queues = pulse_runtime::lambda::Queues::new(aws_sdk_sqs::Client::new(&emulator_config().await));
    let batch = vec![record(Some("m-1"), "panic:x"), record(None, "panic:y"), record(Some("m-3"), "ok:z")];
    let response = pulse_runtime::lambda::process_batch(&rig.worker, &queues, batch, Deadline::after(Duration::from_secs(30))).await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["m-1"], "only the identifiable failure is reported; no empty id fails the batch");
    assert_eq!(rig.toy.effects("ok:z"), 1);
    let dead = drain(&rig.dlq, 1, Duration::from_secs(5)).await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0].attributes[REASON_ATTRIBUTE].contains("no message id"), "{:?}", dead[0].attributes);
}

#[tokio::test]
async fn a_lambda_batch_writes_one_metric_line_per_outcome_in_cloudwatch_s_embedded_format() {
    use pulse_runtime::emf::EmfLayer;
    use pulse_runtime::settings::{LogFormat, Logging};
    let rig = rig(5).await;
    let lines = pulse_tests::CapturedLogs::default();
    let logging = Logging { filter: "off".into(), format: LogFormat::Json, in_lambda: true };
    let _scope = tracing::subscriber::set_default(pulse_runtime::logging::subscriber(
        &logging,
        std::io::sink,
        Some(EmfLayer::new("toy".to_owned(), lines.clone())),
    ));
    let record = |id: &str, body: String| -> SqsMessage {
        serde_json::from_value(json!({
            "messageId": id, "receiptHandle": "unknown", "body": body,
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs",
        }))
        .unwrap()
    };
    let queues = pulse_runtime::lambda::Queues::new(aws_sdk_sqs::Client::new(&emulator_config().await));
    let deadline = || Deadline::after(Duration::from_secs(30));
    let first = vec![record("m-1", body("ok:metrics")), record("m-2", body("panic:metrics")), record("m-3", "not json".to_owned())];
    pulse_runtime::lambda::process_batch(&rig.worker, &queues, first, deadline()).await;
    pulse_runtime::lambda::process_batch(&rig.worker, &queues, vec![record("m-4", body("ok:metrics"))], deadline()).await;

    let text = lines.text();
    let points: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("an EMF line is JSON")).collect();
    let count = |name: &str| points.iter().filter(|p| p.get(name).is_some()).count();
    assert_eq!(count("MessagesHandled"), 1, "{text}");
    assert_eq!(count("MessagesDeduplicated"), 1, "the redelivery: {text}");
    assert_eq!(count("MessagesRetried"), 1, "the panic, on its first of five receives: {text}");
    assert_eq!(count("MessagesDeadLettered"), 1, "the body that is no event: {text}");
    assert_eq!(count("HandlerTime"), 2, "the two runs of the handler: {text}");
    let latency = points.iter().find_map(|p| p["EndToEndLatency"].as_f64()).expect("end-to-end latency");
    assert!((0.0..60_000.0).contains(&latency), "{latency}");
    for point in &points {
        assert_eq!(point["Service"], "toy");
        assert_eq!(point["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Pulse");
    }
}
