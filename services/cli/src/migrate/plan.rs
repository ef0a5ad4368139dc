//! The import plan, as a pure function: praktika's subscription files (parsed, with their S3
//! LastModified and ETag) in; one import per Slack user, the conflicts and the skipped files out.
//! No I/O, no clock.
//!
//! Rules:
//!
//! - **Who is a subscriber.** Every Slack user named by a `slack_{user}.json` or listed in an
//!   email file's `user_ids`. An entry of `user_prefs` alone (praktika deletes it on unsubscribe,
//!   so it is a leftover) does not make a subscriber.
//! - **Which email they follow.** The user's `slack_{user}.json` decides: it is what praktika's
//!   worker reads to find a user's subscription. Without one (or with one that cannot be read),
//!   the email files listing the user in `user_ids` are the candidates and the most recently
//!   modified wins, as the issue asks: by S3 LastModified, then praktika's own `subscribed_at`
//!   (rewritten on every subscribe and unsubscribe), then the key, so the choice never depends
//!   on listing order. Whenever the candidates disagree with
//!   the choice (several email files list the user, or the slack file names another email than
//!   a file listing them) the plan names a [`Conflict`].
//! - **What is imported.** From the chosen email's file, `user_prefs[user]`: the six toggles
//!   (missing → off), `dm_channel_id`, `last_notified_key`; and the file's `subscribed_at` (else
//!   its LastModified). With no email file for the chosen email, the toggles are off and the
//!   slack file is the source.
//! - **Last-notified keys.** praktika's DM key starts with its kind (`failure:` / `complete:`),
//!   so the kind is read from the key itself: a map entry filed under the wrong kind goes under
//!   its own, and an older plain-string `last_notified_key` (kind unknown to praktika) is placed
//!   by its first segment. A key whose first segment is neither is dropped, with a note.
//! - **Skipped.** A file that is not JSON, not an object, not named like a subscription file, or
//!   whose email is not an address is skipped with the reason; it never stops the plan.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use pulse_contracts::{Email, ImportSource, LastNotified, Preferences, SubscriptionImported};
use serde::Serialize;

use super::files::{EmailFile, SubFile, UserPrefs};

/// One object read from praktika's bucket.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub key: String,
    pub etag: String,
    pub last_modified: DateTime<Utc>,
    /// The parsed file, or why it cannot be used.
    pub parsed: Result<SubFile, String>,
}

/// What every import shares.
#[derive(Debug, Clone)]
pub struct Target {
    pub bucket: String,
    pub team_id: String,
    pub publish_home: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub imports: Vec<Import>,
    pub conflicts: Vec<Conflict>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Import {
    pub event: SubscriptionImported,
    /// Why this email: `slack file`, `only email file`, `most recent email file`.
    pub chosen_by: &'static str,
    /// Things worth telling about this user's import (dropped keys, a missing email file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A user whose files disagree about which email they follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub slack_user_id: String,
    /// Every email the files tie this user to, with the file that says so.
    pub candidates: Vec<Candidate>,
    pub chosen: String,
    pub rule: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub email: String,
    pub key: String,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub key: String,
    pub reason: String,
}

struct EmailSource<'a> {
    fetched: &'a Fetched,
    file: &'a EmailFile,
}

impl EmailSource<'_> {
    /// Ordered by LastModified, then `subscribed_at` (its LastModified when it has none), then
    /// the key.
    fn recency(&self) -> (DateTime<Utc>, DateTime<Utc>, &str) {
        let lm = self.fetched.last_modified;
        (lm, self.file.subscribed_at.unwrap_or(lm), self.fetched.key.as_str())
    }

    fn candidate(&self) -> Candidate {
        Candidate { email: self.file.email.to_string(), key: self.fetched.key.clone(), last_modified: self.fetched.last_modified }
    }
}

