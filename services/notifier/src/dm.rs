//! Personal DMs on `feed.updated` (praktika's Slack worker as CI runs it today, which wins over
//! seed 000's "DM Notifications" wording) as one pure decision: the
//! newest event, the subscriber's preferences and what the message ledger already holds go in;
//! what to send (or record, or nothing) comes out as data. No I/O, no clock. The handler reads
//! the ledger, calls [`decide`], and carries the decision out through the `Deliverer`.
//!
//! ## praktika's rules, and where Pulse differs
//!
//! - **complete** applies when the newest event is `type == completed` and `notify_on_complete`;
//!   **failure** when it has a failing job (`Status::is_failing`: `failure`, `error`, `fail`, any
//!   case — praktika's worker rule; `XPASS`, `UNKNOWN`, `""` are not failing) and
//!   `notify_on_failure`.
//! - Each kind has praktika's dedup key, `{kind}:{email}:{sha}:{ci_status lower-cased}:{pr_number}:{repo_name}`
//!   ([`praktika_key`]); the ledger key is `dm:{slack user}:{praktika key}` ([`ledger_key`]), so
//!   the keys praktika kept in `last_notified_key` can be imported as ledger entries.
//! - praktika sends "complete" *instead of* "failure" when both apply, and its "complete" DM of
//!   a failed run shows no failure. Pulse sends **one** DM that covers every kind that applies
//!   and was not sent yet; whatever triggered it, the DM states the run's real outcome and lists
//!   the failing jobs (see `dm_text`). Every covered kind's key ends up in the ledger, so turning
//!   the other kind on later is not swallowed by an earlier DM, and a DM is never sent when all
//!   the kinds it would cover were.
//!
//! ## One DM, several keys (how the ledger keeps it exactly once)
//!
//! The DM is delivered under one covered kind's key (the *primary*: a kind whose earlier attempt
//! is still pending, else the first of failure, complete). The ledger entry's context says which
//! kinds it covers (`{"dm_covers": ["failure", "complete"]}`). Once posted, the other covered
//! keys are recorded as the same message ([`Store::record_covered`](crate::store::Store::record_covered),
//! a put-if-absent). If the worker stops between the post and those records, the redelivery
//! reads the primary's entry, sees that it covers them, and records them without posting
//! ([`DmDecision::Record`]).

use pulse_contracts::Preferences;
use pulse_contracts::praktika::FeedEvent;
use pulse_slack::blocks::Message;
use serde_json::{Value, json};

use crate::dm_text;

/// One reason to DM, with its own dedup key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DmKind {
    Failure,
    Complete,
}

impl DmKind {
    /// In the order a primary key is chosen.
    pub const ALL: [DmKind; 2] = [DmKind::Failure, DmKind::Complete];

    /// As in praktika's dedup key and `last_notified_key`.
    pub fn as_str(self) -> &'static str {
        match self {
            DmKind::Failure => "failure",
            DmKind::Complete => "complete",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        DmKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether `prefs` ask for this kind about `event`.
    pub fn applies(self, event: &FeedEvent, prefs: &Preferences) -> bool {
        match self {
            DmKind::Complete => prefs.notify_on_complete && event.kind.is_completed(),
            DmKind::Failure => prefs.notify_on_failure && event.has_failing_job(),
        }
    }
}

/// praktika's DM dedup key: `{kind}:{email}:{sha}:{ci_status lower-cased}:{pr_number}:{repo_name}`.
pub fn praktika_key(kind: DmKind, email: &str, event: &FeedEvent) -> String {
    format!(
        "{}:{email}:{}:{}:{}:{}",
        kind.as_str(),
        event.sha,
        event.ci_status.as_str().to_lowercase(),
        event.ext.pr_number,
        event.ext.repo_name
    )
}

/// The ledger key of one user's DM of one kind: `dm:{slack user}:{praktika key}`.
pub fn ledger_key(slack_user: &str, kind: DmKind, email: &str, event: &FeedEvent) -> String {
    format!("dm:{slack_user}:{}", praktika_key(kind, email, event))
}

/// A message the ledger knows was posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// What the ledger holds under one kind's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// `SENT` (`posted` known) or `UNCONFIRMED` (taken as delivered, `posted` unknown), by a DM
    /// that covered `covers`.
    Done { covers: Vec<DmKind>, posted: Option<Posted> },
    /// `SENDING` / `UNCERTAIN`: an attempt may have posted; only the ledger may settle it.
    Pending { covers: Vec<DmKind> },
}

impl Recorded {
    fn covers(&self) -> &[DmKind] {
        match self {
            Recorded::Done { covers, .. } | Recorded::Pending { covers } => covers,
        }
    }
}

