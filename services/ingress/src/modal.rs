//! The `/pulser deploy <service>` confirmation modal.
//!
//! Ingress opens it itself (`views.open`) because a command's `trigger_id` expires 3 seconds
//! after the command. Submitting it sends a `view_submission` with `callback_id`
//! [`DEPLOY_CALLBACK_ID`], which ingress publishes as `slack.interaction`; the notifier turns it
//! into `deploy.requested`, reading the service and channel from `private_metadata` and the
//! optional resource kinds from `state.values[`[`ONLY_BLOCK_ID`]`][`[`ONLY_ACTION_ID`]`]`.
//! Closing it ("Cancel") sends nothing (`notify_on_close` is not set).

use pulse_slack::blocks::{Block, Input, Modal, MultiStaticSelect, SelectOption, View};
use serde_json::json;

/// The modal's `callback_id`.
pub const DEPLOY_CALLBACK_ID: &str = "deploy_confirm";
/// The input block limiting the deploy to some resource kinds.
pub const ONLY_BLOCK_ID: &str = "deploy_only";
/// The multi-select in [`ONLY_BLOCK_ID`].
pub const ONLY_ACTION_ID: &str = "only_kinds";

/// Resource kinds a deploy may be limited to (`pulse infra deploy --only`): the CI fleet's kinds
/// in praktika's deploy order, then those of Pulse's own stack.
pub const RESOURCE_KINDS: [&str; 13] = [
    "DedicatedHost",
    "IAMInstanceProfile",
    "EC2Instance",
    "ImageBuilder",
    "LaunchTemplate",
    "AutoScalingGroup",
    "Lambda",
    "EventBus",
    "Queue",
    "Rule",
    "Schedule",
    "Table",
    "Bucket",
];

/// The `private_metadata` of the modal: where the request came from.
pub fn private_metadata(service: &str, channel_id: &str) -> String {
    json!({"service": service, "channel_id": channel_id}).to_string()
}

/// The confirmation modal for deploying `service`, asked for in `channel_id`.
pub fn deploy_modal(service: &str, channel_id: &str) -> View {
    let summary = format!("Deploy *{service}*?\nPulse reconciles its infrastructure and reports progress in <#{channel_id}>.");
    let kinds = MultiStaticSelect::new(ONLY_ACTION_ID, RESOURCE_KINDS.iter().map(|&k| SelectOption::new(k, k))).placeholder("All kinds");
    let only = Input::new("Only these resource kinds", kinds).hint("Leave empty to reconcile everything.").optional();
    View::modal(Modal {
        title: "Confirm deploy".into(),
        submit: Some("Deploy".into()),
        close: Some("Cancel".into()),
        callback_id: Some(DEPLOY_CALLBACK_ID.into()),
        private_metadata: Some(private_metadata(service, channel_id)),
        blocks: vec![Block::section(summary).block_id("deploy_summary"), Block::from(only).block_id(ONLY_BLOCK_ID)],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn deploy_modal_carries_service_channel_and_callback() {
        let view = deploy_modal("api", "C0OPSDEPLOY").to_json();
        assert_eq!(view["type"], "modal");
        assert_eq!(view["callback_id"], DEPLOY_CALLBACK_ID);
        let meta: Value = serde_json::from_str(view["private_metadata"].as_str().unwrap()).unwrap();
        assert_eq!(meta, json!({"service": "api", "channel_id": "C0OPSDEPLOY"}));
        assert!(view["blocks"][0]["text"]["text"].as_str().unwrap().contains("*api*"));
        assert_eq!(view["blocks"][1]["block_id"], ONLY_BLOCK_ID);
        assert_eq!(view["blocks"][1]["element"]["action_id"], ONLY_ACTION_ID);
        assert_eq!(view["blocks"][1]["element"]["options"].as_array().unwrap().len(), RESOURCE_KINDS.len());
        // Slack's limits: a modal title is at most 24 characters, buttons at most 24.
        for field in ["title", "submit", "close"] {
            assert!(view[field]["text"].as_str().unwrap().chars().count() <= 24, "{field}");
        }
    }
}
