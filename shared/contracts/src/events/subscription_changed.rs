//! `subscription.changed` v1: the full new subscription state of one Slack user.
//!
//! The home-renderer owns subscriptions; the notifier keeps its own projection from these events.
//! Each carries the whole state (not a delta) and a per-user `revision`, so a consumer applies an
//! event only when its revision is newer than the one it holds, and redelivered or reordered
//! events are harmless.
//!
//! `github` (optional, added compatibly) lists the GitHub accounts the user linked: each is one
//! more feed followed, its noreply address ([`crate::GithubAccount`]). A subscriber follows
//! [`SubscriptionChanged::followed_emails`]; DMs and digests about any of them are the user's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::digest_tick::DigestPeriod;
use crate::github_account::GithubAccount;
use crate::types::Email;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionChanged {
    pub team_id: String,
    pub slack_user_id: String,
    /// The feed this user follows.
    pub email: Email,
    pub state: SubscriptionState,
    pub subscribed_at: DateTime<Utc>,
    /// Set when unsubscribed: a soft delete, purged after the retention period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    pub preferences: Preferences,
    /// Starts at 1 and increases with every change of this user's subscription.
    pub revision: u64,
    /// GitHub accounts linked to the subscription (`/praktika github add ID+login`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub github: Vec<GithubAccount>,
}

impl SubscriptionChanged {
    /// Whether this event should replace a projection holding `held` (the revision already
    /// applied, if any).
    pub fn supersedes(&self, held: Option<u64>) -> bool {
        held.is_none_or(|held| self.revision > held)
    }

    /// Every feed this subscription follows: the email first, then each linked account's
    /// noreply address (none while unsubscribed).
    pub fn followed_emails(&self) -> Vec<Email> {
        followed_emails(self.state, &self.email, &self.github)
    }
}

/// The feeds a subscription in `state` to `email` with linked `github` accounts follows: the
/// email first, then each account's noreply address, without repeats; none while unsubscribed.
pub fn followed_emails(state: SubscriptionState, email: &Email, github: &[GithubAccount]) -> Vec<Email> {
    if state != SubscriptionState::Subscribed {
        return Vec::new();
    }
    let mut out = vec![email.clone()];
    for account in github {
        let noreply = account.noreply_email();
        if !out.contains(&noreply) {
            out.push(noreply);
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionState {
    Subscribed,
    Unsubscribed,
}

/// The Home tab toggles (praktika's `user_prefs`, all off by default; their meaning is praktika's
/// worker of today, which wins over the seed's wording) plus the digest choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Preferences {
    /// Hide every merged PR event (`pr_number > 0`), nested PRs included; a missing `pr_status` is
    /// inferred as praktika infers it. Merge results stay unless `hide_merges`.
    pub hide_merged_prs: bool,
    /// Hide merge results (`pr_number == 0`) on `master`, `main` and `release*` branches.
    pub hide_merges: bool,
    /// Hide nested PRs (`parent_pr_number > 0` and `pr_number > 0`).
    pub hide_secondary_prs: bool,
    /// Show only events of the last 7 days.
    pub show_last_7d: bool,
    /// DM when the newest event is `completed`.
    pub notify_on_complete: bool,
    /// DM when the newest event has a failing job (`failure`, `error`, `fail`, any case).
    pub notify_on_failure: bool,
    /// Which digest the user gets; absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<DigestSchedule>,
}

/// How often a subscriber gets a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestSchedule {
    /// No digest (`"none"` on the wire).
    #[serde(rename = "none")]
    Off,
    Daily,
    Weekly,
}

impl DigestSchedule {
    /// Whether a `digest.tick` of `period` should send this subscriber a digest.
    pub fn wants(self, period: DigestPeriod) -> bool {
        matches!((self, period), (DigestSchedule::Daily, DigestPeriod::Daily) | (DigestSchedule::Weekly, DigestPeriod::Weekly))
    }
}

impl Preferences {
    /// Whether a `digest.tick` of `period` should send this subscriber a digest.
    pub fn wants_digest(&self, period: DigestPeriod) -> bool {
        self.digest.is_some_and(|d| d.wants(period))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_none_is_the_string_none() {
        assert_eq!(serde_json::to_value(DigestSchedule::Off).unwrap(), "none");
        assert_eq!(serde_json::from_value::<DigestSchedule>("none".into()).unwrap(), DigestSchedule::Off);
        let prefs = Preferences { digest: Some(DigestSchedule::Weekly), ..Preferences::default() };
        assert!(prefs.wants_digest(DigestPeriod::Weekly));
        assert!(!prefs.wants_digest(DigestPeriod::Daily));
        assert!(!Preferences::default().wants_digest(DigestPeriod::Daily));
    }

    #[test]
    fn only_newer_revisions_supersede() {
        let json = serde_json::json!({
            "team_id": "T1", "slack_user_id": "U1", "email": "a@b", "state": "subscribed",
            "subscribed_at": "2025-11-20T09:00:00Z", "revision": 3,
            "preferences": {"hide_merged_prs": false, "hide_merges": false, "hide_secondary_prs": false,
                            "show_last_7d": false, "notify_on_complete": false, "notify_on_failure": true}
        });
        let ev: SubscriptionChanged = serde_json::from_value(json).unwrap();
        assert!(ev.supersedes(None));
        assert!(ev.supersedes(Some(2)));
        assert!(!ev.supersedes(Some(3)));
        assert!(!ev.supersedes(Some(4)));
        assert!(ev.github.is_empty(), "`github` is optional");
        assert_eq!(ev.followed_emails(), [Email::parse("a@b").unwrap()]);
    }

    #[test]
    fn linked_accounts_are_followed_through_their_noreply_addresses_while_subscribed() {
        let email = Email::parse("ada@example.com").unwrap();
        let ada = GithubAccount { id: 7, login: "ada".into() };
        let twice = [ada.clone(), ada.clone()];
        let follows = followed_emails(SubscriptionState::Subscribed, &email, &twice);
        assert_eq!(follows.iter().map(Email::as_str).collect::<Vec<_>>(), ["ada@example.com", "7+ada@users.noreply.github.com"]);
        assert!(followed_emails(SubscriptionState::Unsubscribed, &email, &twice).is_empty());
        let noreply = ada.noreply_email();
        assert_eq!(followed_emails(SubscriptionState::Subscribed, &noreply, &twice), vec![noreply]);
    }
}
