//! Typed helpers for the Web API methods Pulse uses, built on [`SlackClient::call`]. They build
//! Slack's argument shapes and pull the few fields callers need out of the answer.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::SlackClient;
use crate::error::SlackError;

/// Where a message landed: what `chat.update` and thread replies need later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PostedMessage {
    /// The channel id Slack answered with (a `D...` id when posting to a user id).
    pub channel: String,
    pub ts: String,
}

/// The profile fields Pulse uses from `users.info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackUser {
    pub id: String,
    pub name: String,
    /// `user.real_name`, else `user.profile.real_name`, else the name.
    pub real_name: String,
    /// `user.profile.email`; absent without the `users:read.email` scope.
    pub email: Option<String>,
}

impl SlackClient {
    /// `chat.postMessage`. `text` is the notification fallback when `blocks` are given;
    /// `thread_ts` makes it a reply; `metadata` is Slack message metadata
    /// (`{"event_type": ..., "event_payload": {...}}`).
    pub async fn chat_post_message(
        &self,
        channel: &str,
        text: &str,
        blocks: Option<Value>,
        thread_ts: Option<&str>,
        metadata: Option<Value>,
    ) -> Result<PostedMessage, SlackError> {
        const METHOD: &str = "chat.postMessage";
        let mut body = Map::new();
        body.insert("channel".into(), channel.into());
        body.insert("text".into(), text.into());
        insert_some(&mut body, "blocks", blocks);
        insert_some(&mut body, "thread_ts", thread_ts.map(Value::from));
        insert_some(&mut body, "metadata", metadata);
        let answer = self.call(METHOD, &Value::Object(body)).await?;
        posted(METHOD, &answer)
    }

    /// `chat.update`: replaces the text and blocks of the message at (`channel`, `ts`).
    pub async fn chat_update(&self, channel: &str, ts: &str, text: &str, blocks: Option<Value>) -> Result<PostedMessage, SlackError> {
        const METHOD: &str = "chat.update";
        let mut body = Map::new();
        body.insert("channel".into(), channel.into());
        body.insert("ts".into(), ts.into());
        body.insert("text".into(), text.into());
        insert_some(&mut body, "blocks", blocks);
        let answer = self.call(METHOD, &Value::Object(body)).await?;
        posted(METHOD, &answer)
    }

    /// `chat.postEphemeral`: a message only `user` sees in `channel`. Returns `message_ts`.
    pub async fn chat_post_ephemeral(&self, channel: &str, user: &str, text: &str, blocks: Option<Value>) -> Result<String, SlackError> {
        const METHOD: &str = "chat.postEphemeral";
        let mut body = Map::new();
        body.insert("channel".into(), channel.into());
        body.insert("user".into(), user.into());
        body.insert("text".into(), text.into());
        insert_some(&mut body, "blocks", blocks);
        let answer = self.call(METHOD, &Value::Object(body)).await?;
        string_field(METHOD, &answer, &["message_ts"])
    }

    /// `views.publish`: sets `user_id`'s App Home. With `hash`, Slack refuses
    /// (`hash_conflict`) if the view changed since the one that hash came from. Returns the
    /// published view (its `hash` is for the next publish).
    pub async fn views_publish(&self, user_id: &str, view: Value, hash: Option<&str>) -> Result<Value, SlackError> {
        const METHOD: &str = "views.publish";
        let mut body = Map::new();
        body.insert("user_id".into(), user_id.into());
        body.insert("view".into(), view);
        insert_some(&mut body, "hash", hash.map(Value::from));
        let answer = self.call(METHOD, &Value::Object(body)).await?;
        object_field(METHOD, &answer, "view")
    }

    /// `views.open`: opens a modal for an interaction's `trigger_id` (valid for 3 seconds).
    /// Returns the opened view.
    pub async fn views_open(&self, trigger_id: &str, view: Value) -> Result<Value, SlackError> {
        const METHOD: &str = "views.open";
        let body = json!({ "trigger_id": trigger_id, "view": view });
        let answer = self.call(METHOD, &body).await?;
        object_field(METHOD, &answer, "view")
    }

    /// `conversations.open`: the DM (one user) or group DM channel id with `users`.
    pub async fn conversations_open(&self, users: &[&str]) -> Result<String, SlackError> {
        const METHOD: &str = "conversations.open";
        let body = json!({ "users": users.join(",") });
        let answer = self.call(METHOD, &body).await?;
        string_field(METHOD, &answer, &["channel", "id"])
    }

    /// `users.info`.
    pub async fn users_info(&self, user: &str) -> Result<SlackUser, SlackError> {
        const METHOD: &str = "users.info";
        let answer = self.call(METHOD, &json!({ "user": user })).await?;
        let u = answer.get("user").ok_or_else(|| missing(METHOD, "user"))?;
        let profile = u.get("profile");
        let id = text(u.get("id")).ok_or_else(|| missing(METHOD, "user.id"))?;
        let name = text(u.get("name")).unwrap_or(id);
        let real_name = text(u.get("real_name")).or_else(|| text(profile.and_then(|p| p.get("real_name")))).unwrap_or(name);
        Ok(SlackUser {
            id: id.to_owned(),
            name: name.to_owned(),
            real_name: real_name.to_owned(),
            email: text(profile.and_then(|p| p.get("email"))).map(str::to_owned),
        })
    }

    /// `auth.test`: checks the token; returns Slack's answer (`team_id`, `user_id`, ...).
    pub async fn auth_test(&self) -> Result<Value, SlackError> {
        self.call("auth.test", &json!({})).await
    }
}

/// A non-empty string value.
fn text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn insert_some(body: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        body.insert(key.to_owned(), value);
    }
}

fn missing(method: &str, field: &str) -> SlackError {
    SlackError::Decode { method: method.to_owned(), message: format!("no `{field}` in the answer") }
}

fn string_field(method: &str, answer: &Value, path: &[&str]) -> Result<String, SlackError> {
    path.iter()
        .try_fold(answer, |v, key| v.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| missing(method, &path.join(".")))
}

fn object_field(method: &str, answer: &Value, key: &str) -> Result<Value, SlackError> {
    answer.get(key).filter(|v| v.is_object()).cloned().ok_or_else(|| missing(method, key))
}

fn posted(method: &str, answer: &Value) -> Result<PostedMessage, SlackError> {
    Ok(PostedMessage { channel: string_field(method, answer, &["channel"])?, ts: string_field(method, answer, &["ts"])? })
}
