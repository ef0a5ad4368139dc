//! GitHub webhook signatures (docs.github.com, "Validating webhook deliveries").
//!
//! GitHub signs the raw body with HMAC-SHA256 under the hook's secret and sends
//! `X-Hub-Signature-256: sha256=<64 hex digits>`. A delivery is genuine when the signature
//! matches, compared in constant time. GitHub signs no timestamp, so there is no window to
//! check: a replayed delivery is caught by its `X-GitHub-Delivery` id in the ledger instead.
//!
//! Errors say what was wrong, never a value.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The prefix of `X-Hub-Signature-256`.
pub const PREFIX: &str = "sha256=";

type HmacSha256 = Hmac<Sha256>;

/// Why a delivery's signature was refused. Every variant means HTTP 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Hub-Signature-256 header is missing")]
    Missing,
    #[error("the X-Hub-Signature-256 header is not `sha256=` followed by 64 hex digits")]
    Malformed,
    #[error("the X-Hub-Signature-256 signature does not match")]
    Mismatch,
}

/// The webhook secret is empty: anyone could sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the GitHub webhook secret is empty")]
pub struct EmptySecret;

/// Checks signatures under one webhook secret; the key schedule is computed once. `Debug` does
/// not print the key.
#[derive(Clone)]
pub struct WebhookVerifier {
    keyed: HmacSha256,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookVerifier(***)")
    }
}

impl WebhookVerifier {
    pub fn new(secret: &str) -> Result<Self, EmptySecret> {
        if secret.is_empty() {
            return Err(EmptySecret);
        }
        Ok(Self { keyed: HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length") })
    }

    /// Check `X-Hub-Signature-256` (as received, or `None`) over the raw body.
    pub fn verify(&self, signature: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
        let given = decode(signature.ok_or(SignatureError::Missing)?)?;
        if bool::from(self.mac(body).ct_eq(&given)) { Ok(()) } else { Err(SignatureError::Mismatch) }
    }

    /// The `X-Hub-Signature-256` value GitHub would send for `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        format!("{PREFIX}{}", hex::encode(self.mac(body)))
    }

    fn mac(&self, body: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// Sign like GitHub (for `pulse github send`, tests and benchmarks).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let verifier = WebhookVerifier { keyed: HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length") };
    verifier.sign(body)
}

fn decode(text: &str) -> Result<[u8; 32], SignatureError> {
    let hex_part = text.strip_prefix(PREFIX).ok_or(SignatureError::Malformed)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).map_err(|_| SignatureError::Malformed)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // GitHub's documented test values ("Validating webhook deliveries", "Testing the webhook
    // payload validation").
    const SECRET: &str = "It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_documented_example_verifies() {
        let v = WebhookVerifier::new(SECRET).unwrap();
        assert_eq!(v.verify(Some(SIGNATURE), BODY), Ok(()));
        assert_eq!(sign(SECRET, BODY), SIGNATURE);
        let upper = format!("sha256={}", SIGNATURE[7..].to_ascii_uppercase());
        assert_eq!(v.verify(Some(&upper), BODY), Ok(()), "hex in either case");
    }

    #[test]
    fn another_secret_or_a_changed_body_is_a_mismatch() {
        assert_eq!(WebhookVerifier::new("not it").unwrap().verify(Some(SIGNATURE), BODY), Err(SignatureError::Mismatch));
        let v = WebhookVerifier::new(SECRET).unwrap();
        assert_eq!(v.verify(Some(SIGNATURE), b"Hello, World!\n"), Err(SignatureError::Mismatch));
        assert_eq!(v.verify(Some(SIGNATURE), b"Hello, World?"), Err(SignatureError::Mismatch));
        let mut flipped = SIGNATURE.to_owned();
        flipped.replace_range(70..71, if &SIGNATURE[70..71] == "0" { "1" } else { "0" });
        assert_eq!(v.verify(Some(&flipped), BODY), Err(SignatureError::Mismatch));
    }

    #[test]
    fn missing_or_malformed_signatures_are_refused() {
        let v = WebhookVerifier::new(SECRET).unwrap();
        assert_eq!(v.verify(None, BODY), Err(SignatureError::Missing));
        for bad in [
            "",
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha256=",
            "sha256=757107ea",
            "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1700",
        ] {
            assert_eq!(v.verify(Some(bad), BODY), Err(SignatureError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_never_shown() {
        assert_eq!(WebhookVerifier::new("").unwrap_err(), EmptySecret);
        let v = WebhookVerifier::new(SECRET).unwrap();
        assert_eq!(format!("{v:?}"), "WebhookVerifier(***)");
        for e in [SignatureError::Missing, SignatureError::Malformed, SignatureError::Mismatch] {
            assert!(!e.to_string().contains(&SIGNATURE[7..]));
        }
    }
}
