//! Slack request signing (api.slack.com/docs/verifying-requests-from-slack).
//!
//! Slack signs `v0:{X-Slack-Request-Timestamp}:{raw body}` with HMAC-SHA256 under the app's
//! signing secret and sends `X-Slack-Signature: v0=<hex>`. A request is genuine when the
//! timestamp is within five minutes of our clock (either way: replays of old requests and
//! requests "from the future" are both refused) and the signature matches, compared in constant
//! time so the comparison leaks nothing about how many bytes matched.
//!
//! Errors say what was wrong, never a value: no secret, no signature, no body.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The only signature version Slack uses.
pub const VERSION: &str = "v0";
/// How far the request timestamp may be from our clock, in seconds (Slack's recommendation).
pub const MAX_CLOCK_SKEW_SECS: u64 = 5 * 60;

type HmacSha256 = Hmac<Sha256>;

/// Why a request's signature was refused. Every variant means HTTP 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the X-Slack-Request-Timestamp header is missing")]
    MissingTimestamp,
    #[error("the X-Slack-Signature header is missing")]
    MissingSignature,
    #[error("the X-Slack-Request-Timestamp header is not a Unix time in seconds")]
    MalformedTimestamp,
    /// `skew_secs` is how far the timestamp is from now (positive: in the past).
    #[error("the request timestamp is {skew_secs} s from now, outside the {MAX_CLOCK_SKEW_SECS} s window (replayed or clock skew)")]
    Stale { skew_secs: i64 },
    #[error("the X-Slack-Signature header is not a `v0=` followed by 64 hex digits")]
    MalformedSignature,
    #[error("the request signature does not match")]
    Mismatch,
}

/// Checks signatures under one signing secret. The key schedule is computed once; each request
/// clones it. `Debug` does not print the key.
#[derive(Clone)]
pub struct Verifier {
    keyed: HmacSha256,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier(***)")
    }
}

/// The signing secret is empty: every request would be forgeable by anyone who guesses that.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Slack signing secret is empty")]
pub struct EmptySecret;

impl Verifier {
    pub fn new(signing_secret: &str) -> Result<Self, EmptySecret> {
        if signing_secret.is_empty() {
            return Err(EmptySecret);
        }
        let keyed = HmacSha256::new_from_slice(signing_secret.as_bytes()).expect("HMAC takes keys of any length");
        Ok(Self { keyed })
    }

    /// Verify one request at `now` (Unix seconds). Returns the request's timestamp.
    pub fn verify(&self, timestamp: Option<&str>, signature: Option<&str>, body: &[u8], now: i64) -> Result<i64, VerifyError> {
        let timestamp = timestamp.ok_or(VerifyError::MissingTimestamp)?;
        let signature = signature.ok_or(VerifyError::MissingSignature)?;
        let ts = parse_timestamp(timestamp)?;
        let skew = now.saturating_sub(ts);
        if skew.unsigned_abs() > MAX_CLOCK_SKEW_SECS {
            return Err(VerifyError::Stale { skew_secs: skew });
        }
        let given = decode_signature(signature)?;
        let expected = self.mac(timestamp, body);
        if bool::from(expected.ct_eq(&given)) { Ok(ts) } else { Err(VerifyError::Mismatch) }
    }

    fn mac(&self, timestamp: &str, body: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(VERSION.as_bytes());
        mac.update(b":");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// The `X-Slack-Signature` value Slack would send for `body` at `timestamp`.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        format!("{VERSION}={}", hex::encode(self.mac(timestamp, body)))
    }
}

/// Sign like Slack: the `X-Slack-Signature` value for `body` at `timestamp` under `secret`
/// (for `pulse slack send`, tests and benchmarks).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let verifier = Verifier { keyed: HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length") };
    verifier.sign(timestamp, body)
}

/// Digits only (Slack sends plain Unix seconds); no sign, no spaces, at most 12 digits.
fn parse_timestamp(text: &str) -> Result<i64, VerifyError> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::MalformedTimestamp);
    }
    text.parse().map_err(|_| VerifyError::MalformedTimestamp)
}

