//! praktika writing feeds itself, with CI left as it is: its worker invocations reach Pulse
//! through praktika-compat (run in-process: the emulator runs no Lambda code), its S3 writes
//! through S3's EventBridge notification (moto delivers those synchronously, to every matching
//! rule), and both end as one `feed.updated` per object version. Pulse's own writes are not
//! announced a second time.

use std::io::Write;
use std::time::Duration;

use pulse_aws::sqs::ReceivedMessage;
use pulse_contracts::feed_layout::FeedLocation;
use pulse_contracts::{Event, FeedChange, FeedUpdated, FeedWritten, LearnedFrom};
use pulse_praktika_compat::{Compat, Config};
use serde_json::{Value, json};

use crate::harness::{Stack, delivered_envelope, example, fast_poller, workflow};

const ALICE: &str = "alice@clickhouse.com";
const RESPONSE_URL: &str = "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN";

fn compat(stack: &Stack) -> Compat {
    let config = Config { location: FeedLocation::own_bucket(stack.names.feed_bucket()), team_id: "T1DC2JH3J".into() };
    Compat::new(config, stack.publisher(), pulse_core::Clock::system(), pulse_core::Ids::random())
}

/// A feed object as praktika's `EventFeed.to_s3` writes it: `gzip.compress(json, 9)`, no Pulse mark.
async fn praktika_writes(stack: &Stack, email: &str, events: Value) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(json!({"events": events}).to_string().as_bytes()).unwrap();
    let key = FeedLocation::own_bucket(stack.names.feed_bucket()).key(email);
    let out = pulse_aws::config::s3_client(&stack.config)
        .put_object()
        .bucket(stack.names.feed_bucket())
        .key(&key)
        .body(gz.finish().unwrap().into())
        .send()
        .await
        .expect("praktika's write");
    out.e_tag().unwrap_or_default().trim_matches('"').to_owned()
}

fn feed_written(message: &ReceivedMessage) -> FeedWritten {
    match delivered_envelope(message).detail {
        Event::FeedWrittenV1(w) => w,
        other => panic!("expected feed.written, got {}", other.event_type()),
    }
}

fn updates(messages: &[ReceivedMessage]) -> Vec<(String, FeedUpdated)> {
    messages
        .iter()
        .map(|m| {
            let envelope = delivered_envelope(m);
            match envelope.detail {
                Event::FeedUpdatedV1(u) => (envelope.dedup_key, u),
                other => panic!("expected feed.updated, got {}", other.event_type()),
            }
        })
        .collect()
}

#[tokio::test]
async fn the_workers_payloads_become_pulse_events_in_the_consumers_queues() {
    let stack = Stack::deploy_with_s3_notifications().await;
    let compat = compat(&stack);
    let payloads = [
        json!({"action": "subscribe", "user_id": "U2CERLKJA", "username": "roadrunner", "github_login": ALICE, "response_url": RESPONSE_URL}),
        json!({"action": "unsubscribe", "user_id": "U2CERLKJA", "username": "roadrunner", "response_url": RESPONSE_URL}),
        json!({"action": "toggle_pref", "user_id": "U2CERLKJA", "username": "roadrunner", "pref_key": "notify_on_failure", "response_url": RESPONSE_URL, "value": "toggle"}),
        json!({"action": "update", "emails": [ALICE, "bob+ci@users.noreply.github.com"]}),
    ];
    for (i, payload) in payloads.iter().enumerate() {
        compat.handle(payload, &format!("req-{i}")).await.unwrap_or_else(|e| panic!("{payload}: {e}"));
    }
    // A refused payload fails the invocation (so AWS retries it and keeps it) and publishes nothing.
    let err = compat.handle(&json!({"action": "update", "emails": []}), "req-bad").await.unwrap_err();
    assert!(err.to_string().contains("non-empty `emails`"), "{err}");

    let slack = stack.drain(&stack.names.queue("home-renderer"), 3).await;
    let mut seen: Vec<(String, String)> = slack
        .iter()
        .map(|m| {
            let e = delivered_envelope(m);
            let what = match &e.detail {
                Event::SlackCommandV1(c) => format!("{} {}", c.command.as_str(), c.text),
                Event::SlackInteractionV1(i) => format!("{:?}", i.kind).split(',').next().unwrap().to_owned(),
                other => panic!("home-renderer got {}", other.event_type()),
            };
            (e.dedup_key, what)
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("slack.command:T1DC2JH3J:praktika-worker:req-0:0".to_owned(), format!("/praktika subscribe {ALICE}")),
            ("slack.command:T1DC2JH3J:praktika-worker:req-1:0".to_owned(), "/praktika unsubscribe".to_owned()),
            (
                "slack.interaction:T1DC2JH3J:praktika-worker:req-2:0".to_owned(),
                "BlockActions { action_id: \"toggle_notify_on_failure\"".to_owned()
            ),
        ]
    );

    let written = stack.drain(&stack.names.queue("feed-projector"), 2).await;
    let mut keys: Vec<(String, LearnedFrom)> = written.iter().map(feed_written).map(|w| (w.key, w.learned_from)).collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        keys,
        [
            ("events/alice_at_clickhouse.com.json.gz".to_owned(), LearnedFrom::WorkerUpdate),
            ("events/bob_plus_ci_at_users.noreply.github.com.json.gz".to_owned(), LearnedFrom::WorkerUpdate),
        ]
    );
}

