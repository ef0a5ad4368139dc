//! feed-projector: consumes `ci.workflow` events and keeps one praktika-compatible feed per
//! commit-author email in S3, then announces each change as `feed.updated`.
//!
//! - [`merge`] and [`feed_key`]: praktika's feed rules as pure functions (the logic).
//! - [`project`]: pure planning around them: which feeds an event touches, what to announce.
//! - [`handler`]: the I/O shell (S3 conditional writes, idempotency record, EventBridge), plugged
//!   into the shared SQS transports by `main.rs`.

pub mod feed_key;
pub mod handler;
pub mod merge;
pub mod project;
