//! The Slack Web API client: one [`SlackClient::call`] with Slack's retry rules, and the
//! `response_url` poster. Typed helpers for the methods Pulse uses live in `methods.rs`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::Value;

use crate::error::SlackError;
use crate::retry::RetryPolicy;
use pulse_core::metric::{self, Name};
use pulse_core::{Deadline, Secret, SecretSource};

/// The method name used in errors and logs for [`SlackClient::post_response_url`]. The URL
/// itself is never logged: a `response_url` is a bearer capability for the channel it came from.
pub const RESPONSE_URL_METHOD: &str = "response_url";

/// Settings of a [`SlackClient`]. Build with [`ClientConfig::new`] and override fields with
/// struct-update syntax.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The Web API root, without a trailing slash; the fake's `pulse_fake_slack::FakeSlack::base_url`
    /// in tests and the local stack.
    pub base_url: String,
    /// Where the bot token comes from: a fixed value, or SSM, re-read when Slack refuses it
    /// (see [`SlackClient::call`]).
    pub bot_token: SecretSource,
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// Per-attempt timeout, connecting and reading the answer included.
    pub request_timeout: Duration,
    /// The longest wait honoured between attempts, whether from `Retry-After` or backoff.
    pub max_retry_after: Duration,
    /// Ceiling of the first backoff after a transient failure; doubles with each attempt.
    pub base_backoff: Duration,
}

impl ClientConfig {
    /// Slack's production endpoint and the default retry settings.
    pub fn new(bot_token: impl Into<SecretSource>) -> Self {
        Self {
            base_url: "https://slack.com/api".to_owned(),
            bot_token: bot_token.into(),
            max_attempts: 5,
            request_timeout: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            base_backoff: Duration::from_millis(200),
        }
    }

    /// The retry policy these settings describe.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy { max_attempts: self.max_attempts.max(1), base_backoff: self.base_backoff, max_wait: self.max_retry_after }
    }
}

/// A Slack Web API client. Cheap to clone (the HTTP connection pool is shared).
#[derive(Debug, Clone)]
pub struct SlackClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base_url: String,
    token: SecretSource,
    policy: RetryPolicy,
    /// The longest one attempt may take.
    request_timeout: Duration,
}

/// Whether a request carries the bot token. `response_url`s must not: they are foreign URLs
/// that authenticate by themselves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    Bot,
    None,
}

impl SlackClient {
    /// Builds a client. Panics only if the TLS backend cannot initialise, which is a broken
    /// build rather than a runtime condition.
    pub fn new(config: ClientConfig) -> Self {
        let http = pulse_http::client_builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .build()
            .expect("the HTTP client builds with static settings");
        Self {
            inner: Arc::new(Inner {
                http,
                base_url: config.base_url.trim_end_matches('/').to_owned(),
                policy: config.retry_policy(),
                token: config.bot_token,
                request_timeout: config.request_timeout,
            }),
        }
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.policy
    }

    /// Calls Web API `method` with a JSON `body` and returns Slack's whole `ok:true` answer.
    ///
    /// Retries HTTP 429 and `ok:false`+`ratelimited` after `Retry-After` (capped), and 5xx,
    /// timeouts and connection errors with full-jitter exponential backoff, up to
    /// `max_attempts`; then fails with [`SlackError::RetriesExhausted`]. Any other `ok:false`
    /// fails at once with [`SlackError::Api`], except an authentication error (`invalid_auth`,
    /// `not_authed`, `token_revoked`, `token_expired`): then the token is re-read, and the call
    /// made once more if it changed (a rotation), so a new token needs no redeploy.
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, SlackError> {
        let url = format!("{}/{}", self.inner.base_url, method);
        self.execute(method, &url, Payload::Json(body), Auth::Bot).await
    }

