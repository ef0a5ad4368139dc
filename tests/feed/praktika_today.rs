//! The praktika CI runs today, end to end on the emulator: its events (every status, any case)
//! are projected, the stored object is what praktika's `EventFeed.from_s3` reads with every
//! event intact, and an event without commit authors is accepted and projected nowhere.

use std::collections::BTreeSet;
use std::io::Read;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{Stack, example, fast_poller, workflow};
use crate::logs;

const DANA: &str = "dana@clickhouse.com";
/// praktika's `Event` dataclass fields: `Event(**e)` raises on any other top-level key.
const EVENT_FIELDS: [&str; 7] = ["type", "timestamp", "sha", "result", "ci_status", "ext", "linked_events"];

/// What praktika's `EventFeed.from_s3` does with an object: `gzip.decompress`, `json.loads`,
/// then `Event(**e)` for each event. Returns the events, or why praktika would discard the feed.
fn praktika_reads(object: &[u8]) -> Result<Vec<Value>, String> {
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(object).read_to_end(&mut text).map_err(|e| format!("gzip: {e}"))?;
    let feed: Value = serde_json::from_slice(&text).map_err(|e| format!("json: {e}"))?;
    let events = feed["events"].as_array().ok_or("no events list")?.clone();
    for e in &events {
        let keys: BTreeSet<&str> = e.as_object().ok_or("an event is not an object")?.keys().map(String::as_str).collect();
        let allowed: BTreeSet<&str> = EVENT_FIELDS.into_iter().collect();
        let required: BTreeSet<&str> = EVENT_FIELDS[..6].iter().copied().collect();
        if !keys.is_subset(&allowed) || !required.is_subset(&keys) {
            return Err(format!("Event(**e) fails on keys {keys:?}"));
        }
    }
    Ok(events)
}

async fn object(stack: &Stack, email: &str) -> Vec<u8> {
    let key = pulse_contracts::feed_layout::FeedLocation::own_bucket(stack.names.feed_bucket()).key(email);
    let got = pulse_aws::config::s3_client(&stack.config)
        .get_object()
        .bucket(stack.names.feed_bucket())
        .key(key)
        .send()
        .await
        .expect("the feed object exists");
    got.body.collect().await.expect("read body").into_bytes().to_vec()
}

#[tokio::test]
async fn todays_events_are_projected_with_their_statuses_and_praktika_reads_the_object_whole() {
    let stack = Stack::deploy().await;
    let running = example("running-today");
    let completed = example("completed-today-every-status");
    stack.set_now(workflow(&completed).timestamp + 60);
    // A top-level key praktika's Event does not have, as a newer producer might send.
    let mut with_unknown_key = completed.to_raw();
    with_unknown_key.detail["produced_by"] = Value::String("a newer praktika".into());
    stack.publisher().publish(&[running.to_raw(), with_unknown_key]).await.expect("publish");

    let (captured, _guard) = logs::capture();
    let stats = stack.project(&stack.projector(), &fast_poller(), 2, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "{stats:?}");

    let events = praktika_reads(&object(&stack, DANA).await).expect("praktika reads Pulse's object");
    assert_eq!(events.len(), 1, "the completed run replaced the running one: {events:?}");
    let stored = &events[0];
    assert_eq!(stored["ci_status"], "FAIL");
    let statuses: Vec<&str> = stored["result"]["results"].as_array().unwrap().iter().map(|j| j["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["OK", "FAIL", "ERROR", "XFAIL", "XPASS", "DROPPED", "SKIPPED", "UNKNOWN", ""], "stored exactly as received");
    assert!(stored.get("produced_by").is_none(), "an unknown top-level key is not written");
    assert!(captured.text().contains("top-level keys praktika's Event does not have are not stored"), "the dropped key is logged");
    // And Pulse reads its own object back, whole.
    let feed = stack.feed(DANA).await.expect("feed");
    assert_eq!(feed.events[0].failing_job_names(), ["Fast test", "Build (amd_debug)"]);
}

#[tokio::test]
async fn an_event_without_commit_authors_is_accepted_and_projected_nowhere() {
    let stack = Stack::deploy().await;
    let event = example("no-commit-authors");
    stack.set_now(workflow(&event).timestamp + 60);
    stack.publish(std::slice::from_ref(&event)).await;

    let (captured, _guard) = logs::capture();
    let stats = stack.project(&stack.projector(), &fast_poller(), 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "accepted, not dead-lettered: {stats:?}");
    assert!(captured.text().contains("has no commit_authors: accepted and projected into no feed"), "it says so in the log");
    let listed =
        pulse_aws::config::s3_client(&stack.config).list_objects_v2().bucket(stack.names.feed_bucket()).send().await.expect("list");
    assert_eq!(listed.key_count(), Some(0), "no feed was written");
    let announced = stack.drain(&stack.names.queue("notifier"), 0).await;
    assert!(announced.is_empty(), "nothing announced: {announced:?}");
}

/// An S3 interceptor that, just before the projector's first `PutObject` of `key`, lets
/// "praktika" update the same feed: the write lands between Pulse's read and Pulse's write.
#[derive(Clone)]
struct PraktikaWritesFirst {
    key: String,
    fired: std::sync::Arc<std::sync::atomic::AtomicBool>,
    write: std::sync::Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for PraktikaWritesFirst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PraktikaWritesFirst")
    }
}

impl aws_sdk_s3::config::Intercept for PraktikaWritesFirst {
    fn name(&self) -> &'static str {
        "praktika-writes-first"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let request = context.request();
        if request.method() == "PUT" && request.uri().contains(&self.key) && !self.fired.swap(true, std::sync::atomic::Ordering::SeqCst) {
            (self.write)();
        }
        Ok(())
    }
}

