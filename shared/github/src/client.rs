//! The HTTP shell: one [`GithubClient::call`] that picks the credential a call needs, sends
//! it with GitHub's headers, judges the answer (`wire.rs`) and retries what may succeed later.
//!
//! Credentials:
//! - a fine-grained token is sent as it is, re-read once after a 401 (a rotation);
//! - a GitHub App signs a short JWT for the App's own endpoints (`/app/...`), and for a
//!   repository's or an organisation's calls finds its installation there and mints an
//!   installation token, cached until [`GithubConfig::token_margin`] before its `expires_at`;
//!   a 401 with a cached token drops it and mints a new one once.
//!
//! Retries: 5xx, timeouts and transport errors with the one backoff schedule; 429 and 403 rate
//! limits after the wait GitHub asks for, capped at `max_wait`; at most `max_attempts` in all.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pulse_core::retry::Backoff;
use pulse_core::{Clock, Secret, SecretSource};
use reqwest::Method;
use serde_json::Value;

use crate::error::GithubError;
use crate::wire::{self, Raw};

/// Who the client calls GitHub as.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A fine-grained personal access token (or any bearer token GitHub takes).
    Token(SecretSource),
    /// A GitHub App: its id and PEM private key.
    App { app_id: u64, private_key: SecretSource },
}

/// Settings of a [`GithubClient`]; build with [`GithubConfig::new`], override with
/// struct-update syntax.
#[derive(Debug, Clone)]
pub struct GithubConfig {
    /// The REST API root without a trailing `/`: `https://api.github.com`,
    /// `https://HOST/api/v3` (GitHub Enterprise Server) or the fake's.
    pub base_url: String,
    pub credentials: Credentials,
    pub user_agent: String,
    /// Attempts in total, the first included (at least 1).
    pub max_attempts: u32,
    /// Per-attempt timeout.
    pub request_timeout: Duration,
    /// Ceiling of the first backoff; doubles with each attempt.
    pub base_backoff: Duration,
    /// The longest single wait, a `Retry-After` included.
    pub max_wait: Duration,
    /// An installation token is replaced this long before it expires.
    pub token_margin: Duration,
}

impl GithubConfig {
    /// github.com with the default retry settings.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            base_url: DEFAULT_API_URL.to_owned(),
            credentials,
            user_agent: format!("pulse/{}", env!("CARGO_PKG_VERSION")),
            max_attempts: 4,
            request_timeout: Duration::from_secs(10),
            base_backoff: Duration::from_millis(300),
            max_wait: Duration::from_secs(60),
            token_margin: Duration::from_secs(5 * 60),
        }
    }
}

pub const DEFAULT_API_URL: &str = "https://api.github.com";
const API_VERSION: &str = "2022-11-28";

/// What a call is made for, which decides its credential.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// A repository's endpoint: the App's installation on it, or the token.
    Repo(&'a crate::RepoName),
    /// An organisation's endpoint: the App's installation on it, or the token.
    Org(&'a str),
    /// The App's own endpoints (`/app/...`): its JWT; a token cannot call them.
    App,
}

impl Scope<'_> {
    /// Where the installation for this scope is looked up, under the API root.
    fn installation_path(&self) -> Option<String> {
        match self {
            Scope::Repo(repo) => Some(format!("/repos/{repo}/installation")),
            Scope::Org(org) => Some(format!("/orgs/{org}/installation")),
            Scope::App => None,
        }
    }
}

/// A credential ready to send, and what it is (to renew it after a 401).
struct Credential {
    secret: Secret,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Token,
    Jwt,
    Installation(u64),
}

/// An answer GitHub accepted.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub body: Value,
    /// The `rel="next"` page, when it is under the API root (never followed elsewhere, so a
    /// credential cannot leave for another host).
    pub next: Option<String>,
}

#[derive(Default)]
struct Tokens {
    /// Installation id per [`Scope::installation_path`].
    installations: HashMap<String, u64>,
    /// Installation token and its expiry per installation id.
    tokens: HashMap<u64, (Secret, DateTime<Utc>)>,
}

/// A GitHub REST client. Cheap to clone; clones share the connection pool and token cache.
#[derive(Clone)]
pub struct GithubClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: GithubConfig,
    clock: Clock,
    /// Held while a token is minted, so concurrent calls mint one, not one each.
    tokens: tokio::sync::Mutex<Tokens>,
}

impl std::fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubClient").field("base_url", &self.inner.config.base_url).finish_non_exhaustive()
    }
}

