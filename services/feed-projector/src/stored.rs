//! A feed as stored in S3, kept in memory between updates so that merging one event neither
//! re-parses nor recompresses the whole feed.
//!
//! The object is written in the segmented layout of [`crate::layout`]: one gzip member whose
//! segments are reused while their events are unchanged. What a merge may change in a stored
//! event is its `ci_status`, `ext.is_cancelled` (stale runs), `ext.pr_status` (merged PRs) and,
//! for older entries, its `result` (compaction, after which nothing is reused); it also inserts,
//! removes and reorders events. So an event's fingerprint is its identity (repo, PR, sha,
//! timestamp, type) plus those three fields, and a replaced event's identity is forgotten
//! outright (a rerun reported at the same second has the same identity and new jobs).

use std::hash::Hasher;
use std::io::Read;

use flate2::read::MultiGzDecoder;
use pulse_contracts::codec::CodecError;
use pulse_contracts::praktika::{EventFeed, FeedEvent};

use crate::layout::{self, EncodeStats, Entry, Segments};
use crate::merge::{Change, MergeOutcome, Rules, merge_with};

/// A parsed feed plus the compressed segments of its last write or read.
#[derive(Debug, Clone, Default)]
pub struct StoredFeed {
    feed: EventFeed,
    segments: Segments,
}

impl StoredFeed {
    /// Parse a stored object: any gzip (one member or many) or plain JSON. Segments of an
    /// object Pulse wrote are kept for reuse.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let gzip = bytes.starts_with(&[0x1f, 0x8b]);
        let mut text = Vec::new();
        if gzip {
            text.reserve(bytes.len().saturating_mul(12));
            MultiGzDecoder::new(bytes).read_to_end(&mut text).map_err(CodecError::Gzip)?;
        }
        let text = if gzip { &text[..] } else { bytes };
        let feed: EventFeed = serde_json::from_slice(text).map_err(CodecError::Deserialize)?;
        let segments = if gzip {
            let events: Vec<(u64, u64)> = feed.events.iter().map(|e| (identity(e), fingerprint(e))).collect();
            layout::recover(bytes, text, &events)
        } else {
            Segments::default()
        };
        Ok(Self { feed, segments })
    }

    /// A feed to be written whole: no segment is reused (for an edit the fingerprints do not
    /// see, such as removing a co-author).
    pub fn from_feed(feed: EventFeed) -> Self {
        Self { feed, segments: Segments::default() }
    }

    pub fn feed(&self) -> &EventFeed {
        &self.feed
    }

    pub fn into_feed(self) -> EventFeed {
        self.feed
    }

    /// How many compressed segments are kept for the next write.
    pub fn reusable_segments(&self) -> usize {
        self.segments.len()
    }

    /// Merge `incoming` (see [`crate::merge`]) and forget the segments it invalidated.
    pub fn merge(&mut self, incoming: FeedEvent, now: i64, rules: Rules) -> MergeOutcome {
        let incoming_identity = identity(&incoming);
        let outcome = merge_with(&mut self.feed, incoming, now, rules);
        for change in &outcome.changes {
            match change {
                Change::NewEvent | Change::Replaced { .. } => self.segments.forget(incoming_identity),
                Change::Compacted { .. } => self.segments.clear(),
                _ => {}
            }
        }
        outcome
    }

    /// The whole feed as a gzip object, compressing only the segments that changed.
    pub fn encode(&mut self) -> Result<Vec<u8>, CodecError> {
        self.encode_with_stats().map(|(bytes, _)| bytes)
    }

    /// [`StoredFeed::encode`], also saying how many segments were compressed and reused.
    pub fn encode_with_stats(&mut self) -> Result<(Vec<u8>, EncodeStats), CodecError> {
        let writers: Vec<_> = self.feed.events.iter().map(|e| move |out: &mut Vec<u8>| serde_json::to_writer(out, e)).collect();
        let entries: Vec<Entry<'_>> = self
            .feed
            .events
            .iter()
            .zip(&writers)
            .map(|(e, write)| Entry { identity: identity(e), fingerprint: fingerprint(e), write })
            .collect();
        layout::encode(&entries, &mut self.segments).map_err(CodecError::Serialize)
    }
}

/// FNV-1a: stable across processes and versions, unlike std's hasher.
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn hash_identity(h: &mut Fnv, e: &FeedEvent) {
    for part in [e.ext.repo_name.as_bytes(), e.sha.as_bytes(), e.kind.as_str().as_bytes()] {
        h.write(part);
        h.write(&[0xff]);
    }
    h.write(&e.ext.pr_number.to_le_bytes());
    h.write(&e.timestamp.to_le_bytes());
}

/// What makes a stored event the same event.
fn identity(e: &FeedEvent) -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    hash_identity(&mut h, e);
    h.finish()
}

/// Identity plus every field a merge may change: equal fingerprints, equal bytes.
fn fingerprint(e: &FeedEvent) -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    hash_identity(&mut h, e);
    h.write(e.ci_status.as_str().as_bytes());
    h.write(&[0xff]);
    h.write(&[e.ext.pr_status.map_or(0, |s| s as u8 + 1), u8::from(e.ext.is_cancelled)]);
    h.finish()
}

#[cfg(test)]
mod tests;
