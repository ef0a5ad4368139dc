//! The notifier's own projection of subscriptions and preferences, from `subscription.changed`.
//!
//! The home-renderer owns subscriptions; its tables are private, so the notifier keeps what it
//! needs to answer "who wants a DM about this email" in its messages table. Each event carries
//! the full state and a per-user `revision`; an event is applied only when its revision is newer
//! than the one held, so redelivered or reordered events are harmless.
//!
//! Two items per user: `subuser#{team}#{user}` / `current` (the applied revision and email: the
//! guard, and where to find the old row when the email changes) and `sub#{email}` /
//! `{team}#{user}` (the row a `feed.updated` queries). Both writes are conditional on the
//! revision.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use pulse_contracts::{Preferences, SubscriptionChanged, SubscriptionState};

use crate::store::{Store, StoreError, get_n, get_s, n, s};

/// One subscriber of an email.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscriber {
    pub email: String,
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

impl Store {
    pub async fn apply_subscription(&self, ev: &SubscriptionChanged) -> Result<Applied, StoreError> {
        let prefs = serde_json::to_string(&ev.preferences).expect("preferences serialize");
        let user_sk = format!("{}#{}", ev.team_id, ev.slack_user_id);
        let guard = self
            .client
            .put_item()
            .table_name(&self.messages)
            .item("pk", s(format!("subuser#{user_sk}")))
            .item("sk", s("current"))
            .item("email", s(ev.email.as_str()))
            .item("revision", n(ev.revision))
            .condition_expression("attribute_not_exists(pk) OR revision < :rev")
            .expression_attribute_values(":rev", n(ev.revision))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let old_email = match guard {
            Ok(out) => out.attributes.as_ref().and_then(|a| get_s(a, "email")).map(str::to_owned),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => return Ok(Applied::Stale),
            Err(e) => return Err(self.err(&self.messages, "PutItem", &e)),
        };
        if let Some(old) = old_email.filter(|old| old != ev.email.as_str()) {
            self.client
                .delete_item()
                .table_name(&self.messages)
                .key("pk", s(format!("sub#{old}")))
                .key("sk", s(&user_sk))
                .send()
                .await
                .map_err(|e| self.err(&self.messages, "DeleteItem", &e))?;
        }
        let mut row = self
            .client
            .put_item()
            .table_name(&self.messages)
            .item("pk", s(format!("sub#{}", ev.email.as_str())))
            .item("sk", s(&user_sk))
            .item("team_id", s(&ev.team_id))
            .item("slack_user_id", s(&ev.slack_user_id))
            .item("state", s(state_str(ev.state)))
            .item("prefs", s(prefs))
            .item("revision", n(ev.revision))
            .condition_expression("attribute_not_exists(pk) OR revision < :rev")
            .expression_attribute_values(":rev", n(ev.revision));
        if let Some(deleted_at) = ev.deleted_at {
            row = row.item("deleted_at", s(deleted_at.to_rfc3339()));
        }
        match row.send().await {
            Ok(_) => Ok(Applied::Applied),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(Applied::Stale),
            Err(e) => Err(self.err(&self.messages, "PutItem", &e)),
        }
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
            out.push(Subscriber {
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
