//! `pulse forget` at the home-renderer: a person's subscription, preferences and Home view
//! record, and every subscription that follows their e-mail.
//!
//! The rules:
//! - A Slack user who is forgotten loses their subscription item (the followed e-mail, the six
//!   toggles, the digest choice), its membership item and their view record. Their Home tab is
//!   left as Slack shows it: publishing to it would need them still in the workspace, and it holds
//!   nothing Pulse keeps.
//! - An e-mail that is forgotten is followed by no one afterwards: every subscription whose
//!   `feed_email` it is (current or soft-deleted) and every membership item of it are deleted,
//!   and each follower's Home tab is published again, now without the feed.
//! - Items are deleted outright, not soft-deleted: a forgotten person leaves no tombstone. (The
//!   notifier drops its projection of these subscriptions on the same request, so a follower who
//!   subscribes again starts at revision 1 on both sides.)
//! - A dry run only counts. Doing it again finds nothing, so a redelivery is harmless.
//!
//! [`classify`] is the pure part: which found item is what.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use pulse_contracts::{Event, ForgetAction, ForgottenRecord, PersonForget, PersonForgotten};
use pulse_runtime::HandlerError;
use tracing::info;

use crate::handler::HomeRenderer;
use crate::store::{Store, StoreError, email_pk, s, user_pk};
use crate::views::Mode;

/// What a found item is to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The forgotten user's subscription and preferences.
    Subscription,
    /// The forgotten user's membership of the feed they follow.
    Membership,
    /// The forgotten user's Home view record.
    ViewRecord,
    /// Someone else's subscription to the forgotten e-mail.
    FollowerSubscription,
    /// Someone else's membership of the forgotten e-mail's feed.
    FollowerMembership,
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::Subscription => "the person's subscription and preferences",
            Kind::Membership => "the person's feed membership",
            Kind::ViewRecord => "the person's Home view record",
            Kind::FollowerSubscription => "subscriptions following the e-mail",
            Kind::FollowerMembership => "memberships of the e-mail's feed",
        }
    }
}

/// One item of the table, as far as forgetting is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    pub feed_email: Option<String>,
}

/// What `item` is to a request forgetting `user` and/or `email`; `None` when it is neither's.
pub fn classify(item: &Item, user: Option<&str>, email: Option<&str>) -> Option<Kind> {
    if let Some(user) = user {
        let own = user_pk(user);
        if item.pk == own {
            return match item.sk.as_str() {
                "sub" => Some(Kind::Subscription),
                "view" => Some(Kind::ViewRecord),
                _ => None,
            };
        }
        if item.pk.starts_with("email#") && item.sk == own {
            return Some(Kind::Membership);
        }
    }
    let email = email?;
    if item.pk == email_pk(email) {
        return Some(Kind::FollowerMembership);
    }
    (item.sk == "sub" && item.feed_email.as_deref() == Some(email)).then_some(Kind::FollowerSubscription)
}

