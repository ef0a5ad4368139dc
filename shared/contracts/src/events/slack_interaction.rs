//! `slack.interaction` v1: a Block Kit interaction ingress verified — a button click
//! (`block_actions`: ops buttons, Home tab toggles) or a modal submission (`view_submission`: the
//! deploy confirmation).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlackInteraction {
    pub team_id: String,
    pub user_id: String,
    pub user_name: String,
    pub kind: InteractionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_id: Option<String>,
}

/// What happened, tagged by `type` (Slack's own payload type names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InteractionKind {
    /// One element was clicked. Slack batches actions in a list, but buttons only ever send one,
    /// so ingress emits one event per action.
    BlockActions {
        action_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
        container: Container,
    },
    /// A modal was submitted.
    ViewSubmission {
        callback_id: String,
        view_id: String,
        /// What the opener stored in the view (Slack sends `""` when nothing was).
        private_metadata: String,
        /// The view's `state.values` as Slack sent them (block id → action id → value).
        values: Map<String, Value>,
    },
}

/// Where the clicked element lives: a message (updated in place by the notifier) or a view
/// (the Home tab, a modal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Container {
    Message { channel_id: String, message_ts: String },
    View { view_id: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn container_is_tagged_by_type() {
        let c: Container = serde_json::from_value(json!({"type": "message", "channel_id": "C1", "message_ts": "1.2"})).unwrap();
        assert_eq!(c, Container::Message { channel_id: "C1".into(), message_ts: "1.2".into() });
        let err = serde_json::from_value::<Container>(json!({"type": "message", "channel_id": "C1"})).unwrap_err();
        assert!(err.to_string().contains("missing field `message_ts`"), "{err}");
    }
}
