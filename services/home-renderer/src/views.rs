//! Publishing a user's Home view so that a slower render never overwrites a newer one.
//!
//! # The scheme
//!
//! Per user, DynamoDB holds a *view record* (`pk = user#<id>`, `sk = view`): `seq` (one more per
//! publish), Slack's `hash` of the view last published, and the inputs it was rendered from (the
//! feed object's ETag and the subscription revision). One publish is:
//!
//! 1. **read the record** (`seq = S`, `hash = H`) together with the subscription (one
//!    consistent query of the user's partition), *then* the feed, and render;
//! 2. if nothing changed since the recorded publish (same feed ETag, same revision) and the
//!    caller allows it, stop: the view on screen is already this one ([`Mode::IfChanged`]);
//! 3. **`views.publish` with `hash = H`**: Slack refuses (`hash_conflict`) if any other view was
//!    published since the one recorded;
//! 4. **record** `seq = S + 1`, the new hash and the inputs, on condition `seq = S`.
//!
//! A conflict at 3 or 4 means another publish happened after our step 1; we start again from 1,
//! reading everything afresh. Why this is enough: publishes that succeed form a chain in which
//! each one carried the hash of the previous one, and each read its inputs after the previous
//! one was recorded (its step 1 saw the previous hash). So the view on screen always comes from
//! the newest reads of any successful publish: an older `feed.updated`, or a render that read the
//! feed before a newer one landed, can lose the race but never win it. (A feed.updated handled
//! late does not even try: it reads the feed as it is *now*, and with nothing new since the last
//! publish, step 2 skips it.)
//!
//! Recovery: the recorded hash can be stale when a publish succeeded but its record was lost (a
//! crash between 3 and 4), or when Slack's state was reset. Then every attempt conflicts while
//! the record stays at the same `seq`; after two such conflicts in a row the next attempt
//! publishes without a hash and records the result, which re-establishes the chain. This is the
//! one place where an out-of-order write is possible, and only within that recovery attempt.
//!
//! `views.publish` failures: the Slack client already retries 429 (after `Retry-After`) and 5xx;
//! what still fails is reported as [`ViewError`], transient or not, and the handler turns
//! transient ones into SQS retries.

use std::time::Duration;

use pulse_aws::s3json::GzipJsonStore;
use pulse_core::Clock;
use pulse_core::retry::Backoff;
use pulse_slack::blocks::View;
use pulse_slack::{SlackClient, SlackError};
use serde_json::{Value, json};

use crate::feed::{self, FeedError, FeedLocation};
use crate::render::{self, HomeModel};
use crate::store::{Store, StoreError, ViewRecord};

/// Whether an unchanged view is published again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Always publish (the user opened the tab: refresh relative times; a notice to show).
    Always,
    /// Skip when the feed and the subscription are what the last publish showed.
    IfChanged,
}

/// Where to read the feed from instead of the configured location (from `feed.updated`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRef {
    /// Whose feed it is.
    pub email: String,
    pub bucket: String,
    pub key: String,
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// A new view is on screen.
    Published { seq: u64 },
    /// Nothing new to show ([`Mode::IfChanged`]).
    Unchanged,
}

/// The outcome of one [`ViewPublisher::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    Published {
        seq: u64,
    },
    Skipped,
    /// Another publish happened after this one's reads: prepare again.
    Conflict,
}

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Feed(FeedError),
    #[error("views.publish failed: {0}")]
    Slack(SlackError),
    #[error("the Home view of {user} kept being replaced concurrently ({attempts} attempts)")]
    Contended { user: String, attempts: u32 },
}

impl ViewError {
    /// Whether trying again later may succeed (AWS or Slack unavailable, rate limits, races),
    /// as opposed to Slack refusing the call for good (`user_not_found`, `invalid_auth`, ...).
    pub fn is_transient(&self) -> bool {
        match self {
            ViewError::Store(_) | ViewError::Contended { .. } => true,
            ViewError::Feed(FeedError::Unavailable(_)) => true,
            ViewError::Feed(FeedError::Corrupt(_)) => false,
            ViewError::Slack(e) => slack_transient(e),
        }
    }
}

