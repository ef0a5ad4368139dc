//! The Socket Mode wire format (api.slack.com/apis/connections/socket-implement).
//!
//! Slack sends JSON text frames: `{"type":"hello",...}` once a connection is ready,
//! `{"type":"disconnect","reason":...}` before it closes one, and envelopes
//! `{"envelope_id","type","payload","accepts_response_payload","retry_attempt","retry_reason"}`.
//! The app answers each envelope with `{"envelope_id": ...}`, optionally with a `payload`.

use serde::Deserialize;
use serde_json::{Value, json};

/// The envelope types the sink processes.
pub const ENVELOPE_KINDS: [&str; 3] = ["slash_commands", "interactive", "events_api"];

/// One envelope as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub envelope_id: String,
    /// The envelope `type`: `slash_commands`, `interactive` or `events_api`.
    pub kind: String,
    pub payload: Value,
    pub accepts_response_payload: bool,
    pub retry_attempt: u32,
    pub retry_reason: String,
}

/// Why Slack is closing a connection (`disconnect.reason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The connection will be closed in about 10 seconds.
    Warning,
    /// The connection will be closed now; open another.
    RefreshRequested,
    /// Socket Mode was turned off in the app's settings: stop.
    LinkDisabled,
    /// A reason this client does not know; handled like a refresh.
    Other(String),
}

impl DisconnectReason {
    pub fn parse(reason: &str) -> Self {
        match reason {
            "warning" => Self::Warning,
            "refresh_requested" => Self::RefreshRequested,
            "link_disabled" => Self::LinkDisabled,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Warning => "warning",
            Self::RefreshRequested => "refresh_requested",
            Self::LinkDisabled => "link_disabled",
            Self::Other(s) => s,
        }
    }
}

/// A text frame from Slack, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Hello {
        num_connections: Option<u64>,
    },
    Disconnect(DisconnectReason),
    Envelope(Envelope),
    /// JSON of a shape this client does not know (logged and ignored).
    Unknown {
        kind: Option<String>,
    },
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "type")]
    kind: Option<String>,
    envelope_id: Option<String>,
    payload: Option<Value>,
    #[serde(default)]
    accepts_response_payload: bool,
    #[serde(default)]
    retry_attempt: u32,
    #[serde(default)]
    retry_reason: Option<String>,
    reason: Option<String>,
    num_connections: Option<u64>,
}

/// Parses one text frame. `Err` carries a short reason (never the frame itself, which may hold
/// user data).
pub fn parse(text: &str) -> Result<Inbound, String> {
    let raw: Raw = serde_json::from_str(text).map_err(|e| {
        // Not `{e}`: serde's messages may quote values from the frame.
        format!("not a Socket Mode message ({:?} error at line {} column {})", e.classify(), e.line(), e.column())
    })?;
    if let Some(envelope_id) = raw.envelope_id {
        let Some(kind) = raw.kind else {
            return Err("envelope without a type".into());
        };
        return Ok(Inbound::Envelope(Envelope {
            envelope_id,
            kind,
            payload: raw.payload.unwrap_or(Value::Null),
            accepts_response_payload: raw.accepts_response_payload,
            retry_attempt: raw.retry_attempt,
            retry_reason: raw.retry_reason.unwrap_or_default(),
        }));
    }
    Ok(match raw.kind.as_deref() {
        Some("hello") => Inbound::Hello { num_connections: raw.num_connections },
        Some("disconnect") => Inbound::Disconnect(DisconnectReason::parse(raw.reason.as_deref().unwrap_or(""))),
        _ => Inbound::Unknown { kind: raw.kind },
    })
}

/// The acknowledgement of an envelope, with the response payload when there is one.
pub fn ack(envelope_id: &str, payload: Option<&Value>) -> String {
    match payload {
        Some(payload) => json!({ "envelope_id": envelope_id, "payload": payload }),
        None => json!({ "envelope_id": envelope_id }),
    }
    .to_string()
}

/// A URL fit for logs: scheme, host and path, without the query (the `ticket` that
/// authenticates the WebSocket) or any userinfo.
pub fn redact_url(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or("");
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{rest}")
        }
        None => "<url>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_slacks_messages() {
        let hello = r#"{"type":"hello","num_connections":2,"debug_info":{"host":"applink-1"},"connection_info":{"app_id":"A1"}}"#;
        assert_eq!(parse(hello).unwrap(), Inbound::Hello { num_connections: Some(2) });
        let warn = r#"{"type":"disconnect","reason":"warning","debug_info":{"host":"applink-1"}}"#;
        assert_eq!(parse(warn).unwrap(), Inbound::Disconnect(DisconnectReason::Warning));
        let off = r#"{"type":"disconnect","reason":"link_disabled"}"#;
        assert_eq!(parse(off).unwrap(), Inbound::Disconnect(DisconnectReason::LinkDisabled));
        let env = r#"{"envelope_id":"57d6a792","payload":{"command":"/pulser"},"type":"slash_commands","accepts_response_payload":true,"retry_attempt":1,"retry_reason":"timeout"}"#;
        let Inbound::Envelope(e) = parse(env).unwrap() else { panic!() };
        assert_eq!(e.envelope_id, "57d6a792");
        assert_eq!(e.kind, "slash_commands");
        assert_eq!(e.payload["command"], "/pulser");
        assert!(e.accepts_response_payload);
        assert_eq!((e.retry_attempt, e.retry_reason.as_str()), (1, "timeout"));
        let minimal = r#"{"envelope_id":"x","type":"events_api"}"#;
        let Inbound::Envelope(e) = parse(minimal).unwrap() else { panic!() };
        assert!(!e.accepts_response_payload && e.retry_attempt == 0 && e.payload.is_null());
        assert!(parse("not json").is_err());
        assert!(parse(r#"{"envelope_id":"x"}"#).is_err());
        assert_eq!(parse(r#"{"type":"pong"}"#).unwrap(), Inbound::Unknown { kind: Some("pong".into()) });
    }

    #[test]
    fn acks_carry_the_id_and_the_payload() {
        let a: Value = serde_json::from_str(&ack("E1", None)).unwrap();
        assert_eq!(a, json!({"envelope_id": "E1"}));
        let a: Value = serde_json::from_str(&ack("E1", Some(&json!({"text": "hi"})))).unwrap();
        assert_eq!(a, json!({"envelope_id": "E1", "payload": {"text": "hi"}}));
    }

    #[test]
    fn redaction_drops_the_ticket() {
        assert_eq!(redact_url("wss://wss-primary.slack.com/link/?ticket=abc-123&app_id=A1"), "wss://wss-primary.slack.com/link/");
        assert_eq!(redact_url("ws://127.0.0.1:5/link?ticket=7"), "ws://127.0.0.1:5/link");
        assert_eq!(redact_url("wss://user:pw@host/x"), "wss://host/x");
        assert_eq!(redact_url("garbage?ticket=1"), "<url>");
    }
}
