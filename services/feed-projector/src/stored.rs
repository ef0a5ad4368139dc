//! A feed as stored in S3, kept in memory between updates so that merging one event does not
//! re-parse and re-compress the whole feed.
//!
//! praktika stores a feed as one gzip JSON document. RFC 1952 lets a gzip file be a series of
//! members whose decompressed bytes concatenate (Python's `gzip.decompress`, which praktika
//! reads with, and every `MultiGzDecoder` handle that), so Pulse writes
//! `{"events":[` · event₀ · `,`event₁ · … · `]}` with each event in its own member. Merging an
//! event into a 500-event feed then recompresses only the events the merge touched and copies
//! the rest as compressed bytes. The stored document is byte-for-byte the same JSON praktika
//! would read; only the compression framing differs (and the object is somewhat larger, since
//! events are compressed separately).
//!
//! What may be reused relies on the merge's contract: besides inserting the incoming event, a
//! merge only changes stored events' `ci_status`, `ext.is_cancelled` (stale runs) and
//! `ext.pr_status` (merged PRs), removes events, and reorders them. Each cached member is
//! therefore keyed by the event's identity and tagged with those three fields.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, LazyLock};

use flate2::Compression;
use flate2::write::GzEncoder;
use pulse_contracts::codec::{CodecError, decode_gzip_json};
use pulse_contracts::praktika::{EventFeed, EventKind, FeedEvent, PrStatus, Status};

use crate::merge::{Change, MergeOutcome, Rules, merge_with};

static HEADER: LazyLock<Vec<u8>> = LazyLock::new(|| member(br#"{"events":["#));
static FOOTER: LazyLock<Vec<u8>> = LazyLock::new(|| member(b"]}"));

/// Which stored event a cached member belongs to (unique within a feed: one per slot).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Identity {
    repo: String,
    pr_number: u64,
    sha: String,
    timestamp: i64,
    kind: EventKind,
}

/// The fields a merge may change in a stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mutable {
    ci_status: Status,
    pr_status: Option<PrStatus>,
    is_cancelled: bool,
}

#[derive(Debug, Clone)]
struct Member {
    mutable: Mutable,
    /// `,` + the event's JSON, as one gzip member.
    bytes: Arc<[u8]>,
}

/// A parsed feed plus the compressed member of each event (where known).
#[derive(Debug, Clone, Default)]
pub struct StoredFeed {
    feed: EventFeed,
    members: HashMap<Identity, Member>,
}

impl StoredFeed {
    /// Parse a stored object (one gzip member or many; plain JSON too).
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        Ok(Self { feed: decode_gzip_json(bytes)?, members: HashMap::new() })
    }

    pub fn feed(&self) -> &EventFeed {
        &self.feed
    }

    pub fn into_feed(self) -> EventFeed {
        self.feed
    }

    /// Merge `incoming` (see [`crate::merge`]) and forget the members it invalidated.
    pub fn merge(&mut self, incoming: FeedEvent, now: i64, rules: Rules) -> MergeOutcome {
        let incoming_identity = identity(&incoming);
        let outcome = merge_with(&mut self.feed, incoming, now, rules);
        let inserted = outcome.changes.iter().any(|c| matches!(c, Change::NewEvent | Change::Replaced { .. }));
        if inserted {
            // Same identity, new content (e.g. a rerun reported at the same second).
            self.members.remove(&incoming_identity);
        }
        if outcome.changes.iter().any(|c| matches!(c, Change::Compacted { .. })) {
            // Compaction rewrote stored results: no cached member is known to match.
            self.members.clear();
        }
        outcome
    }

    /// The whole feed as a gzip file, recompressing only events without a valid member.
    pub fn encode(&mut self) -> Result<Vec<u8>, CodecError> {
        let mut live = HashMap::with_capacity(self.feed.events.len());
        let mut out = Vec::with_capacity(self.members.values().map(|m| m.bytes.len()).sum::<usize>() + 4096);
        out.extend_from_slice(&HEADER);
        for (position, event) in self.feed.events.iter().enumerate() {
            let id = identity(event);
            let mutable = mutable(event);
            let cached = self.members.remove(&id).filter(|m| m.mutable == mutable);
            let entry = match cached {
                Some(entry) => entry,
                None => Member { mutable, bytes: event_member(event)?.into() },
            };
            if position == 0 {
                // The first event has no leading comma: compress it without (one event per write).
                let json = serde_json::to_vec(event).map_err(CodecError::Serialize)?;
                out.extend_from_slice(&member(&json));
            } else {
                out.extend_from_slice(&entry.bytes);
            }
            live.insert(id, entry);
        }
        out.extend_from_slice(&FOOTER);
        // Members of events the merge removed are dropped here.
        self.members = live;
        Ok(out)
    }
}

