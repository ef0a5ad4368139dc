//! The pure handler: a raw request (or a Socket Mode payload) → what to answer, what to record
//! and what to publish. No I/O; the shell in `service.rs` carries the decision out.
//!
//! ## Ledger keys
//!
//! Every accepted request is recorded once under `(team_id, envelope_id)` and its events carry
//! `"{type}:{team_id}:{envelope_id}"` as `dedup_key` (the form of `contracts/examples/slack.*`).
//! The envelope id must be the same for every delivery of one user action, and differ between two
//! actions, whichever transport brought it:
//! - Events API: Slack's `event_id`, which Slack documents as the deduplication key and keeps
//!   across its retries (`X-Slack-Retry-Num`) and across transports.
//! - Slash commands and interactions: the `trigger_id`. Slack mints one per user invocation (it
//!   is what `views.open` consumes), so a redelivery of the same invocation — a Socket Mode
//!   envelope re-sent after a reconnect, a replayed HTTP request — carries the same one, while
//!   the same text typed twice gets two. A hash of the body would also be stable, but it ties the
//!   key to the encoding (form vs Socket Mode JSON) and makes two identical clicks one.
//! - Only if Slack sent no `trigger_id` (it always does for these payloads today): a hash of the
//!   HTTP body (`h` + 32 hex digits of SHA-256), or the Socket Mode `envelope_id`.
//!
//! ## Time and ids
//!
//! A decision is taken at an instant the caller gives (`now`: the signature window is checked
//! against it, and the events are dated by it), and its events' ids come from the [`Ids`] the
//! caller hands in. Nothing here reads a clock or a random source.

use chrono::{DateTime, Utc};
use pulse_contracts::{CommandAction, Envelope, Event, InteractionKind, SlackCommand, SlackHomeOpened, SlackInteraction};
use pulse_core::Ids;
use pulse_slack::blocks::{Message, ResponseMessage, View};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::command::{self, Usage};
use crate::headers::SlackHeaders;
use crate::modal;
use crate::parse::{self, CommandRequest, EventCallback, InnerEvent, Interaction, MAX_BODY_BYTES, Rejection, SlackRequest};
use crate::verify::{Verifier, VerifyError};

/// The envelope `source` of every event ingress publishes.
pub const SOURCE: &str = "pulse.ingress";

/// One HTTP request as any transport hands it over.
#[derive(Debug, Clone, Copy)]
pub struct RawRequest<'a> {
    pub method: &'a str,
    /// For logs only: ingress routes by content.
    pub path: &'a str,
    pub headers: SlackHeaders<'a>,
    /// The raw body, exactly as received (the signature covers these bytes).
    pub body: &'a [u8],
}

/// An HTTP answer (or, in Socket Mode, the acknowledgement payload when `body` is set).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    /// A JSON body, or none (an empty 200 is what Slack wants for events and clicks).
    pub body: Option<Value>,
}

impl Reply {
    pub fn empty() -> Self {
        Self { status: 200, body: None }
    }

    pub fn json(status: u16, body: Value) -> Self {
        Self { status, body: Some(body) }
    }

    /// A message only the user who typed the command sees.
    pub fn ephemeral(text: impl Into<String>) -> Self {
        Self::json(200, ResponseMessage::ephemeral(Message::new(text, [])).to_json())
    }

    /// A 4xx/5xx with its reason as `{"error": reason}`.
    pub fn error(status: u16, reason: impl Into<String>) -> Self {
        Self::json(status, json!({"error": reason.into()}))
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Where a request is recorded in the envelope ledger.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LedgerKey {
    pub team_id: String,
    pub envelope_id: String,
}

impl LedgerKey {
    /// The ledger table's partition key: `team_id#envelope_id`.
    pub fn pk(&self) -> String {
        format!("{}#{}", self.team_id, self.envelope_id)
    }

    /// The `dedup_key` of an event of `event_type` for this request.
    pub fn dedup_key(&self, event_type: &str) -> String {
        format!("{event_type}:{}:{}", self.team_id, self.envelope_id)
    }
}

/// A `views.open` ingress makes itself (trigger ids expire in 3 seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenModal {
    pub trigger_id: String,
    pub view: View,
}

/// A request to record and publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub key: LedgerKey,
    /// The event type published (`slack.command`, ...), also stored in the ledger.
    pub event_type: &'static str,
    /// What to publish: one event, or one per action of a `block_actions`.
    pub events: Vec<Envelope<Event>>,
    /// Opened before publishing (the deploy confirmation).
    pub modal: Option<OpenModal>,
    /// Whether a failure to record or publish is answered 5xx: the sender then redelivers (Slack's
    /// Events API and interactivity) or shows the delivery failed, to be redelivered (GitHub).
    /// Slack never redelivers a slash command, so its failures get an ephemeral message instead.
    pub fail_with_5xx: bool,
}

