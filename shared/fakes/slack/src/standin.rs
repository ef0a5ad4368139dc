//! The stand-in for Slack's side of a conversation with Pulse. What a person does on the page
//! (`ui/`) arrives as an [`Act`]; it becomes the request Slack would send, signed as Slack signs
//! it, posted to the running ingress; ingress's answer is shown where Slack shows it.
//!
//! Boundaries:
//! - The signing secret stays in this process: the page says what was clicked, never signs.
//! - [`StandIn::new`] refuses to sign for an ingress off this machine, or with a secret that
//!   looks like it came from a real app (Slack's are 32 hex digits) or names an SSM parameter.
//!   The fake never reads SSM: the secret is a local stand-in given on its command line.
//! - [`prepare`] does no I/O (an act and what the fake holds in, the request and where its
//!   answers land out; only the fresh trigger and event ids Slack would mint are random);
//!   [`StandIn::send`] is the transport; [`settle`] applies ingress's answer.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pulse_slack_requests as slack;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ephemeral::{ResponseTarget, Via};
use super::state::State;

/// Slack gives an app 3 seconds to answer, then shows the user `operation_timeout`.
const SLACK_WAIT: Duration = Duration::from_secs(3);

/// Why the stand-in will not sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the ingress URL {0:?} is not an http:// URL on this machine: the stand-in signs only for a local ingress")]
    NotLocal(String),
    #[error(
        "the signing secret looks like a real Slack app's (32 hex digits): give the stand-in a local secret, never one from a deployment"
    )]
    RealSecret,
    #[error("the signing secret names an SSM parameter: the stand-in never reads SSM; give it the local secret itself")]
    FromSsm,
    #[error("the signing secret is empty")]
    Empty,
    #[error("the stand-in's HTTP client could not be built: {0}")]
    Client(String),
}

/// Signs and sends for the page. Holds the secret; never prints it.
pub struct StandIn {
    ingress: String,
    secret: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandIn").field("ingress", &self.ingress).finish_non_exhaustive()
    }
}

impl StandIn {
    /// A stand-in posting to `ingress` (its root, e.g. `http://127.0.0.1:3000`), signing with
    /// `secret`, or why it will not.
    pub fn new(ingress: &str, secret: &str) -> Result<StandIn, Refused> {
        check(ingress, secret)?;
        let http = reqwest::Client::builder().timeout(SLACK_WAIT).build().map_err(|e| Refused::Client(e.to_string()))?;
        Ok(StandIn { ingress: ingress.trim_end_matches('/').to_owned(), secret: secret.to_owned(), http })
    }

    /// Posts `request` signed now; the status and body, or the error Slack would show.
    pub async fn send(&self, request: &Request) -> Result<(u16, String), &'static str> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let signed = slack::Signed::new(&self.secret, now, request.body.as_bytes(), request.content_type);
        let mut post = self.http.post(format!("{}{}", self.ingress, request.path)).body(request.body.clone());
        for (name, value) in signed.pairs() {
            post = post.header(name, value);
        }
        let response = post.send().await.map_err(|e| if e.is_timeout() { "operation_timeout" } else { "dispatch_failed" })?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(|_| "dispatch_failed")?;
        Ok((status, body))
    }
}

/// The rule [`StandIn::new`] applies.
pub fn check(ingress: &str, secret: &str) -> Result<(), Refused> {
    // reqwest's URL parser reads the host (userinfo, ports, IPv6 in brackets).
    let local = reqwest::Url::parse(ingress).is_ok_and(|url| {
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        url.scheme() == "http" && (host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()))
    });
    if !local {
        return Err(Refused::NotLocal(ingress.to_owned()));
    }
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(Refused::Empty);
    }
    if secret.starts_with('/') || secret.starts_with("ssm:") || secret.starts_with("arn:aws:ssm:") {
        return Err(Refused::FromSsm);
    }
    if secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Refused::RealSecret);
    }
    Ok(())
}

/// Something a person did on the page.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Act {
    /// Typed `/command text` in `channel`'s composer.
    Command { user: String, channel: String, text: String },
    /// Clicked a button on a message (`channel` and `ts`) or in a view (`view_id`).
    Click {
        user: String,
        action_id: String,
        block_id: Option<String>,
        value: Option<String>,
        text: Option<String>,
        channel: Option<String>,
        ts: Option<String>,
        view_id: Option<String>,
    },
    /// Pressed a modal's submit button with these `state.values`.
    Submit { user: String, view_id: String, values: Value },
    /// Pressed a modal's close button (or its ×).
    Close { user: String, view_id: String },
    /// Opened the app's Home tab.
    OpenHome { user: String },
}

