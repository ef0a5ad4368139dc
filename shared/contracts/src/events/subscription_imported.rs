//! `subscription.imported` v1: one Slack user's subscription as praktika kept it, imported by
//! `pulse migrate praktika`.
//!
//! praktika stores subscriptions in S3 beside the feeds (`{prefix}/subscriptions/email_*.json`,
//! `slack_*.json`). The CLI reads them (never writes them), decides which email each Slack user
//! follows, and publishes one of these per user. Each service takes its own part:
//!
//! - the home-renderer creates the subscription with these toggles, unless the user already has
//!   Pulse state of their own (a subscription made in Pulse, or changed in Pulse since an earlier
//!   import): that state always wins;
//! - the notifier records `last_notified` in its message ledger as already sent (ledger key
//!   `dm:{slack_user_id}:{praktika key}`), so the switch repeats no DM, and caches
//!   `dm_channel_id`.
//!
//! The event carries the source object (key, ETag, LastModified) so every service can say in its
//! log where a value came from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::subscription_changed::Preferences;
use crate::types::Email;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionImported {
    pub team_id: String,
    pub slack_user_id: String,
    /// The feed this user followed in praktika.
    pub email: Email,
    /// praktika's six `user_prefs` toggles (missing ones off); `digest` is never set.
    pub preferences: Preferences,
    /// praktika's `subscribed_at` of the email file (when the file was last written by a
    /// subscribe), else the object's LastModified.
    pub subscribed_at: DateTime<Utc>,
    /// praktika's cached DM channel (`user_prefs[user].dm_channel_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm_channel_id: Option<String>,
    /// praktika's `last_notified_key`, per kind.
    #[serde(default, skip_serializing_if = "LastNotified::is_empty")]
    pub last_notified: LastNotified,
    /// The praktika object the preferences were read from.
    pub source: ImportSource,
    /// Publish the user's Home view once the subscription is in place (the switch step).
    pub publish_home: bool,
}

/// praktika's DM dedup keys (`{kind}:{email}:{sha}:{ci_status lower}:{pr_number}:{repo_name}`),
/// the last one sent per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastNotified {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete: Option<String>,
}

impl LastNotified {
    pub fn is_empty(&self) -> bool {
        self.failure.is_none() && self.complete.is_none()
    }

    /// The keys held, failure first.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.failure.iter().chain(self.complete.iter()).map(String::as_str)
    }
}

/// Where an import was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSource {
    pub bucket: String,
    pub key: String,
    /// The object's ETag as S3 returned it (quotes included).
    pub etag: String,
    pub last_modified: DateTime<Utc>,
}

impl SubscriptionImported {
    /// The contract's dedup key, which names the fact (this user, from this version of the
    /// source object, with or without the Home publish):
    /// `subscription.imported:{team_id}:{slack_user_id}:{etag without quotes}[:home]`.
    /// Running the import again on unchanged files produces the same keys.
    pub fn dedup_key(&self) -> String {
        let etag = self.source.etag.trim_matches('"');
        let home = if self.publish_home { ":home" } else { "" };
        format!("subscription.imported:{}:{}:{etag}{home}", self.team_id, self.slack_user_id)
    }
}
