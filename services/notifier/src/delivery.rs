//! Exactly-once posting: the message ledger around `chat.postMessage`.
//!
//! Every message has a dedup key. Sending it is: **claim** the key (a conditional put that only
//! the first attempt wins) → wait for the channel's **pacing** slot → **post** (429 waits
//! `Retry-After`; nothing else is retried inside the call, because a retried post after a lost
//! answer is exactly how duplicates happen) → **record** Slack's `ts`. Each post carries Slack
//! message metadata `{"event_type": "pulse_message", "event_payload": {"dedup_key": ...}}`.
//!
//! Failures are split by whether the post may have taken effect ([`classify`]):
//! - certainly not posted (429 past our patience, `ok:false`, 4xx, connection refused): the claim
//!   is released and the event is retried (SQS redelivery, then the DLQ);
//! - maybe posted (5xx, timeout, connection lost mid-request — the fake's `FailAfterEffect`): the
//!   entry is marked `UNCERTAIN`. The retry **reconciles** before sending: it looks for the
//!   marker in the channel (`conversations.history`, or `conversations.replies` for thread
//!   replies; the app manifest asks for the `*:history` scopes for this). Found → recorded as
//!   sent, nothing posted. Proven absent → sent again, so a 5xx that did not post is re-sent and
//!   one that did is not.
//! - Only when Slack cannot tell us (the history scopes were removed, the channel cannot be
//!   read, the answer is incomplete) does the [`UncertainPolicy`] decide; the default takes it as
//!   delivered (`UNCONFIRMED` in the ledger, a warning in the log), because a duplicate is what
//!   users complain about and the 5xx-after-effect case is the common one.
//!
//! A crash between Slack's answer and the ledger write leaves `SENDING`; it is reconciled the same
//! way after its lease, or at once by the runtime attempt that took the event over from the one
//! that died (ledger attempt ids start with their runtime attempt's id), and meanwhile an event
//! that needs the entry waits for the lease ([`DeliveryError::InProgress`] becomes the runtime's
//! `Wait`) rather than spending its receives.

use std::time::Duration;

use pulse_slack::{PostedMessage, SlackClient, SlackError};
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::pacing::Pacer;
use crate::store::{Claimed, LedgerStatus, Store, StoreError};

/// A boxed, sendable future: what [`Deliverer::deliver_once`]'s callbacks return.
pub(crate) type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The metadata `event_type` of every message Pulse posts.
pub const METADATA_EVENT_TYPE: &str = "pulse_message";

/// The time a post needs after a rate-limit wait: under a final deadline, a wait that leaves less
/// is not started (the event goes back to its queue instead).
pub(crate) const POST_ROOM: Duration = Duration::from_secs(5);

/// A message to post.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub channel: String,
    /// The notification fallback (and the whole message when there are no blocks).
    pub text: String,
    pub blocks: Option<Value>,
    /// Reply in this thread.
    pub thread_ts: Option<String>,
}

/// What [`Deliverer::deliver`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivered {
    /// Posted now.
    Posted(PostedMessage),
    /// Posted before (a redelivery, or found by reconciliation).
    AlreadySent(PostedMessage),
    /// A previous attempt's outcome could not be verified and was taken as delivered.
    Unconfirmed,
}