/// A Slack failure that may go away: rate limits, 5xx, timeouts, transport errors, also when
/// the client already spent its own retries on them.
pub fn slack_transient(e: &SlackError) -> bool {
    match e {
        SlackError::RetriesExhausted { .. }
        | SlackError::RateLimited { .. }
        | SlackError::Timeout { .. }
        | SlackError::Transport { .. }
        | SlackError::Token { .. } => true,
        SlackError::Http { status, .. } => *status >= 500 || *status == 429,
        SlackError::Api { .. } | SlackError::Decode { .. } => false,
    }
}

/// A rendered view and the record it was rendered against.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub user: String,
    /// The view record read before anything else.
    pub base: ViewRecord,
    /// The feed ETag and subscription revision this view shows.
    pub feed_etag: String,
    pub sub_revision: u64,
    pub view: View,
}

/// Renders and publishes Home views (see the module docs).
#[derive(Clone)]
pub struct ViewPublisher {
    store: Store,
    feeds: GzipJsonStore,
    location: FeedLocation,
    slack: SlackClient,
    clock: Clock,
    retention_days: u64,
    backoff: Backoff,
}

impl ViewPublisher {
    pub fn new(store: Store, feeds: GzipJsonStore, location: FeedLocation, slack: SlackClient, clock: Clock) -> Self {
        Self {
            store,
            feeds,
            location,
            slack,
            clock,
            retention_days: crate::store::DEFAULT_RETENTION.as_secs() / 86_400,
            backoff: Backoff::new(Duration::from_millis(25), Duration::from_millis(800), 8),
        }
    }

    /// How long toggles are kept after unsubscribing (said in the not-subscribed view).
    pub fn with_retention_days(mut self, days: u64) -> Self {
        self.retention_days = days;
        self
    }

    pub fn slack(&self) -> &SlackClient {
        &self.slack
    }

    /// Renders `user`'s view from the current subscription and feed and publishes it, retrying
    /// conflicts with fresh reads. `notice` is shown on a not-subscribed view.
    pub async fn publish(&self, user: &str, mode: Mode, feed: Option<&FeedRef>, notice: Option<&str>) -> Result<Published, ViewError> {
        let max = self.backoff.max_attempts();
        let mut last_seq = None;
        let mut stuck = 0u32;
        for attempt in 0..max {
            let prepared = self.prepare(user, feed, notice).await?;
            let seq = prepared.base.seq;
            let force = stuck >= 2;
            if force {
                tracing::warn!(user, seq, "the recorded view hash looks stale; publishing without it");
            }
            match self.commit(&prepared, mode, force).await? {
                Committed::Published { seq } => return Ok(Published::Published { seq }),
                Committed::Skipped => return Ok(Published::Unchanged),
                Committed::Conflict => {
                    stuck = if last_seq == Some(seq) { stuck + 1 } else { 1 };
                    last_seq = Some(seq);
                    tracing::debug!(user, attempt = attempt + 1, seq, "another view was published meanwhile; rendering again");
                    if attempt + 1 < max {
                        tokio::time::sleep(self.backoff.delay(attempt)).await;
                    }
                }
            }
        }
        Err(ViewError::Contended { user: user.to_owned(), attempts: max })
    }

