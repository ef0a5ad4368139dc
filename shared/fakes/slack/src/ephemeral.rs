//! What only one user sees, and where answers to a user land: `chat.postEphemeral`, a slash
//! command's immediate answer and `response_url` posts.
//!
//! As Slack:
//! - An ephemeral message shows to one user in one channel and is never in its history.
//! - A command's immediate answer and a `response_url` post go to the user and channel the
//!   command or click came from: ephemeral, unless `response_type` is `in_channel` (a new
//!   message everyone sees).
//! - A click's `response_url` post may replace the message the button is on
//!   (`replace_original: true`: updated in place, not marked edited) or delete it
//!   (`delete_original: true`).
//! - A response URL takes [`RESPONSE_URL_USES`] posts; every accepted body is kept under its id.
//!   Only URLs the stand-in handed out (`standin.rs`) have a known target; posts to others are
//!   kept and recorded, and land nowhere.

use serde_json::{Value, json};

use super::chat::is_empty_array;
use super::state::{RESPONSE_URL_USES, State, fail, ok, resolve_channel, str_arg};
use super::validate;

/// Where answers on one response URL land: the channel and user of the command or click, and
/// for a click on a message, that message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseTarget {
    pub channel: String,
    pub user: String,
    pub message_ts: Option<String>,
}

/// Who put an ephemeral message there, as the page labels it.
#[derive(Debug, Clone, Copy)]
pub enum Via {
    PostEphemeral,
    ResponseUrl,
    /// A slash command's immediate answer (the body of ingress's HTTP response).
    CommandAnswer,
    /// Slack's own word to the user: a command whose app failed to answer in time or well.
    Slackbot,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::PostEphemeral => "chat.postEphemeral",
            Via::ResponseUrl => "response_url",
            Via::CommandAnswer => "command_answer",
            Via::Slackbot => "slackbot",
        }
    }
}

impl State {
    pub(super) fn post_ephemeral(&mut self, body: &Value) -> Result<Value, Value> {
        let channel = str_arg(body, "channel").ok_or_else(|| fail("channel_not_found"))?;
        let user = str_arg(body, "user").ok_or_else(|| fail("user_not_found"))?;
        let blocks = body.get("blocks").filter(|b| !is_empty_array(b));
        if str_arg(body, "text").is_none() && blocks.is_none() && body.get("attachments").is_none() {
            return Err(fail("no_text"));
        }
        if let Some(blocks) = blocks {
            validate::validate_blocks(blocks, validate::MAX_MESSAGE_BLOCKS, "/blocks").map_err(|e| e.answer())?;
        }
        let (channel, user) = (resolve_channel(channel), user.to_owned());
        let ts = self.push_ephemeral(&channel, &user, body, Via::PostEphemeral);
        Ok(ok(json!({ "message_ts": ts })))
    }

    /// Records the effect of a `response_url` post, or refuses it past Slack's use limit.
    pub fn respond(&mut self, id: &str, body: &Value) -> Result<(), Value> {
        let uses = self.responses.entry(id.to_owned()).or_default();
        if uses.len() >= RESPONSE_URL_USES {
            return Err(fail("used_url"));
        }
        uses.push(body.clone());
        if let Some(target) = self.response_targets.get(id).cloned() {
            self.answer_to(&target, body, Via::ResponseUrl);
        }
        Ok(())
    }

    /// Shows `body` (a message with `response_type`, `replace_original`, `delete_original`)
    /// where `target` says, as Slack does with an answer to a command or click.
    pub(super) fn answer_to(&mut self, target: &ResponseTarget, body: &Value, via: Via) {
        let flag = |key: &str| body.get(key).and_then(Value::as_bool).unwrap_or(false);
        if let Some(ts) = target.message_ts.as_deref() {
            if flag("delete_original") {
                self.delete_message(&target.channel, ts);
                return;
            }
            if flag("replace_original") {
                if let Some(stored) = self.messages.get_mut(ts).filter(|m| m.channel == target.channel) {
                    for key in ["text", "blocks", "attachments", "metadata"] {
                        if let Some(value) = body.get(key) {
                            stored.message[key] = value.clone();
                        }
                    }
                }
                return;
            }
        }
        if body.get("response_type").and_then(Value::as_str) == Some("in_channel") {
            let mut post = body.clone();
            post["channel"] = target.channel.clone().into();
            if let Err(refused) = self.post_message(&post) {
                let error = refused["error"].as_str().unwrap_or("unknown").to_owned();
                self.slackbot(target, &format!("The app's in-channel answer was refused by Slack: `{error}`"));
            }
            return;
        }
        self.push_ephemeral(&target.channel, &target.user, body, via);
    }

