//! `feed.written` v1: someone other than the feed-projector may have written a feed object in S3.
//!
//! praktika's runner writes each commit author's feed itself (`EventFeed.to_s3`) and then tells
//! its Slack worker `{"action": "update", "emails": [...]}`. Pulse learns of such a write two ways,
//! and both become this one event so the feed-projector has one handler:
//! - [`LearnedFrom::WorkerUpdate`]: the `praktika-compat` Lambda, deployed under the worker's name,
//!   received `update` (it knows the email; no ETag or sequencer);
//! - [`LearnedFrom::S3Notification`]: S3's `Object Created` notification for the feed bucket
//!   reached the feed-projector's queue through EventBridge's default bus (it knows the ETag and
//!   sequencer; the email is read back from the key). Parsed from the foreign S3 event by
//!   `pulse_contracts::from_sqs_body`, see [`crate::foreign`].
//!
//! The feed-projector reads the object; if Pulse wrote it, it does nothing (Pulse announced its
//! own write already), otherwise it announces the feed's newest event as `feed.updated` with the
//! change `external_write`.

use serde::{Deserialize, Serialize};

use crate::types::Email;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedWritten {
    pub bucket: String,
    /// S3 key of the feed object (praktika's `{prefix}/events/{name}.json.gz`).
    pub key: String,
    /// Whose feed it is, when the announcer knew (praktika's `update` names it); otherwise the
    /// feed-projector reads it back from the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    pub learned_from: LearnedFrom,
    /// The ETag of the version written, when known (S3 notifications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// S3's ordering token for writes to one key, when known (S3 notifications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
}

/// How Pulse heard about the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LearnedFrom {
    /// praktika's runner invoked its Slack worker with `update` (Pulse's `praktika-compat`).
    WorkerUpdate,
    /// S3 sent `Object Created` for the key through EventBridge.
    S3Notification,
}

impl LearnedFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            LearnedFrom::WorkerUpdate => "worker_update",
            LearnedFrom::S3Notification => "s3_notification",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn optional_fields_are_omitted_and_read_back() {
        let written = FeedWritten {
            bucket: "b".into(),
            key: "p/events/a_at_x.io.json.gz".into(),
            email: Some(Email::parse("a@x.io").unwrap()),
            learned_from: LearnedFrom::WorkerUpdate,
            etag: None,
            sequencer: None,
        };
        let wire = serde_json::to_value(&written).unwrap();
        assert_eq!(wire, json!({"bucket": "b", "key": "p/events/a_at_x.io.json.gz", "email": "a@x.io", "learned_from": "worker_update"}));
        assert_eq!(serde_json::from_value::<FeedWritten>(wire).unwrap(), written);
        assert_eq!(LearnedFrom::S3Notification.as_str(), "s3_notification");
    }
}
