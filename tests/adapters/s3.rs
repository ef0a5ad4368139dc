//! GzipJsonStore against the emulator's S3.

use std::collections::BTreeSet;

use pulse_aws::s3json::{GzipJsonStore, Precondition, S3JsonError, decode_gzip_json, default_update_backoff};
use pulse_tests::{emulator_config, unique};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::common::init_tracing;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Feed {
    events: Vec<serde_json::Value>,
}

async fn store() -> GzipJsonStore {
    init_tracing();
    let config = emulator_config().await;
    let client = pulse_aws::config::s3_client(&config);
    let bucket = unique("feeds");
    client.create_bucket().bucket(&bucket).send().await.expect("create bucket");
    GzipJsonStore::new(client, bucket)
}

#[tokio::test]
async fn put_and_get_round_trip_as_gzip_json() {
    let store = store().await;
    let key = "prefix/events/dev_at_example.com.json.gz";
    assert!(store.get::<Feed>(key).await.unwrap().is_none());

    let feed = Feed { events: vec![json!({"sha": "abc", "ci_status": "success", "text": "ünïcode"})] };
    let etag = store.put(key, &feed, Precondition::None).await.unwrap();
    assert!(!etag.is_empty());

    let read = store.get::<Feed>(key).await.unwrap().expect("object");
    assert_eq!(read.value, feed);
    assert_eq!(read.etag, etag);

    // As stored: gzip bytes, with the headers praktika uses.
    let raw = store.client().get_object().bucket(store.bucket()).key(key).send().await.unwrap();
    assert_eq!(raw.content_encoding(), Some("gzip"));
    assert_eq!(raw.content_type(), Some("application/json"));
    let bytes = raw.body.collect().await.unwrap().into_bytes();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "stored bytes are gzip");
    assert_eq!(decode_gzip_json::<Feed>(&bytes).unwrap(), feed);
}

#[tokio::test]
async fn if_match_with_a_stale_etag_conflicts() {
    let store = store().await;
    let key = "feed.json.gz";
    let etag1 = store.put(key, &json!({"v": 1}), Precondition::IfNoneMatch).await.unwrap();
    let etag2 = store.put(key, &json!({"v": 2}), Precondition::IfMatch(etag1.clone())).await.unwrap();
    assert_ne!(etag1, etag2);
    let err = store.put(key, &json!({"v": 3}), Precondition::IfMatch(etag1)).await.expect_err("stale");
    assert!(matches!(err, S3JsonError::Conflict { .. }), "{err}");
    assert!(err.is_conflict());
    assert!(err.to_string().contains(key) && err.to_string().contains(store.bucket()), "{err}");
    let read = store.get::<serde_json::Value>(key).await.unwrap().unwrap();
    assert_eq!(read.value, json!({"v": 2}));
    assert_eq!(read.etag, etag2);
}

#[tokio::test]
async fn if_none_match_on_an_existing_key_conflicts() {
    let store = store().await;
    store.put("k", &json!([1]), Precondition::IfNoneMatch).await.unwrap();
    let err = store.put("k", &json!([2]), Precondition::IfNoneMatch).await.expect_err("exists");
    assert!(matches!(err, S3JsonError::Conflict { .. }), "{err}");
    assert_eq!(store.get::<Vec<u32>>("k").await.unwrap().unwrap().value, vec![1]);
}

#[tokio::test]
async fn reading_a_wrong_shape_names_the_object() {
    let store = store().await;
    store.put("shape", &json!({"events": "nope"}), Precondition::None).await.unwrap();
    let err = store.get::<Feed>("shape").await.expect_err("wrong shape");
    assert!(matches!(err, S3JsonError::Object { .. }), "{err}");
    assert!(err.to_string().contains("shape"), "{err}");
}

#[tokio::test]
async fn update_without_change_writes_nothing() {
    let store = store().await;
    let outcome = store
        .update::<Feed, _>("absent", &default_update_backoff(), |current| {
            assert!(current.is_none());
            None
        })
        .await
        .unwrap();
    assert!(!outcome.written && outcome.value.is_none() && outcome.etag.is_none());
    assert_eq!(outcome.attempts, 1);
    assert!(store.get::<Feed>("absent").await.unwrap().is_none());
}

/// One round of 20 concurrent appends to one key. Returns the stored list and, per writer, the
/// list its successful write was computed from.
async fn concurrent_appends(store: &GzipJsonStore, key: &str) -> (Vec<String>, Vec<Vec<String>>, u32) {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let key = key.to_owned();
            tokio::spawn(async move {
                let mut based_on = Vec::new();
                let outcome = store
                    .update::<Vec<String>, _>(&key, &default_update_backoff(), |current| {
                        let mut items = current.unwrap_or_default();
                        based_on = items.clone();
                        items.push(format!("item-{i}"));
                        Some(items)
                    })
                    .await
                    .expect("update");
                assert!(outcome.written);
                assert_eq!(outcome.value.as_ref().map(Vec::len), Some(based_on.len() + 1));
                (outcome.attempts, based_on)
            })
        })
        .collect();
    let mut attempts = 0;
    let mut bases = Vec::new();
    for joined in futures::future::join_all(tasks).await {
        let (n, based_on) = joined.unwrap();
        attempts += n;
        bases.push(based_on);
    }
    let stored = store.get::<Vec<String>>(key).await.unwrap().unwrap().value;
    (stored, bases, attempts)
}