fn identity(e: &FeedEvent) -> Identity {
    Identity {
        repo: e.ext.repo_name.clone(),
        pr_number: e.ext.pr_number,
        sha: e.sha.clone(),
        timestamp: e.timestamp,
        kind: e.kind.clone(),
    }
}

fn mutable(e: &FeedEvent) -> Mutable {
    Mutable { ci_status: e.ci_status.clone(), pr_status: e.ext.pr_status, is_cancelled: e.ext.is_cancelled }
}

fn event_member(event: &FeedEvent) -> Result<Vec<u8>, CodecError> {
    let mut json = Vec::with_capacity(8192);
    json.push(b',');
    serde_json::to_writer(&mut json, event).map_err(CodecError::Serialize)?;
    Ok(member(&json))
}

fn member(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 3 + 32), Compression::fast());
    encoder.write_all(bytes).expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn event(pr: u64, sha: &str, ts: i64, status: &str, parent: u64) -> FeedEvent {
        serde_json::from_value(json!({
            "type": if status == "running" { "running" } else { "completed" },
            "timestamp": ts, "sha": sha, "ci_status": status,
            "result": {"name": "PR", "status": status, "results": [{"name": "Build", "status": status}]},
            "ext": {"pr_number": pr, "parent_pr_number": parent, "repo_name": "org/repo",
                    "pr_title": format!("PR {pr}"), "commit_authors": ["a@x.io"]},
        }))
        .unwrap()
    }

    fn decoded(bytes: &[u8]) -> Value {
        decode_gzip_json(bytes).unwrap()
    }

    const NOW: i64 = 1_800_000_000;

    /// Whatever sequence of merges, the incremental encoding decodes to exactly the JSON a full
    /// encoding of the same feed gives.
    #[test]
    fn incremental_encoding_always_equals_a_full_encoding() {
        let mut stored = StoredFeed::default();
        let steps = vec![
            event(1, "a1", NOW - 100_000, "running", 0),
            event(2, "b1", NOW - 90_000, "success", 0),
            event(3, "c1", NOW - 80_000, "failure", 1),
            event(1, "a2", NOW - 70_000, "success", 0), // replaces PR 1
            event(4, "d1", NOW - 50_000, "running", 0), // goes stale at NOW
            event(0, "m1", NOW - 40_000, "success", 2), // merge result marks PR 2 merged
            event(5, "e1", NOW - 200 * 86_400, "success", 0), // beyond retention: trimmed
            event(2, "b1", NOW - 90_000, "success", 0), // older than what is stored now: no change
        ];
        for (i, e) in steps.into_iter().enumerate() {
            stored.merge(e, NOW);
            let incremental = stored.encode().unwrap();
            let full = pulse_contracts::codec::encode_gzip_json(stored.feed()).unwrap();
            assert_eq!(decoded(&incremental), decoded(&full), "after step {i}");
            // And a cold reader (praktika's gzip.decompress, our decoder) sees the same feed.
            let reread = StoredFeed::decode(&incremental).unwrap();
            assert_eq!(reread.feed(), stored.feed(), "after step {i}");
        }
        let feed = stored.feed();
        assert!(feed.events.iter().any(|e| e.ext.pr_number == 2 && e.ext.pr_status == Some(PrStatus::Merged)));
        assert!(feed.events.iter().any(|e| e.ext.pr_number == 4 && e.ext.is_cancelled));
        assert!(!feed.events.iter().any(|e| e.ext.pr_number == 5));
    }

    #[test]
    fn a_rerun_at_the_same_second_is_re_encoded_not_served_from_cache() {
        let mut stored = StoredFeed::default();
        stored.merge(event(1, "a", NOW - 10, "running", 0), NOW);
        stored.merge(event(2, "b", NOW - 5, "success", 0), NOW);
        stored.encode().unwrap();
        let mut rerun = event(1, "a", NOW - 10, "running", 0);
        rerun.result.results[0].name = "Build (rerun)".into();
        stored.merge(rerun, NOW);
        let text = decoded(&stored.encode().unwrap()).to_string();
        assert!(text.contains("Build (rerun)"), "{text}");
    }

    #[test]
    fn unchanged_events_keep_their_compressed_bytes() {
        let mut stored = StoredFeed::default();
        for i in 0..10 {
            stored.merge(event(i + 1, &format!("s{i}"), NOW - 1000 + i as i64, "success", 0), NOW);
        }
        stored.encode().unwrap();
        let before: HashMap<Identity, Arc<[u8]>> = stored.members.iter().map(|(k, m)| (k.clone(), m.bytes.clone())).collect();
        stored.merge(event(99, "new", NOW, "success", 0), NOW);
        stored.encode().unwrap();
        let reused = stored.members.iter().filter(|(k, m)| before.get(*k).is_some_and(|b| Arc::ptr_eq(b, &m.bytes))).count();
        assert_eq!(reused, 10, "the ten untouched events must not be recompressed");
    }
}
