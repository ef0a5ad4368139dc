//! GitHub webhooks (`POST /github/webhook`): GitHub Actions `workflow_run` and `workflow_job`
//! deliveries in, `github.workflow_run` / `github.workflow_job` events out.
//!
//! Pure, like the Slack path: [`headers`](GithubHeaders) (the four headers read, in any letter
//! case), [`verify`] (`X-Hub-Signature-256`), [`parse`] (GitHub's payload → the contract's
//! detail, only the fields Pulse uses) and [`decide`] (a delivery → the [`Decision`]).
//! The shell (ledger, publisher) is the Slack path's: a GitHub delivery's ledger key is
//! `github#{X-GitHub-Delivery}`.
//!
//! [`Decision`]: crate::decide::Decision

pub mod decide;
pub mod parse;
pub mod verify;

pub use decide::{GithubRequest, MAX_BODY_BYTES, decide};
pub use verify::{WebhookVerifier, sign};

/// `X-GitHub-Event`: the event type (`workflow_run`, `ping`, ...).
pub const EVENT: &str = "x-github-event";
/// `X-GitHub-Delivery`: a GUID per delivery, kept by a redelivery.
pub const DELIVERY: &str = "x-github-delivery";
/// `X-Hub-Signature-256`: `sha256=<hex HMAC-SHA256 of the raw body>`. Never logged.
pub const SIGNATURE: &str = "x-hub-signature-256";
/// `Content-Type`.
pub const CONTENT_TYPE: &str = "content-type";

/// The headers of one delivery that Pulse reads, found in any letter case (transports differ:
/// hyper and API Gateway v2 lowercase, v1 keeps GitHub's spelling). A value that is not UTF-8
/// counts as absent; the first occurrence wins. `Debug` never prints the signature.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct GithubHeaders<'a> {
    pub event: Option<&'a str>,
    pub delivery: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub content_type: Option<&'a str>,
}

impl<'a> GithubHeaders<'a> {
    pub fn from_pairs<I>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let [event, delivery, signature, content_type] = crate::headers::pick(pairs, [EVENT, DELIVERY, SIGNATURE, CONTENT_TYPE]);
        GithubHeaders { event, delivery, signature, content_type }
    }

    /// From string pairs (tests, fixtures).
    pub fn from_str_pairs<I>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        Self::from_pairs(pairs.into_iter().map(|(n, v)| (n, v.as_bytes())))
    }
}

impl std::fmt::Debug for GithubHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubHeaders")
            .field("event", &self.event)
            .field("delivery", &self.delivery)
            .field("signature", &self.signature.map(|_| "<present>"))
            .field("content_type", &self.content_type)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_in_any_letter_case_and_debug_hides_the_signature() {
        for names in [
            ["X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256", "Content-Type"],
            ["x-github-event", "x-github-delivery", "x-hub-signature-256", "content-type"],
        ] {
            let h = GithubHeaders::from_str_pairs([
                ("X-Hub-Signature", "sha1=ignored"),
                (names[0], "workflow_run"),
                (names[1], " 72d3162e-cc78-11e3-81ab-4c9367dc0958 "),
                (names[2], "sha256=deadbeef"),
                (names[3], "application/json"),
            ]);
            assert_eq!(h.event, Some("workflow_run"));
            assert_eq!(h.delivery, Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
            assert_eq!(h.signature, Some("sha256=deadbeef"), "not the SHA-1 header");
            assert_eq!(h.content_type, Some("application/json"));
            assert!(!format!("{h:?}").contains("deadbeef"));
        }
        let h =
            GithubHeaders::from_pairs([("x-hub-signature-256", &b"\xff"[..]), ("x-github-event", b"ping"), ("x-github-event", b"push")]);
        assert_eq!((h.signature, h.event), (None, Some("ping")), "non-UTF-8 is absent, the first occurrence wins");
    }
}
