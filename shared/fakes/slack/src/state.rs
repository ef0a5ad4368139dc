//! The fake's memory and the semantics of each Web API method it implements. Pure and
//! synchronous: the HTTP layer (`server.rs`) parses, applies faults and calls in here under a
//! lock.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::{Value, json};

use super::chat::StoredMessage;
use super::ephemeral::ResponseTarget;
use super::fault::Fault;
use super::record::RecordedCall;
use super::validate::{self, Invalid};

/// The Web API methods the fake implements; anything else is `unknown_method`.
pub const METHODS: &[&str] = &[
    "auth.test",
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "views.publish",
    "views.open",
    "conversations.open",
    "conversations.history",
    "conversations.replies",
    "users.info",
    "usergroups.users.list",
];

/// Slack lets a `response_url` be used this many times.
pub const RESPONSE_URL_USES: usize = 5;

const TS_STEP_MICROS: u64 = 100;

#[derive(Debug, Clone)]
pub struct FakeUser {
    pub id: String,
    pub name: String,
    pub real_name: String,
    pub email: Option<String>,
}

#[derive(Debug, Default)]
pub struct State {
    pub calls: Vec<RecordedCall>,
    /// When set, only this token is accepted (`invalid_auth` otherwise).
    pub token: Option<String>,
    pub users: BTreeMap<String, FakeUser>,
    /// User groups (`S…`) and their members, for `usergroups.users.list`.
    pub usergroups: BTreeMap<String, Vec<String>>,
    /// Keyed by `ts`, which the fake keeps unique across channels, so iteration is post order.
    pub(super) messages: BTreeMap<String, StoredMessage>,
    home: BTreeMap<String, Value>,
    pub modals: Vec<Value>,
    pub responses: BTreeMap<String, Vec<Value>>,
    /// What only one user sees (see `ephemeral.rs`): `chat.postEphemeral`, a slash command's
    /// answer, ephemeral `response_url` posts, in arrival order.
    pub(super) ephemerals: Vec<Value>,
    /// Where posts to a response URL the stand-in handed out land (see `ephemeral.rs`).
    pub(super) response_targets: BTreeMap<String, ResponseTarget>,
    /// The user each trigger id the stand-in handed out belongs to, so a modal opened with it
    /// shows to that user.
    pub(super) triggers: BTreeMap<String, String>,
    /// Each opened modal's user (when its trigger came from the stand-in); a modal leaves
    /// this map when it is submitted or closed.
    pub(super) modal_users: BTreeMap<String, Option<String>>,
    /// Discord webhook messages by webhook id (see `discord.rs`).
    pub(super) discord: BTreeMap<String, Vec<Value>>,
    faults: HashMap<String, VecDeque<(Fault, u32)>>,
    /// The last `ts` handed out, in microseconds.
    last_ts_micros: u64,
    id_counter: u64,
}

pub(super) fn ok(mut fields: Value) -> Value {
    fields["ok"] = Value::Bool(true);
    fields
}

pub(super) fn fail(error: &str) -> Value {
    json!({ "ok": false, "error": error })
}

pub(super) fn str_arg<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Slack posts to a user id in the app's DM with that user and answers with the DM's id.
pub fn resolve_channel(channel: &str) -> String {
    if channel.starts_with('U') || channel.starts_with('W') { dm_channel(channel) } else { channel.to_owned() }
}

/// The DM channel id the fake gives `user`: stable for a user, across restarts too, so that a
/// cached DM id stays valid in the local stack.
pub fn dm_channel(user: &str) -> String {
    format!("D{user}")
}

impl State {
    /// Forgets what happened (calls, messages, views, responses, faults) but keeps the
    /// configuration (users, token) and the ts counter, so timestamps stay unique.
    pub fn reset(&mut self) {
        self.calls.clear();
        self.messages.clear();
        self.home.clear();
        self.modals.clear();
        self.responses.clear();
        self.ephemerals.clear();
        self.response_targets.clear();
        self.triggers.clear();
        self.modal_users.clear();
        self.discord.clear();
        self.faults.clear();
    }

    pub fn inject(&mut self, method: &str, fault: Fault, times: u32) {
        if times > 0 {
            self.faults.entry(method.to_owned()).or_default().push_back((fault, times));
        }
    }

    /// The next fault for `method`: its own queue first, then the `*` queue.
    pub fn take_fault(&mut self, method: &str) -> Option<Fault> {
        for key in [method, "*"] {
            let Some(queue) = self.faults.get_mut(key) else {
                continue;
            };
            let Some((fault, remaining)) = queue.front_mut() else {
                continue;
            };
            let fault = fault.clone();
            *remaining -= 1;
            if *remaining == 0 {
                queue.pop_front();
            }
            return Some(fault);
        }
        None
    }

