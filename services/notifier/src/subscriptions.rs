//! The notifier's own projection of subscriptions and preferences, from `subscription.changed`.
//!
//! The home-renderer owns subscriptions; its tables are private, so the notifier keeps what it
//! needs to answer "who wants a DM about this email" in its messages table. Each event carries
//! the full state and a per-user `revision`; an event is applied only when its revision is newer
//! than the one held, so redelivered or reordered events are harmless.
//!
//! Items per user: `subuser#{team}#{user}` / `current` (the applied revision, the email, every
//! address followed and the linked GitHub logins: the guard, where to find the old rows when
//! they change, and whom a `github_write` policy rule asks GitHub about) and one
//! `sub#{address}` / `{team}#{user}` per address followed (the row a `feed.updated` queries):
//! the subscription's email and each linked GitHub account's noreply address. Each row carries
//! the subscription's email (`primary`) and the list of addresses (`follows`), so a DM about a
//! run that is in two of the user's feeds has one key (praktika's, with the subscription's
//! email), and a digest covers every feed once. All writes are conditional on the revision.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use pulse_contracts::{Preferences, SubscriptionChanged, SubscriptionState};

use crate::store::{Store, StoreError, get_n, get_s, n, s};

/// One subscriber of an email.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscriber {
    /// The address this row is under (the subscription's email or a linked account's).
    pub email: String,
    /// The subscription's email: the one DM keys and digests name.
    pub primary_email: String,
    /// Every address the subscription follows, `primary_email` first.
    pub follows: Vec<String>,
    pub team_id: String,
    pub slack_user_id: String,
    pub subscribed: bool,
    pub preferences: Preferences,
    pub revision: u64,
    pub deleted_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What [`Store::apply_subscription`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// The projection already holds this revision or a newer one.
    Stale,
}

fn state_str(state: SubscriptionState) -> &'static str {
    match state {
        SubscriptionState::Subscribed => "subscribed",
        SubscriptionState::Unsubscribed => "unsubscribed",
    }
}

/// The addresses a projection keeps rows under for `ev`, whatever its state (an unsubscribed
/// user's rows stay, marked, until purged).
fn projected_addresses(ev: &SubscriptionChanged) -> Vec<String> {
    pulse_contracts::events::subscription_changed::followed_emails(SubscriptionState::Subscribed, &ev.email, &ev.github)
        .into_iter()
        .map(pulse_contracts::Email::into_string)
        .collect()
}

fn string_list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(s).collect())
}

