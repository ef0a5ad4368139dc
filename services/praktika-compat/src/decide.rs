//! praktika's worker invocations as Pulse events: a pure function, payload in, events out.
//!
//! praktika (its runner, and its Slack app) invokes the Lambda `praktika_slack_worker`
//! asynchronously with a JSON payload whose `action` says what happened. Pulse deploys this crate
//! under that name and turns each action into the Pulse events that would have resulted had it
//! happened in Pulse:
//!
//! | `action` | fields read | Pulse event |
//! |---|---|---|
//! | `update` | `emails` (non-empty list of emails) | one `feed.written` v1 per distinct email: the feed at `FeedLocation::key(email)` was written by praktika's runner (`learned_from: worker_update`) |
//! | `subscribe` | `user_id`, `username`, `github_login` (an email; absent or empty = the Slack profile's), `response_url` | `slack.command` v1 `/praktika subscribe [email]`, as ingress publishes it |
//! | `unsubscribe` | `user_id`, `username`, `response_url` | `slack.command` v1 `/praktika unsubscribe` |
//! | `toggle_pref` | `user_id`, `username`, `pref_key`, `value` (optional), `response_url` (optional) | `slack.interaction` v1 `block_actions` with the Home tab's `action_id` `toggle_<pref_key>` |
//!
//! Rules:
//! - `team_id` is the configured workspace (`PULSE_SLACK_TEAM_ID`): praktika's payloads carry
//!   none. `channel_id` and `trigger_id` (and the clicked view's id) are empty strings: praktika's
//!   app does not pass them on. `user_name` is `username` (empty when absent).
//! - `toggle_pref`'s `value` is passed as the button's value: praktika sends `toggle`, which the
//!   home-renderer reads as "flip"; `on` / `off` set. `pref_key` must be one of praktika's six.
//! - Dedup keys are built from the invocation's request id and the event's position in the
//!   payload (`update`'s email index, else 0). AWS retries a failed asynchronous invocation up to
//!   twice with the same request id, so a retry publishes the same keys and consumers act once.
//!   - `feed.written:worker:{request_id}:{index}`
//!   - `slack.command:{team_id}:praktika-worker:{request_id}:0` (ingress's
//!     `{type}:{team_id}:{envelope_id}` form, the envelope id being `praktika-worker:{request_id}:0`)
//!   - `slack.interaction:{team_id}:praktika-worker:{request_id}:0`
//! - Anything else is a [`Refusal`] naming the action and field: not a JSON object, no or an
//!   unknown `action`, a required field missing, empty or not a string, an email that is not one,
//!   an unknown `pref_key`, `update` without emails (praktika's legacy single `username` form is
//!   not accepted). The Lambda then returns an error, so AWS retries and finally hands the payload
//!   to the function's on-failure destination: nothing is dropped silently.

use chrono::{DateTime, Utc};
use pulse_contracts::feed_layout::FeedLocation;
use pulse_contracts::{
    CommandAction, Container, Email, Envelope, Event, FeedWritten, InteractionKind, InvalidEmail, LearnedFrom, SlackCommand,
    SlackInteraction, SlashCommand,
};
use pulse_core::Ids;
use serde_json::{Map, Value};

/// The envelope `source` of every event this crate publishes.
pub const SOURCE: &str = "pulse.praktika-compat";

/// praktika's preference keys; the home-renderer's toggle for each is `toggle_<key>`.
pub const PREF_KEYS: [&str; 6] =
    ["hide_merged_prs", "hide_merges", "hide_secondary_prs", "show_last_7d", "notify_on_complete", "notify_on_failure"];

/// What [`decide`] needs besides the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where feeds live (`EVENT_FEED_S3_PATH`, as the feed-projector reads it).
    pub location: FeedLocation,
    /// The Slack workspace praktika's app serves (`PULSE_SLACK_TEAM_ID`).
    pub team_id: String,
}