impl Store {
    /// Every item `classify` says is the request's (one Scan: forgetting is rare, and a
    /// soft-deleted subscription to the e-mail has no membership item to find it by).
    pub async fn forget_candidates(&self, user: Option<&str>, email: Option<&str>) -> Result<Vec<(Item, Kind)>, StoreError> {
        let mut clauses = Vec::new();
        let mut values = HashMap::new();
        if let Some(user) = user {
            clauses.push("pk = :upk OR sk = :upk");
            values.insert(":upk".to_owned(), s(user_pk(user)));
        }
        if let Some(email) = email {
            clauses.push("pk = :epk OR feed_email = :email");
            values.insert(":epk".to_owned(), s(email_pk(email)));
            values.insert(":email".to_owned(), s(email));
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(clauses.join(" OR "))
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.dynamo("Scan (forget)", &e))?;
            for raw in page.items() {
                let text = |name: &str| raw.get(name).and_then(|v| v.as_s().ok()).cloned();
                let item = Item { pk: text("pk").unwrap_or_default(), sk: text("sk").unwrap_or_default(), feed_email: text("feed_email") };
                if let Some(kind) = classify(&item, user, email) {
                    found.push((item, kind));
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    pub async fn delete_item(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .send()
            .await
            .map_err(|e| self.dynamo("DeleteItem (forget)", &e))?;
        Ok(())
    }
}

impl HomeRenderer {
    /// Forget the request's person (see the module doc), then report.
    pub(crate) async fn forget(&self, request: &PersonForget) -> Result<(), HandlerError> {
        let user = request.slack_user_id.as_deref().filter(|u| !u.is_empty());
        let email = request.email.as_ref().map(|e| e.as_str());
        let found = self.store.forget_candidates(user, email).await.map_err(HandlerError::retryable)?;
        let mut counts: std::collections::BTreeMap<Kind, u64> = Default::default();
        for (_, kind) in &found {
            *counts.entry(*kind).or_default() += 1;
        }
        if !request.dry_run {
            for (item, _) in &found {
                self.store.delete_item(&item.pk, &item.sk).await.map_err(HandlerError::retryable)?;
            }
            for (item, kind) in &found {
                if let (Kind::FollowerSubscription, Some(follower)) = (kind, item.pk.strip_prefix("user#")) {
                    // Their Home tab stops showing the feed; a failure here is logged by
                    // publish_view, and the next Home opening republishes anyway.
                    let _ = self.publish_view(follower, Mode::Always, None, None).await;
                }
            }
        }
        info!(request_id = %request.request_id, dry_run = request.dry_run, items = found.len(), "person forgotten in the subscriptions");
        let records = counts
            .into_iter()
            .map(|(kind, count)| ForgottenRecord {
                action: ForgetAction::Deleted,
                what: kind.what().to_owned(),
                place: self.store.table().to_owned(),
                count,
                note: None,
            })
            .collect();
        let report = PersonForgotten { request_id: request.request_id, service: "home-renderer".into(), dry_run: request.dry_run, records };
        let dedup_key = format!("person.forgotten:{}:home-renderer", request.request_id);
        let envelope = Event::PersonForgottenV1(report)
            .into_envelope(crate::subscriptions::SOURCE, dedup_key, self.ids.uuid(), self.clock.now())
            .to_raw();
        self.publisher
            .publish(std::slice::from_ref(&envelope))
            .await
            .map_err(|e| HandlerError::retryable(format!("publishing person.forgotten: {e}")))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pk: &str, sk: &str, feed_email: Option<&str>) -> Item {
        Item { pk: pk.into(), sk: sk.into(), feed_email: feed_email.map(Into::into) }
    }

    #[test]
    fn a_forgotten_user_loses_their_own_items_and_nobody_elses() {
        let user = Some("U1");
        assert_eq!(classify(&item("user#U1", "sub", Some("bob@x.io")), user, None), Some(Kind::Subscription));
        assert_eq!(classify(&item("user#U1", "view", None), user, None), Some(Kind::ViewRecord));
        assert_eq!(classify(&item("email#bob@x.io", "user#U1", None), user, None), Some(Kind::Membership));
        assert_eq!(classify(&item("user#U11", "sub", Some("bob@x.io")), user, None), None);
        assert_eq!(classify(&item("email#bob@x.io", "user#U2", None), user, None), None);
    }

    #[test]
    fn a_forgotten_email_is_followed_by_no_one() {
        let email = Some("ann@x.io");
        assert_eq!(classify(&item("user#U2", "sub", Some("ann@x.io")), None, email), Some(Kind::FollowerSubscription));
        assert_eq!(classify(&item("email#ann@x.io", "user#U2", None), None, email), Some(Kind::FollowerMembership));
        assert_eq!(classify(&item("user#U2", "view", None), None, email), None, "a follower keeps their view record");
        assert_eq!(classify(&item("user#U3", "sub", Some("bob@x.io")), None, email), None);
    }

    #[test]
    fn both_at_once_the_user_wins_for_their_own_items() {
        assert_eq!(classify(&item("user#U1", "sub", Some("ann@x.io")), Some("U1"), Some("ann@x.io")), Some(Kind::Subscription));
        assert_eq!(classify(&item("email#ann@x.io", "user#U1", None), Some("U1"), Some("ann@x.io")), Some(Kind::Membership));
    }
}