fn get_list(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> Option<Vec<String>> {
    let list = item.get(name)?.as_l().ok()?;
    list.iter().map(|v| v.as_s().ok().cloned()).collect()
}

impl Store {
    /// Projects `ev`. The order makes a crash anywhere harmless, as the redelivery redoes what
    /// is missing: read the guard (stale when it holds this revision or a newer one); put the
    /// rows of every address followed now; delete the rows of addresses no longer followed; and
    /// only then move the guard. Every write is conditional on the revision, so a concurrent
    /// newer revision is never undone.
    pub async fn apply_subscription(&self, ev: &SubscriptionChanged) -> Result<Applied, StoreError> {
        let prefs = serde_json::to_string(&ev.preferences).expect("preferences serialize");
        let user_sk = format!("{}#{}", ev.team_id, ev.slack_user_id);
        let guard_pk = format!("subuser#{user_sk}");
        let follows = projected_addresses(ev);
        let held = self
            .client
            .get_item()
            .table_name(&self.messages)
            .key("pk", s(&guard_pk))
            .key("sk", s("current"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err(&self.messages, "GetItem", &e))?;
        let held = held.item();
        if held.and_then(|g| get_n(g, "revision")).is_some_and(|r| r as u64 >= ev.revision) {
            return Ok(Applied::Stale);
        }
        // The addresses the previous revision had rows under (before `follows` was kept: its email).
        let old_follows = held.and_then(|g| get_list(g, "follows").or_else(|| get_s(g, "email").map(|e| vec![e.to_owned()])));

        for address in &follows {
            let mut row = self
                .client
                .put_item()
                .table_name(&self.messages)
                .item("pk", s(format!("sub#{address}")))
                .item("sk", s(&user_sk))
                .item("team_id", s(&ev.team_id))
                .item("slack_user_id", s(&ev.slack_user_id))
                .item("primary", s(ev.email.as_str()))
                .item("follows", string_list(&follows))
                .item("state", s(state_str(ev.state)))
                .item("prefs", s(&prefs))
                .item("revision", n(ev.revision))
                .condition_expression("attribute_not_exists(pk) OR revision < :rev")
                .expression_attribute_values(":rev", n(ev.revision));
            if let Some(deleted_at) = ev.deleted_at {
                row = row.item("deleted_at", s(deleted_at.to_rfc3339()));
            }
            match row.send().await {
                Ok(_) => {}
                // This revision (a redelivery) or a newer one is already there.
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {}
                Err(e) => return Err(self.err(&self.messages, "PutItem", &e)),
            }
        }
        for old in old_follows.unwrap_or_default().iter().filter(|old| !follows.contains(old)) {
            let result = self
                .client
                .delete_item()
                .table_name(&self.messages)
                .key("pk", s(format!("sub#{old}")))
                .key("sk", s(&user_sk))
                .condition_expression("attribute_not_exists(pk) OR revision < :rev")
                .expression_attribute_values(":rev", n(ev.revision))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {}
                Err(e) => return Err(self.err(&self.messages, "DeleteItem", &e)),
            }
        }
        let guard = self
            .client
            .put_item()
            .table_name(&self.messages)
            .item("pk", s(&guard_pk))
            .item("sk", s("current"))
            .item("email", s(ev.email.as_str()))
            .item("follows", string_list(&follows))
            .item("github", string_list(&ev.github.iter().map(|a| a.login.clone()).collect::<Vec<_>>()))
            .item("revision", n(ev.revision))
            .condition_expression("attribute_not_exists(pk) OR revision < :rev")
            .expression_attribute_values(":rev", n(ev.revision))
            .send()
            .await;
        match guard {
            Ok(_) => Ok(Applied::Applied),
            // A newer revision moved the guard meanwhile.
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(Applied::Stale),
            Err(e) => Err(self.err(&self.messages, "PutItem", &e)),
        }
    }

    /// The GitHub logins linked to the subscription of `user` in `team` (none when they have
    /// no subscription).
    pub async fn linked_logins(&self, team: &str, user: &str) -> Result<Vec<String>, StoreError> {
        let guard = self
            .client
            .get_item()
            .table_name(&self.messages)
            .key("pk", s(format!("subuser#{team}#{user}")))
            .key("sk", s("current"))
            .send()
            .await
            .map_err(|e| self.err(&self.messages, "GetItem", &e))?;
        Ok(guard.item().and_then(|g| get_list(g, "github")).unwrap_or_default())
    }

    /// Everyone whose projection row follows `email` (subscribed or not; callers filter).
    pub async fn subscribers(&self, email: &str) -> Result<Vec<Subscriber>, StoreError> {
        let pk = format!("sub#{email}");
        let mut out = Vec::new();
        for item in self.items_under(&pk).await? {
            let malformed = |message: &str| StoreError::Malformed {
                table: self.messages.clone(),
                pk: pk.clone(),
                sk: get_s(&item, "sk").unwrap_or_default().to_owned(),
                message: message.to_owned(),
            };
            let preferences =
                get_s(&item, "prefs").and_then(|p| serde_json::from_str(p).ok()).ok_or_else(|| malformed("prefs missing or invalid"))?;
            let primary_email = get_s(&item, "primary").unwrap_or(email).to_owned();
            out.push(Subscriber {
                follows: get_list(&item, "follows").unwrap_or_else(|| vec![primary_email.clone()]),
                primary_email,
                email: email.to_owned(),
                team_id: get_s(&item, "team_id").unwrap_or_default().to_owned(),
                slack_user_id: get_s(&item, "slack_user_id").ok_or_else(|| malformed("no slack_user_id"))?.to_owned(),
                subscribed: get_s(&item, "state") == Some("subscribed"),
                preferences,
                revision: get_n(&item, "revision").unwrap_or(0) as u64,
                deleted_at: get_s(&item, "deleted_at").and_then(|d| d.parse().ok()),
            });
        }
        Ok(out)
    }

    /// Every projection row (a Scan: digests and purges run once per tick, not per event).
    pub async fn all_subscribers(&self) -> Result<Vec<Subscriber>, StoreError> {
        let mut emails = std::collections::BTreeSet::new();
        let mut start: Option<std::collections::HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.messages)
                .filter_expression("begins_with(pk, :p)")
                .expression_attribute_values(":p", s("sub#"))
                .projection_expression("pk")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.err(&self.messages, "Scan", &e))?;
            for item in page.items() {
                if let Some(email) = get_s(item, "pk").and_then(|pk| pk.strip_prefix("sub#")) {
                    emails.insert(email.to_owned());
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        let mut out = Vec::new();
        for email in emails {
            out.extend(self.subscribers(&email).await?);
        }
        Ok(out)
    }

    /// Delete a soft-deleted row past retention (unless it changed meanwhile) and audit it.
    /// Returns whether it was purged.
    pub async fn purge_subscription(&self, sub: &Subscriber, now: chrono::DateTime<chrono::Utc>) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.messages)
            .key("pk", s(format!("sub#{}", sub.email)))
            .key("sk", s(format!("{}#{}", sub.team_id, sub.slack_user_id)))
            .condition_expression("revision = :rev")
            .expression_attribute_values(":rev", n(sub.revision))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => return Ok(false),
            Err(e) => return Err(self.err(&self.messages, "DeleteItem", &e)),
        }
        self.client
            .put_item()
            .table_name(&self.audit)
            .item("pk", s("purge#subscription"))
            .item("sk", s(format!("{}#{}#{}", now.to_rfc3339(), sub.team_id, sub.slack_user_id)))
            .item("action", s("purge_subscription"))
            .item("user_id", s(&sub.slack_user_id))
            .item("team_id", s(&sub.team_id))
            .item("email", s(&sub.email))
            .item("deleted_at", s(sub.deleted_at.map(|d| d.to_rfc3339()).unwrap_or_default()))
            .item("at", s(now.to_rfc3339()))
            .item("expires_at", n(now.timestamp() + 365 * 24 * 3600))
            .send()
            .await
            .map_err(|e| self.err(&self.audit, "PutItem", &e))?;
        Ok(true)
    }
}
