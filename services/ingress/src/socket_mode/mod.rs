//! The Socket Mode transport of ingress (seed 004, R1): a long-running WebSocket client for
//! workspaces that expose no public endpoint.
//!
//! ```text
//!  apps.connections.open (xapp- token) ──▶ wss://…?ticket=… ──hello──▶ envelopes ──▶ EnvelopeSink
//!                                                              ◀── {"envelope_id", "payload"?} ack
//! ```
//!
//! - [`SocketModeClient::run`] keeps one ready connection. On `disconnect` `warning` /
//!   `refresh_requested` it opens the replacement first, keeps reading the old connection until
//!   the new one said `hello`, lets the old one finish its pending acks, then closes it.
//!   On a drop (closed socket, read error, no pong to our ping, no hello) it reconnects with
//!   exponential backoff and full jitter ([`SocketModeConfig::reconnects`], on Pulse's one
//!   schedule), reset after a healthy connection. On `link_disabled` it stops with
//!   [`SocketModeError::LinkDisabled`]. These rules live in `machine/`, a pure state machine
//!   (events and the time in, actions out) tested without sockets; `client.rs` (the supervisor
//!   loop) and `connection.rs` (one task per socket) only carry its actions out.
//! - Each envelope is handled in its own task (at most `max_in_flight` sink calls at once) and
//!   acked when the sink returns, with its response payload for slash commands, or at
//!   `ack_timeout` without one (see `dispatch.rs` for the trade-off). An envelope the sink
//!   fails on is not acked, so Slack redelivers it.
//! - A bounded set of recent envelope ids per client makes redeliveries (`retry_attempt > 0`,
//!   same id, typically after a reconnect) acked without reaching the sink twice. The envelope
//!   ledger in DynamoDB, written by the sink, remains the durable dedup.
//! - Logs carry the connection number (`conn`: this client's attempt counter, so it also counts
//!   attempts that never connected), envelope id, type and retry attempt; never the token
//!   (a `pulse_core::Secret` prints `***`) nor the WebSocket URL's `ticket` query (only
//!   scheme://host/path is logged). Keep `tungstenite` below `trace`: at trace it logs the raw
//!   handshake request, ticket included.
//!
//! `pulse_fake_socket_mode::FakeSocketMode` (in `shared/fakes/socket-mode`) is a local stand-in
//! for Slack's side, for tests and the local stack.

mod client;
mod connection;
mod dispatch;
mod machine;
mod open;
pub mod protocol;
mod recent;

use std::future::Future;
use std::time::Duration;

use pulse_core::SecretSource;
use pulse_core::retry::{Backoff, Retries};
use serde_json::Value;

pub use client::SocketModeClient;
pub use protocol::{DisconnectReason, Envelope};

/// Where envelopes go: the ingress handler, shared with the HTTP transport.
pub trait EnvelopeSink: Send + Sync + 'static {
    /// Process one Socket Mode envelope's payload with the same logic as HTTP (minus signature
    /// checks: the WebSocket is authenticated by the app-level token). `kind` is the envelope
    /// `type`: "slash_commands" | "interactive" | "events_api". Returns an optional response
    /// payload to include in the ack (Slack shows it for slash commands).
    ///
    /// `Err` means "not recorded": the envelope is not acked and Slack redelivers it.
    fn accept(&self, kind: &str, payload: Value, envelope_id: &str) -> impl Future<Output = Result<Option<Value>, String>> + Send;
}

