//! The feed-projector's I/O shell: conditional S3 writes and `feed.updated`; for
//! `feed.written`, the read of a feed someone else wrote (rules in [`crate::external`]); GitHub
//! deliveries go through [`crate::github_io`]. The runtime claims each `ci.workflow` event's
//! dedup key before [`FeedProjector`] sees it; a merge is idempotent by itself (an event already
//! in the feed changes nothing), so an attempt that died after its write and before its
//! completion is redone harmlessly.
//!
//! Every feed this service writes carries `x-amz-meta-pulse-writer: feed-projector`
//! ([`WRITER`]), which is how `feed.written` tells Pulse's own writes from praktika's.

use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::s3json::{GzipJsonStore, Precondition, RawObject, default_update_backoff};
pub use pulse_contracts::feed_layout::FeedLocation;
use pulse_contracts::praktika::{EventFeed, FeedEvent};
use pulse_contracts::{Envelope, Event, FeedUpdated, FeedWritten, PersonForget};
use pulse_core::retry::Backoff;
use pulse_core::{Clock, Ids};
use pulse_runtime::{Accept, Attempt, HandlerError, MessageHandler, Meta, not_consumed};
use tracing::{info, warn};

use crate::cache::FeedCache;
use crate::external::{self, Plan, Seen};
use crate::github::Delivery;
use crate::merge::{MergeOutcome, Rules};
use crate::project::{self, FeedTarget};
use crate::stored::StoredFeed;

/// The envelope `source` of events this service publishes.
pub const SOURCE: &str = "pulse.feed-projector";

/// The `pulse-writer` mark on every feed this service writes.
pub const WRITER: &str = "feed-projector";

pub struct FeedProjector {
    pub(crate) feeds: GzipJsonStore,
    pub(crate) location: FeedLocation,
    pub(crate) publisher: EventPublisher,
    pub(crate) conflict_backoff: Backoff,
    /// Merges (retention, stale runs) and announcements are dated by it.
    pub(crate) clock: Clock,
    pub(crate) ids: Ids,
    pub(crate) cache: FeedCache,
    rules: Rules,
}

impl FeedProjector {
    pub fn new(feeds: GzipJsonStore, location: FeedLocation, publisher: EventPublisher, clock: Clock, ids: Ids) -> Self {
        Self {
            feeds: feeds.with_writer(WRITER),
            location,
            publisher,
            conflict_backoff: default_update_backoff(),
            clock,
            ids,
            cache: FeedCache::default_size(),
            rules: Rules::default(),
        }
    }

    /// Merge with these rules (retention) instead of praktika's defaults.
    pub fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// Replace the feed cache (tests use this to compare warm and cold paths).
    pub fn with_cache(mut self, cache: FeedCache) -> Self {
        self.cache = cache;
        self
    }

    async fn project(&self, dedup_key: &str, event: FeedEvent) -> Result<(), HandlerError> {
        if !event.dropped.is_empty() {
            let keys: Vec<&str> = event.dropped.keys().map(String::as_str).collect();
            warn!(?keys, "top-level keys praktika's Event does not have are not stored: praktika would discard a feed holding them");
        }
        let targets = project::targets(&event, &self.location).map_err(HandlerError::rejected)?;
        if targets.is_empty() {
            info!(repo = %event.ext.repo_name, sha = %event.sha, "the event has no commit_authors: accepted and projected into no feed");
            return Ok(());
        }
        self.project_targets(dedup_key, &event, &targets).await
    }

    pub(crate) async fn project_targets(&self, dedup_key: &str, event: &FeedEvent, targets: &[FeedTarget]) -> Result<(), HandlerError> {
        let now = self.clock.now_secs();
        let mut announcements = Vec::with_capacity(targets.len());
        for target in targets {
            let merged = self.merge_into(target, event, now).await?;
            if !merged.holds_event {
                info!(email = %target.email, "a newer event for this run is already in the feed; not announced");
                continue;
            }
            info!(email = %target.email, key = %target.key, changes = ?merged.outcome.changes.iter().map(|c| c.as_str()).collect::<Vec<_>>(), "feed merged");
            announcements.push(self.feed_updated(target, merged, dedup_key));
        }
        if announcements.is_empty() {
            return Ok(());
        }
        self.publisher.publish(&announcements).await.map_err(HandlerError::retryable)?;
        Ok(())
    }