impl GithubClient {
    /// Builds a client that reads "now" (JWT times, token expiry) from `clock`. Panics only if
    /// the TLS backend cannot initialise: a broken build, not a runtime condition.
    pub fn new(mut config: GithubConfig, clock: Clock) -> Self {
        config.base_url = config.base_url.trim_end_matches('/').to_owned();
        config.max_attempts = config.max_attempts.max(1);
        let http = pulse_http::client_builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .expect("the HTTP client builds with static settings");
        Self { inner: Arc::new(Inner { http, config, clock, tokens: tokio::sync::Mutex::default() }) }
    }

    pub fn base_url(&self) -> &str {
        &self.inner.config.base_url
    }

    /// `method` on `path` (under the API root, or a full `next` URL from an earlier answer)
    /// with the credential `scope` needs, retried as the module doc says.
    pub(crate) async fn call(
        &self,
        operation: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        scope: Scope<'_>,
    ) -> Result<Answer, GithubError> {
        let url = if path.starts_with('/') { format!("{}{path}", self.base_url()) } else { path.to_owned() };
        let config = &self.inner.config;
        let backoff = Backoff::new(config.base_backoff.min(config.max_wait), config.max_wait, config.max_attempts);
        let mut renewed = false;
        let mut attempt = 1;
        loop {
            let credential = self.credential(operation, scope).await?;
            let err = match self.exchange(operation, &method, &url, body, &credential.secret).await {
                Ok(answer) => return Ok(answer),
                Err(err) if err.is_auth_failure() && !renewed && self.renew(&credential).await => {
                    tracing::info!(operation, "GitHub refused a credential; retrying once with a fresh one");
                    renewed = true;
                    continue;
                }
                Err(err) if !err.is_retryable() => return Err(err),
                Err(err) => err,
            };
            if attempt >= config.max_attempts {
                return Err(GithubError::RetriesExhausted { operation: operation.to_owned(), attempts: attempt, last: Box::new(err) });
            }
            let wait = match &err {
                GithubError::RateLimited { retry_after: Some(after), .. } => (*after).min(config.max_wait),
                _ => backoff.delay(attempt - 1),
            };
            let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
            // Under a final deadline (a Lambda invocation's), no retry outlives it: the event
            // goes back to its queue now instead.
            if !pulse_core::Deadline::fits(wait, config.request_timeout) {
                tracing::warn!(operation, attempt, wait_ms, error = %err, "not retrying the GitHub call: it would outlive the deadline");
                return Err(GithubError::RetriesExhausted { operation: operation.to_owned(), attempts: attempt, last: Box::new(err) });
            }
            tracing::warn!(operation, attempt, wait_ms, error = %err, "retrying GitHub call");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One HTTP exchange, judged.
    async fn exchange(
        &self,
        operation: &str,
        method: &Method,
        url: &str,
        body: Option<&Value>,
        secret: &Secret,
    ) -> Result<Answer, GithubError> {
        let mut request = self
            .inner
            .http
            .request(method.clone(), url)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            // Marked sensitive by reqwest, so neither it nor hyper ever prints it.
            .bearer_auth(secret.expose());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| transport_error(operation, e))?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim).map(str::to_owned);
        let retry_after = header("retry-after").and_then(|v| v.parse::<u64>().ok()).map(Duration::from_secs);
        let remaining = header("x-ratelimit-remaining").and_then(|v| v.parse().ok());
        let reset = header("x-ratelimit-reset").and_then(|v| v.parse().ok());
        let link = header("link");
        let bytes = response.bytes().await.map_err(|e| transport_error(operation, e))?;
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(value) => value,
                Err(_) if (200..300).contains(&status) => {
                    return Err(GithubError::Decode {
                        operation: operation.to_owned(),
                        message: format!("answer is not JSON (HTTP {status}, {} bytes)", bytes.len()),
                    });
                }
                Err(_) => Value::Null,
            }
        };
        let body = wire::judge(operation, Raw { status, retry_after, remaining, reset, body }, self.inner.clock.now())?;
        let root = format!("{}/", self.base_url());
        let next = link.as_deref().and_then(wire::next_link).map(str::to_owned);
        let next = match next {
            Some(url) if !url.starts_with(&root) => {
                tracing::warn!(operation, "GitHub's next page is outside the API root; not followed");
                None
            }
            next => next,
        };
        Ok(Answer { body, next })
    }

    /// The credential `scope` needs now.
    async fn credential(&self, operation: &str, scope: Scope<'_>) -> Result<Credential, GithubError> {
        let refuse = |message: String| GithubError::Credentials { operation: operation.to_owned(), message };
        match (&self.inner.config.credentials, scope) {
            (Credentials::Token(_), Scope::App) => Err(refuse(
                "it is a GitHub App endpoint, and only a token is configured (set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY)".into(),
            )),
            (Credentials::Token(source), _) => {
                let secret = source.current().await.map_err(|e| refuse(format!("the GitHub token could not be read: {e}")))?;
                Ok(Credential { secret, kind: Kind::Token })
            }
            (Credentials::App { .. }, Scope::App) => Ok(Credential { secret: self.jwt(operation).await?, kind: Kind::Jwt }),
            (Credentials::App { .. }, scope) => self.installation_token(operation, scope).await,
        }
    }

    /// A fresh App JWT.
    async fn jwt(&self, operation: &str) -> Result<Secret, GithubError> {
        let Credentials::App { app_id, private_key } = &self.inner.config.credentials else {
            return Err(GithubError::Credentials { operation: operation.to_owned(), message: "no GitHub App is configured".into() });
        };
        let refuse = |message: String| GithubError::Credentials { operation: operation.to_owned(), message };
        let key = private_key.current().await.map_err(|e| refuse(format!("the GitHub App private key could not be read: {e}")))?;
        wire::app_jwt(*app_id, key.expose(), self.inner.clock.now()).map(Secret::new).map_err(refuse)
    }

    /// The cached installation token for `scope`, or a new one (finding the installation
    /// first when it is not known yet).
    async fn installation_token(&self, operation: &str, scope: Scope<'_>) -> Result<Credential, GithubError> {
        let Some(path) = scope.installation_path() else {
            return Err(GithubError::Credentials {
                operation: operation.to_owned(),
                message: "no installation for the App's own endpoints".into(),
            });
        };
        let mut cache = self.inner.tokens.lock().await;
        let now = self.inner.clock.now();
        let margin = chrono::Duration::from_std(self.inner.config.token_margin).unwrap_or(chrono::Duration::zero());
        if let Some(id) = cache.installations.get(&path).copied()
            && let Some((token, expires_at)) = cache.tokens.get(&id)
            && *expires_at - margin > now
        {
            return Ok(Credential { secret: token.clone(), kind: Kind::Installation(id) });
        }
        let id = match cache.installations.get(&path).copied() {
            Some(id) => id,
            None => {
                let answer = Box::pin(self.call("find-installation", Method::GET, &path, None, Scope::App)).await?;
                let id =
                    answer.body.get("id").and_then(Value::as_u64).ok_or_else(|| decode("find-installation", "no installation `id`"))?;
                cache.installations.insert(path, id);
                id
            }
        };
        let mint = format!("/app/installations/{id}/access_tokens");
        let answer = Box::pin(self.call("installation-token", Method::POST, &mint, None, Scope::App)).await?;
        let token = answer.body.get("token").and_then(Value::as_str).ok_or_else(|| decode("installation-token", "no `token`"))?;
        let expires_at = answer
            .body
            .get("expires_at")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .ok_or_else(|| decode("installation-token", "no RFC 3339 `expires_at`"))?
            .with_timezone(&Utc);
        let secret = Secret::new(token);
        tracing::debug!(installation = id, %expires_at, "minted a GitHub installation token");
        cache.tokens.insert(id, (secret.clone(), expires_at));
        Ok(Credential { secret, kind: Kind::Installation(id) })
    }

    /// After a 401: make the next [`Self::credential`] a different one if it can be.
    async fn renew(&self, credential: &Credential) -> bool {
        match (credential.kind, &self.inner.config.credentials) {
            (Kind::Installation(id), _) => self.inner.tokens.lock().await.tokens.remove(&id).is_some(),
            (Kind::Token, Credentials::Token(source)) => source.refreshed(&credential.secret).await.is_some(),
            _ => false,
        }
    }
}

fn decode(operation: &str, message: &str) -> GithubError {
    GithubError::Decode { operation: operation.to_owned(), message: message.to_owned() }
}

/// A reqwest failure without its URL, with the causes that say what went wrong.
fn transport_error(operation: &str, err: reqwest::Error) -> GithubError {
    if err.is_timeout() {
        return GithubError::Timeout { operation: operation.to_owned() };
    }
    let err = err.without_url();
    let message = pulse_core::errors::chain(&err);
    GithubError::Transport { operation: operation.to_owned(), message }
}