/// praktika's `EventFeed.update`: read with the ETag, add, `gzip.compress` (level 9), write
/// with `If-Match`. Runs on its own thread and runtime, since an interceptor cannot await.
fn praktika_update(config: aws_config::SdkConfig, bucket: String, key: String, event: Value) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let s3 = pulse_aws::config::s3_client(&config);
            let got = s3.get_object().bucket(&bucket).key(&key).send().await.expect("praktika reads the feed");
            let etag = got.e_tag().map(str::to_owned);
            let bytes = got.body.collect().await.unwrap().into_bytes();
            let mut text = Vec::new();
            flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut text).unwrap();
            let mut feed: Value = serde_json::from_slice(&text).unwrap();
            feed["events"].as_array_mut().unwrap().insert(0, event);
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            std::io::Write::write_all(&mut gz, &serde_json::to_vec(&feed).unwrap()).unwrap();
            s3.put_object()
                .bucket(&bucket)
                .key(&key)
                .set_if_match(etag)
                .content_encoding("gzip")
                .body(gz.finish().unwrap().into())
                .send()
                .await
                .expect("praktika's conditional write");
        });
    })
    .join()
    .expect("praktika's writer thread");
}

#[tokio::test]
async fn a_praktika_write_between_pulses_read_and_write_loses_nothing() {
    let stack = Stack::deploy().await;
    let running = example("running-today");
    stack.set_now(workflow(&running).timestamp + 60);
    stack.publish(std::slice::from_ref(&running)).await;
    let stats = stack.project(&stack.projector(), &fast_poller(), 1, Duration::from_secs(20)).await;
    assert_eq!(stats.done, 1, "{stats:?}");

    // praktika's run of another PR, as its runner writes it (no pr_status: `add` sets it).
    let mut theirs = serde_json::to_value(workflow(&example("completed-today-every-status"))).unwrap();
    theirs["ext"]["pr_number"] = 77_001.into();
    theirs["sha"] = "feedfacefeedfacefeedfacefeedfacefeedface".into();
    let key = pulse_contracts::feed_layout::FeedLocation::own_bucket(stack.names.feed_bucket()).key(DANA);
    let fired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let interceptor = PraktikaWritesFirst {
        key: key.clone(),
        fired: fired.clone(),
        write: {
            let (config, bucket, key) = (stack.config.clone(), stack.names.feed_bucket(), key.clone());
            std::sync::Arc::new(move || praktika_update(config.clone(), bucket.clone(), key.clone(), theirs.clone()))
        },
    };
    let s3 =
        aws_sdk_s3::Client::from_conf(pulse_aws::config::s3_client(&stack.config).config().to_builder().interceptor(interceptor).build());

    // Pulse's next event for the same author: its first write meets praktika's and retries.
    let mut ours = example("merge-result");
    if let pulse_contracts::Event::CiWorkflowV1(e) = &mut ours.detail {
        e.ext.commit_authors = vec![DANA.into()];
        e.timestamp = workflow(&running).timestamp + 30;
    }
    stack.publish(std::slice::from_ref(&ours)).await;
    let projector = stack.projector_with_s3(s3, stack.names.feed_bucket());
    let stats = stack.project(&projector, &fast_poller(), 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    assert!(fired.load(std::sync::atomic::Ordering::SeqCst), "praktika's write happened in between");

    let events = praktika_reads(&object(&stack, DANA).await).expect("praktika reads the result");
    let prs: BTreeSet<u64> = events.iter().map(|e| e["ext"]["pr_number"].as_u64().unwrap()).collect();
    assert_eq!(prs, [0, 77_001, 91_301].into_iter().collect(), "Pulse's two runs and praktika's: {events:?}");
}