#[tokio::test]
async fn one_praktika_write_arrives_both_ways_and_is_one_announcement() {
    let stack = Stack::deploy_with_s3_notifications().await;
    let run = workflow(&example("completed-pr-failed-job"));
    stack.set_now(run.timestamp + 60);
    let etag = praktika_writes(&stack, ALICE, json!([serde_json::to_value(&run).unwrap()])).await;
    compat(&stack).handle(&json!({"action": "update", "emails": [ALICE]}), "req-update").await.expect("update");

    // Both paths reached the feed-projector's queue: S3's notification and the worker's update.
    let queue = stack.work_queue().await;
    let arrived = stack.drain(&stack.names.queue("feed-projector"), 2).await;
    let mut ways: Vec<FeedWritten> = arrived.iter().map(feed_written).collect();
    ways.sort_by_key(|w| w.learned_from.as_str());
    assert_eq!(ways.len(), 2, "{ways:?}");
    assert_eq!((ways[0].learned_from, ways[1].learned_from), (LearnedFrom::S3Notification, LearnedFrom::WorkerUpdate));
    assert_eq!(ways[0].key, ways[1].key);
    assert_eq!(ways[0].etag.as_deref(), Some(etag.as_str()), "the notification names the version written");
    assert_eq!(ways[1].email.as_ref().map(|e| e.as_str()), Some(ALICE));
    for m in &arrived {
        queue.send(&m.body, &[]).await.unwrap();
    }

    let stats = stack.project(&stack.projector(), &fast_poller(), 2, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "{stats:?}");

    for consumer in ["home-renderer", "notifier"] {
        let announced = updates(&stack.drain(&stack.names.queue(consumer), 2).await);
        assert_eq!(announced.len(), 2, "{consumer}: one per path");
        let (key_a, a) = &announced[0];
        let (key_b, b) = &announced[1];
        assert_eq!(a.newest_event, b.newest_event, "{consumer}: the same run either way");
        assert_eq!(key_a, key_b, "{consumer}: the same object version, the same dedup key, so consumers act once");
        assert_eq!(key_a, &format!("feed.updated:{ALICE}:external:{etag}"));
        assert_eq!(a.newest_event.sha, run.sha);
        assert_eq!((a.changes.as_slice(), a.event_count, a.email.as_str()), (&[FeedChange::ExternalWrite][..], 1, ALICE));
    }
    // Pulse only read praktika's object: it is still praktika's, unmarked.
    let head =
        pulse_aws::config::s3_client(&stack.config).head_object().bucket(stack.names.feed_bucket()).key(&ways[0].key).send().await.unwrap();
    assert_eq!(head.e_tag().map(|e| e.trim_matches('"')), Some(etag.as_str()));
    assert!(head.metadata().is_none_or(|m| !m.contains_key("pulse-writer")), "{:?}", head.metadata());
}

#[tokio::test]
async fn pulses_own_writes_are_not_announced_again() {
    let stack = Stack::deploy_with_s3_notifications().await;
    let event = example("completed-pr-failed-job");
    stack.set_now(workflow(&event).timestamp + 60);
    stack.publish(std::slice::from_ref(&event)).await;

    // The ci.workflow event, then S3's notification of each of the two feeds Pulse wrote.
    let stats = stack.project(&stack.projector(), &fast_poller(), 3, Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (3, 0), "{stats:?}");

    let key = FeedLocation::own_bucket(stack.names.feed_bucket()).key(ALICE);
    let head = pulse_aws::config::s3_client(&stack.config).head_object().bucket(stack.names.feed_bucket()).key(&key).send().await.unwrap();
    assert_eq!(head.metadata().and_then(|m| m.get("pulse-writer")).map(String::as_str), Some("feed-projector"));

    let announced = updates(&stack.drain(&stack.names.queue("notifier"), 2).await);
    assert_eq!(announced.len(), 2, "one feed.updated per author, none for the notifications: {announced:?}");
    assert!(announced.iter().all(|(_, u)| !u.has(FeedChange::ExternalWrite)), "{announced:?}");
}
