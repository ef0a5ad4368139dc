//! The projector's in-memory copies of recently written feeds, keyed by S3 key and tagged with
//! the ETag they were written under. A warm worker (a reused Lambda container, the local
//! poller) asks S3 for the feed with `If-None-Match: <etag>`; a 304 means the copy is current and
//! the merge skips the download, gunzip and parse.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::stored::StoredFeed;

/// A small cache of parsed feeds. Entries are taken out while a handler works on them, so two
/// concurrent updates of one feed never share a copy (the loser of the S3 race re-reads).
pub struct FeedCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, (String, StoredFeed)>,
    order: VecDeque<String>,
}

impl FeedCache {
    /// Keep at most `capacity` feeds (0 disables caching).
    pub fn new(capacity: usize) -> Self {
        Self { capacity, inner: Mutex::new(Inner::default()) }
    }

    /// The default size (`PULSE_FEED_CACHE`'s default).
    pub fn default_size() -> Self {
        Self::new(32)
    }

    /// Remove and return the copy of `key` with its ETag.
    pub fn take(&self, key: &str) -> Option<(String, StoredFeed)> {
        let mut inner = self.inner.lock().expect("feed cache lock");
        let entry = inner.entries.remove(key)?;
        inner.order.retain(|k| k != key);
        Some(entry)
    }

    /// Remember `feed` as stored under `etag`, evicting the oldest entries beyond capacity.
    pub fn put(&self, key: &str, etag: String, feed: StoredFeed) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner.lock().expect("feed cache lock");
        if inner.entries.insert(key.to_owned(), (etag, feed)).is_none() {
            inner.order.push_back(key.to_owned());
        }
        while inner.order.len() > self.capacity {
            if let Some(oldest) = inner.order.pop_front() {
                inner.entries.remove(&oldest);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().expect("feed cache lock").entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_removes_and_capacity_evicts_the_oldest() {
        let cache = FeedCache::new(2);
        cache.put("a", "e1".into(), StoredFeed::default());
        cache.put("b", "e2".into(), StoredFeed::default());
        cache.put("c", "e3".into(), StoredFeed::default());
        assert!(cache.take("a").is_none(), "a was evicted");
        assert_eq!(cache.take("b").map(|(etag, _)| etag).as_deref(), Some("e2"));
        assert!(cache.take("b").is_none(), "taken entries are gone");
        assert_eq!(cache.len(), 1);
        let off = FeedCache::new(0);
        off.put("a", "e".into(), StoredFeed::default());
        assert!(off.is_empty());
    }
}