    /// `feed.written`: read the object and announce it unless Pulse wrote it (no claim: see
    /// [`MessageHandler::dedup_key`] below).
    async fn on_feed_written(&self, written: FeedWritten) -> Result<(), HandlerError> {
        let learned_from = written.learned_from.as_str();
        let target = match external::target(&written, &self.location) {
            Ok(target) => target,
            Err(plan) => return self.settle(plan, learned_from, &written.key).await,
        };
        let object =
            self.feeds.read(&target.key).await.map_err(|err| HandlerError::retryable(format!("reading feed {}: {err}", target.key)))?;
        let seen = object.as_ref().map(|o| Seen { etag: &o.etag, writer: o.writer.as_deref(), bytes: &o.bytes });
        if let (Some(notified), Some(read)) = (written.etag.as_deref(), object.as_ref())
            && notified.trim_matches('"') != read.etag.trim_matches('"')
        {
            info!(key = %target.key, notified, read = %read.etag, "the object changed since the notification; the version read is the one considered");
        }
        let plan = external::plan(&target, &self.location.bucket, seen);
        self.settle(plan, learned_from, &target.key).await
    }

    async fn settle(&self, plan: Plan, learned_from: &str, key: &str) -> Result<(), HandlerError> {
        match plan {
            Plan::Ignore(reason) => {
                info!(key, learned_from, %reason, "feed write not announced");
                Ok(())
            }
            Plan::Reject(reason) => Err(HandlerError::rejected(reason)),
            Plan::Announce { update, dedup_key } => {
                info!(key, learned_from, email = %update.email, newest_sha = %update.newest_event.sha, event_count = update.event_count, "feed written by someone else; announcing it");
                let envelope = self.announcement(Event::FeedUpdatedV1(*update), dedup_key);
                self.publisher.publish(std::slice::from_ref(&envelope)).await.map_err(HandlerError::retryable)?;
                Ok(())
            }
        }
    }