impl Delivered {
    pub fn message(&self) -> Option<&PostedMessage> {
        match self {
            Delivered::Posted(m) | Delivered::AlreadySent(m) => Some(m),
            Delivered::Unconfirmed => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("message ledger: {0}")]
    Store(#[from] StoreError),
    #[error("message {key} is being sent by another attempt")]
    InProgress { key: String, until_ms: i64 },
    #[error("message {key} was not posted: {source}")]
    NotSent { key: String, source: SlackError },
    #[error("message {key} may have been posted (answer lost); the retry reconciles: {source}")]
    Uncertain { key: String, source: SlackError },
    #[error("message {key} may have been posted and Slack cannot confirm it ({reason}); held for an operator")]
    Held { key: String, reason: String },
    #[error("message {key} kept changing hands while delivering it")]
    Contended { key: String },
    #[error("message {key} to {destination}: {source}")]
    Sink { key: String, destination: String, source: crate::sinks::SinkError },
}

/// How long a message another attempt is sending is watched for that attempt to finish before
/// the event waits for the ledger lease instead.
const SENDER_PATIENCE: Duration = Duration::from_secs(3);

/// A ledger attempt id: the runtime attempt it runs in (when it runs in one), then its own.
fn ledger_attempt(runtime: Option<&pulse_runtime::Attempt>, own: uuid::Uuid) -> String {
    match runtime {
        Some(attempt) => format!("{}/{own}", attempt.id),
        None => own.to_string(),
    }
}

/// Whether a `SENDING` entry was written by the runtime attempt this one took its event over
/// from: that attempt died, so the entry is abandoned however long its lease, and is probed
/// like any abandoned entry instead of waited for.
fn abandoned_by_the_dead(entry_attempt: &str, runtime: Option<&pulse_runtime::Attempt>) -> bool {
    let Some(dead) = runtime.and_then(|a| a.took_over_from.as_deref()) else { return false };
    entry_attempt.split_once('/').is_some_and(|(holder, _)| holder == dead)
}

/// Whether a failed post may have taken effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    NotSent,
    Uncertain,
}

/// Classify a failed `chat.postMessage`.
pub fn classify(err: &SlackError) -> Failure {
    match err {
        SlackError::RateLimited { .. } | SlackError::Api { .. } | SlackError::Token { .. } => Failure::NotSent,
        SlackError::Http { status, .. } if *status < 500 => Failure::NotSent,
        SlackError::Http { .. } | SlackError::Timeout { .. } | SlackError::Decode { .. } => Failure::Uncertain,
        // A refused or unresolvable connection never reached Slack.
        SlackError::Transport { message, .. } if is_connect_failure(message) => Failure::NotSent,
        SlackError::Transport { .. } => Failure::Uncertain,
        SlackError::RetriesExhausted { last, .. } => classify(last),
    }
}

fn is_connect_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("(connect)") || m.contains("connection refused") || m.contains("dns error")
}

/// What to do when a possibly-posted message cannot be verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UncertainPolicy {
    /// Take it as delivered (`UNCONFIRMED`); no duplicate, possibly a missing message.
    #[default]
    AssumeSent,
    /// Post again; never missing, possibly a duplicate.
    Resend,
    /// Fail the event (it reaches the DLQ after the redrive count) for an operator to decide.
    Hold,
}

impl UncertainPolicy {
    /// `assume_sent` | `resend` | `hold` (`NOTIFIER_UNCERTAIN_POLICY`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "assume_sent" => Some(Self::AssumeSent),
            "resend" => Some(Self::Resend),
            "hold" => Some(Self::Hold),
            _ => None,
        }
    }
}

impl std::str::FromStr for UncertainPolicy {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::parse(s).ok_or(())
    }
}

/// What a history lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Found(String),
    Absent,
    Unavailable(String),
}

/// The `ts` of the message in a `conversations.history` / `.replies` answer whose metadata
/// carries `key`; `Absent` only when the answer is complete (no further page).
pub fn find_marked(answer: &Value, key: &str) -> Probe {
    let messages = answer.get("messages").and_then(Value::as_array);
    let found = messages.into_iter().flatten().find(|m| {
        m.pointer("/metadata/event_type").and_then(Value::as_str) == Some(METADATA_EVENT_TYPE)
            && m.pointer("/metadata/event_payload/dedup_key").and_then(Value::as_str) == Some(key)
    });
    match found.and_then(|m| m.get("ts")).and_then(Value::as_str) {
        Some(ts) => Probe::Found(ts.to_owned()),
        None if answer.get("has_more").and_then(Value::as_bool) == Some(true) => Probe::Unavailable("history has more pages".into()),
        None if messages.is_none() => Probe::Unavailable("no messages in the answer".into()),
        None => Probe::Absent,
    }
}

/// Posts through the ledger.
pub struct Deliverer {
    /// Calls that are safe to retry (reads, `chat.update`, `conversations.open`).
    pub(crate) slack: SlackClient,
    /// `chat.postMessage` only: one attempt per call, retries decided here.
    post_client: SlackClient,
    store: Store,
    pub(crate) pacer: Pacer,
    policy: UncertainPolicy,
    lease: Duration,
    /// The most time one post spends waiting out 429s before giving up (the event is retried
    /// later by SQS): kept well under the function's 60 s timeout (its queue's visibility
    /// timeout is six times that).
    rate_limit_budget: Duration,
    max_retry_after: Duration,
    /// Stamps ledger attempts.
    clock: pulse_core::Clock,
    /// Names ledger attempts.
    ids: pulse_core::Ids,
}

