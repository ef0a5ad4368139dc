//! Realistic Slack requests, signed like Slack signs them: for unit and integration tests, the
//! benchmarks, `pulse slack` and the load test. Shapes follow Slack's documented payloads (the
//! slash command form of api.slack.com/interactivity/slash-commands, `block_actions`,
//! `view_submission`, `app_home_opened`), trimmed to the fields that matter plus some realistic
//! padding.
//!
//! This crate knows nothing of ingress: it signs with its own HMAC and spells the deploy modal's
//! ids as they travel on the wire, so a test that sends its requests to ingress checks ingress
//! against an independent statement of what Slack sends (a renamed callback id would break
//! modals already open in Slack, and breaks those tests too).

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The deploy confirmation modal's ids, as ingress opens it (`pulse_ingress::modal`).
pub mod modal {
    use serde_json::json;

    /// The modal's `callback_id`.
    pub const DEPLOY_CALLBACK_ID: &str = "deploy_confirm";
    /// The input block limiting the deploy to some resource kinds.
    pub const ONLY_BLOCK_ID: &str = "deploy_only";
    /// The multi-select in [`ONLY_BLOCK_ID`].
    pub const ONLY_ACTION_ID: &str = "only_kinds";

    /// The modal's `private_metadata`: which service, asked for in which channel.
    pub fn private_metadata(service: &str, channel_id: &str) -> String {
        json!({"service": service, "channel_id": channel_id}).to_string()
    }
}

/// The `X-Slack-Signature` value Slack sends: `v0=` and the hex HMAC-SHA256, under the signing
/// secret, of `v0:{timestamp}:{body}`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

pub const TEAM_ID: &str = "T0PULSE01";

/// A fresh trigger id in Slack's shape (`<digits>.<digits>.<32 hex>`).
pub fn trigger_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    let n = u64::from_str_radix(&hex[..12], 16).unwrap_or(0);
    format!("{}.{}.{}", 1_000_000_000_000 + n % 9_000_000_000_000, 47445629121u64, hex)
}

/// A fresh Events API event id (`Ev` + 10 characters).
pub fn event_id() -> String {
    format!("Ev{}", &uuid::Uuid::new_v4().simple().to_string()[..10].to_ascii_uppercase())
}

/// A slash command as Slack posts it.
#[derive(Debug, Clone)]
pub struct Command {
    pub team_id: String,
    pub user_id: String,
    pub user_name: String,
    pub channel_id: String,
    pub command: String,
    pub text: String,
    pub response_url: String,
    pub trigger_id: String,
}

impl Command {
    /// `/praktika subscribe a@b` → command `/praktika`, text `subscribe a@b`.
    pub fn new(line: &str, user_id: &str) -> Self {
        let (command, text) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        Self {
            team_id: TEAM_ID.to_owned(),
            user_id: user_id.to_owned(),
            user_name: format!("user-{}", user_id.to_ascii_lowercase()),
            channel_id: "C0PULSE01".to_owned(),
            command: command.to_owned(),
            text: text.trim().to_owned(),
            response_url: "https://hooks.slack.com/commands/T0PULSE01/1234567890/AbCdEfGhIjKlMnOpQrStUvWx".to_owned(),
            trigger_id: trigger_id(),
        }
    }

    /// The form body, with Slack's other fields (`token`, `team_domain`, `api_app_id`, ...).
    pub fn form(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("token", "gIkuvaNzQIHg97ATvDxqgjtO")
            .append_pair("team_id", &self.team_id)
            .append_pair("team_domain", "pulse-dev")
            .append_pair("enterprise_id", "")
            .append_pair("channel_id", &self.channel_id)
            .append_pair("channel_name", "ops-deploy")
            .append_pair("user_id", &self.user_id)
            .append_pair("user_name", &self.user_name)
            .append_pair("command", &self.command)
            .append_pair("text", &self.text)
            .append_pair("api_app_id", "A0ABQ9BGYA3")
            .append_pair("is_enterprise_install", "false")
            .append_pair("response_url", &self.response_url)
            .append_pair("trigger_id", &self.trigger_id)
            .finish()
    }

    /// The Socket Mode payload: the same fields as a JSON object.
    pub fn socket_payload(&self) -> Value {
        json!({
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": self.team_id,
            "team_domain": "pulse-dev",
            "channel_id": self.channel_id,
            "channel_name": "ops-deploy",
            "user_id": self.user_id,
            "user_name": self.user_name,
            "command": self.command,
            "text": self.text,
            "api_app_id": "A0ABQ9BGYA3",
            "is_enterprise_install": "false",
            "response_url": self.response_url,
            "trigger_id": self.trigger_id,
        })
    }
}

/// A `/praktika subscribe alice@clickhouse.com` form body of `size` bytes (at least its natural
/// size, about 500 bytes), padded in its `response_url`, for benchmarks.
pub fn command_form_of_size(size: usize) -> String {
    let mut command = Command::new("/praktika subscribe alice@clickhouse.com", "U0BENCH01");
    let base = command.form().len();
    if size > base {
        command.response_url.push_str(&"x".repeat(size - base));
    }
    command.form()
}

