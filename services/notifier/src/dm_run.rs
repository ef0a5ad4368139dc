//! `feed.updated` → personal DMs: the I/O around [`dm::decide`]. For each subscriber of the
//! feed's author: read the ledger entries of the kinds that apply, decide, then post the DM
//! through the [`Deliverer`](crate::delivery::Deliverer) under its primary key and record the
//! other kinds it covers as the same message (see `dm.rs` for why that is exactly once).

use pulse_contracts::FeedUpdated;
use pulse_contracts::praktika::FeedEvent;
use pulse_runtime::HandlerError;
use tracing::{info, warn};

use crate::delivery::{Delivered, Outgoing};
use crate::dm::{self, DmDecision, DmInput, DmKind, Posted, Recorded};
use crate::handler::{Notifier, delivery_error};
use crate::store::LedgerStatus;
use crate::subscriptions::Subscriber;

impl Notifier {
    pub(crate) async fn on_feed_updated(&self, update: &FeedUpdated) -> Result<(), HandlerError> {
        let email = update.email.as_str();
        let subscribers = self.deliverer.store().subscribers(email).await.map_err(HandlerError::retryable)?;
        let mut failures = Vec::new();
        for sub in subscribers.iter().filter(|s| s.subscribed) {
            let user = sub.slack_user_id.as_str();
            match self.dm_subscriber(email, &update.newest_event, sub).await {
                Ok(DmDecision::NotWanted) => {}
                Ok(DmDecision::AlreadySent { kinds }) => info!(user, ?kinds, "DM already sent"),
                Ok(DmDecision::Record { keys, covered_by, .. }) => info!(user, ?keys, %covered_by, "DM already sent; its other keys recorded"),
                Ok(DmDecision::Send(dm)) => info!(user, dedup_key = %dm.key, covers = ?dm.covers, "DM handled"),
                // Keep going: the others' DMs are recorded, so the retry resends only this one.
                Err(err) => {
                    warn!(user, error = %err, "DM failed");
                    failures.push(err);
                }
            }
        }
        HandlerError::combine(failures).map_or(Ok(()), Err)
    }

    /// Decide on one subscriber's DM and carry the decision out; returns the decision.
    async fn dm_subscriber(&self, email: &str, event: &FeedEvent, sub: &Subscriber) -> Result<DmDecision, HandlerError> {
        let user = sub.slack_user_id.as_str();
        if !DmKind::ALL.iter().any(|k| k.applies(event, &sub.preferences)) {
            return Ok(DmDecision::NotWanted);
        }
        let recorded = self.dm_recorded(user, email, event).await?;
        let decision = dm::decide(&DmInput { slack_user: user, email, event, prefs: &sub.preferences, recorded: &recorded });
        let store = self.deliverer.store();
        let now = chrono::Utc::now().timestamp_millis();
        match &decision {
            DmDecision::NotWanted | DmDecision::AlreadySent { .. } => {}
            DmDecision::Record { keys, posted, covered_by, covers } => {
                let context = dm::covers_context(covers);
                for key in keys {
                    let posted = posted.as_ref().map(|p| (p.channel.as_str(), p.ts.as_str()));
                    store.record_covered(key, covered_by, posted, &context, now).await.map_err(HandlerError::retryable)?;
                }
            }
            DmDecision::Send(dm) => {
                let channel = self.dm_channel(user).await?;
                let message = Outgoing { channel, text: dm.text.clone(), blocks: Some(dm.blocks.clone()), thread_ts: None };
                let context = dm::covers_context(&dm.covers);
                let delivered = self.deliverer.deliver(&dm.key, &message, Some(&context)).await.map_err(delivery_error)?;
                match &delivered {
                    Delivered::Posted(_) => info!(user, dedup_key = %dm.key, covers = ?dm.covers, "DM sent"),
                    other => info!(user, dedup_key = %dm.key, outcome = ?other, "DM already handled"),
                }
                let posted = delivered.message().map(|m| (m.channel.as_str(), m.ts.as_str()));
                for key in &dm.also_record {
                    store.record_covered(key, &dm.key, posted, &context, now).await.map_err(HandlerError::retryable)?;
                }
            }
        }
        Ok(decision)
    }

    /// What the ledger holds under each kind's key of this event for `user`.
    async fn dm_recorded(&self, user: &str, email: &str, event: &FeedEvent) -> Result<Vec<(DmKind, Recorded)>, HandlerError> {
        let mut recorded = Vec::new();
        for kind in DmKind::ALL {
            let key = dm::ledger_key(user, kind, email, event);
            let Some(entry) = self.deliverer.store().ledger(&key).await.map_err(HandlerError::retryable)? else { continue };
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
}
