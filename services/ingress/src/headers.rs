//! The few request headers ingress reads, found in any letter case.
//!
//! HTTP header names are case-insensitive, and what reaches us depends on the transport: hyper
//! lowercases them, API Gateway REST (v1) passes Slack's own spelling (`X-Slack-Signature`),
//! HTTP API (v2) lowercases. So lookups compare names ASCII-case-insensitively, and a value that is
//! not valid UTF-8 counts as absent (which, for the signature headers, means "refused").

/// `X-Slack-Request-Timestamp`: Unix seconds when Slack signed the request.
pub const TIMESTAMP: &str = "x-slack-request-timestamp";
/// `X-Slack-Signature`: `v0=<hex HMAC-SHA256>`. Never logged.
pub const SIGNATURE: &str = "x-slack-signature";
/// `X-Slack-Retry-Num`: set on Events API redeliveries (1, 2, 3).
pub const RETRY_NUM: &str = "x-slack-retry-num";
/// `X-Slack-Retry-Reason`: why Slack redelivered (`http_timeout`, `http_error`, ...).
pub const RETRY_REASON: &str = "x-slack-retry-reason";
/// `Content-Type`.
pub const CONTENT_TYPE: &str = "content-type";

/// The values of the headers `names` among `(name, value)` pairs, compared ASCII-case-insensitively
/// (Slack's and GitHub's headers alike). The first readable occurrence of each wins; a value that
/// is not UTF-8 counts as absent; values are trimmed.
pub fn pick<'a, const N: usize>(pairs: impl IntoIterator<Item = (&'a str, &'a [u8])>, names: [&str; N]) -> [Option<&'a str>; N] {
    let mut found = [None; N];
    for (name, value) in pairs {
        if let Some(slot) = names.iter().position(|n| name.eq_ignore_ascii_case(n)).map(|i| &mut found[i])
            && slot.is_none()
        {
            *slot = std::str::from_utf8(value).ok().map(str::trim);
        }
    }
    found
}

/// The Slack headers of one request. `Debug` never prints the signature, only whether it is
/// there.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct SlackHeaders<'a> {
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub retry_num: Option<&'a str>,
    pub retry_reason: Option<&'a str>,
}

impl<'a> SlackHeaders<'a> {
    /// Picks the headers ingress reads out of `(name, value)` pairs, names in any letter case.
    /// The first occurrence of a header wins.
    pub fn from_pairs<I>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let [timestamp, signature, content_type, retry_num, retry_reason] =
            pick(pairs, [TIMESTAMP, SIGNATURE, CONTENT_TYPE, RETRY_NUM, RETRY_REASON]);
        SlackHeaders { timestamp, signature, content_type, retry_num, retry_reason }
    }

    /// From string pairs (tests, fixtures).
    pub fn from_str_pairs<I>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        Self::from_pairs(pairs.into_iter().map(|(n, v)| (n, v.as_bytes())))
    }

    /// `X-Slack-Retry-Num` as a number (0 when absent or unreadable).
    pub fn retry_attempt(&self) -> u32 {
        self.retry_num.and_then(|n| n.parse().ok()).unwrap_or(0)
    }
}

impl std::fmt::Debug for SlackHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackHeaders")
            .field("timestamp", &self.timestamp)
            .field("signature", &self.signature.map(|_| "<present>"))
            .field("content_type", &self.content_type)
            .field("retry_num", &self.retry_num)
            .field("retry_reason", &self.retry_reason)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_headers_in_any_letter_case() {
        for (ts, sig, ct) in [
            ("X-Slack-Request-Timestamp", "X-Slack-Signature", "Content-Type"),
            ("x-slack-request-timestamp", "x-slack-signature", "content-type"),
            ("X-SLACK-REQUEST-TIMESTAMP", "X-SLACK-SIGNATURE", "CONTENT-TYPE"),
            ("x-Slack-request-TIMESTAMP", "X-slack-SIGNATURE", "cOnTeNt-TyPe"),
        ] {
            let h = SlackHeaders::from_str_pairs([
                ("Host", "example"),
                (ts, "1531420618"),
                (sig, "v0=abc"),
                (ct, "application/json"),
                ("X-Slack-Retry-Num", "2"),
            ]);
            assert_eq!(h.timestamp, Some("1531420618"), "{ts}");
            assert_eq!(h.signature, Some("v0=abc"), "{sig}");
            assert_eq!(h.content_type, Some("application/json"), "{ct}");
            assert_eq!(h.retry_attempt(), 2);
        }
    }

    #[test]
    fn first_occurrence_wins_and_non_utf8_is_absent() {
        let h = SlackHeaders::from_pairs([
            ("x-slack-signature", &b"\xff\xfe"[..]),
            ("x-slack-request-timestamp", b"1"),
            ("x-slack-request-timestamp", b"2"),
        ]);
        assert_eq!(h.signature, None);
        assert_eq!(h.timestamp, Some("1"));
        assert_eq!(h.retry_attempt(), 0);
    }

    #[test]
    fn debug_hides_the_signature() {
        let h = SlackHeaders::from_str_pairs([("x-slack-signature", "v0=deadbeefcafe")]);
        let text = format!("{h:?}");
        assert!(!text.contains("deadbeef"), "{text}");
        assert!(text.contains("<present>"), "{text}");
    }
}
