//! The page: what the fake received, shown as Slack would show it, and a stand-in for Slack's
//! side so a person can use Pulse from it (`standin.rs`).
//!
//! - `GET /` the page, `GET /gallery` every block Pulse sends rendered from `ui/gallery.json`,
//!   `GET /ui/{file}` their assets: plain HTML, CSS and JavaScript built into the binary, so the
//!   page works offline and needs no build step.
//! - `GET /_fake/ui/state`: everything the page draws, as one JSON snapshot.
//! - `GET /_fake/ui/events`: server-sent events. `hello` names this process (`instance`) and
//!   `change` follows every recorded call or act, so the page refetches the snapshot. When the
//!   fake restarts the stream breaks; the browser reconnects by itself and the page, seeing a
//!   new `instance`, draws the new process's (empty) state.
//! - `POST /_fake/ui/act`: something a person did (an [`Act`] as JSON). Only JSON from the
//!   page's own origin is taken, so another site open in the same browser cannot make the
//!   stand-in sign requests.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::Stream;
use serde_json::{Value, json};

use super::Shared;
use super::standin::{self, Act};

/// The page's files: name, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    ("index.html", "text/html; charset=utf-8", include_str!("../ui/index.html")),
    ("gallery.html", "text/html; charset=utf-8", include_str!("../ui/gallery.html")),
    ("app.css", "text/css; charset=utf-8", include_str!("../ui/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../ui/app.js")),
    ("blockkit.js", "text/javascript; charset=utf-8", include_str!("../ui/blockkit.js")),
    ("mrkdwn.js", "text/javascript; charset=utf-8", include_str!("../ui/mrkdwn.js")),
    ("emoji.js", "text/javascript; charset=utf-8", include_str!("../ui/emoji.js")),
    ("limits.js", "text/javascript; charset=utf-8", include_str!("../ui/limits.js")),
    ("gallery.js", "text/javascript; charset=utf-8", include_str!("../ui/gallery.js")),
    ("gallery.json", "application/json", include_str!("../ui/gallery.json")),
];

/// Scripts and styles from this origin only: CI data shown on the page can never run.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(|| async { asset("index.html") }))
        .route("/gallery", get(|| async { asset("gallery.html") }))
        .route("/ui/{file}", get(|Path(file): Path<String>| async move { asset(&file) }))
        .route("/_fake/ui/state", get(snapshot))
        .route("/_fake/ui/events", get(events))
        .route("/_fake/ui/act", post(act))
}