/// The plan for `files`.
pub fn plan(target: &Target, files: &[Fetched]) -> Plan {
    let mut skipped = Vec::new();
    let mut slack: BTreeMap<&str, (&Fetched, &Email)> = BTreeMap::new();
    let mut emails: Vec<EmailSource<'_>> = Vec::new();
    for fetched in files {
        match &fetched.parsed {
            Err(reason) => skipped.push(Skipped { key: fetched.key.clone(), reason: reason.clone() }),
            Ok(SubFile::Slack(s)) => {
                slack.insert(s.user.as_str(), (fetched, &s.email));
            }
            Ok(SubFile::Email(file)) => emails.push(EmailSource { fetched, file }),
        }
    }
    // Newest first, so "the first that matches" is "the most recent".
    emails.sort_by(|a, b| b.recency().cmp(&a.recency()));

    let mut users: BTreeSet<&str> = slack.keys().copied().collect();
    users.extend(emails.iter().flat_map(|e| e.file.user_ids.iter().map(String::as_str)));

    let mut imports = Vec::new();
    let mut conflicts = Vec::new();
    for user in users {
        let listing: Vec<&EmailSource<'_>> = emails.iter().filter(|e| e.file.user_ids.iter().any(|u| u == user)).collect();
        let mut notes = Vec::new();
        let (email, source, chosen_by, rule) = match slack.get(user) {
            Some((_, email)) => {
                let own = emails.iter().find(|e| e.file.email == **email);
                if !own.is_some_and(|o| o.file.user_ids.iter().any(|u| u == user)) {
                    notes.push(match own {
                        Some(o) => format!("{} does not list {user} in user_ids; its user_prefs are used if it has any", o.fetched.key),
                        None => format!("no email file for {email}: the toggles are off"),
                    });
                }
                (*email, own, "slack file", "the user's slack file decides")
            }
            None => match listing.first() {
                Some(first) => {
                    let by = if listing.len() == 1 { "only email file" } else { "most recent email file" };
                    (&first.file.email, Some(*first), by, "most recently modified email file (S3 LastModified, then subscribed_at)")
                }
                None => continue,
            },
        };
        let mut candidates: Vec<Candidate> = listing.iter().map(|e| e.candidate()).collect();
        if let Some((slack_file, slack_email)) = slack.get(user) {
            candidates.insert(
                0,
                Candidate { email: slack_email.to_string(), key: slack_file.key.clone(), last_modified: slack_file.last_modified },
            );
        }
        if candidates.iter().any(|c| c.email != email.as_str()) || listing.len() > 1 {
            conflicts.push(Conflict { slack_user_id: user.to_owned(), candidates, chosen: email.to_string(), rule });
        }

        let prefs = source.and_then(|s| s.file.user_prefs.get(user));
        let (fetched, subscribed_at) = match source {
            Some(s) => (s.fetched, s.file.subscribed_at.unwrap_or(s.fetched.last_modified)),
            None => {
                let (slack_file, _) = slack[user];
                (slack_file, slack_file.last_modified)
            }
        };
        let event = SubscriptionImported {
            team_id: target.team_id.clone(),
            slack_user_id: user.to_owned(),
            email: email.clone(),
            preferences: preferences(prefs),
            subscribed_at,
            dm_channel_id: prefs.and_then(|p| p.dm_channel_id.clone()),
            last_notified: last_notified(prefs, &mut notes),
            source: ImportSource {
                bucket: target.bucket.clone(),
                key: fetched.key.clone(),
                etag: fetched.etag.clone(),
                last_modified: fetched.last_modified,
            },
            publish_home: target.publish_home,
        };
        imports.push(Import { event, chosen_by, notes });
    }
    Plan { imports, conflicts, skipped }
}

/// The six toggles; anything missing is off.
fn preferences(prefs: Option<&UserPrefs>) -> Preferences {
    let on = |name: &str| prefs.and_then(|p| p.toggles.get(name)).copied().unwrap_or(false);
    Preferences {
        hide_merged_prs: on("hide_merged_prs"),
        hide_merges: on("hide_merges"),
        hide_secondary_prs: on("hide_secondary_prs"),
        show_last_7d: on("show_last_7d"),
        notify_on_complete: on("notify_on_complete"),
        notify_on_failure: on("notify_on_failure"),
        digest: None,
    }
}

/// praktika's keys by the kind their first segment names (see the module docs).
fn last_notified(prefs: Option<&UserPrefs>, notes: &mut Vec<String>) -> LastNotified {
    let mut out = LastNotified::default();
    let Some(prefs) = prefs else { return out };
    // Map entries first: they are newer than a legacy string (praktika replaced the string by a map).
    let keys = prefs.last_notified.values().chain(prefs.legacy_last_notified.iter());
    for key in keys {
        let slot = match key.split(':').next() {
            Some("failure") => &mut out.failure,
            Some("complete") => &mut out.complete,
            _ => {
                notes.push(format!("last_notified_key {key:?} names no kind (failure / complete): not imported"));
                continue;
            }
        };
        if slot.is_none() {
            *slot = Some(key.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests;