    /// Calls Web API `method` with form-encoded arguments, same retries as [`SlackClient::call`].
    /// Slack's read methods (`conversations.history`, `conversations.replies`, ...) take only
    /// form or query arguments, not JSON bodies.
    pub async fn call_form(&self, method: &str, args: &[(&str, String)]) -> Result<Value, SlackError> {
        let url = format!("{}/{}", self.inner.base_url, method);
        self.execute(method, &url, Payload::Form(args), Auth::Bot).await
    }

    /// POSTs `body` as JSON to a slash command's or interaction's `response_url`, without the
    /// bot token, with the same retry rules as [`SlackClient::call`]. Returns the answer as
    /// JSON, or as a JSON string when it is not JSON (Slack has answered plain `ok`).
    pub async fn post_response_url(&self, url: &str, body: &Value) -> Result<Value, SlackError> {
        self.execute(RESPONSE_URL_METHOD, url, Payload::Json(body), Auth::None).await
    }

    async fn execute(&self, method: &str, url: &str, body: Payload<'_>, auth: Auth) -> Result<Value, SlackError> {
        let policy = self.inner.policy;
        let mut token = match auth {
            Auth::Bot => Some(
                self.inner.token.current().await.map_err(|e| SlackError::Token { method: method.to_owned(), message: e.to_string() })?,
            ),
            Auth::None => None,
        };
        let mut refreshed = false;
        let mut attempt = 1;
        loop {
            metric::count(Name::SlackCalls);
            let err = match self.attempt(method, url, body, token.as_ref()).await {
                Ok(answer) => return Ok(answer),
                Err(err) if err.is_auth_failure() && !refreshed => {
                    refreshed = true;
                    let Some(seen) = &token else { return Err(err) };
                    match self.inner.token.refreshed(seen).await {
                        Some(fresh) => {
                            token = Some(fresh);
                            continue;
                        }
                        None => return Err(err),
                    }
                }
                Err(err) if !err.is_retryable() => return Err(err),
                Err(err) => err,
            };
            if matches!(err, SlackError::RateLimited { .. }) {
                metric::count(Name::SlackRateLimited);
            }
            if attempt >= policy.max_attempts {
                return Err(SlackError::RetriesExhausted { method: method.to_owned(), attempts: attempt, last: Box::new(err) });
            }
            let wait = match &err {
                SlackError::RateLimited { retry_after: Some(after), .. } => {
                    let wait = policy.retry_after(*after);
                    metric::duration(Name::SlackRetryAfterWaited, wait);
                    wait
                }
                _ => policy.backoff(attempt),
            };
            // Under a final deadline (a Lambda invocation's), a wait plus one more attempt that
            // would not end before it is not started: the message goes back to its queue now
            // instead of dying with the invocation.
            if !Deadline::fits(wait, self.inner.request_timeout) {
                tracing::warn!(
                    method,
                    attempt,
                    wait_ms = millis(wait),
                    error = %err,
                    "not retrying the Slack call: waiting and trying again would outlive the deadline"
                );
                return Err(SlackError::RetriesExhausted { method: method.to_owned(), attempts: attempt, last: Box::new(err) });
            }
            tracing::warn!(method, attempt, wait_ms = millis(wait), error = %err, "retrying Slack call");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One HTTP exchange, classified into an answer or a [`SlackError`].
    async fn attempt(&self, method: &str, url: &str, body: Payload<'_>, token: Option<&Secret>) -> Result<Value, SlackError> {
        let mut request = match body {
            Payload::Json(body) => self.inner.http.post(url).json(body),
            Payload::Form(args) => self.inner.http.post(url).form(args),
        };
        // Under a final deadline no attempt outlives it either.
        if let Some(deadline) = Deadline::current() {
            request = request.timeout(self.inner.request_timeout.min(deadline.remaining()));
        }
        if let Some(token) = token {
            // bearer_auth marks the header sensitive, so reqwest/hyper never print it either.
            request = request.bearer_auth(token.expose());
        }
        let response = request.send().await.map_err(|e| transport_error(method, e))?;
        let status = response.status();
        let retry_after = parse_retry_after(response.headers().get(RETRY_AFTER));
        let bytes = response.bytes().await.map_err(|e| transport_error(method, e))?;
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();

        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(SlackError::RateLimited { method: method.to_owned(), retry_after });
        }
        if !status.is_success() {
            // A 4xx with a Slack-shaped body (e.g. an expired response_url) is an API error;
            // anything else is reported by status alone, never by body.
            let slack_shaped = parsed.as_ref().filter(|_| !status.is_server_error()).and_then(|v| api_error(method, v, retry_after));
            if let Some(err) = slack_shaped {
                return Err(err);
            }
            return Err(SlackError::Http { method: method.to_owned(), status: status.as_u16() });
        }
        match parsed {
            Some(answer) => match api_error(method, &answer, retry_after) {
                Some(err) => Err(err),
                None => Ok(answer),
            },
            None if token.is_none() => Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned())),
            None => Err(SlackError::Decode {
                method: method.to_owned(),
                message: format!("answer is not JSON (HTTP {status}, {} bytes)", bytes.len()),
            }),
        }
    }
}

