//! feed-projector: consumes `ci.workflow`, GitHub Actions (and `feed.written`) events and keeps one praktika-compatible feed per
//! commit-author email in S3, then announces each change as `feed.updated`.
//!
//! - [`merge`]: praktika's feed rules as a pure function (the logic); the feed's S3 key is
//!   `pulse_contracts::feed_layout`, shared with the readers.
//! - [`project`]: pure planning around them: which feeds an event touches, what to announce.
//! - [`stored`], [`layout`] and [`cache`]: a feed kept in memory between updates and written as
//!   one gzip member of reusable deflate segments, so a worker recompresses only what a merge
//!   touched, at praktika's object size.
//! - [`external`]: feeds written by someone else (praktika's runner), announced unless Pulse
//!   wrote them (`feed.written` → `feed.updated` with `external_write`).
//! - [`forget`]: `pulse forget` — an author's own feed deleted (every version), their e-mail
//!   taken out of co-authored runs in other feeds.
//! - [`github`]: GitHub Actions deliveries (`github.workflow_run`, `github.workflow_job`) folded
//!   into one praktika-shaped event per (repository, PR or commit), pure; the state it needs is
//!   kept per commit by the shell.
//! - [`settings`]: its configuration, declared and read typed at start-up.
//! - [`handler`]: the I/O shell (S3 conditional writes, idempotency record, EventBridge), plugged
//!   into the shared SQS transports by `main.rs`.

pub mod cache;
pub mod external;
#[cfg(feature = "aws")]
pub mod forget;
pub mod github;
#[cfg(feature = "aws")]
pub mod github_io;
#[cfg(feature = "aws")]
pub mod handler;
pub mod layout;
pub mod merge;
pub mod project;
#[cfg(feature = "aws")]
pub mod settings;
pub mod stored;
