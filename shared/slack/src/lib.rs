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
//! The fake ([`fake::FakeSlack`]) answers like Slack, records every call, and can inject faults
//! (429s, 5xx, delays, `ok:false`, and "applied but the answer was lost"). It is compiled
//! unconditionally because integration tests of other crates and the local stack (through the
//! `pulse-fake-slack` binary and its `/_fake/` control API) depend on it.

pub mod blocks;
mod client;
mod error;
pub mod fake;
mod methods;
pub mod retry;
pub mod settings;

pub use client::{ClientConfig, RESPONSE_URL_METHOD, SlackClient};
pub use error::SlackError;
pub use methods::{PostedMessage, SlackUser};
pub use retry::RetryPolicy;
