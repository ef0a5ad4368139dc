//! What the handler reads before deciding: the state each decision in [`crate::decide`] takes,
//! from the notifier's tables and the feed bucket. Reads only; every write is an effect of the
//! plan. A read that fails fails the event (retried), before anything was done.

use std::collections::BTreeMap;

use pulse_aws::s3json::GzipJsonStore;
use pulse_contracts::feed_layout::FeedLocation;
use pulse_contracts::praktika::{EventFeed, FeedEvent};
use pulse_runtime::HandlerError;

use crate::decide::{self, ClickState, SubscriberState};
use crate::dm::{self, DmKind, Posted, Recorded};
use crate::ops::{self, AlertContext};
use crate::store::{LedgerStatus, Store, StoreError};

fn retryable(err: StoreError) -> HandlerError {
    HandlerError::retryable(err)
}

/// The feeds bucket and where in it the feeds are (keys from `pulse_contracts::feed_layout`).
pub struct Feeds {
    pub store: GzipJsonStore,
    pub location: FeedLocation,
}

impl Feeds {
    /// The events of each email's feed (an email without a feed has none).
    pub async fn read(&self, emails: &[String]) -> Result<BTreeMap<String, Vec<FeedEvent>>, HandlerError> {
        let mut out = BTreeMap::new();
        for email in emails {
            let key = self.location.key(email);
            let feed = self.store.get::<EventFeed>(&key).await.map_err(|e| HandlerError::retryable(format!("reading feed {key}: {e}")))?;
            out.insert(email.clone(), feed.map(|v| v.value.events).unwrap_or_default());
        }
        Ok(out)
    }
}

/// The posted alert (from its ledger entry's context) and its audited clicks.
pub async fn click_state(store: &Store, alert_id: &str) -> Result<ClickState, HandlerError> {
    let entry = store.ledger(&ops::ledger_key(alert_id)).await.map_err(retryable)?;
    let alert: Option<AlertContext> = entry.and_then(|e| e.context).and_then(|c| serde_json::from_value(c).ok());
    let history = store.audit_history(alert_id).await.map_err(retryable)?;
    Ok(ClickState { alert, history, member_of: Default::default() })
}

/// The deploy id remembered for a confirmed deploy modal, if any.
pub async fn remembered_deploy(store: &Store, dedup_key: &str) -> Result<Option<uuid::Uuid>, HandlerError> {
    let marker = decide::deploy_marker(dedup_key);
    match store.get_value(&marker, "deploy_id").await.map_err(retryable)? {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| HandlerError::retryable(format!("deploy id under {marker} unreadable"))),
    }
}

/// The subscribers of `email`, each with what the ledger holds of their DMs about `event`
/// (read only for those a DM kind applies to).
pub async fn subscribers(store: &Store, email: &str, event: &FeedEvent) -> Result<Vec<SubscriberState>, HandlerError> {
    let mut out = Vec::new();
    for subscriber in store.subscribers(email).await.map_err(retryable)? {
        let recorded = if decide::dm_wanted(&subscriber, event) {
            dm_recorded(store, &subscriber.slack_user_id, email, event).await?
        } else {
            Vec::new()
        };
        out.push(SubscriberState { subscriber, recorded });
    }
    Ok(out)
}

/// What the ledger holds under each DM kind's key of `event` for `user`.
async fn dm_recorded(store: &Store, user: &str, email: &str, event: &FeedEvent) -> Result<Vec<(DmKind, Recorded)>, HandlerError> {
    let mut recorded = Vec::new();
    for kind in DmKind::ALL {
        let key = dm::ledger_key(user, kind, email, event);
        let Some(entry) = store.ledger(&key).await.map_err(retryable)? else { continue };
        let covers = dm::covers_of(kind, entry.context.as_ref());
        let state = match entry.status {
            LedgerStatus::Sent | LedgerStatus::Unconfirmed => {
                let posted = entry.channel.zip(entry.ts).map(|(channel, ts)| Posted { channel, ts });
                Recorded::Done { covers, posted }
            }
            LedgerStatus::Sending | LedgerStatus::Uncertain => Recorded::Pending { covers },
        };
        recorded.push((kind, state));
    }
    Ok(recorded)
}