impl Deliverer {
    /// `slack` retries as configured; a single-attempt twin is derived from `config` for posts.
    pub fn new(config: pulse_slack::ClientConfig, store: Store, pacing: Duration, policy: UncertainPolicy) -> Self {
        let max_retry_after = config.max_retry_after;
        let rate_limit_budget = Duration::from_secs(20);
        // The claim outlives the longest a post can take (429 waits plus the request), so a
        // redelivery never mistakes a slow send for a crashed one.
        let lease = rate_limit_budget + config.request_timeout * 2;
        let post_client = SlackClient::new(pulse_slack::ClientConfig { max_attempts: 1, ..config.clone() });
        Self {
            slack: SlackClient::new(config),
            post_client,
            store,
            pacer: Pacer::new(pacing),
            policy,
            lease,
            rate_limit_budget,
            max_retry_after,
            clock: pulse_core::Clock::system(),
            ids: pulse_core::Ids::random(),
        }
    }

    /// Stamp and name ledger attempts with these (the system clock and random ids otherwise).
    pub fn with_clock(mut self, clock: pulse_core::Clock, ids: pulse_core::Ids) -> Self {
        self.clock = clock;
        self.ids = ids;
        self
    }

    pub fn slack(&self) -> &SlackClient {
        &self.slack
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(30_000)
    }

