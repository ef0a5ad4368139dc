//! Where a commit author's feed lives in S3, and reading it.
//!
//! The feeds are the feed-projector's (the only writer); this service only reads them, at the
//! location `pulse_contracts::feed_layout` defines for every reader. Both services read the
//! location from `EVENT_FEED_S3_PATH` (`bucket/prefix`, default: the stack's feed bucket, no
//! prefix). `feed.updated` carries the bucket and key, which are used as given.

use pulse_aws::s3json::{GzipJsonStore, S3JsonError};
use pulse_contracts::praktika::{EventFeed, FeedEvent};

pub use pulse_contracts::feed_layout::FeedLocation;

/// A feed as read: its events (newest first) and the object's ETag (`None` when absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedSnapshot {
    pub feed: EventFeed,
    pub etag: Option<String>,
}

/// Why a feed could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// S3 failed (retry later).
    #[error("reading the feed failed: {0}")]
    Unavailable(S3JsonError),
    /// The object is there but is not a feed (retrying will not help).
    #[error("the feed object cannot be read: {0}")]
    Corrupt(S3JsonError),
}

/// Reads the feed at `bucket`/`key` through `store`'s client.
pub async fn read(store: &GzipJsonStore, bucket: &str, key: &str) -> Result<FeedSnapshot, FeedError> {
    let result = if store.bucket() == bucket {
        store.get::<EventFeed>(key).await
    } else {
        GzipJsonStore::new(store.client().clone(), bucket).get::<EventFeed>(key).await
    };
    match result {
        Ok(Some(v)) => Ok(FeedSnapshot { feed: v.value, etag: Some(v.etag) }),
        Ok(None) => Ok(FeedSnapshot::default()),
        Err(err @ S3JsonError::Object { .. }) => Err(FeedError::Corrupt(err)),
        Err(err) => Err(FeedError::Unavailable(err)),
    }
}

/// The events of several followed feeds as one feed, newest first: an event in more than one
/// of them (a run of your commit that you also triggered is in your email's feed and your
/// GitHub account's) is shown once. Two events are the same run's when they share praktika's
/// slot: (`pr_number`, `repo_name`) for a PR event, (`sha`, `repo_name`) for a merge result
/// (`pr_number` 0). Of those, the newer is kept (the first feed's on a tie). Ties in time are
/// ordered as the feed-projector orders a feed: `repo_name`, then `pr_number` descending, then
/// `sha`.
pub fn union(feeds: &[&[FeedEvent]]) -> Vec<FeedEvent> {
    let mut out: Vec<FeedEvent> = Vec::new();
    for event in feeds.iter().flat_map(|f| f.iter()) {
        match out.iter_mut().find(|held| held.same_slot(event)) {
            Some(held) if event.timestamp > held.timestamp => *held = event.clone(),
            Some(_) => {}
            None => out.push(event.clone()),
        }
    }
    out.sort_by(|a, b| {
        b.timestamp
            .cmp(&a.timestamp)
            .then_with(|| a.ext.repo_name.cmp(&b.ext.repo_name))
            .then_with(|| b.ext.pr_number.cmp(&a.ext.pr_number))
            .then_with(|| a.sha.cmp(&b.sha))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(repo: &str, pr: u64, sha: &str, at: i64) -> FeedEvent {
        let mut e = crate::testing::event(pr, at, None);
        e.ext.repo_name = repo.into();
        e.sha = sha.into();
        e
    }

    #[test]
    fn one_run_in_two_feeds_is_shown_once_the_newer_kept_and_the_order_is_newest_first() {
        let mine = [event("o/r", 7, "aaa", 100), event("o/r", 0, "bbb", 50)];
        let triggered = [event("o/r", 7, "aaa", 120), event("o/x", 3, "ccc", 110), event("o/r", 0, "ddd", 50)];
        let all = union(&[&mine, &triggered]);
        let shown: Vec<(&str, u64, &str, i64)> =
            all.iter().map(|e| (e.ext.repo_name.as_str(), e.ext.pr_number, e.sha.as_str(), e.timestamp)).collect();
        assert_eq!(shown, [("o/r", 7, "aaa", 120), ("o/x", 3, "ccc", 110), ("o/r", 0, "bbb", 50), ("o/r", 0, "ddd", 50)]);
        assert_eq!(union(&[&mine]).len(), 2);
        assert!(union(&[]).is_empty());
    }
}
