//! praktika's subscription files, parsed leniently: raw bytes in, a typed file or the reason it
//! cannot be used out. Nothing here panics on any input.
//!
//! praktika (`praktika/event.py`, `FeedSubscription`) keeps two kinds of object under
//! `{prefix}/subscriptions/`:
//!
//! - `email_{name}.json`, `name` the followed email with `@` → `_at_` and `+` → `_plus_`:
//!   `{"user_ids": [...], "user_email": "...", "subscribed_at": "<ISO>", "user_prefs": {user:
//!   {...}}}`. Every field may be missing (older files have no `user_prefs`); the email is
//!   `user_email`, else the one the name stands for (praktika's own fallback).
//! - `slack_{user}.json`: `{"user_email": "...", "user_id": "..."}`, older files `user_name`
//!   instead of `user_email` (praktika reads `user_email or user_name`).
//!
//! Values of the wrong type are read as praktika's worker would treat them: a toggle that is
//! not a boolean is off, a `last_notified_key` that is a plain string (older files) is kept as a
//! key of unknown kind, anything else there is ignored.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use pulse_contracts::Email;
use serde_json::Value;

/// One user's `user_prefs` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPrefs {
    /// The six toggles by praktika's names; only booleans are kept.
    pub toggles: BTreeMap<String, bool>,
    /// `last_notified_key` as a map: kind → key.
    pub last_notified: BTreeMap<String, String>,
    /// `last_notified_key` as a plain string (older files): a key of unknown kind.
    pub legacy_last_notified: Option<String>,
    pub dm_channel_id: Option<String>,
}

/// `email_*.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailFile {
    pub email: Email,
    pub user_ids: Vec<String>,
    /// `subscribed_at` as written (praktika rewrites it on every subscribe and unsubscribe).
    pub subscribed_at: Option<DateTime<Utc>>,
    pub user_prefs: BTreeMap<String, UserPrefs>,
}

/// `slack_*.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackFile {
    /// The user the file is named after (praktika looks it up by name).
    pub user: String,
    pub email: Email,
}

/// A subscription file, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubFile {
    Email(EmailFile),
    Slack(SlackFile),
}

/// What a key under `{prefix}/subscriptions/` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileName {
    /// `email_{name}.json`: the email the name stands for.
    Email(String),
    /// `slack_{user}.json`.
    Slack(String),
}

/// The kind of file `name` (the key without the subscriptions prefix) is, if any.
pub fn file_name(name: &str) -> Option<FileName> {
    let stem = name.strip_suffix(".json").filter(|s| !s.contains('/'))?;
    if let Some(sanitized) = stem.strip_prefix("email_").filter(|s| !s.is_empty()) {
        return Some(FileName::Email(sanitized.replace("_at_", "@").replace("_plus_", "+")));
    }
    stem.strip_prefix("slack_").filter(|s| !s.is_empty()).map(|u| FileName::Slack(u.to_owned()))
}

/// Parse the object named `name` (without the prefix). `Err` is the reason it is skipped.
pub fn parse(name: &str, body: &[u8]) -> Result<SubFile, String> {
    let kind = file_name(name).ok_or_else(|| "not a praktika subscription file (email_*.json or slack_*.json)".to_owned())?;
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("malformed JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err(format!("not a JSON object but {}", pulse_contracts::parse::json_kind(&value)));
    };
    let text = |k: &str| object.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    match kind {
        FileName::Slack(user) => {
            let raw = text("user_email").or_else(|| text("user_name")).ok_or("no `user_email` (nor the older `user_name`)")?;
            let email = Email::parse(raw).map_err(|e| e.to_string())?;
            Ok(SubFile::Slack(SlackFile { user, email }))
        }
        FileName::Email(from_name) => {
            let raw = text("user_email").unwrap_or(&from_name);
            let email = Email::parse(raw).map_err(|e| e.to_string())?;
            let user_ids = object
                .get("user_ids")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|u| u.as_str().map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned))
                .collect();
            let user_prefs = object
                .get("user_prefs")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(user, prefs)| prefs.as_object().map(|p| (user.clone(), user_prefs(p))))
                .collect();
            Ok(SubFile::Email(EmailFile { email, user_ids, subscribed_at: text("subscribed_at").and_then(iso_time), user_prefs }))
        }
    }
}

