//! Slack for Pulse: a Web API client and a recording fake of the Web API.
//!
//! The client ([`SlackClient`]) is what every service uses to talk to Slack. It retries what
//! Slack tells us to retry (HTTP 429 with `Retry-After`, `ok:false` + `ratelimited`) and what is
//! likely transient (5xx, timeouts, connection errors), and surfaces every other `ok:false` as a
//! typed [`SlackError::Api`] at once, because retrying `channel_not_found` only burns the rate
//! limit. The base URL is configurable so that tests and the local stack can point it at the
//! fake.
//!
//! Block Kit is typed ([`blocks`]): renderers build [`blocks::Message`]s and [`blocks::View`]s,
//! which fit themselves to Slack's limits ([`blocks::limits`]) so that Slack never refuses one.
//!
//! The recording fake of the Web API that tests and the local stack point the client at lives in
//! its own crate, `pulse-fake-slack` (`shared/fakes/slack`), so that no service links it.

pub mod blocks;
mod client;
mod error;
mod methods;
pub mod retry;
pub mod settings;

pub use client::{ClientConfig, RESPONSE_URL_METHOD, SlackClient};
pub use error::SlackError;
pub use methods::{PostedMessage, SlackUser};
pub use retry::RetryPolicy;