impl Act {
    /// Who did it.
    pub fn user(&self) -> &str {
        match self {
            Act::Command { user, .. }
            | Act::Click { user, .. }
            | Act::Submit { user, .. }
            | Act::Close { user, .. }
            | Act::OpenHome { user } => user,
        }
    }

    /// Its kind, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Act::Command { .. } => "command",
            Act::Click { .. } => "click",
            Act::Submit { .. } => "submit",
            Act::Close { .. } => "close",
            Act::OpenHome { .. } => "open_home",
        }
    }
}

/// The request Slack would send for an [`Act`], unsigned.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Ingress's route: `/slack/commands`, `/slack/interactivity` or `/slack/events`.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: String,
}

/// What [`prepare`] decided: the request to send (none for a close Slack does not report),
/// and what the fake must remember so the answers land where Slack shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub request: Option<Request>,
    /// A response URL handed out (its id) and where posts to it land.
    pub response: Option<(String, ResponseTarget)>,
    pub trigger: Option<String>,
    /// The modal this act submits or closes.
    pub closes: Option<String>,
}

/// Why an act cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsendable {
    #[error("no message {ts} in {channel}")]
    NoMessage { channel: String, ts: String },
    #[error("no open view {0}")]
    NoView(String),
    #[error("a click needs a channel and ts, or a view_id")]
    NoContainer,
}

/// The request for `act` as Slack would make it, from what the fake holds. `root` is the
/// fake's own root URL (response URLs point at it); `id` names the response URL.
pub fn prepare(state: &State, act: &Act, root: &str, id: &str) -> Result<Prepared, Unsendable> {
    let response_url = format!("{root}/response/{id}");
    let trigger = slack::trigger_id();
    let target = |channel: &str, user: &str, ts: Option<&str>| ResponseTarget {
        channel: super::state::resolve_channel(channel),
        user: user.to_owned(),
        message_ts: ts.map(str::to_owned),
    };
    let interactivity = |payload: &Value| Request {
        path: "/slack/interactivity",
        content_type: "application/x-www-form-urlencoded",
        body: slack::interactivity_form(payload),
    };
    let mut prepared = Prepared { request: None, response: None, trigger: Some(trigger.clone()), closes: None };
    match act {
        Act::Command { user, channel, text } => {
            let mut command = slack::Command::new(text, user);
            command.channel_id = channel.clone();
            command.user_name = state.users.get(user).map_or_else(|| user.to_lowercase(), |u| u.name.clone());
            command.response_url = response_url;
            command.trigger_id = trigger;
            prepared.request =
                Some(Request { path: "/slack/commands", content_type: "application/x-www-form-urlencoded", body: command.form() });
            prepared.response = Some((id.to_owned(), target(channel, user, None)));
        }
        Act::Click { user, action_id, block_id, value, text, channel, ts, view_id } => {
            let value = value.as_deref().unwrap_or_default();
            let mut payload = match (channel, ts, view_id) {
                (Some(channel), Some(ts), _) => {
                    // A button on an ephemeral message works too; Slack says so in the container.
                    let ephemeral = state.ephemerals().iter().find(|e| e["ts"].as_str() == Some(ts.as_str())).cloned();
                    let message = state
                        .message(channel, ts)
                        .or_else(|| ephemeral.clone())
                        .ok_or_else(|| Unsendable::NoMessage { channel: channel.clone(), ts: ts.clone() })?;
                    let channel = super::state::resolve_channel(channel);
                    let mut payload = slack::block_actions_payload(action_id, value, user, &channel, ts);
                    payload["container"]["is_ephemeral"] = ephemeral.is_some().into();
                    payload["message"] = message;
                    payload["channel"]["name"] = channel.clone().into();
                    payload["response_url"] = response_url.into();
                    prepared.response = Some((id.to_owned(), target(&channel, user, Some(ts))));
                    payload
                }
                (_, _, Some(view_id)) => {
                    let view = view_by_id(state, view_id).ok_or_else(|| Unsendable::NoView(view_id.clone()))?;
                    let mut payload = slack::home_toggle_payload(action_id, value, user, view_id);
                    payload["view"] = view;
                    payload
                }
                _ => return Err(Unsendable::NoContainer),
            };
            payload["trigger_id"] = trigger.into();
            payload["user"]["name"] = state.users.get(user).map_or_else(|| user.to_lowercase(), |u| u.name.clone()).into();
            let action = &mut payload["actions"][0];
            action["block_id"] = block_id.clone().unwrap_or_default().into();
            action["text"] = json!({"type": "plain_text", "text": text.clone().unwrap_or_default()});
            prepared.request = Some(interactivity(&payload));
        }
        Act::Submit { user, view_id, values } => {
            let view = open_modal(state, view_id)?;
            let mut view = view.clone();
            view["state"] = json!({ "values": values });
            let payload = json!({
                "type": "view_submission",
                "team": {"id": slack::TEAM_ID, "domain": "pulse-dev"},
                "user": {"id": user, "username": state.users.get(user).map_or(user.as_str(), |u| u.name.as_str()), "team_id": slack::TEAM_ID},
                "api_app_id": "A0ABQ9BGYA3",
                "trigger_id": trigger,
                "view": view,
                "response_urls": [],
            });
            prepared.request = Some(interactivity(&payload));
            prepared.closes = Some(view_id.clone());
        }
        Act::Close { user, view_id } => {
            let view = open_modal(state, view_id)?;
            // Slack reports a close only to a modal that asked (`notify_on_close`).
            if view.get("notify_on_close").and_then(Value::as_bool) == Some(true) {
                let payload = json!({
                    "type": "view_closed",
                    "team": {"id": slack::TEAM_ID},
                    "user": {"id": user},
                    "view": view,
                    "is_cleared": false,
                });
                prepared.request = Some(interactivity(&payload));
            }
            prepared.trigger = None;
            prepared.closes = Some(view_id.clone());
        }
        Act::OpenHome { user } => {
            let payload = slack::home_opened_payload(&slack::event_id(), user);
            prepared.request = Some(Request { path: "/slack/events", content_type: "application/json", body: payload.to_string() });
            prepared.trigger = None;
        }
    }
    Ok(prepared)
}