    /// A Slackbot line to `target`'s user, as Slack shows when a command fails.
    pub(super) fn slackbot(&mut self, target: &ResponseTarget, text: &str) {
        self.push_ephemeral(&target.channel, &target.user, &json!({ "text": text }), Via::Slackbot);
    }

    fn push_ephemeral(&mut self, channel: &str, user: &str, body: &Value, via: Via) -> String {
        let ts = self.next_ts();
        let mut message = json!({
            "type": "message",
            "subtype": "ephemeral",
            "channel": channel,
            "user": user,
            "ts": ts,
            "text": body.get("text").cloned().unwrap_or_else(|| "".into()),
            "via": via.as_str(),
        });
        for key in ["blocks", "attachments", "thread_ts"] {
            if let Some(value) = body.get(key) {
                message[key] = value.clone();
            }
        }
        self.ephemerals.push(message);
        ts
    }

    fn delete_message(&mut self, channel: &str, ts: &str) {
        if self.messages.get(ts).is_none_or(|m| m.channel != channel) {
            return;
        }
        let removed = self.messages.remove(ts);
        let parent = removed.as_ref().and_then(|m| m.message.get("thread_ts")).and_then(Value::as_str).filter(|p| *p != ts);
        if let Some(parent) = parent.and_then(|p| self.messages.get_mut(p)) {
            parent.replies.retain(|reply| reply != ts);
            parent.message["reply_count"] = parent.replies.len().into();
        }
    }

    /// Ephemeral messages, oldest first.
    pub fn ephemerals(&self) -> &[Value] {
        &self.ephemerals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Posts `text` in C1 as the bot; its `ts`.
    fn posted(state: &mut State, text: &str) -> String {
        let answer = state.answer("chat.postMessage", &json!({"channel": "C1", "text": text}), Some("t"));
        answer["ts"].as_str().unwrap().to_owned()
    }

    fn target(state: &mut State, id: &str, message_ts: Option<&str>) -> ResponseTarget {
        let target = ResponseTarget { channel: "C1".into(), user: "U1".into(), message_ts: message_ts.map(str::to_owned) };
        state.response_targets.insert(id.into(), target.clone());
        target
    }

    #[test]
    fn an_ephemeral_answer_shows_to_its_user_only_and_stays_out_of_history() {
        let mut state = State::default();
        target(&mut state, "r1", None);
        state.respond("r1", &json!({"response_type": "ephemeral", "text": "Subscribed"})).unwrap();
        assert_eq!(state.messages(Some("C1")), Vec::<Value>::new());
        let [seen] = state.ephemerals() else { panic!("{:?}", state.ephemerals()) };
        assert_eq!((seen["channel"].as_str(), seen["user"].as_str(), seen["text"].as_str()), (Some("C1"), Some("U1"), Some("Subscribed")));
        assert_eq!(seen["via"], "response_url");
    }

    #[test]
    fn replace_original_updates_the_clicked_message_in_place() {
        let mut state = State::default();
        let ts = posted(&mut state, "alert");
        target(&mut state, "r1", Some(&ts));
        state.respond("r1", &json!({"replace_original": true, "text": "alert (acknowledged)"})).unwrap();
        let messages = state.messages(Some("C1"));
        assert_eq!(messages.len(), 1, "updated, not duplicated");
        assert_eq!(messages[0]["text"], "alert (acknowledged)");
        assert!(state.ephemerals().is_empty());
    }

    #[test]
    fn delete_original_removes_the_message_and_in_channel_posts_a_new_one() {
        let mut state = State::default();
        let ts = posted(&mut state, "alert");
        target(&mut state, "r1", Some(&ts));
        state.respond("r1", &json!({"delete_original": true})).unwrap();
        assert!(state.messages(Some("C1")).is_empty());
        target(&mut state, "r2", None);
        state.respond("r2", &json!({"response_type": "in_channel", "text": "for everyone"})).unwrap();
        assert_eq!(state.messages(Some("C1"))[0]["text"], "for everyone");
    }

    #[test]
    fn a_url_the_stand_in_did_not_hand_out_only_records() {
        let mut state = State::default();
        state.respond("elsewhere", &json!({"text": "x"})).unwrap();
        assert_eq!(state.responses["elsewhere"].len(), 1);
        assert!(state.ephemerals().is_empty() && state.messages(None).is_empty());
    }

    #[test]
    fn post_ephemeral_is_kept_for_its_user() {
        let mut state = State::default();
        let answer = state.answer("chat.postEphemeral", &json!({"channel": "U1", "user": "U1", "text": "psst"}), Some("t"));
        assert_eq!(answer["ok"], true);
        assert_eq!(state.ephemerals()[0]["channel"], "DU1", "a user id means their DM");
        assert_eq!(state.ephemerals()[0]["via"], "chat.postEphemeral");
    }
}