/// What to do with one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The answer when everything below succeeds (and for duplicates).
    pub reply: Reply,
    /// What to record and publish; `None` for requests that only get an answer.
    pub accepted: Option<Accepted>,
    /// A short label for logs: `accepted`, `usage`, `url_verification`, `ignored`, ...
    pub outcome: &'static str,
}

impl Decision {
    fn answer(reply: Reply, outcome: &'static str) -> Self {
        Self { reply, accepted: None, outcome }
    }

    fn rejected(rejection: Rejection) -> Self {
        Self::answer(Reply::error(rejection.status, rejection.reason), "rejected")
    }
}

/// The fallback envelope id when a payload carries no `trigger_id`.
#[derive(Debug, Clone, Copy)]
pub enum Fallback<'a> {
    /// Hash of the raw HTTP body.
    Body(&'a [u8]),
    /// The Socket Mode `envelope_id`.
    Envelope(&'a str),
}

impl Fallback<'_> {
    fn id(&self) -> String {
        match self {
            Fallback::Body(body) => {
                let digest = Sha256::digest(body);
                format!("h{}", &hex::encode(digest)[..32])
            }
            Fallback::Envelope(id) => (*id).to_owned(),
        }
    }
}

/// Verify, parse and decide one HTTP request at `now`, its events' ids drawn from `ids`.
#[derive(Debug, Clone)]
pub struct Core {
    verifier: Verifier,
    ids: Ids,
}

impl Core {
    pub fn new(verifier: Verifier, ids: Ids) -> Self {
        Self { verifier, ids }
    }

    /// Where the core draws fresh ids (also for GitHub deliveries, decided beside it).
    pub fn ids(&self) -> &Ids {
        &self.ids
    }

    /// The same core, verifying with `verifier` (a rotated signing secret).
    pub fn with_verifier(&self, verifier: Verifier) -> Self {
        Self { verifier, ids: self.ids.clone() }
    }

    /// Size limit → 413, method → 405, signature → 401, then parse (4xx on bad input) and
    /// [`decide`]. Nothing here can panic on any input.
    pub fn handle(&self, request: &RawRequest<'_>, now: DateTime<Utc>) -> Decision {
        if request.body.len() > MAX_BODY_BYTES {
            return Decision::rejected(Rejection::too_large(request.body.len()));
        }
        if !request.method.eq_ignore_ascii_case("POST") {
            return Decision::rejected(Rejection::method_not_allowed(request.method));
        }
        if let Err(err) = self.verify(request, now.timestamp()) {
            return Decision::answer(Reply::error(401, format!("request signature verification failed: {err}")), "forged");
        }
        match parse::parse_http_body(request.headers.content_type, request.body) {
            Ok(parsed) => self.decide(parsed, Fallback::Body(request.body), now),
            Err(rejection) => Decision::rejected(rejection),
        }
    }

    /// [`decide`] with this core's ids (for a request verified otherwise: Socket Mode).
    pub fn decide(&self, request: SlackRequest, fallback: Fallback<'_>, now: DateTime<Utc>) -> Decision {
        decide(request, fallback, now, &self.ids)
    }

    /// Check the signature at `now` (Unix seconds).
    pub fn verify(&self, request: &RawRequest<'_>, now: i64) -> Result<i64, VerifyError> {
        self.verifier.verify(request.headers.timestamp, request.headers.signature, request.body, now)
    }
}

/// Decide on a verified, parsed request at `now`, its events' ids drawn from `ids`.
pub fn decide(request: SlackRequest, fallback: Fallback<'_>, now: DateTime<Utc>, ids: &Ids) -> Decision {
    match request {
        SlackRequest::SslCheck => Decision::answer(Reply::empty(), "ssl_check"),
        SlackRequest::UrlVerification { challenge } => {
            Decision::answer(Reply::json(200, json!({ "challenge": challenge })), "url_verification")
        }
        SlackRequest::RateLimited { .. } => Decision::answer(Reply::empty(), "app_rate_limited"),
        SlackRequest::Command(command) => decide_command(command, now, ids),
        SlackRequest::Interaction(interaction) => decide_interaction(interaction, fallback, now, ids),
        SlackRequest::Event(event) => decide_event(event, now, ids),
    }
}

