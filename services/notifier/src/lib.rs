//! notifier: every message Pulse sends besides the Home tab — personal DMs on `feed.updated`,
//! ops alerts with buttons people act on, job threads, deploy threads, registrations, digests,
//! `/pulser status|health` answers — each exactly once.
//!
//! One event goes through three steps:
//! 1. **read** the state its decision needs: [`gather`] (the notifier's tables, the feeds) and
//!    [`health`] (Pulse's functions and queues, for `/pulser health`);
//! 2. **decide**, purely: [`decide`] turns the event and that state into a [`plan::Plan`] of
//!    effects (posts, updates, records, audits, events to publish);
//! 3. **carry out**: [`execute::Executor`] runs the plan through the message ledger
//!    ([`delivery::Deliverer`]) and the tables, on top of the runtime's idempotency layer.
//!
//! [`handler::Notifier`] (the `MessageHandler`) strings them together; `main.rs` serves it.
//!
//! Pure modules the decisions are made of (unit-tested, no I/O, no clock; the renderers return
//! typed Block Kit, [`pulse_slack::blocks::Message`], fitted to Slack's limits by that module): [`config`] (the
//! routing table), [`dm`] / [`dm_text`] (which DM a subscriber gets and what it says), [`ops`]
//! (the alert and its buttons), [`deploy`] (the deploy modal's submission), [`jobs`],
//! [`announce`] (registrations, deploy threads), [`digest`], [`commands`] (status and health
//! answers), [`import`] (praktika's last DMs), [`pacing`], and [`delivery::classify`] /
//! [`delivery::find_marked`] (may a failed post have taken effect, and did it).
//!
//! A channel's GitHub repositories (`/pulser subscribe OWNER/REPO`, ...) are in [`github`].
//!
//! I/O: [`store`], [`subscriptions`], [`audit`], [`board`] (the tables), [`delivery`] (claim →
//! pace → post → record), [`external`] (the same for Discord and e-mail), [`sinks`] (Discord
//! webhooks, SES), [`gather`], [`health`], [`execute`].

pub mod announce;
pub mod audit;
pub mod board;
pub mod commands;
pub mod config;
pub mod decide;
pub mod delivery;
pub mod deploy;
pub mod digest;
pub mod dm;
pub mod dm_text;
pub mod execute;
pub mod external;
pub mod forget;
pub mod gather;
pub mod github;
pub mod groups;
pub mod handler;
pub mod health;
pub mod import;
pub mod jobs;
pub mod ops;
pub mod pacing;
pub mod plan;
pub mod policy;
pub mod settings;
pub mod sinks;
pub mod store;
pub mod subscriptions;
