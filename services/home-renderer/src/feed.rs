//! Where a commit author's feed lives in S3, and reading it.
//!
//! The feeds are the feed-projector's (the only writer); this service only reads them, at the
//! location `pulse_contracts::feed_layout` defines for every reader. Both services read the
//! location from `EVENT_FEED_S3_PATH` (`bucket/prefix`, default: the stack's feed bucket, no
//! prefix). `feed.updated` carries the bucket and key, which are used as given.

use pulse_aws::s3json::{GzipJsonStore, S3JsonError};
use pulse_contracts::praktika::EventFeed;

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
