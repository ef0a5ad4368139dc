//! What the fake remembers about each call it received.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One call received by the fake, faulted ones included, in arrival order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedCall {
    /// The Web API method (`chat.postMessage`), or `response_url` for posts to a response URL.
    pub method: String,
    /// The arguments as JSON, whether they came as JSON or form-encoded (form values holding
    /// JSON, such as `blocks` or `view`, are parsed). A `token` argument is moved to `token`.
    pub body: Value,
    /// The token presented (`Authorization: Bearer` or a `token` argument).
    pub token: Option<String>,
    /// Arrival time; milliseconds since the Unix epoch on the wire (`at_ms`).
    #[serde(rename = "at_ms", with = "epoch_millis")]
    pub at: SystemTime,
    /// `body.channel`, when present.
    pub channel: Option<String>,
    /// `body.user`, `body.user_id` or `body.users`, when present.
    pub user: Option<String>,
    /// `body.ts` (the message a `chat.update` targets), when present.
    pub ts: Option<String>,
    /// `body.thread_ts`, when present.
    pub thread_ts: Option<String>,
    /// For `response_url` posts: the id in [`crate::FakeSlack::response_url`].
    pub response_id: Option<String>,
    /// The HTTP status the fake answered with.
    pub status: u16,
    /// The Slack `error` the fake answered with, if it answered `ok:false`.
    pub error: Option<String>,
}

impl RecordedCall {
    pub(crate) fn new(method: &str, body: Value, token: Option<String>) -> Self {
        let field = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        let user = field("user").or_else(|| field("user_id")).or_else(|| field("users"));
        Self {
            method: method.to_owned(),
            channel: field("channel"),
            ts: field("ts"),
            thread_ts: field("thread_ts"),
            user,
            body,
            token,
            at: SystemTime::now(),
            response_id: None,
            status: 200,
            error: None,
        }
    }

    /// Whether the fake answered `ok:true` with HTTP 200.
    pub fn succeeded(&self) -> bool {
        self.status == 200 && self.error.is_none()
    }
}

mod epoch_millis {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let ms = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        s.serialize_u64(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let ms = u64::deserialize(d)?;
        Ok(UNIX_EPOCH + Duration::from_millis(ms))
    }
}
