//! Raw Slack bodies → typed requests ("parse, don't validate").
//!
//! Slack sends three kinds of request, told apart by their content, never by the URL path:
//! - slash commands: a form body (`application/x-www-form-urlencoded`) with `command`, `text`, ...;
//! - interactivity: a form body with one field, `payload`, holding JSON (`block_actions`,
//!   `view_submission`, `view_closed`);
//! - the Events API: a JSON body (`url_verification`, `event_callback`, `app_rate_limited`).
//!
//! Over Socket Mode the same payloads arrive already as JSON inside an envelope whose `type` says
//! which kind it is ([`parse_socket`]). Anything malformed, incomplete or of a type Pulse does not
//! handle is a [`Rejection`] (a 4xx with a reason that names the field, never a value that could
//! be a secret).

use std::borrow::Cow;

use pulse_contracts::{Container, HomeTab};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The largest body ingress reads: 64 KiB. Slash commands are about 1 KB; the largest
/// interactivity payloads (a `view_submission` carrying its whole view) stay well under 32 KB
/// for the views Pulse opens. Anything larger is refused with 413 before the signature is
/// checked, so an attacker cannot make ingress hash megabytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request ingress refuses, with the HTTP status and a reason for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: String,
}

impl Rejection {
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self { status: 400, reason: reason.into() }
    }

    pub fn too_large(size: usize) -> Self {
        Self { status: 413, reason: format!("the body is {size} bytes, over the {MAX_BODY_BYTES}-byte limit") }
    }

    pub fn method_not_allowed(method: &str) -> Self {
        Self { status: 405, reason: format!("method {} is not allowed; Slack POSTs", shorten(method, 16)) }
    }

    fn unsupported_media_type(content_type: &str) -> Self {
        Self {
            status: 415,
            reason: format!(
                "content type `{}` is not one Slack sends (application/x-www-form-urlencoded or application/json)",
                shorten(content_type, 80)
            ),
        }
    }
}

/// At most `max` characters of `text`, for echoing input in reasons.
pub(crate) fn shorten(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
    }
}

/// A verified Slack request, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum SlackRequest {
    /// Slack checking the TLS certificate of a command URL (`ssl_check=1`): answer 200.
    SslCheck,
    /// The Events API handshake: echo the challenge.
    UrlVerification {
        challenge: String,
    },
    /// A slash command, as Slack sent it (the text is understood later, see `command.rs`).
    Command(CommandRequest),
    Interaction(Interaction),
    /// An Events API `event_callback`.
    Event(EventCallback),
    /// Slack stopped delivering events for a minute because we were slow (`app_rate_limited`).
    RateLimited {
        team_id: Option<String>,
    },
}

