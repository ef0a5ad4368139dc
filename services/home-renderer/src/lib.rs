//! home-renderer: owns subscriptions and per-user Home-tab preferences, and keeps every
//! subscriber's Slack App Home showing their CI feed.
//!
//! Consumes `slack.command` (`/praktika subscribe [email]`, `/praktika unsubscribe`),
//! `slack.interaction` (the Home-tab buttons, [`actions`]), `slack.home_opened` and
//! `feed.updated` and `subscription.imported`; publishes `subscription.changed`.
//!
//! Pure logic (no I/O, unit-tested):
//! - [`filters`]: the six toggles, their labels and praktika's filter rules of today;
//! - [`render`]: feed + preferences + now → the Block Kit Home view, within Slack's limits;
//! - [`subscriptions`]: subscribe / switch / unsubscribe / toggle as state transitions;
//! - [`import`]: a subscription imported from praktika, never over the user's own Pulse state;
//! - [`commands`]: which events are this service's and what each asks for;
//! - [`feed`]: the feed's S3 key rule.
//!
//! I/O shell:
//! - [`store`]: DynamoDB (conditional transactions, membership items, view record);
//! - [`views`]: rendering and publishing a view without ever replacing a newer one;
//! - [`forget`]: `pulse forget` — a person's subscription, preferences and view record, and
//!   every subscription following their e-mail, deleted;
//! - [`handler`]: the `MessageHandler`, plugged into the shared SQS transports by `main.rs`.
//!
//! [`testing`] holds feed fixtures shared by the unit tests, the integration tests and the
//! benchmark.

pub mod actions;
pub mod commands;
pub mod feed;
pub mod filters;
pub mod forget;
pub mod handler;
pub mod import;
pub mod render;
pub mod settings;
pub mod store;
pub mod subscriptions;
pub mod testing;
pub mod views;
