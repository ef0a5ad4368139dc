//! The stored layout against the feed model: incremental writes equal full writes, cold readers
//! reuse what they read, and whatever praktika can write comes back in praktika's shape. Plus
//! the retention property against a transliteration of praktika's `EventFeed.add`.

use std::collections::BTreeSet;

use proptest::prelude::*;
use pulse_contracts::codec::{decode_gzip_json, encode_gzip_json};
use pulse_contracts::praktika::{EventFeed, FeedEvent};
use serde_json::{Value, json};

use super::*;

#[path = "../../testdata/corpus.rs"]
mod corpus;

const NOW: i64 = corpus::NOW;
const PRAKTIKA_KEYS: [&str; 7] = ["type", "timestamp", "sha", "result", "ci_status", "ext", "linked_events"];

fn parse(v: Value) -> FeedEvent {
    serde_json::from_value(v).expect("a corpus event parses")
}

fn decoded(bytes: &[u8]) -> Value {
    decode_gzip_json(bytes).unwrap()
}

/// A fresh, cacheless encoding of the same feed.
fn full(feed: &EventFeed) -> Value {
    decoded(&encode_gzip_json(feed).unwrap())
}

#[test]
fn a_corpus_feed_round_trips_and_a_warm_write_reuses_almost_everything() {
    let feed = corpus::feed(corpus::Shape { events: 200, jobs: 20, days: 29 }, 7);
    let bytes = encode_gzip_json(&feed).unwrap();
    let mut stored = StoredFeed::decode(&bytes).unwrap();
    assert_eq!(serde_json::to_value(stored.feed()).unwrap(), feed, "praktika's object reads as it is");
    assert_eq!(stored.reusable_segments(), 0, "praktika's object has no segment index");
    let next = parse(corpus::next_run_of(&feed, 40, 1));
    stored.merge(next.clone(), NOW + 120, Rules::default());
    let (first, cold) = stored.encode_with_stats().unwrap();
    assert_eq!(cold.reused, 0);
    assert_eq!(decoded(&first), full(stored.feed()));

    // A cold worker reading Pulse's object reuses its segments.
    let mut reread = StoredFeed::decode(&first).unwrap();
    assert_eq!(reread.reusable_segments(), cold.compressed);
    let another = parse(corpus::next_run_of(&feed, 90, 2));
    reread.merge(another, NOW + 180, Rules::default());
    let (second, warm) = reread.encode_with_stats().unwrap();
    assert_eq!(decoded(&second), full(reread.feed()));
    assert!(warm.compressed <= 4, "a replacement touches the head and the replaced event's segment: {warm:?}");
}

#[test]
fn a_rerun_at_the_same_second_is_re_encoded_not_served_from_cache() {
    let feed = corpus::feed(corpus::Shape { events: 30, jobs: 5, days: 2 }, 3);
    let mut stored = StoredFeed::decode(&encode_gzip_json(&feed).unwrap()).unwrap();
    stored.encode().unwrap();
    let mut rerun: FeedEvent = serde_json::from_value(feed["events"][10].clone()).unwrap();
    rerun.result.results.as_mut().unwrap()[0].name = "Build (rerun)".into();
    rerun.timestamp += 1;
    stored.merge(rerun.clone(), NOW, Rules::default());
    let mut same_second = rerun.clone();
    same_second.result.results.as_mut().unwrap()[1].name = "Tests (rerun)".into();
    stored.encode().unwrap();
    stored.merge(same_second, NOW, Rules::default());
    let text = decoded(&stored.encode().unwrap()).to_string();
    assert!(text.contains("Tests (rerun)"), "{text}");
}

/// A status as any praktika may write it.
fn status() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "OK", "FAIL", "ERROR", "SKIPPED", "UNKNOWN", "XFAIL", "XPASS", "PENDING", "RUNNING", "DROPPED", "success", "failure", "error",
            "skipped", "dropped", "pending", "running", "", "Running", "ok",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z_]{0,8}",
    ]
}

/// One event as praktika (any version) may have written it: compacted or not, any status,
/// PR or merge result, nested or not, possibly stale.
fn praktika_event() -> impl Strategy<Value = Value> {
    (
        0u64..6,
        0u64..4,
        0usize..3,
        prop::sample::select(vec!["o/a", "o/b"]),
        -(40 * 86_400i64)..120,
        status(),
        prop::collection::vec(status(), 0..6),
        any::<bool>(),
        0u64..3,
    )
        .prop_map(|(pr, parent, sha, repo, age, ci, jobs, compacted, authors)| {
            let ts = NOW - age;
            let kind = if ci.eq_ignore_ascii_case("running") || ci.eq_ignore_ascii_case("pending") { "running" } else { "completed" };
            let jobs: Vec<Value> = jobs.iter().enumerate().map(|(i, s)| json!({"name": format!("job {i}"), "status": s})).collect();
            let mut e = json!({
                "type": kind, "timestamp": ts, "sha": format!("sha{sha}-{pr}"), "ci_status": ci,
                "result": {"name": "PR", "status": ci, "results": jobs, "ext": {"report_url": "https://r"}},
                "ext": {"pr_number": pr, "parent_pr_number": parent, "linked_pr_number": 0, "repo_name": repo,
                        "pr_title": "t", "branch": if pr == 0 { "master" } else { "b" },
                        "commit_authors": (0..authors).map(|a| format!("a{a}@x.io")).collect::<Vec<_>>(), "is_cancelled": false},
                "linked_events": [],
            });
            if !compacted {
                e = corpus::uncompacted(&e);
            }
            e
        })
}

