//! Faults the fake can be told to answer with, in Rust and on the `/_fake/faults` wire.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One injected misbehaviour. Queued per method with [`crate::FakeSlack::inject`] and
/// consumed in order, one per call.
///
/// On the control API a fault is JSON tagged by `kind`:
/// `{"kind":"rate_limited","retry_after_secs":1}`, `{"kind":"server_error","status":503}`,
/// `{"kind":"delay","ms":1500}`, `{"kind":"slack_error","error":"channel_not_found"}`,
/// `{"kind":"fail_after_effect","status":500}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "FaultWire", from = "FaultWire")]
pub enum Fault {
    /// HTTP 429 with `Retry-After: retry_after_secs` and `{"ok":false,"error":"ratelimited"}`;
    /// the call has no effect.
    RateLimited { retry_after_secs: u64 },
    /// That HTTP status (normally 5xx); the call has no effect.
    ServerError(u16),
    /// The call is applied and answered normally, but only after this long. The effect
    /// happens before the wait, so a client that times out and retries produces two effects,
    /// as it would against Slack.
    Delay(Duration),
    /// HTTP 200 with `{"ok":false,"error":<this>}`; the call has no effect.
    SlackError(String),
    /// The call is applied (the message really posted) but answered with this HTTP status:
    /// the "send succeeded, answer lost" case that exactly-once logic must survive.
    FailAfterEffect(u16),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultWire {
    RateLimited { retry_after_secs: u64 },
    ServerError { status: u16 },
    Delay { ms: u64 },
    SlackError { error: String },
    FailAfterEffect { status: u16 },
}

impl From<Fault> for FaultWire {
    fn from(fault: Fault) -> Self {
        match fault {
            Fault::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            Fault::ServerError(status) => Self::ServerError { status },
            Fault::Delay(d) => Self::Delay { ms: u64::try_from(d.as_millis()).unwrap_or(u64::MAX) },
            Fault::SlackError(error) => Self::SlackError { error },
            Fault::FailAfterEffect(status) => Self::FailAfterEffect { status },
        }
    }
}

impl From<FaultWire> for Fault {
    fn from(wire: FaultWire) -> Self {
        match wire {
            FaultWire::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            FaultWire::ServerError { status } => Self::ServerError(status),
            FaultWire::Delay { ms } => Self::Delay(Duration::from_millis(ms)),
            FaultWire::SlackError { error } => Self::SlackError(error),
            FaultWire::FailAfterEffect { status } => Self::FailAfterEffect(status),
        }
    }
}

/// The body of `POST /_fake/faults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRequest {
    /// A Web API method, `response_url`, or `*` for any.
    pub method: String,
    pub fault: Fault,
    /// How many calls it applies to; defaults to 1.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_round_trip() {
        let cases = [
            (Fault::RateLimited { retry_after_secs: 2 }, json!({"kind": "rate_limited", "retry_after_secs": 2})),
            (Fault::ServerError(503), json!({"kind": "server_error", "status": 503})),
            (Fault::Delay(Duration::from_millis(1500)), json!({"kind": "delay", "ms": 1500})),
            (Fault::SlackError("ratelimited".into()), json!({"kind": "slack_error", "error": "ratelimited"})),
            (Fault::FailAfterEffect(500), json!({"kind": "fail_after_effect", "status": 500})),
        ];
        for (fault, wire) in cases {
            assert_eq!(serde_json::to_value(&fault).unwrap(), wire);
            assert_eq!(serde_json::from_value::<Fault>(wire).unwrap(), fault);
        }
    }

    #[test]
    fn times_defaults_to_one() {
        let req: FaultRequest = serde_json::from_value(json!({"method": "*", "fault": {"kind": "server_error", "status": 500}})).unwrap();
        assert_eq!(req.times, 1);
    }
}