fn open_modal<'a>(state: &'a State, view_id: &str) -> Result<&'a Value, Unsendable> {
    state
        .modals
        .iter()
        .rev()
        .find(|m| m["id"].as_str() == Some(view_id) && state.modal_users.contains_key(view_id))
        .ok_or_else(|| Unsendable::NoView(view_id.to_owned()))
}

/// An open modal or a published Home view with this id.
fn view_by_id(state: &State, view_id: &str) -> Option<Value> {
    open_modal(state, view_id).ok().cloned().or_else(|| state.home_views().find(|v| v["id"].as_str() == Some(view_id)).cloned())
}

/// What the page is told about an act.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub ok: bool,
    /// Ingress's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The error Slack would show (`operation_timeout`, `dispatch_failed`, `http_status_401`…).
    pub error: Option<String>,
    /// A modal submission refused field by field (`response_action: errors`).
    pub errors: Option<Value>,
}

/// Applies ingress's `answer` to `act` as Slack would, and says what the page shows.
pub fn settle(state: &mut State, act: &Act, prepared: &Prepared, answer: Result<(u16, String), &'static str>) -> Outcome {
    let error = match &answer {
        Err(error) => Some((*error).to_owned()),
        Ok((status, _)) if !(200..300).contains(status) => Some(format!("http_status_{status}")),
        Ok(_) => None,
    };
    let body: Option<Value> = answer
        .as_ref()
        .ok()
        .map(|(_, b)| b.trim())
        .filter(|b| !b.is_empty())
        .map(|b| serde_json::from_str(b).unwrap_or_else(|_| json!({ "text": b })));
    let status = answer.as_ref().ok().map(|(s, _)| *s);
    let mut outcome = Outcome { ok: error.is_none(), status, error: error.clone(), errors: None };
    match act {
        Act::Command { text, .. } => {
            let Some((_, target)) = &prepared.response else { return outcome };
            match (&error, body) {
                (Some(error), _) => {
                    let command = text.split_whitespace().next().unwrap_or("");
                    state.slackbot(target, &format!("{command} failed with the error \"{error}\""));
                }
                (None, Some(body)) => state.answer_to(target, &body, Via::CommandAnswer),
                (None, None) => {}
            }
        }
        Act::Submit { view_id, .. } => {
            let action = body.as_ref().and_then(|b| b.get("response_action")).and_then(Value::as_str);
            match (&error, action) {
                (None, Some("errors")) => outcome.errors = body.and_then(|b| b.get("errors").cloned()),
                (None, _) => {
                    state.modal_users.remove(view_id);
                }
                (Some(_), _) => {}
            }
        }
        Act::Close { view_id, .. } => {
            state.modal_users.remove(view_id);
            outcome.ok = true;
        }
        Act::Click { .. } | Act::OpenHome { .. } => {}
    }
    outcome
}

#[cfg(test)]
mod tests;
