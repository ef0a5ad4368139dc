//! Where a commit author's feed lives in S3, in praktika's layout, and the one parser of
//! praktika's `EVENT_FEED_S3_PATH` that every service uses.
//!
//! praktika (`praktika/event.py`: `EventFeed.from_s3`, `to_s3`, `_sanitize_s3_key_name`) splits
//! `EVENT_FEED_S3_PATH` on `/`: the bucket is the first segment and the prefix is the rest,
//! verbatim. It stores the feed of `email` at `{prefix}/events/{name}.json.gz`, where `name` is
//! the email with `@` replaced by `_at_` and `+` by `_plus_`. Pulse reads and writes the same
//! objects, so it splits and names exactly the same way:
//!
//! - The prefix is not trimmed: `bucket/feeds/` gives keys `feeds//events/...`, as in praktika.
//!   [`FeedLocation::warnings`] says when a value looks like a mistake.
//! - The email is neither trimmed nor lowercased: `A@x.com` and `a@x.com` are two feeds in
//!   praktika too. Changing that would split or orphan existing feeds.
//! - One difference: with no prefix at all (`EVENT_FEED_S3_PATH=bucket`), praktika's keys start
//!   with `/events/`. Pulse's own default location (its stack's bucket, no prefix) writes
//!   `events/...`; an `EVENT_FEED_S3_PATH` without a prefix is kept exactly as praktika has it.
//!
//! Callers skip empty emails; this module does not reject anything.
//!
//! The feeds are the one read model shared between services (the feed-projector writes, the
//! home-renderer, the notifier and the CLI read), so their location rules live here with the
//! other contracts.

/// Where feeds live: praktika's `bucket/prefix` (`EVENT_FEED_S3_PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLocation {
    pub bucket: String,
    /// `None`: Pulse's own layout (`events/...` at the bucket's root). `Some(p)`: praktika's
    /// `{p}/events/...`, `p` verbatim (even empty).
    pub prefix: Option<String>,
}

/// Why `EVENT_FEED_S3_PATH` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("EVENT_FEED_S3_PATH {0:?} has no bucket: it must look like `bucket/prefix` (praktika's form)")]
pub struct NoBucket(pub String);

impl FeedLocation {
    /// Pulse's own feed bucket, no prefix: keys `events/{name}.json.gz`.
    pub fn own_bucket(bucket: impl Into<String>) -> Self {
        FeedLocation { bucket: bucket.into(), prefix: None }
    }

    /// A bucket and a praktika prefix (`{prefix}/events/...`).
    pub fn praktika(bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        FeedLocation { bucket: bucket.into(), prefix: Some(prefix.into()) }
    }

    /// Split `EVENT_FEED_S3_PATH` exactly as praktika does: bucket = text before the first `/`,
    /// prefix = everything after it, verbatim.
    pub fn parse(path: &str) -> Result<Self, NoBucket> {
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        if bucket.is_empty() {
            return Err(NoBucket(path.to_owned()));
        }
        Ok(Self::praktika(bucket, prefix))
    }

    /// The location services use: `EVENT_FEED_S3_PATH` when it is set, else Pulse's own bucket.
    pub fn from_setting(value: Option<&str>, own_bucket: impl Into<String>) -> Result<Self, NoBucket> {
        match value {
            Some(path) => Self::parse(path),
            None => Ok(Self::own_bucket(own_bucket)),
        }
    }

    /// What looks wrong in the `EVENT_FEED_S3_PATH` this location came from: things praktika
    /// accepts too, but that are rarely meant. Log them; they change nothing.
    pub fn warnings(&self) -> Vec<String> {
        let Some(prefix) = &self.prefix else { return Vec::new() };
        let mut found = Vec::new();
        let whole = format!("{}/{prefix}", self.bucket);
        if whole.trim() != whole {
            found.push("it starts or ends with whitespace, which becomes part of the bucket or the keys".to_owned());
        }
        if self.bucket.contains(':') {
            found.push(format!("the bucket is {:?}: write `bucket/prefix`, not an s3:// URL", self.bucket));
        }
        if prefix.is_empty() {
            found.push("there is no prefix, so praktika's keys start with `/events/`".to_owned());
        }
        if prefix.ends_with('/') || prefix.starts_with('/') || prefix.contains("//") {
            found.push(format!("the prefix {prefix:?} has an empty segment, so keys contain `//` (praktika keeps it verbatim)"));
        }
        found
    }