/// A `block_actions` payload for a button in a message (`channel`, `message_ts`).
pub fn block_actions_payload(action_id: &str, value: &str, user_id: &str, channel: &str, message_ts: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": {"id": user_id, "username": format!("user-{}", user_id.to_ascii_lowercase()), "name": "user", "team_id": TEAM_ID},
        "api_app_id": "A0ABQ9BGYA3",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": false},
        "trigger_id": trigger_id(),
        "team": {"id": TEAM_ID, "domain": "pulse-dev"},
        "channel": {"id": channel, "name": "ops-alerts"},
        "message": {"type": "message", "ts": message_ts, "text": "alert"},
        "response_url": format!("https://hooks.slack.com/actions/{TEAM_ID}/6012345678901/Xy12Zw34Vu56Ts78Rq90"),
        "actions": [{
            "action_id": action_id,
            "block_id": "ops_actions",
            "text": {"type": "plain_text", "text": "Approve"},
            "value": value,
            "type": "button",
            "action_ts": "1763651031.123456"
        }]
    })
}

/// A `block_actions` payload for a Home tab toggle (container `view`).
pub fn home_toggle_payload(action_id: &str, value: &str, user_id: &str, view_id: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": {"id": user_id, "username": "roadrunner", "team_id": TEAM_ID},
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": trigger_id(),
        "team": {"id": TEAM_ID, "domain": "pulse-dev"},
        "view": {"id": view_id, "type": "home"},
        "actions": [{"action_id": action_id, "block_id": "home_controls", "value": value, "type": "button", "action_ts": "1763630444.000100"}]
    })
}

/// The `view_submission` of the deploy confirmation for `service`, with `only` kinds selected.
pub fn deploy_submission_payload(service: &str, channel: &str, user_id: &str, only: &[&str]) -> Value {
    let options: Vec<Value> = only.iter().map(|k| json!({"text": {"type": "plain_text", "text": k}, "value": k})).collect();
    json!({
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "pulse-dev"},
        "user": {"id": user_id, "username": "dana", "team_id": TEAM_ID},
        "api_app_id": "A0ABQ9BGYA3",
        "trigger_id": trigger_id(),
        "view": {
            "id": "V0DEPLOYMOD1",
            "type": "modal",
            "callback_id": modal::DEPLOY_CALLBACK_ID,
            "private_metadata": modal::private_metadata(service, channel),
            "state": {"values": {modal::ONLY_BLOCK_ID: {modal::ONLY_ACTION_ID: {"type": "multi_static_select", "selected_options": options}}}},
        },
        "response_urls": []
    })
}

/// The `view_closed` of the deploy confirmation (Cancel).
pub fn deploy_closed_payload(user_id: &str) -> Value {
    json!({
        "type": "view_closed",
        "team": {"id": TEAM_ID},
        "user": {"id": user_id},
        "view": {"id": "V0DEPLOYMOD1", "callback_id": modal::DEPLOY_CALLBACK_ID},
        "is_cleared": false
    })
}

/// An interactivity payload as the HTTP form body Slack posts (`payload=<json>`).
pub fn interactivity_form(payload: &Value) -> String {
    form_urlencoded::Serializer::new(String::new()).append_pair("payload", &payload.to_string()).finish()
}

/// An Events API `event_callback` carrying `app_home_opened`.
pub fn home_opened_payload(event_id: &str, user_id: &str) -> Value {
    json!({
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": TEAM_ID,
        "api_app_id": "A0ABQ9BGYA3",
        "event": {
            "type": "app_home_opened",
            "user": user_id,
            "channel": "D0PULSEDM1",
            "tab": "home",
            "event_ts": "1763630282.000300"
        },
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1763630282,
        "authorizations": [{"team_id": TEAM_ID, "user_id": "U0PULSEBOT", "is_bot": true}],
        "is_ext_shared_channel": false
    })
}

/// The Events API handshake.
pub fn url_verification_payload(challenge: &str) -> Value {
    json!({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"})
}

/// The headers Slack sends with `body`, signed with `secret` at `timestamp`.
#[derive(Debug, Clone)]
pub struct Signed {
    pub timestamp: String,
    pub signature: String,
    pub content_type: &'static str,
}

impl Signed {
    pub fn new(secret: &str, timestamp: i64, body: &[u8], content_type: &'static str) -> Self {
        let timestamp = timestamp.to_string();
        let signature = sign(secret, &timestamp, body);
        Self { timestamp, signature, content_type }
    }

    /// Form bodies (commands, interactivity).
    pub fn form(secret: &str, timestamp: i64, body: &str) -> Self {
        Self::new(secret, timestamp, body.as_bytes(), "application/x-www-form-urlencoded")
    }

    /// JSON bodies (Events API).
    pub fn json(secret: &str, timestamp: i64, body: &str) -> Self {
        Self::new(secret, timestamp, body.as_bytes(), "application/json")
    }

    /// As header pairs, spelled as Slack spells them.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        self.header_refs().into_iter().map(|(name, value)| (name, value.to_owned())).collect()
    }

    /// As borrowed header pairs (for `pulse_ingress::SlackHeaders::from_str_pairs`).
    pub fn header_refs(&self) -> [(&'static str, &str); 3] {
        [("Content-Type", self.content_type), ("X-Slack-Request-Timestamp", &self.timestamp), ("X-Slack-Signature", &self.signature)]
    }
}
