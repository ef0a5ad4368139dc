//! What the handler reads before deciding: the state each decision in [`crate::decide`] takes,
//! from the notifier's tables and the feed bucket (and, for a `github_write` policy rule, the
//! clicker's permission from GitHub). Reads only; every write is an effect of the plan. A read
//! that fails fails the event (retried), before anything was done.

use std::collections::BTreeMap;

use pulse_aws::s3json::GzipJsonStore;
use pulse_contracts::feed_layout::FeedLocation;
use pulse_contracts::praktika::{EventFeed, FeedEvent};
use pulse_runtime::HandlerError;

use crate::decide::{self, ClickState, SubscriberState};
use crate::dm::{self, DmKind, Posted, Recorded};
use crate::ops::{self, AlertContext};
use crate::store::{LedgerStatus, Store, StoreError};

fn retryable(err: StoreError) -> HandlerError {
    HandlerError::retryable(err)
}

/// The feeds bucket and where in it the feeds are (keys from `pulse_contracts::feed_layout`).
pub struct Feeds {
    pub store: GzipJsonStore,
    pub location: FeedLocation,
}

impl Feeds {
    /// The events of each email's feed (an email without a feed has none).
    pub async fn read(&self, emails: &[String]) -> Result<BTreeMap<String, Vec<FeedEvent>>, HandlerError> {
        let mut out = BTreeMap::new();
        for email in emails {
            let key = self.location.key(email);
            let feed = self.store.get::<EventFeed>(&key).await.map_err(|e| HandlerError::retryable(format!("reading feed {key}: {e}")))?;
            out.insert(email.clone(), feed.map(|v| v.value.events).unwrap_or_default());
        }
        Ok(out)
    }
}

/// The posted alert (from its ledger entry's context) and its audited clicks.
pub async fn click_state(store: &Store, alert_id: &str) -> Result<ClickState, HandlerError> {
    let entry = store.ledger(&ops::ledger_key(alert_id)).await.map_err(retryable)?;
    let alert: Option<AlertContext> = entry.and_then(|e| e.context).and_then(|c| serde_json::from_value(c).ok());
    let history = store.audit_history(alert_id).await.map_err(retryable)?;
    Ok(ClickState { alert, history, member_of: Default::default() })
}

/// The deploy id remembered for a confirmed deploy modal, if any.
pub async fn remembered_deploy(store: &Store, dedup_key: &str) -> Result<Option<uuid::Uuid>, HandlerError> {
    let marker = decide::deploy_marker(dedup_key);
    match store.get_value(&marker, "deploy_id").await.map_err(retryable)? {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| HandlerError::retryable(format!("deploy id under {marker} unreadable"))),
    }
}

/// The subscribers of `email`, each with what the ledger holds of their DMs about `event`
/// (read only for those a DM kind applies to).
pub async fn subscribers(store: &Store, email: &str, event: &FeedEvent) -> Result<Vec<SubscriberState>, HandlerError> {
    let mut out = Vec::new();
    for subscriber in store.subscribers(email).await.map_err(retryable)? {
        let recorded = if decide::dm_wanted(&subscriber, event) {
            // DM keys name the subscription's email (see decide::dm_decisions).
            dm_recorded(store, &subscriber.slack_user_id, &subscriber.primary_email, event).await?
        } else {
            Vec::new()
        };
        out.push(SubscriberState { subscriber, recorded });
    }
    Ok(out)
}

