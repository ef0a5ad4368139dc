//! `subscription.imported` (from `pulse migrate praktika`): praktika's last-notified DM keys
//! become ledger entries, so no DM praktika already sent is sent again after the switch.
//!
//! - Each imported key `{kind}:{email}:{sha}:{ci_status}:{pr_number}:{repo_name}` is recorded
//!   under the ledger key `dm:{slack user}:{key}` ([`crate::dm::ledger_key`]'s format), the kind
//!   read from the key's first segment; a key naming no kind is not recorded. The entry is a
//!   put-if-absent with status `UNCONFIRMED` (delivered, but by praktika: Pulse holds no `ts`)
//!   and no `dm_covers` context, so it counts for its own kind only ([`crate::dm::covers_of`]).
//!   A `feed.updated` for that exact run then decides `AlreadySent`; any other run DMs.
//! - praktika's cached DM channel (`dm_channel_id`) is **not** stored. It is the IM between the
//!   user and praktika's bot; if Pulse runs as its own Slack app the channel is another bot's,
//!   posting to it fails with `channel_not_found`, and a cached channel is never re-opened. The
//!   notifier opens its own with `conversations.open` on the first DM (one call per user, then
//!   cached: `dm#{user}`), which is right for either app.
//!
//! Redelivery and re-runs are harmless: every write is put-if-absent.

use pulse_contracts::SubscriptionImported;

use crate::dm::DmKind;

/// One imported key: its kind and the ledger key it is recorded under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedKey {
    pub kind: DmKind,
    pub ledger_key: String,
}

/// The ledger entries an import asks for, and the keys that name no kind (not recorded).
pub fn ledger_entries(import: &SubscriptionImported) -> (Vec<ImportedKey>, Vec<String>) {
    let mut entries = Vec::new();
    let mut refused = Vec::new();
    for key in import.last_notified.keys() {
        match key.split(':').next().and_then(DmKind::parse) {
            Some(kind) => entries.push(ImportedKey { kind, ledger_key: format!("dm:{}:{key}", import.slack_user_id) }),
            None => refused.push(key.to_owned()),
        }
    }
    (entries, refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_contracts::{Email, ImportSource, LastNotified, Preferences};

    #[test]
    fn keys_go_under_the_users_ledger_key_by_their_own_kind() {
        let at = chrono::DateTime::parse_from_rfc3339("2025-11-20T09:00:00Z").unwrap().to_utc();
        let import = SubscriptionImported {
            team_id: "T1".into(),
            slack_user_id: "U1".into(),
            email: Email::parse("a@x.io").unwrap(),
            preferences: Preferences::default(),
            subscribed_at: at,
            dm_channel_id: Some("D1".into()),
            last_notified: LastNotified { failure: Some("failure:a@x.io:s:fail:1:r/x".into()), complete: Some("nonsense".into()) },
            source: ImportSource { bucket: "b".into(), key: "k".into(), etag: "\"e\"".into(), last_modified: at },
            publish_home: false,
        };
        let (entries, refused) = ledger_entries(&import);
        assert_eq!(entries, vec![ImportedKey { kind: DmKind::Failure, ledger_key: "dm:U1:failure:a@x.io:s:fail:1:r/x".into() }]);
        assert_eq!(refused, vec!["nonsense".to_owned()]);
    }
}