/// Settings of a [`SocketModeClient`]. [`SocketModeConfig::new`] gives production defaults.
#[derive(Debug, Clone)]
pub struct SocketModeConfig {
    /// The Slack Web API base, `https://slack.com/api` (a fake's `base_url()` in tests).
    pub slack_base_url: String,
    /// The app-level token (`xapp-…`, scope `connections:write`): a fixed value, or SSM,
    /// re-read when Slack refuses it.
    pub app_token: SecretSource,
    /// Ceiling of the first reconnect delay; doubles per failed attempt up to `max_backoff`.
    pub min_backoff: Duration,
    /// Largest reconnect delay ceiling.
    pub max_backoff: Duration,
    /// At most this many sink calls run at once; further envelopes wait (their ack timer runs).
    pub max_in_flight: usize,
    /// Ack an envelope without a response payload if the sink has not returned by then.
    pub ack_timeout: Duration,
    /// Send a ping after this long without any frame from Slack.
    pub ping_interval: Duration,
    /// Treat the connection as dropped if nothing comes back this long after our ping.
    pub pong_timeout: Duration,
    /// Treat the connection as failed if `hello` does not come this long after connecting.
    pub hello_timeout: Duration,
    /// Time limit of `apps.connections.open` and of the WebSocket handshake, each.
    pub connect_timeout: Duration,
    /// A connection ready for at least this long resets the backoff when it ends.
    pub healthy_after: Duration,
    /// How many recent envelope ids are remembered for dedup.
    pub dedup_capacity: usize,
}

impl SocketModeConfig {
    /// Production defaults: backoff 0.5 s → 30 s, 64 sink calls in flight, ack at 2.5 s, ping
    /// after 10 s of silence with a 10 s pong timeout.
    pub fn new(slack_base_url: impl Into<String>, app_token: impl Into<SecretSource>) -> Self {
        Self {
            slack_base_url: slack_base_url.into(),
            app_token: app_token.into(),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_in_flight: 64,
            ack_timeout: Duration::from_millis(2500),
            ping_interval: Duration::from_secs(10),
            pong_timeout: Duration::from_secs(10),
            hello_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            healthy_after: Duration::from_secs(30),
            dedup_capacity: 10_000,
        }
    }

    /// The reconnect delays: full jitter under a ceiling that starts at `min_backoff` (at least
    /// 1 ms, so that a reconnect loop never spins) and doubles up to `max_backoff`, never giving up.
    pub fn reconnects(&self) -> Retries {
        Retries::new(Backoff::forever(self.min_backoff.max(Duration::from_millis(1)), self.max_backoff))
    }
}

/// Why [`SocketModeClient::run`] stopped. None of these messages contains a token or a URL
/// ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketModeError {
    /// Slack sent `disconnect` with reason `link_disabled`.
    #[error(
        "Slack disconnected with reason link_disabled: Socket Mode was turned off in the app's \
         settings (api.slack.com/apps → your app → Socket Mode). Turn it back on, or use the \
         HTTP transport with a request URL"
    )]
    LinkDisabled,
    /// `apps.connections.open` answered an error that retrying cannot fix.
    #[error(
        "apps.connections.open refused: {error} (the app-level token must be a valid xapp- token \
         with the connections:write scope, for an app with Socket Mode enabled)"
    )]
    Rejected { error: String },
    /// The configured token is not an app-level token.
    #[error(
        "the Socket Mode token must be an app-level token (xapp-…); bot (xoxb-) and user (xoxp-) \
         tokens cannot open Socket Mode connections"
    )]
    InvalidToken,
    /// TLS for `wss://` could not be set up.
    #[error("TLS for Socket Mode could not be set up: {0}")]
    Tls(String),
    /// A setting is unusable.
    #[error("invalid Socket Mode configuration: {0}")]
    Config(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn degenerate_reconnect_settings_are_tamed() {
        let mut config = SocketModeConfig::new("http://127.0.0.1:1/api", "xapp-1");
        (config.min_backoff, config.max_backoff) = (Duration::ZERO, Duration::ZERO);
        assert_eq!(config.reconnects().ceiling(), MS);
        (config.min_backoff, config.max_backoff) = (100 * MS, 1000 * MS);
        let mut reconnects = config.reconnects();
        let mut ceilings = Vec::new();
        for _ in 0..6 {
            ceilings.push(reconnects.ceiling());
            assert!(reconnects.next_delay() <= *ceilings.last().unwrap());
        }
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000].map(|m| m * MS));
    }
}
