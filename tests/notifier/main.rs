//! notifier end to end on the emulator and the fake Slack: DMs exactly once (duplicates, an
//! answer lost after the post, 429s), ops alerts routed and updated in place on a click, job
//! completions threaded under their start; channels' GitHub repository subscriptions.

mod announce;
mod digests;
mod dms;
mod failures;
mod github;
mod harness;
mod imported;
mod jobs;
mod latency;
mod logs;
mod ops;