/// Why a payload cannot be turned into events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the payload is not JSON: {0}")]
    NotJson(String),
    #[error("the payload must be a JSON object, found {0}")]
    NotAnObject(&'static str),
    #[error("the payload has no `action` (praktika sends update, subscribe, unsubscribe or toggle_pref)")]
    MissingAction,
    #[error("unknown action {0:?} (praktika sends update, subscribe, unsubscribe or toggle_pref)")]
    UnknownAction(String),
    #[error("`{action}` needs a non-empty string `{field}`")]
    MissingField { action: &'static str, field: &'static str },
    #[error("`{action}`: `{field}` must be {expected}, found {found}")]
    WrongType { action: &'static str, field: &'static str, expected: &'static str, found: &'static str },
    #[error("`{action}`: `{field}`: {source}")]
    InvalidEmail {
        action: &'static str,
        field: String,
        #[source]
        source: InvalidEmail,
    },
    #[error("`toggle_pref`: unknown `pref_key` {0:?} (praktika's are {keys})", keys = PREF_KEYS.join(", "))]
    UnknownPref(String),
    #[error("`update` needs a non-empty `emails` list")]
    NoEmails,
    #[error("the invocation has no request id, so its events could not be deduplicated across AWS's retries")]
    NoRequestId,
}

/// [`decide`] on the payload's text.
pub fn decide_json(
    payload: &str,
    request_id: &str,
    config: &Config,
    now: DateTime<Utc>,
    ids: &Ids,
) -> Result<Vec<Envelope<Event>>, Refusal> {
    let value: Value = serde_json::from_str(payload).map_err(|err| Refusal::NotJson(err.to_string()))?;
    decide(&value, request_id, config, now, ids)
}

/// The Pulse events one worker invocation (`payload`, Lambda request id `request_id`) stands for,
/// dated `now`, their ids drawn from `ids`.
pub fn decide(payload: &Value, request_id: &str, config: &Config, now: DateTime<Utc>, ids: &Ids) -> Result<Vec<Envelope<Event>>, Refusal> {
    let fields = payload.as_object().ok_or(Refusal::NotAnObject(kind(payload)))?;
    if request_id.trim().is_empty() {
        return Err(Refusal::NoRequestId);
    }
    let action = match fields.get("action") {
        None | Some(Value::Null) => return Err(Refusal::MissingAction),
        Some(Value::String(a)) if a.is_empty() => return Err(Refusal::MissingAction),
        Some(Value::String(a)) => a.as_str(),
        Some(other) => return Err(Refusal::WrongType { action: "payload", field: "action", expected: "a string", found: kind(other) }),
    };
    let p = Payload { fields, request_id, config, now, ids };
    match action {
        "update" => p.update(),
        "subscribe" => p.command("subscribe"),
        "unsubscribe" => p.command("unsubscribe"),
        "toggle_pref" => p.toggle(),
        other => Err(Refusal::UnknownAction(other.to_owned())),
    }
}

struct Payload<'a> {
    fields: &'a Map<String, Value>,
    request_id: &'a str,
    config: &'a Config,
    now: DateTime<Utc>,
    ids: &'a Ids,
}

