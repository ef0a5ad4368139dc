//! `person.forget` at the feed-projector: a commit author's e-mail leaves every feed.
//!
//! The rules:
//! - The person's own feed goes whole: every stored version of the object (the feed bucket is
//!   versioned, so deleting only the current object would leave it restorable for 30 days).
//! - Another author's feed keeps its events, but the person leaves their `commit_authors` (a run
//!   they co-authored). The feed is rewritten under its ETag, whole (no segment reused: the
//!   segments' fingerprints do not cover `commit_authors`), and its older versions, which name
//!   the person too, are deleted.
//! - E-mails compare case-insensitively, as a mail system would.
//! - A dry run reads and counts; it writes and deletes nothing.
//! - A request naming only a Slack user finds nothing here: feeds know no Slack user.
//! - The GitHub fold's per-commit states (`pulse-github-state/`) lose the person as head-commit
//!   author (e-mail and name), every version, so a later delivery of the commit cannot put them
//!   back in a feed.
//! - Doing it again finds nothing left, so a redelivery or a second `pulse forget` is harmless.
//!
//! [`names`] and [`scrub`] are the pure part; [`FeedProjector::forget`] is the I/O.

use pulse_aws::s3json::{Precondition, RawObject};
use pulse_contracts::praktika::EventFeed;
use pulse_contracts::{Event, ForgetAction, ForgottenRecord, PersonForget, PersonForgotten};
use pulse_runtime::HandlerError;
use tracing::info;

use crate::github::{CommitKey, CommitState};
use crate::handler::{FeedProjector, SOURCE};
use crate::stored::StoredFeed;

/// Whether any event of `feed` lists `email` among its commit authors.
pub fn names(feed: &EventFeed, email: &str) -> bool {
    feed.events.iter().any(|e| e.ext.commit_authors.iter().any(|a| a.eq_ignore_ascii_case(email)))
}

/// Remove `email` from every event's commit authors; returns how many events changed.
pub fn scrub(feed: &mut EventFeed, email: &str) -> usize {
    let mut changed = 0;
    for event in &mut feed.events {
        let before = event.ext.commit_authors.len();
        event.ext.commit_authors.retain(|a| !a.eq_ignore_ascii_case(email));
        if event.ext.commit_authors.len() != before {
            changed += 1;
        }
    }
    changed
}

/// What was found (and, unless a dry run, removed).
#[derive(Debug, Default)]
struct Tally {
    own_versions: u64,
    coauthor_feeds: u64,
    coauthor_old_versions: u64,
    /// GitHub commit states (`pulse-github-state/`) that named the person, and their older versions.
    github_states: u64,
    github_old_versions: u64,
}

impl FeedProjector {
    /// Forget `request`'s e-mail in every feed, then report (see the module doc).
    pub(crate) async fn forget(&self, request: &PersonForget) -> Result<(), HandlerError> {
        let mut tally = Tally::default();
        if let Some(email) = &request.email {
            self.forget_email(email.as_str(), request.dry_run, &mut tally).await?;
            self.forget_in_github_states(email.as_str(), request.dry_run, &mut tally).await?;
        }
        let place = format!("s3://{}/{}", self.location.bucket, self.location.events_prefix());
        let mut records = Vec::new();
        let mut record = |action, what: &str, count| {
            if count > 0 {
                records.push(ForgottenRecord { action, what: what.to_owned(), place: place.clone(), count, note: None });
            }
        };
        record(ForgetAction::Deleted, "the person's feed (every stored version)", tally.own_versions);
        record(ForgetAction::Rewritten, "co-authors' feeds naming the person", tally.coauthor_feeds);
        record(ForgetAction::Deleted, "older versions of those feeds", tally.coauthor_old_versions);
        let github = format!("s3://{}/{}", self.location.bucket, CommitKey::PREFIX);
        for (action, what, count) in [
            (ForgetAction::Rewritten, "GitHub commit states naming the person as author", tally.github_states),
            (ForgetAction::Deleted, "older versions of those states", tally.github_old_versions),
        ] {
            if count > 0 {
                records.push(ForgottenRecord { action, what: what.to_owned(), place: github.clone(), count, note: None });
            }
        }
        info!(request_id = %request.request_id, dry_run = request.dry_run, ?tally, "person forgotten in the feeds");
        let report =
            PersonForgotten { request_id: request.request_id, service: "feed-projector".into(), dry_run: request.dry_run, records };
        let dedup_key = format!("person.forgotten:{}:feed-projector", request.request_id);
        let envelope = Event::PersonForgottenV1(report).into_envelope(SOURCE, dedup_key, self.ids.uuid(), self.clock.now()).to_raw();
        self.publisher.publish(std::slice::from_ref(&envelope)).await.map_err(HandlerError::retryable)?;
        Ok(())
    }