    /// Read-modify-write one feed under its ETag, retrying the whole cycle on a conflict. A cached
    /// copy is used when S3 confirms it is current (`If-None-Match` → 304).
    async fn merge_into(&self, target: &FeedTarget, event: &FeedEvent, now: i64) -> Result<Merged, HandlerError> {
        let key = target.key.as_str();
        let attempts = self.conflict_backoff.max_attempts();
        for attempt in 0..attempts {
            let cached = self.cache.take(key);
            let read = self
                .feeds
                .fetch(key, cached.as_ref().map(|(etag, _)| etag.as_str()))
                .await
                .map_err(|err| HandlerError::retryable(format!("reading feed {key}: {err}")))?;
            let (mut stored, etag) = match (read, cached) {
                (RawObject::NotModified, Some((etag, stored))) => (stored, Some(etag)),
                (RawObject::NotModified, None) => {
                    return Err(HandlerError::retryable(format!("S3 answered 304 Not Modified to an unconditional read of {key}")));
                }
                (RawObject::Found { bytes, etag }, _) => {
                    let stored = StoredFeed::decode(&bytes).map_err(|err| {
                        HandlerError::retryable(format!("the stored feed s3://{}/{key} cannot be read: {err}", self.location.bucket))
                    })?;
                    (stored, Some(etag))
                }
                (RawObject::Missing, _) => (StoredFeed::default(), None),
            };
            let outcome = stored.merge(event.clone(), now, self.rules);
            if !outcome.changed {
                let merged = Merged::of(stored.feed(), event, outcome);
                if let Some(etag) = etag {
                    self.cache.put(key, etag, stored);
                }
                return Ok(merged);
            }
            let bytes = stored.encode().map_err(|err| HandlerError::retryable(format!("encoding feed {key}: {err}")))?;
            let precondition = etag.map_or(Precondition::IfNoneMatch, Precondition::IfMatch);
            match self.feeds.put_raw(key, bytes, precondition).await {
                Ok(new_etag) => {
                    let merged = Merged::of(stored.feed(), event, outcome);
                    self.cache.put(key, new_etag, stored);
                    return Ok(merged);
                }
                Err(err) if err.is_conflict() => {
                    let delay = self.conflict_backoff.delay(attempt);
                    info!(key, attempt, ?delay, "feed changed while merging; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(err) => return Err(HandlerError::retryable(format!("writing feed {key}: {err}"))),
            }
        }
        Err(HandlerError::retryable(format!("feed {key} still conflicting after {attempts} attempts")))
    }

    fn feed_updated(&self, target: &FeedTarget, merged: Merged, source_dedup_key: &str) -> Envelope {
        let detail = FeedUpdated {
            email: target.email.clone(),
            bucket: self.location.bucket.clone(),
            key: target.key.clone(),
            changes: project::announced_changes(&merged.outcome),
            newest_event: merged.newest_event,
            event_count: merged.event_count as u64,
        };
        self.announcement(Event::FeedUpdatedV1(detail), format!("feed.updated:{}:{source_dedup_key}", target.email))
    }

    /// An event this service publishes, stamped now.
    fn announcement(&self, event: Event, dedup_key: String) -> Envelope {
        event.into_envelope(SOURCE, dedup_key, self.ids.uuid(), self.clock.now()).to_raw()
    }
}

/// What one feed update produced, for the announcement.
struct Merged {
    outcome: MergeOutcome,
    holds_event: bool,
    newest_event: FeedEvent,
    event_count: usize,
}

impl Merged {
    fn of(feed: &EventFeed, event: &FeedEvent, outcome: MergeOutcome) -> Self {
        Merged {
            holds_event: project::holds(feed, event),
            newest_event: feed.events.first().cloned().unwrap_or_else(|| event.clone()),
            event_count: feed.events.len(),
            outcome,
        }
    }
}

/// What the feed-projector consumes.
pub enum Input {
    Workflow(Box<FeedEvent>),
    Written(FeedWritten),
    /// `pulse forget` (see [`crate::forget`]).
    Forget(PersonForget),
    /// `github.workflow_run` / `github.workflow_job` (see [`crate::github`]).
    Github(Box<Delivery>),
}

impl MessageHandler for FeedProjector {
    type Input = Input;

    fn service(&self) -> &'static str {
        "feed-projector"
    }

    fn accept(&self, event: Event) -> Accept<Input> {
        match event {
            Event::CiWorkflowV1(event) => Accept::Consume(Input::Workflow(Box::new(event))),
            Event::FeedWrittenV1(written) => Accept::Consume(Input::Written(written)),
            Event::PersonForgetV1(request) => Accept::Consume(Input::Forget(request)),
            Event::GithubWorkflowRunV1(run) => Accept::Consume(Input::Github(Box::new(Delivery::Run(run)))),
            Event::GithubWorkflowJobV1(job) => Accept::Consume(Input::Github(Box::new(Delivery::Job(job)))),
            other => not_consumed(self.service(), &other),
        }
    }

    /// `feed.written` needs no claim: nothing is written, and the announcement's dedup key is the
    /// object version, so a redelivery repeats the same announcement, which consumers take once.
    fn dedup_key(&self, meta: &Meta, input: &Input) -> Option<String> {
        match input {
            Input::Workflow(_) | Input::Forget(_) | Input::Github(_) => Some(meta.dedup_key.clone()),
            Input::Written(_) => None,
        }
    }

    async fn handle(&self, attempt: &Attempt, input: Input) -> Result<(), HandlerError> {
        match input {
            Input::Workflow(event) => self.project(&attempt.meta.dedup_key, *event).await,
            Input::Written(written) => self.on_feed_written(written).await,
            Input::Forget(request) => self.forget(&request).await,
            Input::Github(delivery) => self.on_github(&attempt.meta.dedup_key, *delivery).await,
        }
    }
}
