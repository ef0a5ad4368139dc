//! Errors of the GitHub client. Every variant names the operation (`rerun-failed-jobs`,
//! `installation-token`, …) so a log line says which call failed; none carries a token, a
//! JWT, the private key or a request header.

use std::time::Duration;

/// Why a GitHub call failed.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// An argument GitHub would refuse (a repository not `owner/name`, a login with a `/`).
    /// Nothing was sent.
    #[error("GitHub {operation} was not called: {message}")]
    Invalid { operation: String, message: String },
    /// No usable credentials (none configured, an unreadable key, an App-only call with a
    /// token). Nothing was sent; the message names the setting, never a value.
    #[error("GitHub {operation} was not called: {message}")]
    Credentials { operation: String, message: String },
    /// GitHub answered an error status; `message` is GitHub's own (`Not Found`, `Resource not
    /// accessible by integration`). Retried only when it is a 5xx.
    #[error("GitHub {operation} answered HTTP {status}: {message}")]
    Api { operation: String, status: u16, message: String },
    /// HTTP 429, or a 403 that is a (secondary) rate limit. Retried after the wait GitHub
    /// asks for, capped.
    #[error("GitHub {operation} was rate limited (HTTP {status}, retry after {retry_after:?})")]
    RateLimited { operation: String, status: u16, retry_after: Option<Duration> },
    /// No answer within the request timeout. Retried.
    #[error("GitHub {operation} timed out")]
    Timeout { operation: String },
    /// Connecting, sending or reading failed. Retried.
    #[error("GitHub {operation} transport error: {message}")]
    Transport { operation: String, message: String },
    /// The answer was not what GitHub sends. Not retried.
    #[error("GitHub {operation} gave an unexpected answer: {message}")]
    Decode { operation: String, message: String },
    /// Every attempt failed with a retryable error; `last` is the final one.
    #[error("GitHub {operation} failed after {attempts} attempts: {last}")]
    RetriesExhausted { operation: String, attempts: u32, last: Box<GithubError> },
}

impl GithubError {
    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Api { status, .. } => (500..600).contains(status),
            Self::Invalid { .. } | Self::Credentials { .. } | Self::Decode { .. } | Self::RetriesExhausted { .. } => false,
        }
    }

    /// The HTTP status GitHub answered last, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::RateLimited { status, .. } => Some(*status),
            Self::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// Whether GitHub refused the credential itself (401), which a fresh token may cure.
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Self::Api { status: 401, .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryability_and_status() {
        let api = |status| GithubError::Api { operation: "op".into(), status, message: "m".into() };
        assert!(api(502).is_retryable());
        assert!(!api(404).is_retryable());
        assert!(api(401).is_auth_failure());
        let limited = GithubError::RateLimited { operation: "op".into(), status: 403, retry_after: None };
        assert!(limited.is_retryable());
        let exhausted = GithubError::RetriesExhausted { operation: "op".into(), attempts: 3, last: Box::new(api(503)) };
        assert!(!exhausted.is_retryable());
        assert_eq!(exhausted.status(), Some(503));
        assert_eq!(exhausted.to_string(), "GitHub op failed after 3 attempts: GitHub op answered HTTP 503: m");
    }
}
