//! `chat.*` semantics of the fake: posting, threading and editing messages, kept so tests can
//! read what a channel looks like now.

use serde_json::{Map, Value, json};

use super::state::{State, fail, ok, resolve_channel, str_arg};
use super::validate;

/// A message as the fake remembers it, edits applied.
#[derive(Debug, Clone)]
pub(super) struct StoredMessage {
    pub(super) channel: String,
    pub(super) message: Value,
    /// `ts` of the replies in its thread, oldest first.
    pub(super) replies: Vec<String>,
}

impl State {
    pub(super) fn post_message(&mut self, body: &Value) -> Result<Value, Value> {
        let channel = str_arg(body, "channel").ok_or_else(|| fail("channel_not_found"))?;
        let channel = resolve_channel(channel);
        let text = str_arg(body, "text");
        let blocks = body.get("blocks").filter(|b| !is_empty_array(b));
        if text.is_none() && blocks.is_none() && body.get("attachments").is_none() {
            return Err(fail("no_text"));
        }
        if text.is_some_and(|t| t.chars().count() > validate::MAX_MESSAGE_TEXT) {
            return Err(fail("msg_too_long"));
        }
        if let Some(blocks) = blocks {
            validate::validate_blocks(blocks, validate::MAX_MESSAGE_BLOCKS, "/blocks").map_err(|e| e.answer())?;
        }
        let ts = self.next_ts();
        let mut message = Map::new();
        message.insert("type".into(), "message".into());
        message.insert("channel".into(), channel.clone().into());
        message.insert("ts".into(), ts.clone().into());
        message.insert("user".into(), "U0FAKEBOT".into());
        message.insert("bot_id".into(), "B0FAKE".into());
        message.insert("text".into(), text.unwrap_or_default().into());
        for key in ["blocks", "attachments", "metadata"] {
            if let Some(v) = body.get(key) {
                message.insert(key.into(), v.clone());
            }
        }
        let thread_ts = str_arg(body, "thread_ts");
        if let Some(parent_ts) = thread_ts {
            message.insert("thread_ts".into(), parent_ts.into());
            if let Some(parent) = self.messages.get_mut(parent_ts).filter(|p| p.channel == channel) {
                parent.replies.push(ts.clone());
                parent.message["thread_ts"] = parent_ts.into();
                parent.message["reply_count"] = parent.replies.len().into();
                parent.message["latest_reply"] = ts.clone().into();
            }
        }
        let message = Value::Object(message);
        self.messages.insert(ts.clone(), StoredMessage { channel: channel.clone(), message: message.clone(), replies: Vec::new() });
        Ok(ok(json!({ "channel": channel, "ts": ts, "message": message })))
    }

    pub(super) fn update(&mut self, body: &Value) -> Result<Value, Value> {
        let channel = str_arg(body, "channel").ok_or_else(|| fail("channel_not_found"))?;
        let channel = resolve_channel(channel);
        let ts = str_arg(body, "ts").ok_or_else(|| fail("message_not_found"))?;
        let text = str_arg(body, "text");
        let blocks = body.get("blocks");
        if text.is_none() && blocks.is_none() && body.get("attachments").is_none() {
            return Err(fail("no_text"));
        }
        if let Some(blocks) = blocks {
            validate::validate_blocks(blocks, validate::MAX_MESSAGE_BLOCKS, "/blocks").map_err(|e| e.answer())?;
        }
        let edited_ts = self.next_ts();
        let stored = self.messages.get_mut(ts).filter(|m| m.channel == channel).ok_or_else(|| fail("message_not_found"))?;
        // Like Slack, fields left out keep their previous value.
        if let Some(text) = text {
            stored.message["text"] = text.into();
        }
        for key in ["blocks", "attachments", "metadata"] {
            if let Some(v) = body.get(key) {
                stored.message[key] = v.clone();
            }
        }
        stored.message["edited"] = json!({ "user": "U0FAKEBOT", "ts": edited_ts });
        let message = stored.message.clone();
        Ok(ok(json!({
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": message,
        })))
    }

    /// The stored message at (`channel`, `ts`); a user id as channel means the DM with them.
    pub fn message(&self, channel: &str, ts: &str) -> Option<Value> {
        let channel = resolve_channel(channel);
        self.messages.get(ts).filter(|m| m.channel == channel).map(|m| m.message.clone())
    }

    /// Replies in the thread of (`channel`, `ts`), oldest first, the parent excluded.
    pub fn thread(&self, channel: &str, ts: &str) -> Vec<Value> {
        let channel = resolve_channel(channel);
        let Some(parent) = self.messages.get(ts).filter(|m| m.channel == channel) else {
            return Vec::new();
        };
        parent.replies.iter().filter_map(|reply| self.messages.get(reply)).map(|m| m.message.clone()).collect()
    }

    /// Every stored message in post order, optionally only those of `channel`.
    pub fn messages(&self, channel: Option<&str>) -> Vec<Value> {
        let channel = channel.map(resolve_channel);
        self.messages.values().filter(|m| channel.as_deref().is_none_or(|c| m.channel == c)).map(|m| m.message.clone()).collect()
    }
}

pub(super) fn is_empty_array(v: &Value) -> bool {
    v.as_array().is_some_and(Vec::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authed(state: &mut State, method: &str, body: Value) -> Value {
        state.answer(method, &body, Some("t"))
    }

    #[test]
    fn threads_and_updates() {
        let mut state = State::default();
        let parent = authed(&mut state, "chat.postMessage", json!({"channel": "C1", "text": "start"}));
        let ts = parent["ts"].as_str().unwrap().to_owned();
        authed(&mut state, "chat.postMessage", json!({"channel": "C1", "text": "done", "thread_ts": ts}));
        let up = authed(&mut state, "chat.update", json!({"channel": "C1", "ts": ts, "text": "started"}));
        assert_eq!(up["ok"], true);
        let msg = state.message("C1", &ts).unwrap();
        assert_eq!(msg["text"], "started");
        assert_eq!(msg["reply_count"], 1);
        assert_eq!(state.thread("C1", &ts)[0]["text"], "done");
        let missing = authed(&mut state, "chat.update", json!({"channel": "C2", "ts": ts, "text": "x"}));
        assert_eq!(missing["error"], "message_not_found");
    }

    #[test]
    fn posting_to_a_user_lands_in_their_dm() {
        let mut state = State::default();
        let a = authed(&mut state, "chat.postMessage", json!({"channel": "U1", "text": "hi"}));
        let b = authed(&mut state, "conversations.open", json!({"users": "U1"}));
        assert_eq!(a["channel"], b["channel"]["id"]);
        assert_eq!(state.messages(Some("U1")).len(), 1);
    }
}
