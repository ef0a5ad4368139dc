//! Exactly-once delivery to destinations other than Slack (Discord webhooks, e-mail), through
//! the same message ledger loop as Slack posts ([`Deliverer::deliver_once`]): claim the key →
//! pace → send once → record the destination's message id. A failure that certainly did not deliver releases the claim (the
//! event is retried); one that may have delivered is marked `UNCERTAIN`.
//!
//! Unlike a Slack channel, neither destination can be searched for an earlier delivery, so an
//! uncertain one is settled by the [`UncertainPolicy`] alone (default: taken as delivered,
//! `UNCONFIRMED`, with a warning).

use std::future::Future;

use pulse_slack::PostedMessage;
use tracing::warn;

use crate::delivery::{Boxed, Delivered, Deliverer, DeliveryError, Probe};
use crate::sinks::SinkError;

impl Deliverer {
    /// Deliver once per `key` to `destination` (a label such as `discord:ci-team`, kept in the
    /// ledger and logs; never a URL) by calling `send`, which returns the destination's id for
    /// what it delivered.
    pub async fn deliver_external<F, Fut>(&self, key: &str, destination: &str, send: F) -> Result<Delivered, DeliveryError>
    where
        F: Fn() -> Fut + Sync,
        Fut: Future<Output = Result<String, SinkError>> + Send,
    {
        let reason = format!("{destination} cannot be searched for an earlier delivery");
        let probe = |_: i64, _: String| -> Boxed<'_, Probe> {
            let reason = reason.clone();
            Box::pin(async move { Probe::Unavailable(reason) })
        };
        let send_once = &send;
        let send =
            |attempt: String| -> Boxed<'_, _> { Box::pin(async move { self.send_external(key, &attempt, destination, send_once).await }) };
        self.deliver_once(key, destination, None, probe, send).await
    }

    async fn send_external<F, Fut>(&self, key: &str, attempt: &str, destination: &str, send: &F) -> Result<Delivered, DeliveryError>
    where
        F: Fn() -> Fut + Sync,
        Fut: Future<Output = Result<String, SinkError>> + Send,
    {
        self.pacer.wait(destination).await;
        let store = self.store();
        match send().await {
            Ok(id) => {
                if !store.mark_sent(key, attempt, destination, &id).await? {
                    warn!(dedup_key = key, destination, "ledger entry changed hands while sending");
                }
                Ok(Delivered::Posted(PostedMessage { channel: destination.to_owned(), ts: id }))
            }
            Err(err) => {
                match &err {
                    SinkError::NotSent(_) => store.release(key, attempt).await?,
                    SinkError::Uncertain(why) => {
                        store.mark_uncertain(key, attempt, why).await?;
                    }
                }
                Err(DeliveryError::Sink { key: key.into(), destination: destination.into(), source: err })
            }
        }
    }
}