    pub(super) fn next_ts(&mut self) -> String {
        // Wall-clock time, like Slack, so that `oldest`/`latest` bounds computed from the clock
        // work; strictly increasing, so `ts` stays unique across channels.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
        let micros = now.max(self.last_ts_micros + TS_STEP_MICROS);
        self.last_ts_micros = micros;
        format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
    }

    pub(super) fn id_counter_bump(&mut self) {
        self.id_counter += 1;
    }

    /// A Discord-style numeric id, unique within the fake.
    pub(super) fn snowflake(&self) -> String {
        format!("{}", 1_100_000_000_000_000_000u64 + self.id_counter)
    }

    fn next_id(&mut self, prefix: char) -> String {
        self.id_counter += 1;
        format!("{prefix}{:010}", self.id_counter)
    }

    /// Slack's answer to a Web API call: method check, auth, then the method itself.
    pub fn answer(&mut self, method: &str, body: &Value, token: Option<&str>) -> Value {
        if !METHODS.contains(&method) {
            return fail("unknown_method");
        }
        match (token, self.token.as_deref()) {
            (None, _) => return fail("not_authed"),
            (Some(given), Some(valid)) if given != valid => return fail("invalid_auth"),
            _ => {}
        }
        let result = match method {
            "auth.test" => Ok(ok(json!({
                "url": "https://pulse-fake.slack.com/",
                "team": "Pulse Fake",
                "user": "pulse",
                "team_id": "T0FAKE",
                "user_id": "U0FAKEBOT",
                "bot_id": "B0FAKE",
            }))),
            "chat.postMessage" => self.post_message(body),
            "chat.update" => self.update(body),
            "chat.postEphemeral" => self.post_ephemeral(body),
            "views.publish" => self.publish(body),
            "views.open" => self.open_view(body),
            "conversations.open" => conversations_open(body),
            "conversations.history" => self.history(body),
            "conversations.replies" => self.replies(body),
            "users.info" => self.users_info(body),
            "usergroups.users.list" => self.usergroup_users(body),
            _ => Err(fail("unknown_method")),
        };
        result.unwrap_or_else(|answer| answer)
    }

    fn publish(&mut self, body: &Value) -> Result<Value, Value> {
        let user = str_arg(body, "user_id").ok_or_else(|| {
            Invalid { error: "invalid_arguments", messages: vec!["[ERROR] missing required field: user_id".into()] }.answer()
        })?;
        let view = body.get("view").unwrap_or(&Value::Null);
        validate::validate_view(view, "home").map_err(|e| e.answer())?;
        if let Some(hash) = str_arg(body, "hash") {
            let current = self.home.get(user).and_then(|v| v.get("hash")).and_then(Value::as_str);
            if current != Some(hash) {
                return Err(fail("hash_conflict"));
            }
        }
        let id = match self.home.get(user).and_then(|v| v.get("id")) {
            Some(id) => id.clone(),
            None => self.next_id('V').into(),
        };
        let hash = format!("{}.{}", self.next_ts(), self.next_id('h'));
        let stored = self.stored_view(view, id, hash);
        self.home.insert(user.to_owned(), stored.clone());
        Ok(ok(json!({ "view": stored })))
    }

    fn open_view(&mut self, body: &Value) -> Result<Value, Value> {
        if str_arg(body, "trigger_id").is_none() {
            return Err(
                Invalid { error: "invalid_arguments", messages: vec!["[ERROR] missing required field: trigger_id".into()] }.answer()
            );
        }
        let view = body.get("view").unwrap_or(&Value::Null);
        validate::validate_view(view, "modal").map_err(|e| e.answer())?;
        let id = self.next_id('V').into();
        let hash = format!("{}.{}", self.next_ts(), self.next_id('h'));
        let stored = self.stored_view(view, id, hash);
        let user = str_arg(body, "trigger_id").and_then(|t| self.triggers.get(t)).cloned();
        if let Some(id) = stored["id"].as_str() {
            self.modal_users.insert(id.to_owned(), user);
        }
        self.modals.push(stored.clone());
        Ok(ok(json!({ "view": stored })))
    }

    fn stored_view(&self, view: &Value, id: Value, hash: String) -> Value {
        let mut stored = view.clone();
        stored["id"] = id;
        stored["hash"] = hash.into();
        stored["team_id"] = "T0FAKE".into();
        stored
    }

    /// Slack answers `no_such_subteam` for a group it does not know.
    fn usergroup_users(&self, body: &Value) -> Result<Value, Value> {
        let group = str_arg(body, "usergroup").ok_or_else(|| fail("invalid_arguments"))?;
        let users = self.usergroups.get(group).ok_or_else(|| fail("no_such_subteam"))?;
        Ok(ok(json!({ "users": users })))
    }

