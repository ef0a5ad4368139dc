//! Carrying out one allowed re-run click ([`Effect::Rerun`](crate::plan::Effect::Rerun)): the
//! claim, the call to GitHub, the answer to the clicker. The rules are in [`super::rerun`].
//!
//! The claim is an item `rerun#{repo}#{run}#{attempt}` / `claim` in the messages table holding
//! the clicker and the click's dedup key, put only if absent: of two clicks (or two deliveries
//! racing), one holds it and calls; the other is told who asked. The holder's own redelivery
//! calls again only while no outcome is recorded (`outcome`, written after GitHub accepted).
//! A process killed between GitHub's acceptance and that record asks GitHub again on retry;
//! GitHub refuses a second re-run of a run that is already going, and that refusal is what the
//! clicker then reads.

use pulse_runtime::HandlerError;
use tracing::{info, warn};

use super::rerun::{Reply, Rerun};
use crate::execute::Executor;

/// How long a claim and its outcome are kept: longer than anyone clicks an old message.
const CLAIM_TTL_SECS: i64 = 30 * 86_400;

impl Executor {
    /// Returns whether GitHub was asked (and accepted) now.
    pub(crate) async fn rerun(&self, r: Rerun) -> Result<bool, HandlerError> {
        let key = r.target.claim_key();
        let holder = format!("{} {}", r.user_id, r.dedup_key);
        let expires = self.clock.now_secs() + CLAIM_TTL_SECS;
        let store = self.store();
        let retryable = HandlerError::retryable;
        if !store.put_value_if_absent(&key, "claim", &holder, expires).await.map_err(retryable)? {
            let current = store.get_value(&key, "claim").await.map_err(retryable)?.unwrap_or_default();
            if current != holder {
                let first = current.split(' ').next().unwrap_or_default().to_owned();
                info!(claim = %key, asked_first_by = %first, "re-run already asked; GitHub not called again");
                self.answer_rerun(&r, Reply::AlreadyAsked(first)).await?;
                return Ok(false);
            }
            if store.get_value(&key, "outcome").await.map_err(retryable)?.is_some() {
                info!(claim = %key, "this click's re-run was accepted before; answering again only");
                self.answer_rerun(&r, Reply::Started).await?;
                return Ok(false);
            }
        }
        let Some(github) = self.github().await else {
            // The decision found credentials; if they cannot be had now (a misconfiguration is
            // looked up again at each use), release the claim and say so.
            store.delete_value(&key, "claim").await.map_err(retryable)?;
            self.answer_rerun(&r, Reply::GithubRefused("Pulse has no GitHub credentials".to_owned())).await?;
            return Ok(false);
        };
        match github.rerun_failed_jobs(&r.target.repo, r.target.run_id).await {
            Ok(()) => {
                store.put_value(&key, "outcome", "accepted", Some(expires)).await.map_err(retryable)?;
                info!(claim = %key, user = %r.user_id, "GitHub is re-running the failed jobs");
                self.answer_rerun(&r, Reply::Started).await?;
                Ok(true)
            }
            Err(err) if err.is_retryable() => Err(HandlerError::retryable(format!("asking GitHub to re-run {key}: {err}"))),
            Err(err) => {
                warn!(claim = %key, error = %err, "GitHub refused the re-run; the claim is released for a later click");
                store.delete_value(&key, "claim").await.map_err(retryable)?;
                self.answer_rerun(&r, Reply::GithubRefused(err.to_string())).await?;
                Ok(false)
            }
        }
    }

    /// The clicker's ephemeral answer, once per click.
    async fn answer_rerun(&self, r: &Rerun, reply: Reply) -> Result<(), HandlerError> {
        let Some(url) = &r.response_url else { return Ok(()) };
        let body = reply.message(&r.target).to_json();
        self.answer_once(&format!("rerun-answer#{}", r.dedup_key), self.deliverer.slack().post_response_url(url, &body)).await?;
        Ok(())
    }
}