    /// Step 1: read the view record, then the subscription and the feed, and render.
    pub async fn prepare(&self, user: &str, feed: Option<&FeedRef>, notice: Option<&str>) -> Result<Prepared, ViewError> {
        // One consistent read of both items: the record is never newer than the subscription.
        let (base, stored) = self.store.user_state(user).await?;
        let now = self.clock.now();
        let sub_revision = stored.as_ref().map_or(0, |s| s.sub.revision);
        let sub = match stored.map(|s| s.sub) {
            Some(sub) if sub.is_active() => sub,
            other => {
                let meta = json!({ "rev": sub_revision }).to_string();
                let notice = notice.map(str::to_owned).or_else(|| other.map(|s| self.unsubscribed_notice(s.email.as_str())));
                let view = render::not_subscribed_view(notice.as_deref(), Some(&meta));
                return Ok(Prepared { user: user.to_owned(), base, feed_etag: String::new(), sub_revision, view });
            }
        };
        // Every feed this user follows (their email's, then each linked GitHub account's). The
        // one a feed.updated names is read where it says; the others at the configured location.
        let mut feeds = Vec::new();
        let mut etags = Vec::new();
        let mut problem = None;
        for email in sub.followed_emails() {
            let (bucket, key) = match feed.filter(|f| f.email == email.as_str()) {
                Some(f) => (f.bucket.clone(), f.key.clone()),
                None => (self.location.bucket.clone(), self.location.key(email.as_str())),
            };
            let snapshot = match feed::read(&self.feeds, &bucket, &key).await {
                Ok(snapshot) => snapshot,
                Err(err @ FeedError::Corrupt(_)) => {
                    tracing::error!(user, %email, error = %err, "a feed object cannot be read; showing the view without it");
                    problem = Some("A feed could not be read just now; the Pulse team has been told in the logs.");
                    feed::FeedSnapshot::default()
                }
                Err(err) => return Err(ViewError::Feed(err)),
            };
            etags.push(snapshot.etag.clone().unwrap_or_default());
            feeds.push(snapshot.feed.events);
        }
        // What the view was rendered from: one ETag per followed feed, in order.
        let feed_etag = etags.join(",");
        let merged;
        let events: &[pulse_contracts::praktika::FeedEvent] = match feeds.as_slice() {
            [only] => only,
            many => {
                merged = feed::union(&many.iter().map(Vec::as_slice).collect::<Vec<_>>());
                &merged
            }
        };
        let meta = json!({ "rev": sub_revision, "feed": feed_etag }).to_string();
        let rendered = render::home_view(&HomeModel {
            email: sub.email.as_str(),
            github: &sub.github,
            preferences: &sub.preferences,
            subscribed_at: Some(sub.subscribed_at.timestamp()),
            events,
            now: now.timestamp(),
            notice: problem,
            private_metadata: Some(&meta),
        });
        Ok(Prepared { user: user.to_owned(), base, feed_etag, sub_revision, view: rendered.view })
    }

    /// Steps 2–4 for a prepared view. `without_hash` publishes without Slack's hash (recovery).
    pub async fn commit(&self, prepared: &Prepared, mode: Mode, without_hash: bool) -> Result<Committed, ViewError> {
        let base = &prepared.base;
        if mode == Mode::IfChanged
            && base.hash.is_some()
            && base.feed_etag == prepared.feed_etag
            && base.sub_revision == prepared.sub_revision
        {
            return Ok(Committed::Skipped);
        }
        let hash = if without_hash { None } else { base.hash.as_deref() };
        let published = match self.slack.views_publish(&prepared.user, prepared.view.to_json(), hash).await {
            Ok(view) => view,
            Err(err) if err.api_error() == Some("hash_conflict") => return Ok(Committed::Conflict),
            Err(err) => return Err(ViewError::Slack(err)),
        };
        let record = ViewRecord {
            seq: base.seq + 1,
            hash: published.get("hash").and_then(Value::as_str).map(str::to_owned),
            feed_etag: prepared.feed_etag.clone(),
            sub_revision: prepared.sub_revision,
        };
        if self.store.record_view(&prepared.user, base.seq, &record).await? {
            Ok(Committed::Published { seq: record.seq })
        } else {
            Ok(Committed::Conflict)
        }
    }

    /// The not-subscribed notice after unsubscribing from `email`.
    pub fn unsubscribed_notice(&self, email: &str) -> String {
        format!(
            "You unsubscribed from the CI feed of {email}. Subscribe again within {} days and your toggles are restored.",
            self.retention_days
        )
    }
}