/// The ledger context of a DM covering `kinds`.
pub fn covers_context(kinds: &[DmKind]) -> Value {
    json!({"dm_covers": kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>()})
}

/// The kinds a ledger entry of `own` kind covers, from its context (an entry without one, e.g.
/// imported from praktika's `last_notified_key`, covers its own kind).
pub fn covers_of(own: DmKind, context: Option<&Value>) -> Vec<DmKind> {
    let mut kinds: Vec<DmKind> = context
        .and_then(|c| c.get("dm_covers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().and_then(DmKind::parse))
        .collect();
    kinds.push(own);
    kinds.sort();
    kinds.dedup();
    kinds
}

/// Everything the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct DmInput<'a> {
    pub slack_user: &'a str,
    /// Whose feed changed (the commit author).
    pub email: &'a str,
    pub event: &'a FeedEvent,
    pub prefs: &'a Preferences,
    /// What the ledger holds under each kind's key for this event; a kind not listed has no
    /// entry.
    pub recorded: &'a [(DmKind, Recorded)],
}

impl DmInput<'_> {
    fn recorded(&self, kind: DmKind) -> Option<&Recorded> {
        self.recorded.iter().find(|(k, _)| *k == kind).map(|(_, r)| r)
    }

    /// Delivered under its own key or covered by a delivered DM of another kind.
    fn is_done(&self, kind: DmKind) -> bool {
        self.recorded.iter().any(|(_, r)| matches!(r, Recorded::Done { .. }) && r.covers().contains(&kind))
    }
}

/// A DM to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Dm {
    /// The ledger key it is delivered under (the primary kind's).
    pub key: String,
    /// Every kind it answers; the first is the primary.
    pub covers: Vec<DmKind>,
    /// The other covered kinds' ledger keys, recorded as this same message once it is posted.
    pub also_record: Vec<String>,
    /// The notification fallback and the blocks.
    pub message: Message,
}

/// What to do for one subscriber.
#[derive(Debug, Clone, PartialEq)]
pub enum DmDecision {
    /// No preference asks for a DM about this event.
    NotWanted,
    /// Every kind that applies was already sent.
    AlreadySent { kinds: Vec<DmKind> },
    /// Post this DM (through the ledger).
    Send(Dm),
    /// A DM already posted covered these kinds but their keys were never recorded (the worker
    /// stopped in between): record them as that DM (`posted`, or unconfirmed), post nothing.
    Record { keys: Vec<String>, posted: Option<Posted>, covered_by: String, covers: Vec<DmKind> },
}

/// The DM decision for one subscriber.
pub fn decide(input: &DmInput<'_>) -> DmDecision {
    let key = |kind: DmKind| ledger_key(input.slack_user, kind, input.email, input.event);
    let applicable: Vec<DmKind> = DmKind::ALL.into_iter().filter(|k| k.applies(input.event, input.prefs)).collect();
    if applicable.is_empty() {
        return DmDecision::NotWanted;
    }
    let todo: Vec<DmKind> = applicable.iter().copied().filter(|k| !input.is_done(*k)).collect();
    if todo.is_empty() {
        return match unrecorded_cover(input) {
            Some((source, covers, missing, posted)) => {
                DmDecision::Record { keys: missing.into_iter().map(key).collect(), posted, covered_by: key(source), covers }
            }
            None => DmDecision::AlreadySent { kinds: applicable },
        };
    }
    let primary = todo.iter().copied().find(|k| matches!(input.recorded(*k), Some(Recorded::Pending { .. }))).unwrap_or(todo[0]);
    let mut covers = vec![primary];
    covers.extend(todo.iter().copied().filter(|k| *k != primary));
    let message = dm_text::render(input.event, &covers);
    DmDecision::Send(Dm { key: key(primary), also_record: covers[1..].iter().map(|k| key(*k)).collect(), covers, message })
}

/// A delivered DM's entry that covers kinds with no entry of their own.
#[allow(clippy::type_complexity)]
fn unrecorded_cover(input: &DmInput<'_>) -> Option<(DmKind, Vec<DmKind>, Vec<DmKind>, Option<Posted>)> {
    input.recorded.iter().find_map(|(source, r)| {
        let Recorded::Done { covers, posted } = r else { return None };
        let missing: Vec<DmKind> = covers.iter().copied().filter(|k| input.recorded(*k).is_none()).collect();
        (!missing.is_empty()).then(|| (*source, covers.clone(), missing, posted.clone()))
    })
}

#[cfg(test)]
mod tests;
