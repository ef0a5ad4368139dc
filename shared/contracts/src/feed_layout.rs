//! Where a commit author's feed lives in S3, in praktika's layout.
//!
//! praktika (`ci/praktika/event.py`, `_sanitize_s3_key_name`) stores the feed of `email` at
//! `{prefix}/events/{name}.json.gz`, where `name` is the email with `@` replaced by `_at_` and
//! `+` by `_plus_`. Pulse writes the same objects, so the key must match praktika's byte for
//! byte:
//!
//! - The email is **not** lowercased: praktika keeps the case, and `A@x.com` and `a@x.com` are
//!   two feeds there too. Changing that would split or orphan existing feeds.
//! - Surrounding whitespace is trimmed (a stray space from a `commit_authors` list or a slash
//!   command would otherwise name a feed nobody reads). Inner characters are kept as they are;
//!   only `@` and `+` are rewritten, as in praktika.
//! - The prefix is used verbatim (a trailing `/` is kept, as praktika would keep it), except
//!   that an empty prefix gives `events/...` rather than praktika's `/events/...`.
//!
//! Callers skip empty emails (see [`feed_name`]); this module does not reject anything.
//!
//! The feeds are the one read model shared between services (the feed-projector writes, the
//! home-renderer and the CLI read), so their location rules live here with the other contracts.

/// Where feeds live: praktika's `bucket/prefix` (`EVENT_FEED_S3_PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLocation {
    pub bucket: String,
    pub prefix: String,
}

impl FeedLocation {
    /// Parse praktika's `bucket/prefix` form; the prefix may be empty.
    pub fn parse(path: &str) -> Option<Self> {
        let path = path.trim().trim_matches('/');
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        (!bucket.is_empty()).then(|| Self { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() })
    }

    /// The object key of `email`'s feed.
    pub fn key(&self, email: &str) -> String {
        feed_key(&self.prefix, email)
    }
}

/// The feed's file name stem: the trimmed email with `@` → `_at_` and `+` → `_plus_`.
///
/// An email that is empty after trimming gives an empty name; callers must not build a key
/// from it (check `email.trim().is_empty()` first).
pub fn feed_name(email: &str) -> String {
    let email = email.trim();
    let mut name = String::with_capacity(email.len() + 8);
    for ch in email.chars() {
        match ch {
            '@' => name.push_str("_at_"),
            '+' => name.push_str("_plus_"),
            other => name.push(other),
        }
    }
    name
}

/// The S3 key of the feed of `email` under `prefix`: `{prefix}/events/{name}.json.gz`
/// (`events/{name}.json.gz` when `prefix` is empty). See the module docs for what is and is
/// not normalised.
pub fn feed_key(prefix: &str, email: &str) -> String {
    let name = feed_name(email);
    if prefix.is_empty() {
        format!("events/{name}.json.gz")
    } else {
        format!("{prefix}/events/{name}.json.gz")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_location_parses_praktika_paths() {
        assert_eq!(FeedLocation::parse("b/p/q"), Some(FeedLocation { bucket: "b".into(), prefix: "p/q".into() }));
        assert_eq!(FeedLocation::parse("b"), Some(FeedLocation { bucket: "b".into(), prefix: String::new() }));
        assert_eq!(FeedLocation::parse("/"), None);
        assert_eq!(FeedLocation::parse("b/p").unwrap().key("a+b@x.io"), "p/events/a_plus_b_at_x.io.json.gz");
    }

    #[test]
    fn sanitises_at_and_plus() {
        assert_eq!(
            feed_key("prefix", "a+b@x.com"),
            "prefix/events/a_plus_b_at_x.com.json.gz"
        );
    }

    #[test]
    fn every_at_and_plus_is_rewritten() {
        assert_eq!(feed_name("a++b@@c"), "a_plus__plus_b_at__at_c");
    }

    #[test]
    fn empty_prefix_has_no_leading_slash() {
        assert_eq!(feed_key("", "dev@x.com"), "events/dev_at_x.com.json.gz");
    }

    #[test]
    fn nested_prefix_is_kept_verbatim() {
        assert_eq!(
            feed_key("ci/slack", "dev@x.com"),
            "ci/slack/events/dev_at_x.com.json.gz"
        );
    }

    #[test]
    fn case_is_kept_like_praktika() {
        assert_eq!(feed_key("p", "Dev@X.com"), "p/events/Dev_at_X.com.json.gz");
    }

    #[test]
    fn surrounding_whitespace_is_trimmed_inner_kept() {
        assert_eq!(
            feed_key("p", "  dev@x.com\n"),
            "p/events/dev_at_x.com.json.gz"
        );
        assert_eq!(feed_name(" a b@x "), "a b_at_x");
    }

    #[test]
    fn other_characters_are_untouched() {
        assert_eq!(
            feed_name("o'neil.dev-1_x@sub.x.com"),
            "o'neil.dev-1_x_at_sub.x.com"
        );
    }
}