/// 20 writers append to one key concurrently; every item must survive.
///
/// With atomic conditional writes the successful writes form one chain, each computed from a
/// different version (0, 1, ..., 19 items). moto checks `If-Match` and stores the object in two
/// steps on a threaded server, so under load it occasionally accepts two writes against the same
/// version and one item is lost. Only that signature (one or two writes sharing a base version,
/// no more items missing than that) repeats the round, at most three times; anything else fails
/// at once, and an update that dropped its precondition would share bases in every round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_lose_nothing() {
    let store = store().await;
    for round in 0..3 {
        let key = format!("events/hot-{round}_at_example.com.json.gz");
        let (stored, bases, attempts) = concurrent_appends(&store, &key).await;
        let distinct: BTreeSet<&String> = stored.iter().collect();
        let mut base_lengths: Vec<usize> = bases.iter().map(Vec::len).collect();
        base_lengths.sort_unstable();
        let chain = (0..20).collect::<Vec<usize>>();
        if stored.len() == 20 && distinct.len() == 20 && base_lengths == chain {
            assert!(attempts >= 20);
            eprintln!("20 concurrent updates took {attempts} read-modify-write attempts");
            return;
        }
        let distinct_bases: BTreeSet<&Vec<String>> = bases.iter().collect();
        let shared_bases = 20 - distinct_bases.len();
        let missing = 20 - distinct.len();
        assert!(
            (1..=2).contains(&shared_bases) && missing <= shared_bases && stored.len() == distinct.len(),
            "round {round}: lost or duplicated updates: stored {stored:?}; \
             the successful writes were based on versions with {base_lengths:?} items"
        );
        eprintln!(
            "round {round}: the emulator accepted {shared_bases} conditional write(s) against a version \
             already replaced ({missing} item(s) lost); repeating the round"
        );
    }
    panic!("the emulator lost conditional-write races in three rounds out of three");
}

/// A write that lands but is reported as a conflict (its response was lost and the SDK's retry
/// failed the precondition) is recognized on the next read instead of applying `f` again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_recognizes_its_own_landed_write() {
    let store = store().await;
    let key = "landed";
    store.put(key, &vec!["a".to_owned()], Precondition::None).await.unwrap();
    let mut calls = 0;
    let writer = store.clone();
    let outcome = store
        .update::<Vec<String>, _>(key, &default_update_backoff(), |current| {
            calls += 1;
            let mut items = current.unwrap_or_default();
            items.push("b".to_owned());
            if calls == 1 {
                // Simulate the lost response: the very bytes this attempt will write land first.
                let handle = tokio::runtime::Handle::current();
                tokio::task::block_in_place(|| handle.block_on(writer.put(key, &items, Precondition::None))).unwrap();
            }
            Some(items)
        })
        .await
        .unwrap();
    assert_eq!(calls, 1, "f is not applied on top of its own write");
    assert!(outcome.written);
    assert_eq!(outcome.value, Some(vec!["a".to_owned(), "b".to_owned()]));
    let stored = store.get::<Vec<String>>(key).await.unwrap().unwrap();
    assert_eq!(stored.value, vec!["a".to_owned(), "b".to_owned()]);
    assert_eq!(outcome.etag, Some(stored.etag));
}

#[tokio::test]
async fn fetch_skips_an_unchanged_object() {
    use pulse_aws::s3json::{RawObject, encode_gzip_json};
    let store = store().await;
    assert_eq!(store.fetch("nothing", None).await.unwrap(), RawObject::Missing);
    assert_eq!(store.fetch("nothing", Some("\"abc\"")).await.unwrap(), RawObject::Missing);

    let bytes = encode_gzip_json(&json!({"events": [1]})).unwrap();
    let etag = store.put_raw("cached", bytes.clone(), Precondition::IfNoneMatch).await.unwrap();
    assert_eq!(store.fetch("cached", None).await.unwrap(), RawObject::Found { bytes: bytes.clone(), etag: etag.clone() });
    assert_eq!(store.fetch("cached", Some(&etag)).await.unwrap(), RawObject::NotModified);

    let newer = store.put("cached", &json!({"events": [1, 2]}), Precondition::IfMatch(etag.clone())).await.unwrap();
    match store.fetch("cached", Some(&etag)).await.unwrap() {
        RawObject::Found { bytes, etag } => {
            assert_eq!(etag, newer);
            assert_eq!(decode_gzip_json::<serde_json::Value>(&bytes).unwrap(), json!({"events": [1, 2]}));
        }
        other => panic!("expected the newer object, got {other:?}"),
    }
    let err = store.put_raw("cached", bytes, Precondition::IfMatch(etag)).await.expect_err("stale");
    assert!(err.is_conflict(), "{err}");
}