/// `Some(error)` when `answer` is Slack's `ok:false`.
fn api_error(method: &str, answer: &Value, retry_after: Option<Duration>) -> Option<SlackError> {
    if answer.get("ok").and_then(Value::as_bool) != Some(false) {
        return None;
    }
    let error = answer.get("error").and_then(Value::as_str).unwrap_or("unknown_error");
    if error == "ratelimited" {
        return Some(SlackError::RateLimited { method: method.to_owned(), retry_after });
    }
    Some(SlackError::Api {
        method: method.to_owned(),
        error: error.to_owned(),
        response_metadata: answer.get("response_metadata").cloned(),
    })
}

/// How a call's arguments travel.
#[derive(Clone, Copy)]
enum Payload<'a> {
    Json(&'a Value),
    Form(&'a [(&'a str, String)]),
}

/// Slack sends `Retry-After` in whole seconds; the HTTP-date form is not used by Slack and
/// falls back to backoff.
fn parse_retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let secs: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

/// Maps a reqwest failure without its URL (a `response_url` is a capability) and with the
/// causes that say what went wrong (refused, reset, DNS...).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn transport_error(method: &str, err: reqwest::Error) -> SlackError {
    if err.is_timeout() {
        return SlackError::Timeout { method: method.to_owned() };
    }
    let err = err.without_url();
    let message = pulse_core::errors::chain(&err);
    if err.is_builder() {
        return SlackError::Decode { method: method.to_owned(), message };
    }
    SlackError::Transport { method: method.to_owned(), message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    #[test]
    fn defaults() {
        let config = ClientConfig::new("xoxb-1");
        assert_eq!(config.base_url, "https://slack.com/api");
        assert_eq!(config.max_attempts, 5);
        assert_eq!(config.request_timeout, Duration::from_secs(10));
        assert_eq!(config.max_retry_after, Duration::from_secs(60));
        assert_eq!(config.base_backoff, Duration::from_millis(200));
        assert!(!format!("{config:?}").contains("xoxb-1"));
    }

    #[test]
    fn zero_attempts_means_one() {
        let config = ClientConfig { max_attempts: 0, ..ClientConfig::new("t") };
        assert_eq!(config.retry_policy().max_attempts, 1);
    }

    #[test]
    fn classifies_ok_false() {
        assert!(api_error("m", &json!({"ok": true}), None).is_none());
        let err = api_error("m", &json!({"ok": false, "error": "channel_not_found"}), None);
        assert!(matches!(err, Some(SlackError::Api { ref error, .. }) if error == "channel_not_found"));
        let err = api_error("m", &json!({"ok": false, "error": "ratelimited"}), None);
        assert!(matches!(err, Some(SlackError::RateLimited { .. })));
    }

    #[test]
    fn parses_retry_after_seconds() {
        let h = HeaderValue::from_static("3");
        assert_eq!(parse_retry_after(Some(&h)), Some(Duration::from_secs(3)));
        let h = HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse_retry_after(Some(&h)), None);
        assert_eq!(parse_retry_after(None), None);
    }
}
