//! Errors of the Slack client. Every variant names the Web API method (or `response_url`) so a
//! log line says which call failed; none carries the token, request URL or request body.

use std::time::Duration;

use serde_json::Value;

/// Why a Slack call failed.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// Slack answered `ok:false` with `error` (for example `channel_not_found`). Not retried:
    /// asking again gives the same answer.
    #[error("Slack {method} failed: {error}{}", metadata_suffix(response_metadata.as_ref()))]
    Api {
        method: String,
        error: String,
        /// Slack's `response_metadata` (e.g. `{"messages": ["[ERROR] must be no more than 100 items ..."]}`).
        response_metadata: Option<Value>,
    },
    /// HTTP 429, or `ok:false` with `ratelimited`. Retried after `Retry-After`.
    #[error("Slack {method} was rate limited (retry after {retry_after:?})")]
    RateLimited { method: String, retry_after: Option<Duration> },
    /// An HTTP status other than 2xx/429. Retried when it is a 5xx.
    #[error("Slack {method} answered HTTP {status}")]
    Http { method: String, status: u16 },
    /// No answer within the request timeout. Retried; note the call may still have taken
    /// effect on Slack's side, so callers that must post exactly once keep their own ledger.
    #[error("Slack {method} timed out")]
    Timeout { method: String },
    /// Connecting, sending or reading failed. Retried.
    #[error("Slack {method} transport error: {message}")]
    Transport { method: String, message: String },
    /// The answer was not what Slack sends (not JSON, a missing field, ...). Not retried.
    #[error("Slack {method} gave an unexpected answer: {message}")]
    Decode { method: String, message: String },
    /// The bot token could not be read (SSM unreachable, the parameter gone). Not retried here:
    /// the message names the parameter, never a value.
    #[error("Slack {method} was not called: the bot token could not be read: {message}")]
    Token { method: String, message: String },
    /// Every attempt failed with a retryable error; `last` is the final one.
    #[error("Slack {method} failed after {attempts} attempts: {last}")]
    RetriesExhausted { method: String, attempts: u32, last: Box<SlackError> },
}

impl SlackError {
    /// The Web API method (or `response_url`) the error is about.
    pub fn method(&self) -> &str {
        match self {
            Self::Api { method, .. }
            | Self::RateLimited { method, .. }
            | Self::Http { method, .. }
            | Self::Timeout { method }
            | Self::Transport { method, .. }
            | Self::Decode { method, .. }
            | Self::Token { method, .. }
            | Self::RetriesExhausted { method, .. } => method,
        }
    }

    /// Slack's `error` code for an `ok:false` answer (also looks inside `RetriesExhausted`).
    pub fn api_error(&self) -> Option<&str> {
        match self {
            Self::Api { error, .. } => Some(error),
            Self::RateLimited { .. } => Some("ratelimited"),
            Self::RetriesExhausted { last, .. } => last.api_error(),
            _ => None,
        }
    }

    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Http { status, .. } => (500..600).contains(status),
            Self::Api { .. } | Self::Decode { .. } | Self::Token { .. } | Self::RetriesExhausted { .. } => false,
        }
    }

    /// Whether Slack refused the token itself, which a rotated token may cure.
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Self::Api { error, .. } if AUTH_ERRORS.contains(&error.as_str()))
    }
}

/// Slack's answers to a token it does not accept.
const AUTH_ERRORS: [&str; 4] = ["invalid_auth", "not_authed", "token_revoked", "token_expired"];

/// Slack's validation messages are the only useful part of an `invalid_blocks` error, so they
/// go into the message.
fn metadata_suffix(metadata: Option<&Value>) -> String {
    let messages: Vec<&str> = metadata
        .and_then(|m| m.get("messages"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if messages.is_empty() { String::new() } else { format!(" ({})", messages.join("; ")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_error_shows_validation_messages() {
        let err = SlackError::Api {
            method: "views.publish".into(),
            error: "invalid_blocks".into(),
            response_metadata: Some(json!({"messages": ["[ERROR] must be no more than 100 items"]})),
        };
        assert_eq!(err.to_string(), "Slack views.publish failed: invalid_blocks ([ERROR] must be no more than 100 items)");
        assert_eq!(err.api_error(), Some("invalid_blocks"));
        assert!(!err.is_retryable());
    }

    #[test]
    fn retryability() {
        let http = |status| SlackError::Http { method: "m".into(), status };
        assert!(http(500).is_retryable());
        assert!(http(503).is_retryable());
        assert!(!http(404).is_retryable());
        assert!(SlackError::Timeout { method: "m".into() }.is_retryable());
        let exhausted = SlackError::RetriesExhausted { method: "m".into(), attempts: 3, last: Box::new(http(500)) };
        assert!(!exhausted.is_retryable());
        assert_eq!(exhausted.method(), "m");
    }
}