fn decode_signature(text: &str) -> Result<[u8; 32], VerifyError> {
    let hex_part = text.strip_prefix(VERSION).and_then(|rest| rest.strip_prefix('=')).ok_or(VerifyError::MalformedSignature)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).map_err(|_| VerifyError::MalformedSignature)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's documented example (api.slack.com/docs/verifying-requests-from-slack).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const NOW: i64 = 1531420618 + 30;

    fn verifier() -> Verifier {
        Verifier::new(SECRET).unwrap()
    }

    #[test]
    fn slacks_documented_example_verifies() {
        assert_eq!(verifier().verify(Some(TS), Some(SIGNATURE), BODY.as_bytes(), NOW), Ok(1531420618));
        assert_eq!(sign(SECRET, TS, BODY.as_bytes()), SIGNATURE);
        assert_eq!(verifier().sign(TS, BODY.as_bytes()), SIGNATURE);
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let upper = format!("v0={}", SIGNATURE[3..].to_ascii_uppercase());
        assert!(verifier().verify(Some(TS), Some(&upper), BODY.as_bytes(), NOW).is_ok());
    }

    #[test]
    fn wrong_secret_is_a_mismatch() {
        let other = Verifier::new("another-secret").unwrap();
        assert_eq!(other.verify(Some(TS), Some(SIGNATURE), BODY.as_bytes(), NOW), Err(VerifyError::Mismatch));
    }

    #[test]
    fn any_change_to_body_timestamp_or_signature_is_a_mismatch() {
        let v = verifier();
        let mut body = BODY.as_bytes().to_vec();
        body[10] ^= 1;
        assert_eq!(v.verify(Some(TS), Some(SIGNATURE), &body, NOW), Err(VerifyError::Mismatch));
        assert_eq!(v.verify(Some("1531420619"), Some(SIGNATURE), BODY.as_bytes(), NOW), Err(VerifyError::Mismatch));
        let mut sig = SIGNATURE.to_owned();
        sig.replace_range(66..67, if &sig[66..67] == "0" { "1" } else { "0" });
        assert_eq!(v.verify(Some(TS), Some(&sig), BODY.as_bytes(), NOW), Err(VerifyError::Mismatch));
        // The body with a trailing newline (a re-serialized body) is not the raw body.
        let reformatted = format!("{BODY}\n");
        assert_eq!(v.verify(Some(TS), Some(SIGNATURE), reformatted.as_bytes(), NOW), Err(VerifyError::Mismatch));
    }

    #[test]
    fn stale_and_future_timestamps_are_refused_even_when_correctly_signed() {
        let v = verifier();
        let ts: i64 = 1531420618;
        // Exactly five minutes either way is still accepted.
        assert!(v.verify(Some(TS), Some(SIGNATURE), BODY.as_bytes(), ts + 300).is_ok());
        assert!(v.verify(Some(TS), Some(SIGNATURE), BODY.as_bytes(), ts - 300).is_ok());
        assert_eq!(v.verify(Some(TS), Some(SIGNATURE), BODY.as_bytes(), ts + 301), Err(VerifyError::Stale { skew_secs: 301 }));
        assert_eq!(v.verify(Some(TS), Some(SIGNATURE), BODY.as_bytes(), ts - 301), Err(VerifyError::Stale { skew_secs: -301 }));
        // Far-off clocks do not overflow.
        assert!(matches!(v.verify(Some(TS), Some(SIGNATURE), BODY.as_bytes(), i64::MIN), Err(VerifyError::Stale { .. })));
        assert!(matches!(v.verify(Some(TS), Some(SIGNATURE), BODY.as_bytes(), i64::MAX), Err(VerifyError::Stale { .. })));
    }

    #[test]
    fn missing_or_malformed_headers_are_refused() {
        let v = verifier();
        let body = BODY.as_bytes();
        assert_eq!(v.verify(None, Some(SIGNATURE), body, NOW), Err(VerifyError::MissingTimestamp));
        assert_eq!(v.verify(Some(TS), None, body, NOW), Err(VerifyError::MissingSignature));
        for bad_ts in ["", "abc", "-1531420618", "+1531420618", " 1531420618", "1531420618.5", "99999999999999999999"] {
            assert_eq!(v.verify(Some(bad_ts), Some(SIGNATURE), body, NOW), Err(VerifyError::MalformedTimestamp), "{bad_ts:?}");
        }
        for bad_sig in [
            "",
            "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            "v0=",
            "v0=a2114d57",
            "v0=zz114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50300",
        ] {
            assert_eq!(v.verify(Some(TS), Some(bad_sig), body, NOW), Err(VerifyError::MalformedSignature), "{bad_sig:?}");
        }
    }

    #[test]
    fn errors_and_debug_never_show_secret_or_signature() {
        let v = verifier();
        assert_eq!(format!("{v:?}"), "Verifier(***)");
        let errors = [
            VerifyError::MissingTimestamp,
            VerifyError::MissingSignature,
            VerifyError::MalformedTimestamp,
            VerifyError::Stale { skew_secs: 999 },
            VerifyError::MalformedSignature,
            VerifyError::Mismatch,
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.contains(SECRET) && !text.contains(&SIGNATURE[3..]), "{text}");
        }
    }

    #[test]
    fn empty_secret_is_refused() {
        assert_eq!(Verifier::new("").unwrap_err(), EmptySecret);
    }
}
