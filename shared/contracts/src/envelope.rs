//! The common envelope every Pulse event travels in.
//!
//! On the wire an event is one JSON document: `id`, `type`, `version`, `occurred_at`, `source`,
//! `dedup_key` and a type-specific `detail`. On EventBridge the whole envelope is the entry's
//! `Detail` and the entry's `detail-type` is `<type>.v<version>`, so rules can route on type and
//! version without parsing the body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An event as it travels: the envelope fields plus a `detail` of type `D`.
///
/// `D` is `serde_json::Value` at the edges (before the type is known) and a typed payload inside
/// the services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<D = serde_json::Value> {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub version: u32,
    pub occurred_at: DateTime<Utc>,
    pub source: String,
    pub dedup_key: String,
    pub detail: D,
}

impl<D> Envelope<D> {
    /// The EventBridge `detail-type` for this event: `<type>.v<version>`.
    pub fn detail_type(&self) -> String {
        detail_type(&self.event_type, self.version)
    }
}

impl<D: Serialize> Envelope<D> {
    /// Serialize to the wire form (the `Detail` on EventBridge, the body on SQS).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serializes")
    }

    /// Erase the detail type, for code that moves envelopes without reading them.
    pub fn into_raw(self) -> Envelope {
        Envelope {
            detail: serde_json::to_value(&self.detail).expect("a detail always serializes"),
            id: self.id,
            event_type: self.event_type,
            version: self.version,
            occurred_at: self.occurred_at,
            source: self.source,
            dedup_key: self.dedup_key,
        }
    }
}

/// `<type>.v<version>`, the EventBridge detail-type convention.
pub fn detail_type(event_type: &str, version: u32) -> String {
    format!("{event_type}.v{version}")
}