    async fn forget_email(&self, email: &str, dry_run: bool, tally: &mut Tally) -> Result<(), HandlerError> {
        let own = self.location.key(email);
        let retry = |what: &str, err: pulse_aws::s3json::S3JsonError| HandlerError::retryable(format!("{what}: {err}"));
        let versions = self.feeds.versions(&own).await.map_err(|e| retry("listing the feed's versions", e))?;
        tally.own_versions = versions.len() as u64;
        if !dry_run {
            for version in &versions {
                self.feeds.delete_version(&own, &version.version_id).await.map_err(|e| retry("deleting a feed version", e))?;
            }
            self.cache.take(&own);
        }
        let keys = self.feeds.list_keys(&self.location.events_prefix()).await.map_err(|e| retry("listing feeds", e))?;
        for key in keys.iter().filter(|k| **k != own) {
            if self.scrub_feed(key, email, dry_run).await? {
                tally.coauthor_feeds += 1;
                let old = self.feeds.versions(key).await.map_err(|e| retry("listing a feed's versions", e))?;
                for version in old.iter().filter(|v| !v.latest) {
                    tally.coauthor_old_versions += 1;
                    if !dry_run {
                        self.feeds.delete_version(key, &version.version_id).await.map_err(|e| retry("deleting a feed version", e))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The GitHub fold's per-commit states: the person's e-mail and name leave every run's head
    /// commit (see [`CommitState::forget`]), older versions go.
    async fn forget_in_github_states(&self, email: &str, dry_run: bool, tally: &mut Tally) -> Result<(), HandlerError> {
        let retry = |what: &str, err: pulse_aws::s3json::S3JsonError| HandlerError::retryable(format!("{what}: {err}"));
        let keys = self.feeds.list_keys(CommitKey::PREFIX).await.map_err(|e| retry("listing GitHub states", e))?;
        for key in &keys {
            let named = if dry_run {
                let state = self.feeds.get::<CommitState>(key).await.map_err(|e| retry("reading a GitHub state", e))?;
                state.is_some_and(|mut s| s.value.forget(email))
            } else {
                let outcome = self
                    .feeds
                    .update::<CommitState, _>(key, &self.conflict_backoff, |state| {
                        let mut state = state?;
                        state.forget(email).then_some(state)
                    })
                    .await
                    .map_err(|e| retry("rewriting a GitHub state", e))?;
                outcome.written
            };
            if !named {
                continue;
            }
            tally.github_states += 1;
            let old = self.feeds.versions(key).await.map_err(|e| retry("listing a GitHub state's versions", e))?;
            for version in old.iter().filter(|v| !v.latest) {
                tally.github_old_versions += 1;
                if !dry_run {
                    self.feeds.delete_version(key, &version.version_id).await.map_err(|e| retry("deleting a GitHub state version", e))?;
                }
            }
        }
        Ok(())
    }

    /// Rewrite one feed without `email` under its ETag (retried on a conflict); returns whether
    /// the feed named the person.
    async fn scrub_feed(&self, key: &str, email: &str, dry_run: bool) -> Result<bool, HandlerError> {
        let attempts = self.conflict_backoff.max_attempts();
        for attempt in 0..attempts {
            let (bytes, etag) = match self.feeds.fetch(key, None).await {
                Ok(RawObject::Found { bytes, etag }) => (bytes, etag),
                Ok(_) => return Ok(false),
                Err(err) => return Err(HandlerError::retryable(format!("reading feed {key}: {err}"))),
            };
            // A feed Pulse cannot read is not Pulse's to rewrite; it names no one Pulse can see.
            let Ok(stored) = StoredFeed::decode(&bytes) else { return Ok(false) };
            let mut feed = stored.into_feed();
            if !names(&feed, email) {
                return Ok(false);
            }
            if dry_run {
                return Ok(true);
            }
            scrub(&mut feed, email);
            let mut rewritten = StoredFeed::from_feed(feed);
            let bytes = rewritten.encode().map_err(|err| HandlerError::retryable(format!("encoding feed {key}: {err}")))?;
            match self.feeds.put_raw(key, bytes, Precondition::IfMatch(etag)).await {
                Ok(_) => {
                    self.cache.take(key);
                    return Ok(true);
                }
                Err(err) if err.is_conflict() => tokio::time::sleep(self.conflict_backoff.delay(attempt)).await,
                Err(err) => return Err(HandlerError::retryable(format!("writing feed {key}: {err}"))),
            }
        }
        Err(HandlerError::retryable(format!("feed {key} still conflicting after {attempts} attempts")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_contracts::praktika::FeedEvent;

    fn event(authors: &[&str]) -> FeedEvent {
        let mut doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../contracts/examples/ci.workflow.v1/completed-pr-failed-job.json")).unwrap();
        doc["detail"]["ext"]["commit_authors"] = serde_json::json!(authors);
        serde_json::from_value(doc["detail"].clone()).unwrap()
    }

    #[test]
    fn scrub_removes_the_person_from_every_event_in_any_case_and_nothing_else() {
        let mut feed = EventFeed {
            events: vec![event(&["ann@example.com", "bob@example.com"]), event(&["bob@example.com"]), event(&["ANN@example.com"])],
        };
        assert!(names(&feed, "Ann@Example.com"));
        assert_eq!(scrub(&mut feed, "ann@example.com"), 2);
        let authors: Vec<_> = feed.events.iter().map(|e| e.ext.commit_authors.clone()).collect();
        assert_eq!(authors, [vec!["bob@example.com"], vec!["bob@example.com"], vec![]]);
        assert!(!names(&feed, "ann@example.com"));
        assert_eq!(scrub(&mut feed, "ann@example.com"), 0, "scrubbing again changes nothing");
    }
}