impl Payload<'_> {
    /// A new envelope for `event`, dated and identified as this invocation's events are.
    fn envelope(&self, event: Event, dedup_key: String) -> Envelope<Event> {
        event.into_envelope(SOURCE, dedup_key, self.ids.uuid(), self.now)
    }

    /// A string field; `None` when absent, null or empty.
    fn optional(&self, action: &'static str, field: &'static str) -> Result<Option<&str>, Refusal> {
        match self.fields.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(Refusal::WrongType { action, field, expected: "a string", found: kind(other) }),
        }
    }

    fn required(&self, action: &'static str, field: &'static str) -> Result<&str, Refusal> {
        self.optional(action, field)?.ok_or(Refusal::MissingField { action, field })
    }

    /// The Slack envelope id standing for this invocation (ingress uses Slack's trigger id).
    fn envelope_id(&self) -> String {
        format!("praktika-worker:{}:0", self.request_id)
    }

    fn update(&self) -> Result<Vec<Envelope<Event>>, Refusal> {
        let list = match self.fields.get("emails") {
            None | Some(Value::Null) => return Err(Refusal::NoEmails),
            Some(Value::Array(list)) => list,
            Some(other) => {
                return Err(Refusal::WrongType { action: "update", field: "emails", expected: "a list of emails", found: kind(other) });
            }
        };
        let mut seen: Vec<Email> = Vec::with_capacity(list.len());
        let mut events = Vec::with_capacity(list.len());
        for (index, item) in list.iter().enumerate() {
            let text = match item {
                Value::String(s) if s.is_empty() => continue,
                Value::String(s) => s,
                other => {
                    return Err(Refusal::WrongType {
                        action: "update",
                        field: "emails",
                        expected: "a list of strings",
                        found: kind(other),
                    });
                }
            };
            let email = Email::parse(text.as_str()).map_err(|source| Refusal::InvalidEmail {
                action: "update",
                field: format!("emails[{index}]"),
                source,
            })?;
            if seen.contains(&email) {
                continue;
            }
            seen.push(email.clone());
            let written = FeedWritten {
                bucket: self.config.location.bucket.clone(),
                key: self.config.location.key(email.as_str()),
                email: Some(email),
                learned_from: LearnedFrom::WorkerUpdate,
                etag: None,
                sequencer: None,
            };
            events.push(self.envelope(Event::FeedWrittenV1(written), format!("feed.written:worker:{}:{index}", self.request_id)));
        }
        if events.is_empty() {
            return Err(Refusal::NoEmails);
        }
        Ok(events)
    }

    fn command(&self, action: &'static str) -> Result<Vec<Envelope<Event>>, Refusal> {
        let user_id = self.required(action, "user_id")?;
        let user_name = self.optional(action, "username")?.unwrap_or_default();
        let response_url = self.required(action, "response_url")?;
        let (command_action, text) = if action == "subscribe" {
            let email = self
                .optional(action, "github_login")?
                .map(|e| Email::parse(e).map_err(|source| Refusal::InvalidEmail { action, field: "github_login".into(), source }))
                .transpose()?;
            let text = email.as_ref().map_or_else(|| "subscribe".to_owned(), |e| format!("subscribe {e}"));
            (CommandAction::Subscribe { email }, text)
        } else {
            (CommandAction::Unsubscribe, "unsubscribe".to_owned())
        };
        let detail = SlackCommand {
            team_id: self.config.team_id.clone(),
            user_id: user_id.to_owned(),
            user_name: user_name.to_owned(),
            channel_id: String::new(),
            command: SlashCommand::Praktika,
            text,
            action: command_action,
            response_url: response_url.to_owned(),
            trigger_id: String::new(),
        };
        let dedup_key = format!("slack.command:{}:{}", self.config.team_id, self.envelope_id());
        Ok(vec![self.envelope(Event::SlackCommandV1(detail), dedup_key)])
    }

    fn toggle(&self) -> Result<Vec<Envelope<Event>>, Refusal> {
        const ACTION: &str = "toggle_pref";
        let user_id = self.required(ACTION, "user_id")?;
        let user_name = self.optional(ACTION, "username")?.unwrap_or_default();
        let pref_key = self.required(ACTION, "pref_key")?;
        if !PREF_KEYS.contains(&pref_key) {
            return Err(Refusal::UnknownPref(pref_key.to_owned()));
        }
        let detail = SlackInteraction {
            team_id: self.config.team_id.clone(),
            user_id: user_id.to_owned(),
            user_name: user_name.to_owned(),
            kind: InteractionKind::BlockActions {
                action_id: format!("toggle_{pref_key}"),
                value: self.optional(ACTION, "value")?.map(str::to_owned),
                block_id: None,
                container: Container::View { view_id: String::new() },
            },
            response_url: self.optional(ACTION, "response_url")?.map(str::to_owned),
            trigger_id: None,
        };
        let dedup_key = format!("slack.interaction:{}:{}", self.config.team_id, self.envelope_id());
        Ok(vec![self.envelope(Event::SlackInteractionV1(detail), dedup_key)])
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