fn praktika_feed() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(praktika_event(), 0..25)
}

/// Everything about a written event that praktika's reader and compaction require.
fn assert_praktika_shape(written: &Value, received: &[Value]) {
    for e in written["events"].as_array().unwrap() {
        let keys: BTreeSet<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, PRAKTIKA_KEYS.into_iter().collect(), "exactly praktika's Event fields: {e}");
        for key in pulse_contracts::praktika::COMPACTED_AWAY {
            assert!(e["result"].get(key).is_none(), "{key} is compacted away: {e}");
        }
        for job in e["result"]["results"].as_array().into_iter().flatten() {
            let keys: BTreeSet<&str> = job.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, ["name", "status"].into_iter().collect(), "{job}");
        }
        let ext_keys: Vec<&String> = e["result"]["ext"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
        assert!(ext_keys.iter().all(|k| *k == "report_url"), "{e}");
        // Every status is one that was received, or praktika's stale-run FAIL.
        let ci = e["ci_status"].as_str().unwrap();
        let was = received.iter().any(|r| r["ci_status"] == e["ci_status"]);
        assert!(was || (ci == "FAIL" && e["ext"]["is_cancelled"] == true), "{ci:?} was never received");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever praktika can write, Pulse reads, merges and writes back in praktika's shape; and
    /// the incremental encoding, warm or after a cold read, equals a full encoding of the same
    /// feed, compaction included.
    #[test]
    fn whatever_praktika_writes_comes_back_in_its_shape_and_incremental_equals_full(
        stored in praktika_feed(),
        incoming in prop::collection::vec(praktika_event(), 1..8),
        cold_every in 1usize..4,
    ) {
        let object = encode_gzip_json(&json!({"events": stored})).unwrap();
        let mut feed = StoredFeed::decode(&object).unwrap();
        let mut received = stored.clone();
        for (i, e) in incoming.into_iter().enumerate() {
            received.push(e.clone());
            feed.merge(parse(e), NOW + i as i64, Rules::default());
            let bytes = feed.encode().unwrap();
            let written = decoded(&bytes);
            prop_assert_eq!(&written, &full(feed.feed()));
            assert_praktika_shape(&written, &received);
            if i % cold_every == 0 {
                feed = StoredFeed::decode(&bytes).unwrap();
                prop_assert_eq!(&serde_json::to_value(feed.feed()).unwrap(), &written);
            }
        }
    }

    /// For any feed, the set of events Pulse retains contains the set praktika retains.
    #[test]
    fn pulse_retains_everything_praktika_retains(stored in praktika_feed(), incoming in praktika_event()) {
        let now = NOW + 60;
        let mut events: Vec<FeedEvent> = stored.into_iter().map(parse).collect();
        events.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
        let mut incoming = parse(incoming);
        incoming.timestamp = now; // the newest, as a real run is
        let praktika = praktika_model::add(events.clone(), incoming.clone(), now);
        let mut pulse = EventFeed { events };
        crate::merge::merge(&mut pulse, incoming, now);
        let kept: BTreeSet<(String, u64, String)> = pulse.events.iter().map(praktika_model::slot).collect();
        for e in &praktika {
            prop_assert!(kept.contains(&praktika_model::slot(e)), "praktika keeps {:?}, Pulse does not", praktika_model::slot(e));
        }
    }
}

/// praktika's `EventFeed.add` (praktika/event.py, today), transliterated for the property
/// above: replace by slot, then retention by `parent_pr_number` (else `pr_number`) groups.
mod praktika_model {
    use std::collections::HashMap;

    use pulse_contracts::praktika::FeedEvent;

    pub const MAX_TIMELINE_DAYS: i64 = 30;

    /// The slot an event occupies: (repo, PR number, sha for merge results).
    pub fn slot(e: &FeedEvent) -> (String, u64, String) {
        let sha = if e.ext.pr_number == 0 { e.sha.clone() } else { String::new() };
        (e.ext.repo_name.clone(), e.ext.pr_number, sha)
    }

    pub fn add(events: Vec<FeedEvent>, event: FeedEvent, now: i64) -> Vec<FeedEvent> {
        let cutoff = now - MAX_TIMELINE_DAYS * 24 * 60 * 60;
        let mut events: Vec<FeedEvent> = events.into_iter().filter(|e| slot(e) != slot(&event)).collect();
        events.push(event);
        events.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
        let group = |e: &FeedEvent| if e.ext.parent_pr_number > 0 { e.ext.parent_pr_number } else { e.ext.pr_number };
        let mut live: HashMap<u64, bool> = HashMap::new();
        for e in &events {
            *live.entry(group(e)).or_default() |= e.timestamp >= cutoff;
        }
        events.into_iter().filter(|e| live[&group(e)]).collect()
    }
}
