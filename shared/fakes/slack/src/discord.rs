//! A stand-in for Discord's incoming webhooks (`POST /api/webhooks/{id}/{token}`), so that the
//! notifier's Discord digest sink is tested against the same server, fault injection and call
//! record as its Slack messages. Faults are queued under [`DISCORD_METHOD`].
//!
//! As Discord: `content` at most 2,000 characters; at most 10 embeds, a title at most 256, a
//! description at most 4,096 and all embed text at most 6,000 characters; an empty message is
//! refused (400, code 50006). With `?wait=true` the answer is the created message (with its
//! `id`), otherwise 204.

use serde_json::{Value, json};

use super::state::State;

/// The name faults and recorded calls use for webhook executions.
pub const DISCORD_METHOD: &str = "discord.webhook";

const MAX_CONTENT: usize = 2_000;
const MAX_EMBEDS: usize = 10;
const MAX_TITLE: usize = 256;
const MAX_DESCRIPTION: usize = 4_096;
const MAX_EMBED_TOTAL: usize = 6_000;

/// Why Discord refused a webhook body: its JSON error (`code`, `message`).
#[derive(Debug, Clone, PartialEq)]
pub struct Refused(pub Value);

fn refuse(code: u32, message: &str) -> Refused {
    Refused(json!({ "code": code, "message": message }))
}

fn chars(v: Option<&Value>) -> usize {
    v.and_then(Value::as_str).map_or(0, |s| s.chars().count())
}

/// Discord's checks on a webhook body.
pub fn validate(body: &Value) -> Result<(), Refused> {
    let content = chars(body.get("content"));
    let embeds = body.get("embeds").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if content == 0 && embeds.is_empty() {
        return Err(refuse(50006, "Cannot send an empty message"));
    }
    if content > MAX_CONTENT {
        return Err(refuse(50035, "Invalid Form Body: content: Must be 2000 or fewer in length."));
    }
    if embeds.len() > MAX_EMBEDS {
        return Err(refuse(50035, "Invalid Form Body: embeds: Must be 10 or fewer in length."));
    }
    let mut total = 0;
    for embed in embeds {
        let (title, description) = (chars(embed.get("title")), chars(embed.get("description")));
        if title > MAX_TITLE {
            return Err(refuse(50035, "Invalid Form Body: embeds.title: Must be 256 or fewer in length."));
        }
        if description > MAX_DESCRIPTION {
            return Err(refuse(50035, "Invalid Form Body: embeds.description: Must be 4096 or fewer in length."));
        }
        total += title + description + chars(embed.pointer("/footer/text"));
    }
    if total > MAX_EMBED_TOTAL {
        return Err(refuse(50035, "Invalid Form Body: embeds: Embed size exceeds maximum size of 6000"));
    }
    Ok(())
}

impl State {
    /// Executes a webhook: the created message, stored under the webhook id.
    pub(super) fn execute_webhook(&mut self, webhook_id: &str, body: &Value) -> Result<Value, Refused> {
        validate(body)?;
        self.id_counter_bump();
        let message = json!({
            "id": self.snowflake(),
            "type": 0,
            "channel_id": format!("{webhook_id}0"),
            "webhook_id": webhook_id,
            "content": body.get("content").cloned().unwrap_or_else(|| json!("")),
            "embeds": body.get("embeds").cloned().unwrap_or_else(|| json!([])),
            "author": { "username": body.get("username").cloned().unwrap_or_else(|| json!("Pulse")), "bot": true },
        });
        self.discord.entry(webhook_id.to_owned()).or_default().push(message.clone());
        Ok(message)
    }

    /// Messages a webhook created, oldest first.
    pub fn discord_messages(&self, webhook_id: &str) -> Vec<Value> {
        self.discord.get(webhook_id).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_limits() {
        assert!(validate(&json!({"content": "hi"})).is_ok());
        assert!(validate(&json!({"embeds": [{"title": "t", "description": "d"}]})).is_ok());
        assert_eq!(validate(&json!({})).unwrap_err().0["code"], 50006);
        assert!(validate(&json!({"content": "x".repeat(2001)})).is_err());
        assert!(validate(&json!({"content": "é".repeat(2000)})).is_ok(), "characters, not bytes");
        assert!(validate(&json!({"embeds": [{"description": "x".repeat(4097)}]})).is_err());
        let two = json!({"embeds": [{"description": "x".repeat(4000)}, {"description": "x".repeat(2001)}]});
        assert!(validate(&two).is_err(), "all embeds count towards 6000");
    }

    #[test]
    fn messages_are_kept_per_webhook_with_ids() {
        let mut state = State::default();
        let a = state.execute_webhook("111", &json!({"content": "one"})).unwrap();
        let b = state.execute_webhook("111", &json!({"content": "two"})).unwrap();
        state.execute_webhook("222", &json!({"content": "other"})).unwrap();
        assert_ne!(a["id"], b["id"]);
        let kept = state.discord_messages("111");
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[1]["content"], "two");
    }
}
