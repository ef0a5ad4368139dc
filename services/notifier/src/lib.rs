//! notifier: every message Pulse sends besides the Home tab — personal DMs on `feed.updated`,
//! ops alerts with buttons people act on, job threads — each exactly once.
//!
//! Pure logic (unit-tested, no I/O):
//! - [`config`]: the routing table (alert kind/severity → channel, per-job channels, defaults);
//! - [`dm`]: which DM a subscriber gets (given what the ledger already holds), praktika's
//!   per-kind dedup keys; [`dm_text`]: what the DM says (the run's real outcome, failing jobs);
//! - [`ops`]: the alert's Block Kit message, button action ids, re-rendering after clicks;
//! - [`deploy`]: the `/pulser deploy` modal submission as a deploy request;
//! - [`jobs`]: job start / completion messages (and their thin delivery);
//! - [`announce`]: new-user notices and deploy progress;
//! - [`digest`]: a period's summary of a feed, its message, the retention rule;
//! - [`commands`]: `/pulser status` and `/pulser health` answers;
//! - [`pacing`]: one message per second per channel;
//! - [`delivery::classify`] / [`delivery::find_marked`]: may a failed post have taken effect,
//!   and did it.
//!
//! I/O shell: [`store`] (message ledger and other items), [`subscriptions`] (the projection of
//! `subscription.changed`), [`audit`] (button clicks), [`board`] (status board), [`digest_run`] (digest ticks), [`dm_run`] (`feed.updated` DMs), [`import`] (praktika's last DMs as ledger entries), [`delivery::Deliverer`] (claim → pace →
//! post → record), [`handler::Notifier`] (the `MessageHandler`), `main.rs` (`serve`).

pub mod announce;
pub mod audit;
pub mod blocks;
pub mod board;
pub mod commands;
pub mod config;
pub mod delivery;
pub mod deploy;
pub mod digest;
pub mod digest_run;
pub mod dm;
pub mod dm_run;
pub mod dm_text;
pub mod external;
pub mod handler;
pub mod import;
pub mod jobs;
pub mod ops;
pub mod pacing;
pub mod sinks;
pub mod store;
pub mod subscriptions;
