//! The feed-projector's I/O shell: idempotency record, conditional S3 writes, `feed.updated`.

use std::sync::Arc;

use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::idempotency::{Claim, IdempotencyStore};
use pulse_aws::retry::Backoff;
use pulse_aws::s3json::{GzipJsonStore, default_update_backoff};
use pulse_contracts::{Envelope, Event, FeedUpdated};
use pulse_contracts::praktika::{EventFeed, FeedEvent};
use pulse_runtime::{HandlerError, MessageHandler};
use tracing::{info, warn};

use crate::merge::MergeOutcome;
use crate::project::{self, FeedTarget};

/// The envelope `source` of events this service publishes.
pub const SOURCE: &str = "pulse.feed-projector";

/// Where feeds live: praktika's `{bucket}/{prefix}` (`EVENT_FEED_S3_PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLocation {
    pub bucket: String,
    pub prefix: String,
}

impl FeedLocation {
    /// Parse praktika's `bucket/prefix` form; the prefix may be empty.
    pub fn parse(path: &str) -> Option<Self> {
        let path = path.trim().trim_matches('/');
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        (!bucket.is_empty()).then(|| Self { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() })
    }
}

/// Unix seconds now; injectable so tests can move time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| chrono::Utc::now().timestamp())
}

pub struct FeedProjector {
    feeds: GzipJsonStore,
    location: FeedLocation,
    publisher: EventPublisher,
    idempotency: IdempotencyStore,
    conflict_backoff: Backoff,
    clock: Clock,
}

impl FeedProjector {
    pub fn new(
        feeds: GzipJsonStore,
        location: FeedLocation,
        publisher: EventPublisher,
        idempotency: IdempotencyStore,
        clock: Clock,
    ) -> Self {
        Self { feeds, location, publisher, idempotency, conflict_backoff: default_update_backoff(), clock }
    }

    async fn project(&self, dedup_key: &str, event: FeedEvent) -> Result<(), HandlerError> {
        let targets = project::targets(&event, &self.location.prefix).map_err(HandlerError::rejected)?;
        match self.idempotency.claim(dedup_key).await.map_err(HandlerError::retryable)? {
            Claim::Acquired => {}
            Claim::AlreadyCompleted { .. } => {
                info!("duplicate delivery of an event already projected; nothing to do");
                return Ok(());
            }
            Claim::InProgress { until } => {
                return Err(HandlerError::retryable(format!("another worker is projecting this event (claim held until {until})")));
            }
        }
        match self.project_claimed(dedup_key, &event, &targets).await {
            Ok(()) => self.idempotency.complete(dedup_key, None).await.map_err(HandlerError::retryable),
            Err(err) => {
                if let Err(record_err) = self.idempotency.fail(dedup_key, &err.to_string()).await {
                    warn!(error = %record_err, "could not record the failure; the claim will expire instead");
                }
                Err(err)
            }
        }
    }

    async fn project_claimed(&self, dedup_key: &str, event: &FeedEvent, targets: &[FeedTarget]) -> Result<(), HandlerError> {
        let now = (self.clock)();
        let mut announcements = Vec::with_capacity(targets.len());
        for target in targets {
            let (feed, outcome) = self.merge_into(target, event, now).await?;
            if !project::holds(&feed, event) {
                info!(email = %target.email, "a newer event for this run is already in the feed; not announced");
                continue;
            }
            info!(email = %target.email, key = %target.key, changes = ?outcome.changes.iter().map(|c| c.as_str()).collect::<Vec<_>>(), "feed merged");
            announcements.push(self.feed_updated(target, feed, &outcome, dedup_key));
        }
        if announcements.is_empty() {
            return Ok(());
        }
        self.publisher.publish(&announcements).await.map_err(HandlerError::retryable)?;
        Ok(())
    }

    /// Read-modify-write one feed under its ETag, retrying on conflict. Returns the feed as stored
    /// afterwards and what the winning merge did.
    async fn merge_into(&self, target: &FeedTarget, event: &FeedEvent, now: i64) -> Result<(EventFeed, MergeOutcome), HandlerError> {
        let mut last_outcome = None;
        let update = self
            .feeds
            .update::<EventFeed, _>(&target.key, &self.conflict_backoff, |current| {
                let change = project::apply(current, event, now);
                last_outcome = Some(change.outcome);
                change.write
            })
            .await
            .map_err(|err| HandlerError::retryable(format!("updating feed {}: {err}", target.key)))?;
        let outcome = last_outcome.expect("update always calls the merge at least once");
        let feed = match update.value {
            Some(feed) => feed,
            None => self.stored_feed(&target.key).await?,
        };
        Ok((feed, outcome))
    }

    async fn stored_feed(&self, key: &str) -> Result<EventFeed, HandlerError> {
        Ok(self
            .feeds
            .get::<EventFeed>(key)
            .await
            .map_err(|err| HandlerError::retryable(format!("reading feed {key}: {err}")))?
            .map(|v| v.value)
            .unwrap_or_default())
    }

    fn feed_updated(&self, target: &FeedTarget, feed: EventFeed, outcome: &MergeOutcome, source_dedup_key: &str) -> Envelope {
        let event_count = feed.events.len();
        let newest_event = feed.events.into_iter().next().expect("a feed that holds the event is not empty");
        let detail = FeedUpdated {
            email: target.email.clone(),
            bucket: self.location.bucket.clone(),
            key: target.key.clone(),
            newest_event,
            changes: project::announced_changes(outcome),
            event_count: event_count as u64,
        };
        Event::FeedUpdatedV1(detail)
            .into_envelope(SOURCE, format!("feed.updated:{}:{source_dedup_key}", target.email))
            .to_raw()
    }
}

impl MessageHandler for FeedProjector {
    fn service(&self) -> &'static str {
        "feed-projector"
    }

    async fn handle(&self, envelope: Envelope<Event>) -> Result<(), HandlerError> {
        match envelope.detail {
            Event::CiWorkflowV1(event) => self.project(&envelope.dedup_key, event).await,
            other => Err(HandlerError::unsupported(self.service(), &other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_location_parses_praktika_paths() {
        assert_eq!(FeedLocation::parse("b/p/q"), Some(FeedLocation { bucket: "b".into(), prefix: "p/q".into() }));
        assert_eq!(FeedLocation::parse("b"), Some(FeedLocation { bucket: "b".into(), prefix: String::new() }));
        assert_eq!(FeedLocation::parse("/"), None);
    }
}