    /// The object key of `email`'s feed.
    pub fn key(&self, email: &str) -> String {
        match &self.prefix {
            None => format!("events/{}.json.gz", feed_name(email)),
            Some(prefix) => format!("{prefix}/events/{}.json.gz", feed_name(email)),
        }
    }

    /// The key prefix under which every feed of this location lives (for listing).
    pub fn events_prefix(&self) -> String {
        match &self.prefix {
            None => "events/".to_owned(),
            Some(prefix) => format!("{prefix}/events/"),
        }
    }

    /// The key prefix of praktika's subscription files (`{prefix}/subscriptions/`).
    pub fn subscriptions_prefix(&self) -> String {
        match &self.prefix {
            None => "subscriptions/".to_owned(),
            Some(prefix) => format!("{prefix}/subscriptions/"),
        }
    }

    /// The email whose feed `key` is, if `key` is a feed of this location. The inverse of
    /// [`FeedLocation::key`] up to praktika's sanitising (`_at_` reads back as `@`, `_plus_` as
    /// `+`), which is how praktika's own names go back to emails.
    pub fn email_of(&self, key: &str) -> Option<String> {
        let name = key.strip_prefix(&self.events_prefix())?.strip_suffix(".json.gz")?;
        (!name.is_empty() && !name.contains('/')).then(|| name.replace("_at_", "@").replace("_plus_", "+"))
    }
}

/// The feed's file name stem: the email with `@` → `_at_` and `+` → `_plus_`, nothing else.
pub fn feed_name(email: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_exactly_as_praktika() {
        let cases = [
            ("b/p/q", "b", "p/q"),
            ("b", "b", ""),
            ("b/", "b", ""),
            ("b/feeds/", "b", "feeds/"),
            ("b//x", "b", "/x"),
            (" b/p ", " b", "p "),
        ];
        for (path, bucket, prefix) in cases {
            assert_eq!(FeedLocation::parse(path), Ok(FeedLocation::praktika(bucket, prefix)), "{path:?}");
        }
        assert_eq!(FeedLocation::parse("/x"), Err(NoBucket("/x".into())));
        assert_eq!(FeedLocation::parse(""), Err(NoBucket(String::new())));
    }

    #[test]
    fn keys_are_praktikas_byte_for_byte() {
        let key = |path: &str, email: &str| FeedLocation::parse(path).unwrap().key(email);
        assert_eq!(key("b/p", "a+b@x.io"), "p/events/a_plus_b_at_x.io.json.gz");
        assert_eq!(key("b/ci/slack", "dev@x.com"), "ci/slack/events/dev_at_x.com.json.gz");
        assert_eq!(key("b/feeds/", "dev@x.com"), "feeds//events/dev_at_x.com.json.gz");
        assert_eq!(key("b", "dev@x.com"), "/events/dev_at_x.com.json.gz");
        assert_eq!(key("b/p", "Dev@X.com"), "p/events/Dev_at_X.com.json.gz", "case is kept");
        assert_eq!(key("b/p", " dev@x.com"), "p/events/ dev_at_x.com.json.gz", "emails are not trimmed");
        assert_eq!(FeedLocation::own_bucket("b").key("dev@x.com"), "events/dev_at_x.com.json.gz");
    }

    #[test]
    fn every_at_and_plus_is_rewritten_and_nothing_else() {
        assert_eq!(feed_name("a++b@@c"), "a_plus__plus_b_at__at_c");
        assert_eq!(feed_name("o'neil.dev-1_x@sub.x.com"), "o'neil.dev-1_x_at_sub.x.com");
    }

    #[test]
    fn suspicious_values_are_warned_about_and_ordinary_ones_are_not() {
        assert!(FeedLocation::parse("bucket/ci/feeds").unwrap().warnings().is_empty());
        assert!(FeedLocation::own_bucket("bucket").warnings().is_empty());
        for path in ["bucket", "bucket/feeds/", "s3://bucket/feeds", "bucket/feeds ", "bucket//feeds"] {
            assert!(!FeedLocation::parse(path).unwrap().warnings().is_empty(), "{path:?}");
        }
    }

    #[test]
    fn a_key_reads_back_to_its_email() {
        let loc = FeedLocation::parse("b/p").unwrap();
        assert_eq!(loc.email_of(&loc.key("a+b@x.io")), Some("a+b@x.io".into()));
        assert_eq!(loc.email_of("p/subscriptions/email_a_at_x.io.json"), None);
        assert_eq!(loc.email_of("p/events/sub/a.json.gz"), None);
        let own = FeedLocation::own_bucket("b");
        assert_eq!(own.email_of("events/dev_at_x.com.json.gz"), Some("dev@x.com".into()));
    }
}
