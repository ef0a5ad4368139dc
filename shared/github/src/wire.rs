//! The pure part of talking to GitHub: the App's JWT, what an answer means (success, an error,
//! a rate limit and how long to wait), and where the next page is. No I/O: time and answers
//! come in as values, so each rule is tested without a server.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::GithubError;

/// How far in the past a JWT's `iat` is put, for clocks that drift (GitHub's advice).
pub const JWT_BACKDATE_SECS: i64 = 60;
/// A JWT's life after `iat`: GitHub refuses more than 10 minutes; 9 leaves room for drift.
pub const JWT_LIFETIME_SECS: i64 = 9 * 60;

#[derive(serde::Serialize)]
struct Claims {
    iat: i64,
    exp: i64,
    iss: String,
}

/// The App's RS256 JWT at `now`: `iat` a minute back, `exp` 10 minutes after that at most.
/// The error says what is wrong with the key, never anything of it.
pub fn app_jwt(app_id: u64, private_key_pem: &str, now: DateTime<Utc>) -> Result<String, String> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.as_bytes())
        .map_err(|e| format!("the GitHub App private key is not an RSA PEM key ({})", e.kind_name()))?;
    let iat = now.timestamp() - JWT_BACKDATE_SECS;
    let claims = Claims { iat, exp: iat + JWT_LIFETIME_SECS, iss: app_id.to_string() };
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, &key)
        .map_err(|e| format!("signing the GitHub App JWT failed ({})", e.kind_name()))
}

/// A JWT error's kind without its `Display`, which for some kinds quotes input.
trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for jsonwebtoken::errors::Error {
    fn kind_name(&self) -> String {
        let debug = format!("{:?}", self.kind());
        debug.split(['(', ' ', '{']).next().unwrap_or("error").to_owned()
    }
}

/// What came back from one HTTP exchange, before it is judged.
#[derive(Debug, Clone)]
pub struct Raw {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// `x-ratelimit-remaining`.
    pub remaining: Option<u64>,
    /// `x-ratelimit-reset`, Unix seconds.
    pub reset: Option<i64>,
    pub body: Value,
}

/// Judges an answer: `Ok(body)` for a 2xx; a [`GithubError::RateLimited`] for a 429 or a 403
/// that GitHub marks as a (secondary) rate limit (`Retry-After`, `x-ratelimit-remaining: 0`, or
/// its message), with the wait it asks for (`Retry-After`, else until `x-ratelimit-reset`);
/// else [`GithubError::Api`] with GitHub's message.
pub fn judge(operation: &str, raw: Raw, now: DateTime<Utc>) -> Result<Value, GithubError> {
    if (200..300).contains(&raw.status) {
        return Ok(raw.body);
    }
    let message = raw.body.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
    let limited = raw.status == 429
        || (raw.status == 403
            && (raw.retry_after.is_some() || raw.remaining == Some(0) || message.to_ascii_lowercase().contains("rate limit")));
    if limited {
        let until_reset = raw.reset.map(|reset| Duration::from_secs(u64::try_from(reset - now.timestamp()).unwrap_or(0)));
        let retry_after = raw.retry_after.or(until_reset.filter(|_| raw.remaining == Some(0)));
        return Err(GithubError::RateLimited { operation: operation.to_owned(), status: raw.status, retry_after });
    }
    let message = if message.is_empty() { "no message".to_owned() } else { message.chars().take(300).collect() };
    Err(GithubError::Api { operation: operation.to_owned(), status: raw.status, message })
}

/// The `rel="next"` URL of a `Link` header, if any.
pub fn next_link(link: &str) -> Option<&str> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        is_next.then(|| url.trim().trim_start_matches('<').trim_end_matches('>'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    fn raw(status: u16) -> Raw {
        Raw { status, retry_after: None, remaining: None, reset: None, body: json!({"message": "Not Found"}) }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn answers_are_judged_by_status_and_rate_limit_headers() {
        assert_eq!(judge("op", Raw { body: json!({"id": 1}), ..raw(201) }, at(0)).unwrap(), json!({"id": 1}));
        let err = judge("op", raw(404), at(0)).unwrap_err();
        assert_eq!(err.to_string(), "GitHub op answered HTTP 404: Not Found");
        // A plain 403 (no permission) is an error, not a rate limit.
        assert!(matches!(judge("op", raw(403), at(0)), Err(GithubError::Api { status: 403, .. })));
        let secondary = Raw { retry_after: Some(Duration::from_secs(7)), ..raw(403) };
        assert!(matches!(judge("op", secondary, at(0)), Err(GithubError::RateLimited { retry_after: Some(d), .. }) if d.as_secs() == 7));
        let primary = Raw { remaining: Some(0), reset: Some(130), ..raw(403) };
        assert!(matches!(judge("op", primary, at(100)), Err(GithubError::RateLimited { retry_after: Some(d), .. }) if d.as_secs() == 30));
        let worded = Raw { body: json!({"message": "You have exceeded a secondary rate limit"}), ..raw(403) };
        assert!(matches!(judge("op", worded, at(0)), Err(GithubError::RateLimited { retry_after: None, .. })));
        assert!(matches!(judge("op", raw(429), at(0)), Err(GithubError::RateLimited { status: 429, .. })));
        assert!(judge("op", raw(502), at(0)).unwrap_err().is_retryable());
    }

    #[test]
    fn the_next_page_comes_from_the_link_header() {
        let link = r#"<https://api.github.com/x?cursor=b&per_page=100>; rel="next", <https://api.github.com/x?per_page=100>; rel="first""#;
        assert_eq!(next_link(link), Some("https://api.github.com/x?cursor=b&per_page=100"));
        assert_eq!(next_link(r#"<https://api.github.com/x>; rel="prev""#), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn the_jwt_is_rs256_backdated_and_short_lived_and_a_bad_key_is_not_quoted() {
        let key = pulse_fake_github::TEST_APP_PRIVATE_KEY;
        let jwt = app_jwt(42, key, at(1_000_000)).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        let payload = jwt.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims, json!({"iat": 1_000_000 - 60, "exp": 1_000_000 - 60 + 540, "iss": "42"}));
        let err = app_jwt(42, "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LXN0dWZm\n-----END RSA PRIVATE KEY-----", at(0)).unwrap_err();
        assert!(!err.contains("c2VjcmV0") && err.contains("private key"), "{err}");
    }
}
