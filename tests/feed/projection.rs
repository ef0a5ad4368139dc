use std::time::Duration;

use pulse_contracts::praktika::PrStatus;
use pulse_contracts::{Event, FeedChange};
use pulse_runtime::poller::{self, PollerOptions, Shutdown};

use crate::harness::{Stack, delivered_envelope, envelope, example, fast_poller, workflow};
use crate::logs;

const ALICE: &str = "alice@clickhouse.com";
const BOB: &str = "bob+ci@users.noreply.github.com";

#[tokio::test]
async fn a_published_result_lands_in_each_authors_feed_and_is_announced() {
    let stack = Stack::deploy().await;
    let event = example("completed-pr-failed-job");
    stack.set_now(workflow(&event).timestamp + 60);
    stack.publish(std::slice::from_ref(&event)).await;

    let (captured, _guard) = logs::capture();
    let stats = stack.project(&stack.projector(), &fast_poller(), 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");

    for email in [ALICE, BOB] {
        let feed = stack.feed(email).await.unwrap_or_else(|| panic!("no feed for {email}"));
        assert_eq!(feed.events.len(), 1);
        let stored = &feed.events[0];
        assert_eq!(stored.ext.pr_number, 91234);
        assert_eq!(stored.ext.pr_status, Some(PrStatus::Open));
        assert_eq!(stored.ci_status.as_str(), "failure");
    }

    // praktika's layout: `events/<sanitised email>.json.gz`, gzip-encoded JSON.
    let s3 = pulse_aws::config::s3_client(&stack.config);
    let head = s3
        .head_object()
        .bucket(stack.names.feed_bucket())
        .key("events/bob_plus_ci_at_users.noreply.github.com.json.gz")
        .send()
        .await
        .expect("praktika-named object exists");
    assert_eq!(head.content_encoding(), Some("gzip"));

    // One feed.updated per author, to both consumers of feed changes.
    for consumer in ["home-renderer", "notifier"] {
        let messages = stack.drain(&stack.names.queue(consumer), 2).await;
        let mut announced: Vec<_> = messages
            .iter()
            .map(|m| match delivered_envelope(m).detail {
                Event::FeedUpdatedV1(u) => u,
                other => panic!("{consumer} got {}", other.event_type()),
            })
            .collect();
        announced.sort_by(|a, b| a.email.cmp(&b.email));
        assert_eq!(announced.len(), 2, "{consumer}: {announced:?}");
        assert_eq!(announced[0].email.as_str(), ALICE);
        assert_eq!(announced[1].email.as_str(), BOB);
        for update in &announced {
            assert!(
                update.has(FeedChange::NewEvent) && update.has(FeedChange::NewFailure) && update.has(FeedChange::Completed),
                "{update:?}"
            );
            assert_eq!(update.newest_event.sha, workflow(&event).sha);
            assert_eq!(update.event_count, 1);
        }
    }

    // Every line logged while handling names the event.
    let lines = captured.lines();
    assert!(!lines.is_empty(), "the projector logged nothing");
    let id = event.id.to_string();
    for line in lines.iter().filter(|l| l["span"]["name"] == "message") {
        assert_eq!(line["span"]["event_id"], id.as_str(), "line without the event id: {line}");
    }
    assert!(lines.iter().any(|l| l["message"] == "feed merged"), "no 'feed merged' line");
}

#[tokio::test]
async fn running_then_completed_then_merge_gives_praktikas_feed() {
    let stack = Stack::deploy().await;
    let running = example("running-pr");
    let completed = example("completed-pr-failed-job");
    let merge = example("merge-result");
    stack.set_now(workflow(&merge).timestamp + 60);
    let projector = stack.projector();
    for event in [&running, &completed, &merge] {
        stack.publish(std::slice::from_ref(event)).await;
        let stats = stack.project(&projector, &fast_poller(), 1, Duration::from_secs(20)).await;
        assert_eq!(stats.done, 1, "{stats:?}");
    }

    let feed = stack.feed(ALICE).await.expect("alice's feed");
    assert_eq!(feed.events.len(), 2, "the completed run replaced the running one: {:#?}", feed.events);
    let newest = &feed.events[0];
    assert_eq!((newest.ext.pr_number, newest.ext.pr_status), (0, Some(PrStatus::Merged)), "newest first: the merge result");
    let pr = &feed.events[1];
    assert_eq!(pr.ext.pr_number, 91234);
    assert_eq!(pr.ci_status.as_str(), "failure", "the completed event replaced the running one");
    assert_eq!(pr.ext.pr_status, Some(PrStatus::Merged), "the merge result marked its parent PR merged");
}

#[tokio::test]
async fn the_same_message_delivered_twice_changes_the_feed_once() {
    let stack = Stack::deploy().await;
    let event = example("running-pr");
    stack.set_now(workflow(&event).timestamp + 60);
    // SQS may deliver one message twice: put the same EventBridge-shaped body on the queue twice.
    let body = pulse_contracts::eventbridge_wrap(&event.to_raw(), "ci").to_string();
    let queue = stack.work_queue().await;
    queue.send(&body, &[]).await.unwrap();
    queue.send(&body, &[]).await.unwrap();

    let stats = stack.project(&stack.projector(), &fast_poller(), 2, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "{stats:?}");

    let feed = stack.feed(ALICE).await.expect("feed");
    assert_eq!(feed.events.len(), 1);
    let announced = stack.drain(&stack.names.queue("notifier"), 1).await;
    assert_eq!(announced.len(), 1, "one change, one announcement");

    let record = pulse_aws::idempotency::IdempotencyStore::new(
        aws_sdk_dynamodb::Client::new(&stack.config),
        stack.names.table("feed-projector", "idempotency"),
        pulse_core::Clock::system(),
    )
    .get(&event.dedup_key)
    .await
    .unwrap()
    .expect("idempotency record");
    assert_eq!(record.status, pulse_aws::idempotency::Status::Completed);
}

#[tokio::test]
async fn twenty_concurrent_updates_to_one_feed_all_land() {
    let stack = Stack::deploy().await;
    let base = workflow(&example("running-pr"));
    stack.set_now(base.timestamp + 3600);
    let events: Vec<_> = (0..20)
        .map(|i| {
            let mut e = base.clone();
            e.ext.pr_number = 50_000 + i;
            e.sha = format!("{:040x}", i + 1);
            e.timestamp = base.timestamp + i as i64;
            envelope(e)
        })
        .collect();
    stack.publish(&events).await;

    // Four receive loops of ten messages each, all merging into one S3 object at once.
    let (shutdown, stop) = Shutdown::new();
    let options = PollerOptions { concurrency: 4, ..fast_poller() };
    let worker = std::sync::Arc::new(pulse_tests::worker(&stack.config, &stack.names, stack.projector()));
    let run = tokio::spawn(poller::run(worker, stack.work_queue().await, options, stop));
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut count = 0;
    while std::time::Instant::now() < deadline {
        count = stack.feed(ALICE).await.map(|f| f.events.len()).unwrap_or(0);
        if count == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    shutdown.trigger();
    let totals = run.await.unwrap().expect("the poller's loops lived");
    assert_eq!(count, 20, "every concurrent update must land (poller: {totals:?})");
    assert_eq!(totals.dead_lettered, 0);
}

#[tokio::test]
async fn a_feed_changed_by_another_writer_is_re_read_not_overwritten_from_the_cached_copy() {
    let stack = Stack::deploy().await;
    let first = example("running-pr");
    stack.set_now(workflow(&first).timestamp + 60);
    let projector = stack.projector();
    stack.publish(std::slice::from_ref(&first)).await;
    assert_eq!(stack.project(&projector, &fast_poller(), 1, Duration::from_secs(20)).await.done, 1);

    // The projector now holds a cached copy. Another writer (say praktika itself) adds an event.
    let store = pulse_aws::s3json::GzipJsonStore::new(pulse_aws::config::s3_client(&stack.config), stack.names.feed_bucket());
    let key = "events/alice_at_clickhouse.com.json.gz";
    let mut feed = stack.feed(ALICE).await.unwrap();
    let mut foreign = feed.events[0].clone();
    foreign.ext.pr_number = 777;
    foreign.sha = "f".repeat(40);
    feed.events.push(foreign);
    let etag = store.put(key, &feed, pulse_aws::s3json::Precondition::None).await.unwrap();
    // The conditional read the projector relies on: current ETag → 304, anything else → bytes.
    assert_eq!(store.fetch(key, Some(&etag)).await.unwrap(), pulse_aws::s3json::RawObject::NotModified);
    assert!(matches!(store.fetch(key, Some("\"stale\"")).await.unwrap(), pulse_aws::s3json::RawObject::Found { .. }));

    let mut second = workflow(&first);
    second.ext.pr_number = 91_300;
    second.timestamp += 10;
    stack.publish(&[envelope(second)]).await;
    assert_eq!(stack.project(&projector, &fast_poller(), 1, Duration::from_secs(20)).await.done, 1);

    let numbers: Vec<u64> = stack.feed(ALICE).await.unwrap().events.iter().map(|e| e.ext.pr_number).collect();
    assert_eq!(numbers.len(), 3, "{numbers:?}");
    for pr in [91_234, 777, 91_300] {
        assert!(numbers.contains(&pr), "PR {pr} missing: {numbers:?}");
    }
}
