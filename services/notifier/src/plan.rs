//! A plan of effects: what the notifier's decisions ([`crate::decide`]) return and its
//! executor ([`crate::execute`]) carries out. Plain data: a test reads a plan to see what one
//! event would do, without Slack, DynamoDB or a clock.
//!
//! A plan is a list of **chains**. A chain's effects run in order and the chain stops at its
//! first failure (an audit that was not written must not be followed by the deploy it would
//! have recorded); chains are independent of one another (one subscriber's failed DM does not
//! hold back the others'). The event succeeds when every chain did; otherwise it is retried,
//! and every effect is idempotent, so the retry redoes only what is missing:
//! - posts go through the message ledger (once per key, see `delivery.rs`);
//! - records are put-if-absent or conditional on a revision;
//! - updates re-render the whole message, so applying one twice shows the same thing;
//! - published events carry a dedup key derived from the handled event's.
//!
//! Two effects name an earlier post of their chain by its ledger key rather than by its Slack
//! `ts`, which only the executor learns: a reply goes [`Post::thread`] under it, and
//! [`Effect::RecordCovered`] records other keys as the same message.

use pulse_contracts::{Event, SubscriptionChanged};
use serde_json::Value;

use crate::audit::Click;
use crate::commands::StatusEntry;
use crate::config::SecretRef;
use crate::digest::EmailDigest;
use crate::subscriptions::Subscriber;

pub use pulse_slack::blocks::{Message, ResponseMessage};

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    Channel(String),
    /// The user's DM channel (opened with `conversations.open` once, then cached).
    Dm(String),
}

/// A message posted once per `key`, however often the event is handled.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub key: String,
    pub to: To,
    /// Reply in the thread of the message posted under this key earlier in the chain (to the
    /// channel itself when that message's `ts` is unknown: taken as delivered, unconfirmed).
    pub thread: Option<String>,
    pub content: Message,
    /// Kept with the ledger entry (an alert, to re-render it when a button is clicked).
    pub context: Option<Value>,
}

pub use crate::dm::Posted;

/// Which message covers keys being recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Covering {
    /// The post under `covered_by` earlier in this chain: whatever it turned out to be.
    ThisChain,
    /// A message recorded before (`None`: taken as delivered, its `ts` unknown).
    Known(Option<Posted>),
}

/// A digest destination outside Slack.
#[derive(Debug, Clone, PartialEq)]
pub enum Sink {
    /// A Discord webhook, its URL read from `url` when sending (never logged).
    Discord { url: SecretRef, body: Value },
    /// An e-mail through SES to `to`.
    Email { to: Vec<String>, mail: EmailDigest },
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Post through the message ledger.
    Post(Post),
    /// Record `keys` as delivered by the message under `covered_by` (one DM answering several
    /// dedup keys); put-if-absent.
    RecordCovered { keys: Vec<String>, covered_by: String, covering: Covering, context: Value },
    /// Replace a posted message (`chat.update`) with `content`.
    Update { channel: String, ts: String, content: Message },
    /// Record a message posted by other means (an alert that becomes a deploy's thread) as
    /// `key`'s; put-if-absent.
    Adopt { key: String, channel: String, ts: String },
    /// Write an attempt to act (allowed or refused) to the audit log; put-if-absent per attempt.
    Audit(Click),
    /// Remember the deploy id chosen for a request under `marker`, unless one is remembered
    /// already; a different one remembered meanwhile fails the chain (the retry decides again).
    RememberDeploy { marker: String, deploy_id: uuid::Uuid },
    /// Publish `event` on the bus under `dedup_key` (the executor stamps its id and time).
    Publish { event: Box<Event>, dedup_key: String },
    /// Answer a slash command ephemerally on its `response_url`, once per `marker`.
    Respond { marker: String, response_url: String, body: ResponseMessage },
    /// Show `user` an ephemeral `text` in `channel` (`chat.postEphemeral`), once per `marker`.
    Ephemeral { marker: String, channel: String, user: String, text: String },
    /// Keep the newest ops alert per service for `/pulser status`.
    RecordStatus(StatusEntry),
    /// Project a `subscription.changed` (applied only when its revision is newer).
    ApplySubscription(SubscriptionChanged),
    /// Delete a soft-deleted subscription past retention (unless it changed), audited.
    Purge(Subscriber),
    /// Record a DM praktika sent as delivered; put-if-absent.
    RecordImported { key: String, context: Value },
    /// Deliver once per `key` to `destination` (a label such as `discord:ci-team`; never a URL).
    Deliver { key: String, destination: String, sink: Sink },
    /// One step of forgetting a person (`pulse forget`, see [`crate::forget`]).
    Forget(crate::forget::Step),
    /// Store a channel's repository subscription change (kept only when newer).
    RepoSubscription(crate::github::commands::Change),
    /// Save a workflow run's merged state, conditional on the version read (`None`: absent);
    /// a concurrent save fails the chain (the retry merges again).
    SaveRun { run: crate::github::runs::RunRef, state: Box<crate::github::run::RunState>, expected: Option<u64> },
    /// Post a run attempt's message once per `key` (in `thread_ts`'s thread when given); when it
    /// was posted before, replace it (`chat.update`) with `content`. Paced per channel.
    ShowRun { key: String, channel: String, thread_ts: Option<String>, content: Message },
    /// Fail the chain (to be retried) when the run's stored version moved past `version`: a
    /// concurrent delivery saved a newer state, which this one may have shown over.
    CheckRun { run: crate::github::runs::RunRef, version: u64 },
    /// Re-run a GitHub Actions run's failed jobs: claimed once per attempt, then asked of
    /// GitHub by the claim's holder only, the outcome answered to the clicker.
    Rerun(crate::github::rerun::Rerun),
    /// Save a subscription's branch state (red / green), conditional on the version read.
    SaveBranch { at: crate::github::transitions::BranchRef, state: Box<crate::github::transitions::BranchState>, expected: Option<u64> },
}

/// Effects run in order, stopping at the first failure.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chain {
    /// Names the chain in logs and errors ("DM to U1", "digest to C0CI").
    pub label: String,
    pub effects: Vec<Effect>,
}

impl Chain {
    pub fn new(label: impl Into<String>, effects: Vec<Effect>) -> Self {
        Self { label: label.into(), effects }
    }
}

/// Independent chains of effects.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub chains: Vec<Chain>,
}

impl Plan {
    /// Nothing to do.
    pub fn none() -> Self {
        Self::default()
    }

    /// One chain.
    pub fn chain(label: impl Into<String>, effects: Vec<Effect>) -> Self {
        Self { chains: vec![Chain::new(label, effects)] }
    }

    pub fn push(&mut self, chain: Chain) {
        if !chain.effects.is_empty() {
            self.chains.push(chain);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.chains.iter().all(|c| c.effects.is_empty())
    }

    /// Every effect, in order (for tests and logs).
    pub fn effects(&self) -> impl Iterator<Item = &Effect> {
        self.chains.iter().flat_map(|c| c.effects.iter())
    }

    /// Every post, in order.
    pub fn posts(&self) -> impl Iterator<Item = &Post> {
        self.effects().filter_map(|e| match e {
            Effect::Post(p) => Some(p),
            _ => None,
        })
    }
}
