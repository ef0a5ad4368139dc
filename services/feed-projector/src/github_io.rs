//! The I/O half of [`crate::github`]: a GitHub delivery folded into its commit's state in S3,
//! then the commit's feed events that cover the delivery's run merged into their feeds.
//!
//! - The state is one gzip JSON object per (repository, head sha) in the feed bucket, at
//!   [`CommitKey::storage_key`] (`pulse-github-state/...`: outside praktika's feed path, so
//!   praktika and the feed readers never see it), written with the same ETag-conditional update
//!   loop as the feeds: two deliveries of one commit at once both land.
//! - Deliveries of one commit fold in turn but may project in any order, and an event built from
//!   an older state ties on timestamp with the newer one (so it would win the feed's slot): after
//!   projecting, a delivery reads the state again and projects it once more if it changed
//!   meanwhile, keyed by the state's ETag. The last projection is then always of the latest state.
//! - Exactly once: the runtime claims the delivery's dedup key first. A delivery that changes
//!   nothing (an older state, or the same state in another delivery) writes and announces
//!   nothing. A retry of a delivery whose first attempt stored the state is projected again
//!   ([`Applied::Retried`]): the feed merge is idempotent and re-announces as `republished`.
//! - A commit-author or follower e-mail that is not an address is skipped with a warning, not
//!   dead-lettered: git records whatever the author configured, and the commit's other feeds
//!   and later deliveries must still land.

use std::collections::BTreeSet;

use pulse_contracts::Email;
use pulse_contracts::feed_layout::FeedLocation;
use pulse_runtime::HandlerError;
use tracing::{info, warn};

use crate::github::{Applied, CommitState, Delivery, SlotEvent, commit_events};
use crate::handler::FeedProjector;
use crate::project::FeedTarget;

/// How often a delivery looks again for a state changed while it projected.
const RECHECKS: usize = 3;

impl FeedProjector {
    /// Folds one `github.workflow_run` / `github.workflow_job` delivery and projects its run.
    pub(crate) async fn on_github(&self, dedup_key: &str, delivery: Delivery) -> Result<(), HandlerError> {
        let commit =
            delivery.commit().map_err(|err| HandlerError::rejected(format!("GitHub delivery {}: {err}", delivery.delivery_id())))?;
        let key = commit.storage_key();
        let mut folded: Option<(Applied, CommitState)> = None;
        let outcome = self
            .feeds
            .update::<CommitState, _>(&key, &self.conflict_backoff, |current| {
                let mut state = current.unwrap_or_else(|| CommitState::new(&commit));
                let applied = state.apply(&delivery);
                folded = Some((applied, state.clone()));
                (applied == Applied::Changed).then_some(state)
            })
            .await
            .map_err(|err| HandlerError::retryable(format!("updating GitHub state {key}: {err}")))?;
        let Some((applied, state)) = folded else {
            return Err(HandlerError::retryable(format!("updating GitHub state {key}: the update ran no attempt")));
        };
        let run_id = delivery.run_id();
        if applied == Applied::Unchanged {
            info!(repo = %commit.repository(), sha = %commit.head_sha(), run_id, "GitHub delivery changes nothing already known; no feed touched");
            return Ok(());
        }
        self.project_commit(&state, run_id, dedup_key).await?;
        // Two deliveries of one commit fold in turn but project in any order, and an event
        // projected from an older state carries the same timestamp as the newer one (the run
        // that sets it is in both), so it would win the feed's slot. Whoever projected last
        // looks again: a state changed meanwhile is projected too, until the state holds still
        // (a few rounds at most; past them, the delivery that changed it projects it itself).
        let mut projected_etag = outcome.etag;
        for _ in 0..RECHECKS {
            let latest = self
                .feeds
                .get::<CommitState>(&key)
                .await
                .map_err(|err| HandlerError::retryable(format!("reading GitHub state {key}: {err}")))?;
            let Some(latest) = latest.filter(|l| Some(&l.etag) != projected_etag.as_ref()) else { break };
            info!(repo = %commit.repository(), sha = %commit.head_sha(), run_id, "the commit's state changed while projecting; projecting the newer one");
            // Keyed by the state's version: two deliveries projecting the same state announce once.
            self.project_commit(&latest.value, run_id, &format!("{key}@{}", latest.etag.trim_matches('"'))).await?;
            projected_etag = Some(latest.etag);
        }
        Ok(())
    }

    /// Projects the commit's feed events that cover `run_id`, as `state` describes them.
    async fn project_commit(&self, state: &CommitState, run_id: u64, source: &str) -> Result<(), HandlerError> {
        let covering: Vec<SlotEvent> = commit_events(state).into_iter().filter(|e| e.run_ids.contains(&run_id)).collect();
        if covering.is_empty() {
            info!(run_id, "the run is not described yet (a job before its run); kept for when it is");
        }
        for slot_event in covering {
            let targets = targets(&slot_event, &self.location);
            if targets.is_empty() {
                info!(slot = %slot_event.slot.label(), "no author e-mail: projected into no feed");
                continue;
            }
            let source_key = format!("{source}:{}", slot_event.slot.label());
            self.project_targets(&source_key, &slot_event.event, &targets).await?;
        }
        Ok(())
    }
}

/// The feeds a slot's event goes to: its commit authors and followers (rule 6), each once.
fn targets(slot_event: &SlotEvent, location: &FeedLocation) -> Vec<FeedTarget> {
    let emails: BTreeSet<&str> =
        slot_event.event.ext.commit_authors.iter().chain(&slot_event.followers).map(String::as_str).filter(|e| !e.is_empty()).collect();
    emails
        .into_iter()
        .filter_map(|email| match Email::parse(email) {
            Ok(email) => Some(email),
            Err(err) => {
                warn!(repo = %slot_event.event.ext.repo_name, sha = %slot_event.event.sha, %err, "an author e-mail of a GitHub run is not an address; that feed is skipped");
                None
            }
        })
        .map(|email| FeedTarget { key: location.key(email.as_str()), email })
        .collect()
}