fn user_prefs(p: &serde_json::Map<String, Value>) -> UserPrefs {
    let toggles = p.iter().filter_map(|(k, v)| v.as_bool().map(|b| (k.clone(), b))).collect();
    let mut last_notified = BTreeMap::new();
    let mut legacy_last_notified = None;
    match p.get("last_notified_key") {
        Some(Value::Object(map)) => {
            for (kind, key) in map {
                if let Some(key) = key.as_str().filter(|k| !k.is_empty()) {
                    last_notified.insert(kind.clone(), key.to_owned());
                }
            }
        }
        Some(Value::String(key)) if !key.is_empty() => legacy_last_notified = Some(key.clone()),
        _ => {}
    }
    let dm_channel_id = p.get("dm_channel_id").and_then(Value::as_str).map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    UserPrefs { toggles, last_notified, legacy_last_notified, dm_channel_id }
}

/// praktika's `datetime.now(timezone.utc).isoformat()` (`2025-10-02T08:15:42.123456+00:00`), or
/// any RFC 3339 time; a time without offset is taken as UTC.
pub fn iso_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_back_as_praktika_wrote_them() {
        assert_eq!(file_name("email_a_plus_b_at_x.io.json"), Some(FileName::Email("a+b@x.io".into())));
        assert_eq!(file_name("slack_U1.json"), Some(FileName::Slack("U1".into())));
        for other in ["email_.json", "slack_.json", "email_a_at_x.io.txt", "sub/slack_U1.json", "notes.json"] {
            assert_eq!(file_name(other), None, "{other}");
        }
    }

    #[test]
    fn an_email_file_with_everything_parses() {
        let body = br#"{"user_ids": ["U1", "", 7], "user_email": "a@x.io", "subscribed_at": "2025-10-02T08:15:42.123456+00:00",
            "user_prefs": {"U1": {"hide_merges": true, "notify_on_failure": "yes", "dm_channel_id": "D1",
                                  "last_notified_key": {"failure": "failure:a@x.io:s:fail:1:r", "complete": null}},
                           "U2": {"last_notified_key": "complete:a@x.io:s:ok:0:r"}, "U3": "junk"}}"#;
        let SubFile::Email(f) = parse("email_a_at_x.io.json", body).unwrap() else { panic!() };
        assert_eq!(f.email.as_str(), "a@x.io");
        assert_eq!(f.user_ids, vec!["U1"]);
        assert_eq!(f.subscribed_at.unwrap().to_rfc3339(), "2025-10-02T08:15:42.123456+00:00");
        let u1 = &f.user_prefs["U1"];
        assert_eq!(u1.toggles.get("hide_merges"), Some(&true));
        assert_eq!(u1.toggles.get("notify_on_failure"), None, "not a boolean: off");
        assert_eq!(u1.dm_channel_id.as_deref(), Some("D1"));
        assert_eq!(u1.last_notified.len(), 1);
        assert_eq!(f.user_prefs["U2"].legacy_last_notified.as_deref(), Some("complete:a@x.io:s:ok:0:r"));
        assert!(!f.user_prefs.contains_key("U3"));
    }

    #[test]
    fn older_files_and_odd_values_parse_and_bad_ones_say_why() {
        let SubFile::Email(f) = parse("email_a_at_x.io.json", br#"{"user_ids": ["U1"]}"#).unwrap() else { panic!() };
        assert_eq!((f.email.as_str(), f.subscribed_at, f.user_prefs.len()), ("a@x.io", None, 0), "email from the name");
        let SubFile::Slack(s) = parse("slack_U1.json", br#"{"user_name": "a@x.io", "user_id": "U1"}"#).unwrap() else { panic!() };
        assert_eq!((s.user.as_str(), s.email.as_str()), ("U1", "a@x.io"));
        assert_eq!(iso_time("2025-10-02T08:15:42"), Some(DateTime::parse_from_rfc3339("2025-10-02T08:15:42Z").unwrap().to_utc()));
        for (name, body, why) in [
            ("slack_U1.json", &b"{not json"[..], "malformed JSON"),
            ("slack_U1.json", b"[]", "not a JSON object but an array"),
            ("slack_U1.json", b"{\"user_id\": \"U1\"}", "no `user_email`"),
            ("slack_U1.json", b"{\"user_email\": \"nobody\"}", "not an email address"),
            ("email_nobody.json", b"{}", "not an email address"),
            ("readme.json", b"{}", "not a praktika subscription file"),
            ("email_a_at_x.io.json", b"", "malformed JSON"),
        ] {
            let err = parse(name, body).unwrap_err();
            assert!(err.contains(why), "{name}: {err}");
        }
    }
}
