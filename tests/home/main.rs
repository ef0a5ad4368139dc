//! home-renderer end to end on the emulator with the fake Slack: subscriptions and their
//! replies, the Home view on every feed change, toggles, unsubscribe, several followers of one
//! feed, concurrent changes, views that never go backwards, Slack failures, and (ignored by
//! default) the feed.updated → Home view latency.

mod github_accounts;
mod harness;
mod latency;
mod migrate;
mod subscriptions;
mod views;