fn asset(name: &str) -> Response {
    let Some((_, content_type, body)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /_fake/ui/state`: users, messages (threads included), ephemerals, Home views, open
/// modals, calls Slack refused, and whether the stand-in signs.
async fn snapshot(AxumState(shared): AxumState<Arc<Shared>>) -> Json<Value> {
    let stand_in = match &*shared.stand_in() {
        super::StandInSetting::On(_) => json!({"enabled": true}),
        super::StandInSetting::Off => {
            json!({"enabled": false, "reason": "no local signing secret and ingress URL were given (--signing-secret, --ingress-url)"})
        }
        super::StandInSetting::Refused(reason) => json!({"enabled": false, "reason": reason}),
    };
    let seq = *shared.recorded.borrow();
    let state = shared.lock();
    let users: Vec<Value> =
        state.users.values().map(|u| json!({"id": u.id, "name": u.name, "real_name": u.real_name, "email": u.email})).collect();
    let modals: Vec<Value> = state
        .modals
        .iter()
        .filter_map(|view| {
            let user = state.modal_users.get(view["id"].as_str()?)?;
            Some(json!({"user": user, "view": view}))
        })
        .collect();
    let refused: Vec<Value> = state
        .calls
        .iter()
        .filter(|c| c.error.is_some() && (c.method.starts_with("chat.") || c.method.starts_with("views.")))
        .map(|c| json!({"method": c.method, "error": c.error, "channel": c.channel, "user": c.user, "body": c.body}))
        .collect();
    Json(json!({
        "instance": shared.instance,
        "seq": seq,
        "team": {"id": "T0FAKE", "name": "Pulse Fake"},
        "bot": {"id": "U0FAKEBOT", "name": "Pulse"},
        "stand_in": stand_in,
        "users": users,
        "messages": state.messages(None),
        "ephemerals": state.ephemerals(),
        "homes": state.homes(),
        "modals": modals,
        "refused": refused,
    }))
}

/// `GET /_fake/ui/events`: `hello` with the instance, then `change` after every change.
async fn events(AxumState(shared): AxumState<Arc<Shared>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let hello = json!({"instance": shared.instance}).to_string();
    let changes = shared.recorded.subscribe();
    let stream = futures::stream::unfold((changes, Some(hello)), |(mut changes, hello)| async move {
        if let Some(hello) = hello {
            changes.borrow_and_update();
            return Some((Ok(Event::default().event("hello").data(hello)), (changes, None)));
        }
        changes.changed().await.ok()?;
        let seq = *changes.borrow_and_update();
        Some((Ok(Event::default().event("change").data(seq.to_string())), (changes, None)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// `POST /_fake/ui/act`: does what the person did, as Slack would, and says how it went.
async fn act(AxumState(shared): AxumState<Arc<Shared>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let refuse = |status: StatusCode, error: &str| (status, Json(json!({"ok": false, "error": error}))).into_response();
    let json_body = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if !json_body || origin.is_some_and(|o| o != shared.root) {
        return refuse(StatusCode::FORBIDDEN, "only the page itself may act (JSON from its own origin)");
    }
    let act: Act = match serde_json::from_slice(&body) {
        Ok(act) => act,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, &format!("not an act: {error}")),
    };
    let stand_in = match &*shared.stand_in() {
        super::StandInSetting::On(stand_in) => Arc::clone(stand_in),
        super::StandInSetting::Off => return refuse(StatusCode::FORBIDDEN, "the stand-in is off: no local signing secret and ingress URL"),
        super::StandInSetting::Refused(reason) => return refuse(StatusCode::FORBIDDEN, reason),
    };
    let prepared = {
        let mut state = shared.lock();
        let id = shared.next_response_id();
        let prepared = match standin::prepare(&state, &act, &shared.root, &id) {
            Ok(prepared) => prepared,
            Err(error) => return refuse(StatusCode::CONFLICT, &error.to_string()),
        };
        if let Some((id, target)) = &prepared.response {
            state.response_targets.insert(id.clone(), target.clone());
        }
        if let Some(trigger) = &prepared.trigger {
            state.triggers.insert(trigger.clone(), act.user().to_owned());
        }
        prepared
    };
    let answer = match &prepared.request {
        Some(request) => stand_in.send(request).await,
        None => Ok((200, String::new())),
    };
    tracing::info!(act = act.name(), user = act.user(), answer = ?answer.as_ref().map(|(status, _)| status), "page act");
    let outcome = standin::settle(&mut shared.lock(), &act, &prepared, answer);
    shared.changed();
    Json(outcome).into_response()
}

#[cfg(test)]
mod tests {
    use pulse_slack::blocks::{Block, Element, Style};
    use serde_json::Value;

    /// The gallery's name for each kind Pulse can send. The matches are exhaustive on purpose:
    /// a block or element added to `pulse_slack::blocks` fails to compile here until the
    /// gallery (and so the page's renderer and its browser test) covers it.
    fn block_type(block: &Block) -> &'static str {
        match block {
            Block::Header(_) => "header",
            Block::Section(_) => "section",
            Block::Context(_) => "context",
            Block::Actions(_) => "actions",
            Block::Divider(_) => "divider",
            Block::Input(_) => "input",
        }
    }

    fn element_type(element: &Element) -> &'static str {
        match element {
            Element::Button(_) => "button",
            Element::MultiStaticSelect(_) => "multi_static_select",
        }
    }

    fn style_name(style: Style) -> &'static str {
        match style {
            Style::Primary => "primary",
            Style::Danger => "danger",
        }
    }

    fn types_in(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    if key == "type" || key == "style" {
                        found.extend(v.as_str().map(str::to_owned));
                    }
                    types_in(v, found);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| types_in(v, found)),
            _ => {}
        }
    }

    #[test]
    fn the_gallery_covers_every_block_element_and_style_pulse_sends() {
        let gallery: Value = serde_json::from_str(include_str!("../ui/gallery.json")).expect("the gallery is JSON");
        let mut found = Vec::new();
        types_in(&gallery, &mut found);
        let blocks = [Block::header("h"), Block::section("s"), Block::divider()];
        let mut wanted: Vec<&str> = blocks.iter().map(block_type).collect();
        wanted.extend(["context", "actions", "input", "mrkdwn", "plain_text", "home", "modal"]);
        let button = Element::Button(pulse_slack::blocks::Button::new("a", "b"));
        wanted.extend([element_type(&button), "multi_static_select"]);
        wanted.extend([Style::Primary, Style::Danger].map(style_name));
        for kind in wanted {
            assert!(found.iter().any(|f| f == kind), "the gallery has no {kind:?}");
        }
    }
}