fn decide_command(request: CommandRequest, now: DateTime<Utc>, ids: &Ids) -> Decision {
    let Some(command) = command::slash_command(&request.command) else {
        let shown = parse::shorten(&request.command, 40).replace('`', "'");
        return Decision::answer(
            Reply::ephemeral(format!("Pulse does not handle `{shown}`; its commands are `/praktika` and `/pulser`.")),
            "unknown_command",
        );
    };
    let action = match command::parse(command, &request.text) {
        Ok(action) => action,
        Err(Usage { message }) => return Decision::answer(Reply::ephemeral(message), "usage"),
    };
    let key = LedgerKey { team_id: request.team_id.clone(), envelope_id: request.trigger_id.clone() };
    let modal = match &action {
        CommandAction::Deploy { service } => {
            Some(OpenModal { trigger_id: request.trigger_id.clone(), view: modal::deploy_modal(service, &request.channel_id) })
        }
        _ => None,
    };
    let reply = Reply::ephemeral(command::acknowledgement(&action));
    let detail = SlackCommand {
        team_id: request.team_id,
        user_id: request.user_id,
        user_name: request.user_name,
        channel_id: request.channel_id,
        command,
        text: request.text,
        action,
        response_url: request.response_url,
        trigger_id: request.trigger_id,
    };
    const TYPE: &str = "slack.command";
    // v2 only for the actions v1 lacks (see `SlackCommand::into_event`).
    let event = detail.into_event().into_envelope(SOURCE, key.dedup_key(TYPE), ids.uuid(), now);
    Decision {
        reply,
        accepted: Some(Accepted { key, event_type: TYPE, events: vec![event], modal, fail_with_5xx: false }),
        outcome: "accepted",
    }
}

fn decide_interaction(interaction: Interaction, fallback: Fallback<'_>, now: DateTime<Utc>, ids: &Ids) -> Decision {
    const TYPE: &str = "slack.interaction";
    let (key, details) = match interaction {
        Interaction::ViewClosed { .. } => return Decision::answer(Reply::empty(), "view_closed"),
        Interaction::BlockActions(b) => {
            let envelope_id = b.trigger_id.clone().unwrap_or_else(|| fallback.id());
            let key = LedgerKey { team_id: b.team_id.clone(), envelope_id };
            let details: Vec<SlackInteraction> = b
                .actions
                .into_iter()
                .map(|action| SlackInteraction {
                    team_id: b.team_id.clone(),
                    user_id: b.user_id.clone(),
                    user_name: b.user_name.clone(),
                    kind: InteractionKind::BlockActions {
                        action_id: action.action_id,
                        value: action.value,
                        block_id: action.block_id,
                        container: b.container.clone(),
                    },
                    response_url: b.response_url.clone(),
                    trigger_id: b.trigger_id.clone(),
                })
                .collect();
            (key, details)
        }
        Interaction::ViewSubmission(v) => {
            let envelope_id = v.trigger_id.clone().unwrap_or_else(|| fallback.id());
            let key = LedgerKey { team_id: v.team_id.clone(), envelope_id };
            let detail = SlackInteraction {
                team_id: v.team_id,
                user_id: v.user_id,
                user_name: v.user_name,
                kind: InteractionKind::ViewSubmission {
                    callback_id: v.callback_id,
                    view_id: v.view_id,
                    private_metadata: v.private_metadata,
                    values: v.values,
                },
                response_url: None,
                trigger_id: v.trigger_id,
            };
            (key, vec![detail])
        }
    };
    // Buttons send one action; should Slack ever batch several, each gets its own event and
    // the second and later ones a suffixed dedup key.
    let base = key.dedup_key(TYPE);
    let events = details
        .into_iter()
        .enumerate()
        .map(|(i, detail)| {
            let dedup = if i == 0 { base.clone() } else { format!("{base}:{i}") };
            Event::SlackInteractionV1(detail).into_envelope(SOURCE, dedup, ids.uuid(), now)
        })
        .collect();
    Decision {
        reply: Reply::empty(),
        accepted: Some(Accepted { key, event_type: TYPE, events, modal: None, fail_with_5xx: true }),
        outcome: "accepted",
    }
}

fn decide_event(callback: EventCallback, now: DateTime<Utc>, ids: &Ids) -> Decision {
    const TYPE: &str = "slack.home_opened";
    let (user_id, tab, event_ts) = match callback.event {
        InnerEvent::AppHomeOpened { user_id, tab, event_ts } => (user_id, tab, event_ts),
        InnerEvent::Ignored { .. } => return Decision::answer(Reply::empty(), "ignored"),
    };
    let key = LedgerKey { team_id: callback.team_id.clone(), envelope_id: callback.event_id };
    let detail = SlackHomeOpened { team_id: callback.team_id, user_id, tab, event_ts };
    let event = Event::SlackHomeOpenedV1(detail).into_envelope(SOURCE, key.dedup_key(TYPE), ids.uuid(), now);
    Decision {
        reply: Reply::empty(),
        accepted: Some(Accepted { key, event_type: TYPE, events: vec![event], modal: None, fail_with_5xx: true }),
        outcome: "accepted",
    }
}

#[cfg(test)]
mod tests;
