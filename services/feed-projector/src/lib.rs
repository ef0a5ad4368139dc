//! feed-projector: consumes `ci.workflow` events and keeps one praktika-compatible feed per
//! commit-author email in S3, then announces each change as `feed.updated`.
//!
//! - [`merge`] and [`feed_key`]: praktika's feed rules as pure functions (the logic).
//! - [`project`]: pure planning around them: which feeds an event touches, what to announce.
//! - [`stored`] and [`cache`]: a feed kept in memory between updates and written as one gzip
//!   member per event, so a warm worker recompresses only what a merge touched.
//! - [`handler`]: the I/O shell (S3 conditional writes, idempotency record, EventBridge), plugged
//!   into the shared SQS transports by `main.rs`.

pub mod cache;
pub mod feed_key;
#[cfg(feature = "aws")]
pub mod handler;
pub mod merge;
pub mod project;
pub mod stored;