/// What the ledger holds under each DM kind's key of `event` for `user`.
async fn dm_recorded(store: &Store, user: &str, email: &str, event: &FeedEvent) -> Result<Vec<(DmKind, Recorded)>, HandlerError> {
    let mut recorded = Vec::new();
    for kind in DmKind::ALL {
        let key = dm::ledger_key(user, kind, email, event);
        let Some(entry) = store.ledger(&key).await.map_err(retryable)? else { continue };
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

/// What a GitHub run or job delivery needs read: the run's stored state, the channels following
/// its repository, and (for a re-run) where the first attempt's message is in each.
pub struct GithubRun {
    pub run: crate::github::runs::RunRef,
    pub state: crate::github::run::RunState,
    pub version: Option<u64>,
    pub subscriptions: Vec<(String, pulse_contracts::RepoFilter)>,
    pub first_attempt_ts: BTreeMap<String, String>,
}

pub async fn github_run(store: &Store, run: crate::github::runs::RunRef, attempt: u32) -> Result<GithubRun, HandlerError> {
    let stored = store.run_state(&run).await.map_err(retryable)?;
    let (state, version) = match stored {
        Some((state, version)) => (state, Some(version)),
        None => (Default::default(), None),
    };
    let subscriptions = store.repo_subscriptions(&run.repository).await.map_err(retryable)?;
    let mut first_attempt_ts = BTreeMap::new();
    if attempt > 1 {
        for (channel, _) in &subscriptions {
            let key = crate::github::runs::message_key(&run, 1, channel);
            if let Some(entry) = store.ledger(&key).await.map_err(retryable)?
                && let (LedgerStatus::Sent, Some(ts)) = (entry.status, entry.ts)
            {
                first_attempt_ts.insert(channel.clone(), ts);
            }
        }
    }
    Ok(GithubRun { run, state, version, subscriptions, first_attempt_ts })
}

/// For a completed run: each subscription it counts for, with its branch's stored state, and
/// the Slack id of the commit's author when they subscribe to Pulse (read only when the run
/// failed: only "is red" mentions them).
pub async fn github_branches(
    store: &Store,
    ev: &pulse_contracts::GithubWorkflowRun,
) -> Result<(Vec<crate::github::transitions::BranchInput>, Option<String>), HandlerError> {
    use crate::github::transitions::{self, BranchInput, BranchRef};
    let Some(conclusion) = ev.run.state.conclusion() else { return Ok((Vec::new(), None)) };
    let mut inputs = Vec::new();
    for (channel, filter) in store.repo_subscriptions(&ev.repository).await.map_err(retryable)? {
        let branch = transitions::branch_of(&filter, ev.default_branch.as_deref());
        if !transitions::counts(&filter, &branch, &ev.run) {
            continue;
        }
        let at = BranchRef { channel, repository: crate::github::filters::repo_key(&ev.repository), branch };
        let (state, version) = match store.branch_state(&at).await.map_err(retryable)? {
            Some((state, version)) => (state, Some(version)),
            None => (Default::default(), None),
        };
        inputs.push(BranchInput { at, state, version });
    }
    let mut author = None;
    if conclusion.is_failure()
        && !inputs.is_empty()
        && let Some(commit) = &ev.run.head_commit
    {
        let subscribers = store.subscribers(&commit.author_email).await.map_err(retryable)?;
        author = subscribers.into_iter().find(|s| s.subscribed).map(|s| s.slack_user_id);
    }
    Ok((inputs, author))
}

/// What GitHub says of the write access to `repo` of the GitHub logins linked to `user`'s
/// subscription: the first login that may write, else all of them. A login GitHub does not
/// know (404) has no access; a failure GitHub may recover from fails the event (retried);
/// any other refusal (Pulse's credentials may not read collaborators) is told to the clicker.
pub async fn github_access(
    store: &Store,
    github: &pulse_github::GithubClient,
    team: &str,
    user: &str,
    repo: &str,
) -> Result<crate::policy::GithubAccess, HandlerError> {
    use crate::policy::GithubAccess;
    let logins = store.linked_logins(team, user).await.map_err(retryable)?;
    if logins.is_empty() {
        return Ok(GithubAccess::NoLinkedAccount);
    }
    for login in &logins {
        match github.collaborator_permission(repo, login).await {
            Ok(permission) if permission.can_write() => return Ok(GithubAccess::Write(login.clone())),
            Ok(_) => {}
            Err(err) if err.status() == Some(404) => {}
            Err(err) if err.is_retryable() => {
                return Err(HandlerError::retryable(format!("asking GitHub for {login}'s permission on {repo}: {err}")));
            }
            Err(err) => return Ok(GithubAccess::Unknown(err.to_string())),
        }
    }
    Ok(GithubAccess::NoWrite(logins))
}