    fn users_info(&self, body: &Value) -> Result<Value, Value> {
        let id = str_arg(body, "user").ok_or_else(|| fail("user_not_found"))?;
        let user = self.users.get(id).ok_or_else(|| fail("user_not_found"))?;
        let mut profile = json!({
            "real_name": user.real_name,
            "display_name": user.name,
        });
        if let Some(email) = &user.email {
            profile["email"] = email.clone().into();
        }
        Ok(ok(json!({
            "user": {
                "id": user.id,
                "team_id": "T0FAKE",
                "name": user.name,
                "real_name": user.real_name,
                "deleted": false,
                "is_bot": false,
                "profile": profile,
            }
        })))
    }

    pub fn home_view(&self, user: &str) -> Option<Value> {
        self.home.get(user).cloned()
    }

    /// Each user's published Home view.
    pub fn home_views(&self) -> impl Iterator<Item = &Value> {
        self.home.values()
    }

    /// The users with a published Home view, and the view.
    pub fn homes(&self) -> &BTreeMap<String, Value> {
        &self.home
    }
}

fn conversations_open(body: &Value) -> Result<Value, Value> {
    let users: Vec<String> = match body.get("users") {
        Some(Value::String(s)) => s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let id = match users.as_slice() {
        [] => return Err(fail("users_list_not_supplied")),
        [user] => dm_channel(user),
        many => {
            let mut sorted = many.to_vec();
            sorted.sort();
            format!("G{}", sorted.join(""))
        }
    };
    Ok(ok(json!({ "channel": { "id": id } })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authed(state: &mut State, method: &str, body: Value) -> Value {
        state.answer(method, &body, Some("t"))
    }

    #[test]
    fn ts_is_unique_increasing_and_slack_shaped() {
        let mut state = State::default();
        let a = state.next_ts();
        let b = state.next_ts();
        let (ma, mb) = (super::super::history::ts_micros(&a).unwrap(), super::super::history::ts_micros(&b).unwrap());
        assert!(mb > ma, "{a} then {b}");
        assert_eq!(a.split_once('.').unwrap().1.len(), 6, "{a}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        assert!(ma / 1_000_000 + 5 >= now && ma / 1_000_000 <= now, "ts follows the clock: {a}");
    }

    #[test]
    fn auth_rules() {
        let mut state = State::default();
        assert_eq!(state.answer("auth.test", &json!({}), None)["error"], "not_authed");
        assert_eq!(state.answer("auth.test", &json!({}), Some("any"))["ok"], true);
        state.token = Some("good".into());
        assert_eq!(state.answer("auth.test", &json!({}), Some("bad"))["error"], "invalid_auth");
        assert_eq!(state.answer("auth.test", &json!({}), Some("good"))["ok"], true);
        assert_eq!(state.answer("nope.nope", &json!({}), None)["error"], "unknown_method");
    }

    #[test]
    fn faults_are_consumed_in_order_method_before_star() {
        let mut state = State::default();
        state.inject("*", Fault::ServerError(502), 1);
        state.inject("m", Fault::ServerError(500), 2);
        state.inject("m", Fault::SlackError("x".into()), 1);
        assert_eq!(state.take_fault("m"), Some(Fault::ServerError(500)));
        assert_eq!(state.take_fault("m"), Some(Fault::ServerError(500)));
        assert_eq!(state.take_fault("m"), Some(Fault::SlackError("x".into())));
        assert_eq!(state.take_fault("m"), Some(Fault::ServerError(502)));
        assert_eq!(state.take_fault("m"), None);
    }

    #[test]
    fn conversations_and_users() {
        let mut state = State::default();
        let dm = authed(&mut state, "conversations.open", json!({"users": "U1"}));
        assert_eq!(dm["channel"]["id"], "DU1");
        let group = authed(&mut state, "conversations.open", json!({"users": "U2,U1"}));
        assert_eq!(group["channel"]["id"], "GU1U2");
        let none = authed(&mut state, "conversations.open", json!({}));
        assert_eq!(none["error"], "users_list_not_supplied");
        let unknown = authed(&mut state, "users.info", json!({"user": "U9"}));
        assert_eq!(unknown["error"], "user_not_found");
    }

    #[test]
    fn response_url_use_limit() {
        let mut state = State::default();
        for _ in 0..RESPONSE_URL_USES {
            assert!(state.respond("r", &json!({"text": "x"})).is_ok());
        }
        assert_eq!(state.respond("r", &json!({})).unwrap_err()["error"], "used_url");
    }
}
