//! Digest destinations besides Slack: Discord webhooks and e-mail through SES. Each `send` makes
//! one attempt (rate limits waited out within a budget) and says whether a failure may have
//! taken effect, so that [`crate::external`] can keep them exactly-once through the message
//! ledger like Slack posts.
//!
//! Neither a webhook URL (it is its own credential) nor an SES error body reaches a log line or
//! an error message: errors name the destination by its configured `name`.

use std::time::Duration;

use crate::delivery::POST_ROOM;

use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use pulse_aws::secrets::Secret;
use pulse_core::Settings;
use serde_json::Value;
use tracing::warn;

use crate::config::SecretRef;
use crate::digest::EmailDigest;

/// What digests outside Slack go through.
#[derive(Debug, Clone)]
pub struct ExternalSinks {
    pub discord: Discord,
    /// `None` without `email_from`: e-mail digests fail with that reason.
    pub email: Option<Email>,
    /// Where webhook URLs are read (`url.ssm`).
    pub secrets: Option<pulse_aws::secrets::Secrets>,
    /// Where webhook URLs named by `url.env` are read.
    pub settings: Settings,
}

impl Default for ExternalSinks {
    fn default() -> Self {
        Self {
            discord: Discord::new(Duration::from_secs(10)),
            email: None,
            secrets: None,
            settings: Settings::from_pairs::<String, String>([]),
        }
    }
}

impl ExternalSinks {
    /// A webhook URL: the environment variable when set and non-empty, else the SSM parameter.
    /// Errors name where it looked, never a value.
    pub(crate) async fn secret(&self, r: &SecretRef) -> Result<Secret, String> {
        if let Some(value) = r.env.as_deref().and_then(|name| self.settings.named_secret(name)) {
            return Ok(value);
        }
        match (&r.ssm, &self.secrets) {
            (Some(parameter), Some(secrets)) => secrets.get(parameter).await.map_err(|e| e.to_string()),
            (Some(parameter), None) => Err(format!("no SSM client to read parameter {parameter}")),
            (None, _) => Err(format!("environment variable {} is not set", r.env.as_deref().unwrap_or("?"))),
        }
    }

    /// After a webhook refused its URL: drop the cached SSM value, so the next attempt reads a
    /// rotated URL instead of waiting out the cache.
    pub(crate) fn forget(&self, r: &SecretRef) {
        if let (Some(parameter), Some(secrets)) = (&r.ssm, &self.secrets) {
            secrets.forget(parameter);
        }
    }
}

/// Why a send failed, and whether it may have taken effect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// Certainly not delivered (refused, rate limited past our patience, connection refused):
    /// safe to send again.
    #[error("not delivered: {0}")]
    NotSent(String),
    /// Maybe delivered (5xx, timeout, connection lost mid-request).
    #[error("may have been delivered: {0}")]
    Uncertain(String),
}

/// Discord incoming webhooks.
#[derive(Debug, Clone)]
pub struct Discord {
    http: reqwest::Client,
    /// The longest all 429 waits of one send may add up to.
    rate_limit_budget: Duration,
}

impl Discord {
    pub fn new(timeout: Duration) -> Self {
        let http = pulse_http::client_builder().timeout(timeout).build().unwrap_or_default();
        Self { http, rate_limit_budget: Duration::from_secs(20) }
    }

    /// Executes the webhook with `?wait=true` and returns the created message's id.
    pub async fn send(&self, url: &Secret, body: &Value) -> Result<String, SinkError> {
        let mut target = reqwest::Url::parse(url.expose()).map_err(|_| SinkError::NotSent("the webhook URL is not a URL".into()))?;
        target.query_pairs_mut().append_pair("wait", "true");
        let mut waited = Duration::ZERO;
        loop {
            let response = self.http.post(target.clone()).json(body).send().await.map_err(|e| {
                // reqwest's message includes the URL: keep only what kind of failure it was.
                let kind = if e.is_connect() {
                    "connection refused"
                } else if e.is_timeout() {
                    "timed out"
                } else {
                    "transport error"
                };
                if e.is_connect() { SinkError::NotSent(kind.into()) } else { SinkError::Uncertain(kind.into()) }
            })?;
            let status = response.status();
            if status.as_u16() == 429 {
                let header =
                    response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<f64>().ok());
                let json_wait = response.json::<Value>().await.ok().and_then(|b| b.get("retry_after").and_then(Value::as_f64));
                let wait = Duration::from_secs_f64(header.or(json_wait).unwrap_or(1.0).clamp(0.0, 60.0));
                if waited + wait > self.rate_limit_budget || !pulse_core::Deadline::fits(wait, POST_ROOM) {
                    return Err(SinkError::NotSent(format!("rate limited (HTTP 429) for more than {}s", self.rate_limit_budget.as_secs())));
                }
                warn!(wait_ms = wait.as_millis() as u64, "Discord rate limited the webhook; waiting");
                tokio::time::sleep(wait).await;
                waited += wait;
                continue;
            }
            if status.is_server_error() {
                return Err(SinkError::Uncertain(format!("HTTP {status}")));
            }
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                let reason =
                    answer.get("message").and_then(Value::as_str).map(|m| pulse_aws::text::truncate_utf8(m, 200)).unwrap_or_default();
                return Err(SinkError::NotSent(format!("HTTP {status}: {reason}")));
            }
            return match answer.get("id").and_then(Value::as_str) {
                Some(id) => Ok(id.to_owned()),
                None => Err(SinkError::Uncertain("the answer has no message id".into())),
            };
        }
    }
}

/// E-mail through SES v2 `SendEmail`, from one verified identity.
#[derive(Debug, Clone)]
pub struct Email {
    ses: aws_sdk_sesv2::Client,
    from: String,
}

impl Email {
    pub fn new(ses: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self { ses, from: from.into() }
    }

    /// Sends one message to `to`; returns SES's message id.
    pub async fn send(&self, to: &[String], mail: &EmailDigest) -> Result<String, SinkError> {
        let content = |s: &str| Content::builder().data(s).charset("UTF-8").build().map_err(|e| SinkError::NotSent(e.to_string()));
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(Body::builder().text(content(&mail.text)?).html(content(&mail.html)?).build())
            .build();
        let result = self
            .ses
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().set_to_addresses(Some(to.to_vec())).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.message_id().unwrap_or_default().to_owned()),
            Err(err) => {
                let code = err.code().unwrap_or("unknown").to_owned();
                let status = err.raw_response().map(|r| r.status().as_u16());
                // SES refuses (4xx: MessageRejected, an unverified sender, a paused account,
                // throttling) before sending; a 5xx or a lost answer may have sent.
                match status {
                    Some(s) if s < 500 => Err(SinkError::NotSent(format!("SES {code} (HTTP {s})"))),
                    Some(s) => Err(SinkError::Uncertain(format!("SES {code} (HTTP {s})"))),
                    None if matches!(err, aws_sdk_sesv2::error::SdkError::ConstructionFailure(_)) => {
                        Err(SinkError::NotSent(format!("SES request could not be built: {code}")))
                    }
                    // No answer (timeout, connection lost): it may have been sent.
                    None => Err(SinkError::Uncertain(format!("SES {code}: no answer"))),
                }
            }
        }
    }
}
