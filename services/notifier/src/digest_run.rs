//! `digest.tick`: each subscriber whose preference asks for this period gets a DM digest of
//! their feed, each configured channel one of its feeds; on the daily tick, soft-deleted
//! subscriptions past retention are purged (each purge audited). Every digest is a ledger
//! message keyed by (period, scheduled time, recipient), so a retried tick sends only what is
//! missing. The run logs its counts (processed, sent, failed, purged) and nothing else about
//! recipients' destinations.

use std::collections::BTreeMap;

use pulse_aws::s3json::GzipJsonStore;
use pulse_contracts::praktika::{EventFeed, FeedEvent};
use pulse_contracts::{DigestPeriod, DigestTick};
use pulse_runtime::HandlerError;
use tracing::{info, warn};

use crate::delivery::{Delivered, Outgoing};
use crate::digest;
use crate::handler::Notifier;

/// The feeds bucket and praktika's prefix in it.
pub struct Feeds {
    pub store: GzipJsonStore,
    pub prefix: String,
}

#[derive(Debug, Default)]
struct Counts {
    processed: usize,
    sent: usize,
    failed: usize,
    purged: usize,
}

impl Notifier {
    async fn feed_events(&self, feeds: &Feeds, email: &str) -> Result<Vec<FeedEvent>, HandlerError> {
        let key = digest::feed_key(&feeds.prefix, email);
        let feed = feeds.store.get::<EventFeed>(&key).await.map_err(|e| HandlerError::retryable(format!("reading feed {key}: {e}")))?;
        Ok(feed.map(|v| v.value.events).unwrap_or_default())
    }

    pub(crate) async fn on_digest_tick(&self, tick: &DigestTick) -> Result<(), HandlerError> {
        let now = chrono::Utc::now();
        let subscribers = self.deliverer.store().all_subscribers().await.map_err(HandlerError::retryable)?;
        let mut counts = Counts::default();
        let mut errors = Vec::new();

        if tick.period == DigestPeriod::Daily {
            for sub in subscribers.iter().filter(|s| !s.subscribed && digest::purge_due(s.deleted_at, now, self.retention)) {
                match self.deliverer.store().purge_subscription(sub, now).await {
                    Ok(true) => counts.purged += 1,
                    Ok(false) => {}
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }

        let window = digest::window(tick);
        match &self.feeds {
            None => warn!("no feed location configured; digests skipped"),
            Some(feeds) => {
                let mut by_email: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
                for sub in subscribers.iter().filter(|s| s.subscribed && s.preferences.wants_digest(tick.period)) {
                    by_email.entry(sub.email.as_str()).or_default().push(sub.slack_user_id.as_str());
                }
                for (email, users) in by_email {
                    let events = self.feed_events(feeds, email).await?;
                    let summary = digest::summarize(&events, window);
                    for user in users {
                        counts.processed += 1;
                        let result = async {
                            let channel = self.dm_channel(user).await?;
                            self.send_digest(tick, user, channel, email, &summary).await
                        }
                        .await;
                        tally(&mut counts, &mut errors, result);
                    }
                }
                for dc in self.config.digest_channels.iter().filter(|c| c.period == tick.period) {
                    counts.processed += 1;
                    let mut events = Vec::new();
                    for email in &dc.emails {
                        events.extend(self.feed_events(feeds, email).await?);
                    }
                    let summary = digest::summarize(&events, window);
                    let result = self.send_digest(tick, &dc.channel, dc.channel.clone(), &dc.emails.join(", "), &summary).await;
                    tally(&mut counts, &mut errors, result);
                }
            }
        }
        info!(period = tick.period.as_str(), processed = counts.processed, sent = counts.sent, failed = counts.failed, purged = counts.purged, "digest run");
        if errors.is_empty() { Ok(()) } else { Err(HandlerError::retryable(errors.join("; "))) }
    }

    async fn send_digest(&self, tick: &DigestTick, recipient: &str, channel: String, subject: &str, summary: &digest::Digest) -> Result<Delivered, HandlerError> {
        let (text, blocks) = digest::render(subject, tick.period, summary);
        let message = Outgoing { channel, text, blocks: Some(blocks), thread_ts: None };
        self.deliverer.deliver(&digest::ledger_key(tick, recipient), &message, None).await.map_err(HandlerError::retryable)
    }
}

fn tally(counts: &mut Counts, errors: &mut Vec<String>, result: Result<Delivered, HandlerError>) {
    match result {
        Ok(Delivered::Posted(_)) => counts.sent += 1,
        Ok(_) => {}
        Err(e) => {
            counts.failed += 1;
            errors.push(e.to_string());
        }
    }
}