    /// Post `message` once per `key`, however often this is called. `context` is kept with the
    /// ledger entry (e.g. the alert, to re-render it when a button is clicked).
    pub async fn deliver(&self, key: &str, message: &Outgoing, context: Option<&Value>) -> Result<Delivered, DeliveryError> {
        let probe = |started_ms: i64, channel: String| -> Boxed<'_, Probe> {
            Box::pin(async move { self.probe(&channel, key, started_ms, message.thread_ts.as_deref()).await })
        };
        let send = |attempt: String| -> Boxed<'_, _> { Box::pin(async move { self.send(key, &attempt, message).await }) };
        self.deliver_once(key, &message.channel, context, probe, send).await
    }

    /// The ledger around any destination: claim `key` → `send(attempt)`. When an earlier attempt
    /// holds the key: sent → nothing to do; still in its lease → in progress; abandoned or
    /// uncertain → `probe(attempt started at, channel)` whether it delivered (found → recorded; absent → sent again; unknown →
    /// the [`UncertainPolicy`]). `send` records its own outcome in the ledger.
    pub(crate) async fn deliver_once<'a, P, S>(
        &self,
        key: &str,
        channel: &str,
        context: Option<&Value>,
        probe: P,
        send: S,
    ) -> Result<Delivered, DeliveryError>
    where
        P: Fn(i64, String) -> Boxed<'a, Probe>,
        S: Fn(String) -> Boxed<'a, Result<Delivered, DeliveryError>>,
    {
        let runtime = pulse_runtime::Attempt::current();
        let patience = tokio::time::Instant::now() + SENDER_PATIENCE;
        let mut takeovers = 0;
        while takeovers < 3 {
            let attempt = ledger_attempt(runtime.as_ref(), self.ids.uuid());
            let now = self.clock.now_ms();
            let entry = match self.store.claim(key, &attempt, channel, now, self.lease_ms(), context).await? {
                Claimed::Acquired => return send(attempt).await,
                Claimed::Existing(entry) => entry,
            };
            match entry.status {
                LedgerStatus::Sent => {
                    let (Some(channel), Some(ts)) = (entry.channel.clone(), entry.ts.clone()) else {
                        return Err(StoreError::Malformed {
                            table: self.store.messages.clone(),
                            pk: key.into(),
                            sk: "ledger".into(),
                            message: "SENT without channel and ts".into(),
                        }
                        .into());
                    };
                    info!(dedup_key = key, "message already sent; not sending again");
                    return Ok(Delivered::AlreadySent(PostedMessage { channel, ts }));
                }
                LedgerStatus::Unconfirmed => return Ok(Delivered::Unconfirmed),
                LedgerStatus::Sending if entry.lease_until_ms > now && !abandoned_by_the_dead(&entry.attempt, runtime.as_ref()) => {
                    // Another event's attempt is posting this very message (two announcements
                    // of one run): it usually takes a moment, so look again before giving up.
                    if tokio::time::Instant::now() < patience {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                    return Err(DeliveryError::InProgress { key: key.into(), until_ms: entry.lease_until_ms });
                }
                LedgerStatus::Sending | LedgerStatus::Uncertain => {}
            }
            // A previous attempt may have delivered: look before sending again.
            let channel = entry.channel.clone().unwrap_or_else(|| channel.to_owned());
            let resend = match probe(entry.attempt_started_ms, channel.clone()).await {
                Probe::Found(ts) => {
                    info!(dedup_key = key, "a previous attempt did deliver; recorded");
                    self.store.mark_sent(key, &entry.attempt, &channel, &ts).await?;
                    return Ok(Delivered::AlreadySent(PostedMessage { channel, ts }));
                }
                Probe::Absent => true,
                Probe::Unavailable(reason) => match self.policy {
                    UncertainPolicy::Resend => true,
                    UncertainPolicy::Hold => return Err(DeliveryError::Held { key: key.into(), reason }),
                    UncertainPolicy::AssumeSent => {
                        warn!(dedup_key = key, reason = %reason, "cannot verify whether a previous attempt delivered; taking it as delivered (UNCONFIRMED)");
                        self.store.mark_unconfirmed(key, &entry.attempt, &reason).await?;
                        return Ok(Delivered::Unconfirmed);
                    }
                },
            };
            if resend && self.store.take_over(key, &entry.attempt, &attempt, now, self.lease_ms()).await? {
                return send(attempt).await;
            }
            takeovers += 1;
        }
        Err(DeliveryError::Contended { key: key.into() })
    }

    async fn send(&self, key: &str, attempt: &str, message: &Outgoing) -> Result<Delivered, DeliveryError> {
        match self.post(key, message).await {
            Ok(posted) => {
                if !self.store.mark_sent(key, attempt, &posted.channel, &posted.ts).await? {
                    warn!(dedup_key = key, "ledger entry changed hands while posting");
                }
                Ok(Delivered::Posted(posted))
            }
            Err(err) => match classify(&err) {
                Failure::NotSent => {
                    self.store.release(key, attempt).await?;
                    Err(DeliveryError::NotSent { key: key.into(), source: err })
                }
                Failure::Uncertain => {
                    self.store.mark_uncertain(key, attempt, &err.to_string()).await?;
                    Err(DeliveryError::Uncertain { key: key.into(), source: err })
                }
            },
        }
    }

    /// One post, paced; a 429 (no effect, by Slack's contract) waits `Retry-After` and tries
    /// again while the waits fit in the rate-limit budget.
    async fn post(&self, key: &str, m: &Outgoing) -> Result<PostedMessage, SlackError> {
        let metadata = json!({"event_type": METADATA_EVENT_TYPE, "event_payload": {"dedup_key": key}});
        let mut waited = Duration::ZERO;
        loop {
            self.pacer.wait(&m.channel).await;
            let result = self
                .post_client
                .chat_post_message(&m.channel, &m.text, m.blocks.clone(), m.thread_ts.as_deref(), Some(metadata.clone()))
                .await;
            let retry_after = match &result {
                Err(SlackError::RateLimited { retry_after, .. }) => *retry_after,
                Err(SlackError::RetriesExhausted { last, .. }) => match last.as_ref() {
                    SlackError::RateLimited { retry_after, .. } => *retry_after,
                    _ => return result,
                },
                _ => return result,
            };
            let wait = retry_after.unwrap_or(Duration::from_secs(1)).min(self.max_retry_after);
            // The budget, and a final deadline (a Lambda invocation's) with room for one more post.
            if waited + wait > self.rate_limit_budget || !pulse_core::Deadline::fits(wait, POST_ROOM) {
                return result;
            }
            waited += wait;
            warn!(dedup_key = key, wait_ms = wait.as_millis() as u64, "Slack rate limited the post; waiting Retry-After");
            tokio::time::sleep(wait).await;
        }
    }

    async fn probe(&self, channel: &str, key: &str, since_ms: i64, thread_ts: Option<&str>) -> Probe {
        let mut args = vec![
            ("channel", channel.to_owned()),
            // A little before the attempt started, against clock skew between us and Slack.
            ("oldest", format!("{}", (since_ms / 1000) - 5)),
            ("include_all_metadata", "true".to_owned()),
            ("limit", "200".to_owned()),
        ];
        let method = match thread_ts {
            Some(ts) => {
                args.push(("ts", ts.to_owned()));
                "conversations.replies"
            }
            None => "conversations.history",
        };
        match self.slack.call_form(method, &args).await {
            Ok(answer) => find_marked(&answer, key),
            Err(err) => Probe::Unavailable(format!("{method}: {err}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_that_never_reached_slack_are_not_sent() {
        let m = || "chat.postMessage".to_owned();
        assert_eq!(classify(&SlackError::RateLimited { method: m(), retry_after: None }), Failure::NotSent);
        assert_eq!(
            classify(&SlackError::Api { method: m(), error: "channel_not_found".into(), response_metadata: None }),
            Failure::NotSent
        );
        assert_eq!(classify(&SlackError::Http { method: m(), status: 500 }), Failure::Uncertain);
        assert_eq!(classify(&SlackError::Http { method: m(), status: 404 }), Failure::NotSent);
        assert_eq!(classify(&SlackError::Timeout { method: m() }), Failure::Uncertain);
        assert_eq!(
            classify(&SlackError::Transport {
                method: m(),
                message: "error sending request: client error (Connect): Connection refused".into()
            }),
            Failure::NotSent
        );
        assert_eq!(classify(&SlackError::Transport { method: m(), message: "connection reset by peer".into() }), Failure::Uncertain);
        let exhausted =
            SlackError::RetriesExhausted { method: m(), attempts: 1, last: Box::new(SlackError::Http { method: m(), status: 503 }) };
        assert_eq!(classify(&exhausted), Failure::Uncertain);
    }

    #[test]
    fn the_marker_is_found_by_key_and_absence_needs_a_complete_page() {
        let answer = json!({"ok": true, "has_more": false, "messages": [
            {"ts": "1.1", "metadata": {"event_type": "pulse_message", "event_payload": {"dedup_key": "other"}}},
            {"ts": "1.2", "metadata": {"event_type": "pulse_message", "event_payload": {"dedup_key": "k"}}},
            {"ts": "1.3"}
        ]});
        assert_eq!(find_marked(&answer, "k"), Probe::Found("1.2".into()));
        assert_eq!(find_marked(&answer, "x"), Probe::Absent);
        assert!(matches!(find_marked(&json!({"ok": true, "has_more": true, "messages": []}), "x"), Probe::Unavailable(_)));
        assert!(matches!(find_marked(&json!({"ok": true}), "x"), Probe::Unavailable(_)));
    }

    #[test]
    fn only_the_dead_attempt_s_entries_are_abandoned() {
        let meta = pulse_contracts::Envelope {
            id: uuid::Uuid::nil(),
            event_type: "x".into(),
            version: 1,
            occurred_at: chrono::Utc::now(),
            source: "t".into(),
            dedup_key: "k".into(),
            detail: (),
        };
        let attempt = |took_over_from: Option<&str>| pulse_runtime::Attempt {
            id: "new".into(),
            meta: meta.clone(),
            receive_count: 2,
            took_over_from: took_over_from.map(str::to_owned),
            deadline: pulse_runtime::Deadline::after(Duration::from_secs(5)),
        };
        assert!(abandoned_by_the_dead("dead/1234", Some(&attempt(Some("dead")))));
        assert!(!abandoned_by_the_dead("alive/1234", Some(&attempt(Some("dead")))), "another event's live sender");
        assert!(!abandoned_by_the_dead("dead/1234", Some(&attempt(None))));
        assert!(!abandoned_by_the_dead("1234", Some(&attempt(Some("dead")))), "an entry from before runtime ids");
        assert!(!abandoned_by_the_dead("dead/1234", None));
        assert!(ledger_attempt(Some(&attempt(None)), uuid::Uuid::nil()).starts_with("new/"));
    }

    #[test]
    fn policies_parse() {
        assert_eq!(UncertainPolicy::parse("assume_sent"), Some(UncertainPolicy::AssumeSent));
        assert_eq!(UncertainPolicy::parse("hold"), Some(UncertainPolicy::Hold));
        assert_eq!(UncertainPolicy::parse("resend"), Some(UncertainPolicy::Resend));
        assert_eq!(UncertainPolicy::parse("x"), None);
    }
}
