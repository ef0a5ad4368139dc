//! A channel's repository subscriptions in the messages table, two items per subscription so
//! both lookups are one Query:
//!
//! | pk | sk | for |
//! |---|---|---|
//! | `ghsub#{owner/name lower-cased}` | `{channel}` | a run's event: which channels follow its repository |
//! | `ghchan#{channel}` | `{owner/name lower-cased}` | `/pulser subscriptions` and the answers |
//!
//! Attributes: `state` (`subscribed` / `unsubscribed`), `filter` (JSON `RepoFilter`, when
//! subscribed), `at` (the command's time, ms). Each put is conditional on `at` not going
//! back, so the newest command wins whatever the order of delivery, and a redelivery rewrites
//! the same item. The two items are written one after the other: a crash between them is
//! repaired by the retry (each put is idempotent), and until then they may disagree.

use aws_sdk_dynamodb::error::SdkError;
use pulse_contracts::RepoFilter;

use super::commands::Change;
use crate::store::{Store, StoreError, get_s, n, s};

fn by_repo(repository: &str) -> String {
    format!("ghsub#{repository}")
}

fn by_channel(channel: &str) -> String {
    format!("ghchan#{channel}")
}

impl Store {
    /// Store a change unless a newer one is stored; whether it was written now (false: newer).
    pub async fn apply_repo_subscription(&self, change: &Change) -> Result<bool, StoreError> {
        let a = self.put_repo_item(&by_repo(&change.repository), &change.channel, change).await?;
        let b = self.put_repo_item(&by_channel(&change.channel), &change.repository, change).await?;
        Ok(a || b)
    }

    async fn put_repo_item(&self, pk: &str, sk: &str, change: &Change) -> Result<bool, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.messages)
            .item("pk", s(pk))
            .item("sk", s(sk))
            .item("state", s(if change.filter.is_some() { "subscribed" } else { "unsubscribed" }))
            .item("at", n(change.at.timestamp_millis()))
            .condition_expression("attribute_not_exists(pk) OR #at <= :at")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":at", n(change.at.timestamp_millis()));
        if let Some(filter) = &change.filter {
            let json = serde_json::to_string(filter).map_err(|e| StoreError::Malformed {
                table: self.messages.clone(),
                pk: pk.to_owned(),
                sk: sk.to_owned(),
                message: e.to_string(),
            })?;
            put = put.item("filter", s(json));
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(self.err(&self.messages, "PutItem", &e)),
        }
    }

    /// The channel's subscriptions (unsubscribed ones left out).
    pub async fn channel_repo_subscriptions(&self, channel: &str) -> Result<Vec<RepoFilter>, StoreError> {
        Ok(self.subscribed_items(&by_channel(channel)).await?.into_iter().map(|(_, f)| f).collect())
    }

    /// The channels that follow `repository` (any case), with their filters.
    pub async fn repo_subscriptions(&self, repository: &str) -> Result<Vec<(String, RepoFilter)>, StoreError> {
        self.subscribed_items(&by_repo(&super::filters::repo_key(repository))).await
    }

    /// `(sk, filter)` of every subscribed item under `pk`.
    async fn subscribed_items(&self, pk: &str) -> Result<Vec<(String, RepoFilter)>, StoreError> {
        let mut out = Vec::new();
        for item in self.items_under(pk).await? {
            if get_s(&item, "state") != Some("subscribed") {
                continue;
            }
            let sk = get_s(&item, "sk").unwrap_or_default().to_owned();
            let filter = get_s(&item, "filter").and_then(|f| serde_json::from_str(f).ok()).ok_or_else(|| StoreError::Malformed {
                table: self.messages.clone(),
                pk: pk.to_owned(),
                sk: sk.clone(),
                message: "subscribed without a valid filter".to_owned(),
            })?;
            out.push((sk, filter));
        }
        Ok(out)
    }
}
