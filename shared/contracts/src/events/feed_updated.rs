//! `feed.updated` v1: the feed-projector changed one commit author's feed in S3.
//!
//! It carries the newest event so the notifier can decide on and write a DM without reading the
//! feed, and the S3 location so the home-renderer can read the whole feed.

use serde::{Deserialize, Serialize};

use crate::praktika::FeedEvent;
use crate::types::Email;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedUpdated {
    /// Whose feed changed (a commit-author email).
    pub email: Email,
    pub bucket: String,
    /// S3 key of the feed object (praktika's `{prefix}/events/{name}.json.gz`).
    pub key: String,
    /// The event just merged, as stored (with `pr_status` set).
    pub newest_event: FeedEvent,
    /// What the merge did; never empty (a redelivery that changes nothing says `Republished`).
    pub changes: Vec<FeedChange>,
    /// Events in the feed after the change.
    pub event_count: u64,
}

/// One effect of merging an event into a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedChange {
    /// The event had no predecessor in the feed.
    NewEvent,
    /// It replaced an event for the same PR (or, for merges, the same sha).
    Replaced,
    /// `ci_status` differs from the replaced event's.
    StatusChanged,
    /// A job is now failing that was not before.
    NewFailure,
    /// The event is `type == completed`.
    Completed,
    /// A merge result marked its parent / linked PRs as merged.
    MarkedMerged,
    /// Events still running after 12 h became failures with `is_cancelled`.
    CancelledStale,
    /// Groups past the retention (praktika's 30 days by default) were dropped.
    Trimmed,
    /// Older stored events were compacted as praktika compacts them (jobs keep name and status).
    Compacted,
    /// Nothing changed: the event was already in the feed as is. A retry after an attempt that
    /// stored the feed but stopped before announcing it announces it again, so consumers that
    /// never heard of the change still do.
    Republished,
    /// Someone other than Pulse (praktika's runner) wrote the feed: `newest_event` is the feed's
    /// newest event as that writer left it, and nothing is known about what the write changed.
    ExternalWrite,
}

impl FeedChange {
    pub const ALL: [FeedChange; 11] = [
        FeedChange::NewEvent,
        FeedChange::Replaced,
        FeedChange::StatusChanged,
        FeedChange::NewFailure,
        FeedChange::Completed,
        FeedChange::MarkedMerged,
        FeedChange::CancelledStale,
        FeedChange::Trimmed,
        FeedChange::Compacted,
        FeedChange::Republished,
        FeedChange::ExternalWrite,
    ];
}

impl FeedUpdated {
    pub fn has(&self, change: FeedChange) -> bool {
        self.changes.contains(&change)
    }
}
