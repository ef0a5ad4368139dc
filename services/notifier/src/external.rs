//! Exactly-once delivery to destinations other than Slack (Discord webhooks, e-mail), through
//! the same message ledger as Slack posts: claim the key → pace → send once → record the
//! destination's message id. A failure that certainly did not deliver releases the claim (the
//! event is retried); one that may have delivered is marked `UNCERTAIN`.
//!
//! Unlike a Slack channel, neither destination can be searched for an earlier delivery, so an
//! uncertain one is settled by the [`UncertainPolicy`] alone (default: taken as delivered,
//! `UNCONFIRMED`, with a warning).

use std::future::Future;

use pulse_slack::PostedMessage;
use tracing::{info, warn};

use crate::delivery::{Delivered, Deliverer, DeliveryError, UncertainPolicy};
use crate::sinks::SinkError;
use crate::store::{Claimed, LedgerStatus};

impl Deliverer {
    /// Deliver once per `key` to `destination` (a label such as `discord:ci-team`, kept in the
    /// ledger and logs; never a URL) by calling `send`, which returns the destination's id for
    /// what it delivered.
    pub async fn deliver_external<F, Fut>(&self, key: &str, destination: &str, send: F) -> Result<Delivered, DeliveryError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<String, SinkError>>,
    {
        for _ in 0..3 {
            let attempt = uuid::Uuid::new_v4().to_string();
            let now = chrono::Utc::now().timestamp_millis();
            let entry = match self.store.claim(key, &attempt, destination, now, self.lease_ms(), None).await? {
                Claimed::Acquired => return self.send_external(key, &attempt, destination, &send).await,
                Claimed::Existing(entry) => entry,
            };
            match entry.status {
                LedgerStatus::Sent => {
                    info!(dedup_key = key, destination, "already delivered; not sending again");
                    let (channel, ts) = (entry.channel.unwrap_or_else(|| destination.to_owned()), entry.ts.unwrap_or_default());
                    return Ok(Delivered::AlreadySent(PostedMessage { channel, ts }));
                }
                LedgerStatus::Unconfirmed => return Ok(Delivered::Unconfirmed),
                LedgerStatus::Sending if entry.lease_until_ms > now => return Err(DeliveryError::InProgress { key: key.into() }),
                LedgerStatus::Sending | LedgerStatus::Uncertain => {}
            }
            let reason = format!("{destination} cannot be searched for an earlier delivery");
            match self.policy {
                UncertainPolicy::Hold => return Err(DeliveryError::Held { key: key.into(), reason }),
                UncertainPolicy::AssumeSent => {
                    warn!(dedup_key = key, destination, "a previous attempt may have delivered; taking it as delivered (UNCONFIRMED)");
                    self.store.mark_unconfirmed(key, &entry.attempt, &reason).await?;
                    return Ok(Delivered::Unconfirmed);
                }
                UncertainPolicy::Resend => {
                    if self.store.take_over(key, &entry.attempt, &attempt, now, self.lease_ms()).await? {
                        return self.send_external(key, &attempt, destination, &send).await;
                    }
                }
            }
        }
        Err(DeliveryError::Contended { key: key.into() })
    }

    async fn send_external<F, Fut>(&self, key: &str, attempt: &str, destination: &str, send: &F) -> Result<Delivered, DeliveryError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<String, SinkError>>,
    {
        self.pacer.wait(destination).await;
        match send().await {
            Ok(id) => {
                if !self.store.mark_sent(key, attempt, destination, &id).await? {
                    warn!(dedup_key = key, destination, "ledger entry changed hands while sending");
                }
                Ok(Delivered::Posted(PostedMessage { channel: destination.to_owned(), ts: id }))
            }
            Err(err) => {
                match &err {
                    SinkError::NotSent(_) => self.store.release(key, attempt).await?,
                    SinkError::Uncertain(why) => {
                        self.store.mark_uncertain(key, attempt, why).await?;
                    }
                }
                Err(DeliveryError::Sink { key: key.into(), destination: destination.into(), source: err })
            }
        }
    }
}
