//! Where a commit author's feed lives in S3, and reading it.
//!
//! The feeds are the feed-projector's (the only writer); this service only reads them. The key
//! rule is praktika's and the feed-projector's, restated here so the two services share a
//! documented rule rather than a crate: `{prefix}/events/{name}.json.gz` (no leading `/` when
//! the prefix is empty), `name` being the trimmed email with `@` → `_at_` and `+` → `_plus_`,
//! case kept. Both services read the location from `EVENT_FEED_S3_PATH` (`bucket/prefix`,
//! default: the stack's feed bucket, no prefix). `feed.updated` carries the bucket and key, which
//! are used as given.

use pulse_aws::s3json::{GzipJsonStore, S3JsonError};
use pulse_contracts::praktika::EventFeed;

/// praktika's `bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLocation {
    pub bucket: String,
    pub prefix: String,
}

impl FeedLocation {
    /// Parses praktika's `bucket/prefix` form (`EVENT_FEED_S3_PATH`); the prefix may be empty.
    pub fn parse(path: &str) -> Option<Self> {
        let path = path.trim().trim_matches('/');
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        (!bucket.is_empty()).then(|| Self { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() })
    }

    /// The object key of `email`'s feed.
    pub fn key(&self, email: &str) -> String {
        feed_key(&self.prefix, email)
    }
}

/// `{prefix}/events/{name}.json.gz`; see the module docs.
pub fn feed_key(prefix: &str, email: &str) -> String {
    let mut name = String::with_capacity(email.len() + 8);
    for ch in email.trim().chars() {
        match ch {
            '@' => name.push_str("_at_"),
            '+' => name.push_str("_plus_"),
            other => name.push(other),
        }
    }
    if prefix.is_empty() { format!("events/{name}.json.gz") } else { format!("{prefix}/events/{name}.json.gz") }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_praktikas_rule() {
        assert_eq!(feed_key("", "bob+ci@users.noreply.github.com"), "events/bob_plus_ci_at_users.noreply.github.com.json.gz");
        assert_eq!(feed_key("ci/slack", " Dev@X.com "), "ci/slack/events/Dev_at_X.com.json.gz");
        let loc = FeedLocation::parse("b/p/q/").unwrap();
        assert_eq!(loc, FeedLocation { bucket: "b".into(), prefix: "p/q".into() });
        assert_eq!(loc.key("a@b"), "p/q/events/a_at_b.json.gz");
        assert_eq!(FeedLocation::parse("b").unwrap().prefix, "");
        assert_eq!(FeedLocation::parse(" / "), None);
    }
}