/// The fields of a slash command Pulse uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRequest {
    pub team_id: String,
    pub user_id: String,
    pub user_name: String,
    pub channel_id: String,
    pub command: String,
    pub text: String,
    pub response_url: String,
    pub trigger_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Interaction {
    BlockActions(BlockActions),
    ViewSubmission(ViewSubmission),
    /// A modal was closed ("Cancel"). Nothing to do.
    ViewClosed {
        team_id: String,
        user_id: String,
        view_id: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct BlockActions {
    pub team_id: String,
    pub user_id: String,
    pub user_name: String,
    pub trigger_id: Option<String>,
    pub response_url: Option<String>,
    pub container: Container,
    /// At least one.
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub action_id: String,
    pub block_id: Option<String>,
    /// A button's `value`, or a select's chosen option value.
    pub value: Option<String>,
    pub action_ts: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ViewSubmission {
    pub team_id: String,
    pub user_id: String,
    pub user_name: String,
    pub trigger_id: Option<String>,
    pub view_id: String,
    pub callback_id: String,
    pub private_metadata: String,
    pub values: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCallback {
    pub team_id: String,
    pub event_id: String,
    pub event: InnerEvent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InnerEvent {
    AppHomeOpened {
        user_id: String,
        tab: HomeTab,
        event_ts: String,
    },
    /// An event type (or `app_home_opened` tab) Pulse does not act on; acknowledged and dropped
    /// so that Slack does not count it as a failure.
    Ignored {
        event_type: String,
    },
}

/// Parse an HTTP body by its content (see the module doc). `content_type` is the request's
/// `Content-Type`, if any; without one the body is sniffed (`{` → JSON, else form).
pub fn parse_http_body(content_type: Option<&str>, body: &[u8]) -> Result<SlackRequest, Rejection> {
    let media_type = content_type.map(|ct| ct.split(';').next().unwrap_or("").trim()).filter(|ct| !ct.is_empty());
    let is_json = match media_type {
        Some(ct) if ct.eq_ignore_ascii_case("application/json") => true,
        Some(ct) if ct.eq_ignore_ascii_case("application/x-www-form-urlencoded") => false,
        Some(ct) => return Err(Rejection::unsupported_media_type(ct)),
        None => body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejection::bad_request("the body is empty"));
    }
    if is_json { parse_events_json(body) } else { parse_form(body) }
}

fn parse_form(body: &[u8]) -> Result<SlackRequest, Rejection> {
    let pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = form_urlencoded::parse(body).collect();
    if let Some(payload) = form_field(&pairs, "payload") {
        return parse_interactive(json_from_str::<InteractiveWire>("the interactivity payload", payload)?);
    }
    if form_field(&pairs, "command").is_some() {
        return command_from(&pairs).map(SlackRequest::Command);
    }
    if form_field(&pairs, "ssl_check") == Some("1") {
        return Ok(SlackRequest::SslCheck);
    }
    Err(Rejection::bad_request("the form body has neither `command` (a slash command) nor `payload` (an interaction)"))
}

fn form_field<'a>(pairs: &'a [(Cow<'_, str>, Cow<'_, str>)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_ref())
}

/// Named string fields: a decoded form or a JSON object (Socket Mode).
trait Fields {
    fn field(&self, name: &str) -> Option<&str>;
}

impl Fields for Vec<(Cow<'_, str>, Cow<'_, str>)> {
    fn field(&self, name: &str) -> Option<&str> {
        form_field(self, name)
    }
}

impl Fields for Map<String, Value> {
    fn field(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }
}

fn command_from(fields: &impl Fields) -> Result<CommandRequest, Rejection> {
    let required = |name: &str| -> Result<String, Rejection> {
        match fields.field(name) {
            Some(v) if !v.trim().is_empty() => Ok(v.to_owned()),
            _ => Err(Rejection::bad_request(format!("the slash command has no `{name}`"))),
        }
    };
    let optional = |name: &str| fields.field(name).unwrap_or_default().to_owned();
    let response_url = required("response_url")?;
    if !(response_url.starts_with("https://") || response_url.starts_with("http://")) {
        return Err(Rejection::bad_request("the slash command's `response_url` is not an http(s) URL"));
    }
    Ok(CommandRequest {
        team_id: required("team_id")?,
        user_id: required("user_id")?,
        user_name: optional("user_name"),
        channel_id: required("channel_id")?,
        command: required("command")?,
        text: optional("text"),
        response_url,
        trigger_id: required("trigger_id")?,
    })
}

// ---- Interactivity -------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum InteractiveWire {
    BlockActions(BlockActionsWire),
    ViewSubmission(ViewPayloadWire),
    ViewClosed(ViewPayloadWire),
}

#[derive(Deserialize)]
struct IdWire {
    id: String,
}

#[derive(Deserialize)]
struct UserWire {
    id: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl UserWire {
    fn display_name(&self) -> String {
        self.username.clone().or_else(|| self.name.clone()).unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct BlockActionsWire {
    team: IdWire,
    user: UserWire,
    #[serde(default)]
    trigger_id: Option<String>,
    #[serde(default)]
    response_url: Option<String>,
    container: ContainerWire,
    #[serde(default)]
    channel: Option<IdWire>,
    #[serde(default)]
    message: Option<MessageWire>,
    actions: Vec<ActionWire>,
}

#[derive(Deserialize)]
struct ContainerWire {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    message_ts: Option<String>,
    #[serde(default)]
    view_id: Option<String>,
}

#[derive(Deserialize)]
struct MessageWire {
    #[serde(default)]
    ts: Option<String>,
}

#[derive(Deserialize)]
struct ActionWire {
    action_id: String,
    #[serde(default)]
    block_id: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    selected_option: Option<SelectedOptionWire>,
    #[serde(default)]
    action_ts: Option<String>,
}

#[derive(Deserialize)]
struct SelectedOptionWire {
    value: String,
}

#[derive(Deserialize)]
struct ViewPayloadWire {
    team: IdWire,
    user: UserWire,
    #[serde(default)]
    trigger_id: Option<String>,
    view: ViewWire,
}

#[derive(Deserialize)]
struct ViewWire {
    id: String,
    #[serde(default)]
    callback_id: String,
    #[serde(default)]
    private_metadata: String,
    #[serde(default)]
    state: Option<StateWire>,
}

#[derive(Deserialize)]
struct StateWire {
    #[serde(default)]
    values: Map<String, Value>,
}

fn non_empty(what: &str, value: String) -> Result<String, Rejection> {
    if value.trim().is_empty() { Err(Rejection::bad_request(format!("{what} is empty"))) } else { Ok(value) }
}

fn parse_interactive(wire: InteractiveWire) -> Result<SlackRequest, Rejection> {
    let interaction = match wire {
        InteractiveWire::BlockActions(b) => {
            let team_id = non_empty("`team.id`", b.team.id)?;
            let user_id = non_empty("`user.id`", b.user.id.clone())?;
            let user_name = b.user.display_name();
            let container = match b.container.kind.as_str() {
                "message" => Container::Message {
                    channel_id: b
                        .container
                        .channel_id
                        .or(b.channel.map(|c| c.id))
                        .ok_or_else(|| Rejection::bad_request("the message container has no `channel_id`"))?,
                    message_ts: b
                        .container
                        .message_ts
                        .or(b.message.and_then(|m| m.ts))
                        .ok_or_else(|| Rejection::bad_request("the message container has no `message_ts`"))?,
                },
                "view" => Container::View {
                    view_id: b.container.view_id.ok_or_else(|| Rejection::bad_request("the view container has no `view_id`"))?,
                },
                other => {
                    return Err(Rejection::bad_request(format!(
                        "block_actions from a `{}` container are not handled (only message and view)",
                        shorten(other, 40)
                    )));
                }
            };
            if b.actions.is_empty() {
                return Err(Rejection::bad_request("block_actions has no actions"));
            }
            let actions = b
                .actions
                .into_iter()
                .map(|a| {
                    Ok(Action {
                        action_id: non_empty("an action's `action_id`", a.action_id)?,
                        block_id: a.block_id,
                        value: a.value.or(a.selected_option.map(|o| o.value)),
                        action_ts: a.action_ts,
                    })
                })
                .collect::<Result<Vec<_>, Rejection>>()?;
            Interaction::BlockActions(BlockActions {
                team_id,
                user_id,
                user_name,
                trigger_id: b.trigger_id.filter(|t| !t.is_empty()),
                response_url: b.response_url.filter(|u| !u.is_empty()),
                container,
                actions,
            })
        }
        InteractiveWire::ViewSubmission(v) => Interaction::ViewSubmission(ViewSubmission {
            team_id: non_empty("`team.id`", v.team.id)?,
            user_name: v.user.display_name(),
            user_id: non_empty("`user.id`", v.user.id)?,
            trigger_id: v.trigger_id.filter(|t| !t.is_empty()),
            view_id: non_empty("`view.id`", v.view.id)?,
            callback_id: v.view.callback_id,
            private_metadata: v.view.private_metadata,
            values: v.view.state.map(|s| s.values).unwrap_or_default(),
        }),
        InteractiveWire::ViewClosed(v) => Interaction::ViewClosed { team_id: v.team.id, user_id: v.user.id, view_id: v.view.id },
    };
    Ok(SlackRequest::Interaction(interaction))
}

// ---- Events API ----------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum EventsWire {
    UrlVerification {
        challenge: String,
    },
    EventCallback {
        team_id: String,
        event_id: String,
        event: InnerWire,
    },
    AppRateLimited {
        #[serde(default)]
        team_id: Option<String>,
    },
}

#[derive(Deserialize)]
struct InnerWire {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    tab: Option<String>,
    #[serde(default)]
    event_ts: Option<String>,
}

fn parse_events_json(body: &[u8]) -> Result<SlackRequest, Rejection> {
    events_from(json_from_slice::<EventsWire>("the Events API body", body)?)
}

fn events_from(wire: EventsWire) -> Result<SlackRequest, Rejection> {
    match wire {
        EventsWire::UrlVerification { challenge } => Ok(SlackRequest::UrlVerification { challenge }),
        EventsWire::AppRateLimited { team_id } => Ok(SlackRequest::RateLimited { team_id }),
        EventsWire::EventCallback { team_id, event_id, event } => {
            let team_id = non_empty("`team_id`", team_id)?;
            let event_id = non_empty("`event_id`", event_id)?;
            let inner = if event.kind == "app_home_opened" {
                let tab = match event.tab.as_deref() {
                    Some("home") => Some(HomeTab::Home),
                    Some("messages") => Some(HomeTab::Messages),
                    _ => None,
                };
                match tab {
                    Some(tab) => InnerEvent::AppHomeOpened {
                        user_id: event
                            .user
                            .filter(|u| !u.is_empty())
                            .ok_or_else(|| Rejection::bad_request("app_home_opened has no `event.user`"))?,
                        tab,
                        event_ts: event
                            .event_ts
                            .filter(|t| !t.is_empty())
                            .ok_or_else(|| Rejection::bad_request("app_home_opened has no `event.event_ts`"))?,
                    },
                    None => InnerEvent::Ignored { event_type: "app_home_opened (other tab)".to_owned() },
                }
            } else {
                InnerEvent::Ignored { event_type: shorten(&event.kind, 60).into_owned() }
            };
            Ok(SlackRequest::Event(EventCallback { team_id, event_id, event: inner }))
        }
    }
}

// ---- Socket Mode ---------------------------------------------------------------------------

/// Parse a Socket Mode envelope's `payload` given the envelope `type`: `slash_commands` (the
/// command's fields as a JSON object), `interactive` or `events_api`.
pub fn parse_socket(kind: &str, payload: Value) -> Result<SlackRequest, Rejection> {
    match kind {
        "slash_commands" => match payload {
            Value::Object(map) => command_from(&map).map(SlackRequest::Command),
            _ => Err(Rejection::bad_request("the slash command payload is not a JSON object")),
        },
        "interactive" => parse_interactive(json_from_value::<InteractiveWire>("the interactivity payload", payload)?),
        "events_api" => events_from(json_from_value::<EventsWire>("the Events API payload", payload)?),
        other => Err(Rejection::bad_request(format!(
            "Socket Mode envelopes of type `{}` are not handled (slash_commands, interactive, events_api)",
            shorten(other, 40)
        ))),
    }
}

// ---- JSON with the failing field's path in the reason ---------------------------------------

fn describe(what: &str, path: &serde_path_to_error::Path, err: &serde_json::Error) -> Rejection {
    let path = path.to_string();
    let message = err.to_string();
    // serde_json appends "at line L column C"; keep it, it locates the problem.
    let reason = if path.is_empty() || path == "." {
        format!("{what} is not valid: {message}")
    } else {
        format!("{what} is not valid at `{path}`: {message}")
    };
    Rejection::bad_request(shorten(&reason, 300).into_owned())
}

fn json_from_slice<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, Rejection> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| describe(what, e.path(), e.inner()))?;
    de.end().map_err(|e| Rejection::bad_request(shorten(&format!("{what} is not valid: {e}"), 300).into_owned()))?;
    Ok(value)
}

fn json_from_str<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, Rejection> {
    json_from_slice(what, text.as_bytes())
}

fn json_from_value<T: DeserializeOwned>(what: &str, value: Value) -> Result<T, Rejection> {
    serde_path_to_error::deserialize(value).map_err(|e| describe(what, e.path(), e.inner()))
}

#[cfg(test)]
mod tests;
