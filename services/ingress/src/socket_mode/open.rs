//! `apps.connections.open`: trade the app-level token for a one-time WebSocket URL.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde::Deserialize;

use pulse_core::{Secret, SecretSource};

/// Slack error codes after which retrying cannot help: the token or the app is wrong.
const FATAL_ERRORS: [&str; 9] = [
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
    "missing_scope",
    "no_permission",
    "ekm_access_denied",
];

/// Why no URL was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Network trouble, HTTP 5xx/429, `ratelimited`, ...: retry with backoff, waiting at least
    /// `retry_after` when Slack said so.
    Transient { reason: String, retry_after: Option<Duration> },
    /// Slack refused the token or the app (`invalid_auth`, `missing_scope`, ...).
    Fatal { error: String },
    /// No TLS configuration could be built for a `wss://` URL (no root certificates).
    Tls(String),
}

#[derive(Deserialize)]
struct OpenResponse {
    ok: bool,
    url: Option<String>,
    error: Option<String>,
}

/// Slack's answers to a token it does not accept, which a rotated token may cure.
const AUTH_ERRORS: [&str; 4] = ["invalid_auth", "not_authed", "token_revoked", "token_expired"];

/// Whether a value looks like an app-level token (`xapp-` prefix). Bot (`xoxb-`) and user
/// (`xoxp-`) tokens cannot open Socket Mode connections.
pub(crate) fn is_app_level(token: &Secret) -> bool {
    token.expose().starts_with("xapp-") && token.len() > "xapp-".len()
}

/// Trades the current app-level token for a WebSocket URL. When Slack refuses the token itself,
/// the token is re-read once: a rotated token (in SSM) takes effect on the next connection,
/// without a restart.
pub(crate) async fn open_url(http: &reqwest::Client, base_url: &str, token: &SecretSource) -> Result<String, OpenError> {
    let current = token.current().await.map_err(|e| OpenError::Transient { reason: e.to_string(), retry_after: None })?;
    match open_with(http, base_url, &current).await {
        Err(OpenError::Fatal { error }) if AUTH_ERRORS.contains(&error.as_str()) => match token.refreshed(&current).await {
            Some(fresh) if is_app_level(&fresh) => open_with(http, base_url, &fresh).await,
            _ => Err(OpenError::Fatal { error }),
        },
        other => other,
    }
}

/// POSTs `{base_url}/apps.connections.open` with the app-level token as a bearer token.
async fn open_with(http: &reqwest::Client, base_url: &str, token: &Secret) -> Result<String, OpenError> {
    let endpoint = format!("{}/apps.connections.open", base_url.trim_end_matches('/'));
    let response = http
        .post(&endpoint)
        .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .map_err(|e| OpenError::Transient { reason: e.without_url().to_string(), retry_after: None })?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    if !status.is_success() {
        let reason = format!("HTTP {}", status.as_u16());
        return if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT {
            Err(OpenError::Transient { reason, retry_after })
        } else {
            Err(OpenError::Fatal { error: reason })
        };
    }
    let body: OpenResponse = response.json().await.map_err(|e| OpenError::Transient {
        reason: format!("unreadable apps.connections.open response: {}", e.without_url()),
        retry_after: None,
    })?;
    match body {
        OpenResponse { ok: true, url: Some(url), .. } => Ok(url),
        OpenResponse { ok: true, url: None, .. } => {
            Err(OpenError::Transient { reason: "apps.connections.open answered ok without a url".into(), retry_after: None })
        }
        OpenResponse { error, .. } => {
            let error = error.unwrap_or_else(|| "unknown_error".into());
            if FATAL_ERRORS.contains(&error.as_str()) {
                Err(OpenError::Fatal { error })
            } else {
                Err(OpenError::Transient { reason: error, retry_after })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_xapp_tokens_are_app_level() {
        assert!(is_app_level(&Secret::new(" xapp-1-abc\n")));
        assert!(!is_app_level(&Secret::new("xoxb-1-abc")));
        assert!(!is_app_level(&Secret::new("xapp-")));
        assert!(!is_app_level(&Secret::new("")));
    }
}
