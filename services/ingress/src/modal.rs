//! The `/pulser deploy <service>` confirmation modal.
//!
//! Ingress opens it itself (`views.open`) because a command's `trigger_id` expires 3 seconds
//! after the command. Submitting it sends a `view_submission` with `callback_id`
//! [`DEPLOY_CALLBACK_ID`], which ingress publishes as `slack.interaction`; the notifier turns it
//! into `deploy.requested`, reading the service and channel from `private_metadata` and the
//! optional resource kinds from `state.values[`[`ONLY_BLOCK_ID`]`][`[`ONLY_ACTION_ID`]`]`.
//! Closing it ("Cancel") sends nothing (`notify_on_close` is not set).

use serde_json::{Value, json};

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

fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": text})
}

/// The `private_metadata` of the modal: where the request came from.
pub fn private_metadata(service: &str, channel_id: &str) -> String {
    json!({"service": service, "channel_id": channel_id}).to_string()
}

/// The confirmation modal for deploying `service`, asked for in `channel_id`.
pub fn deploy_modal(service: &str, channel_id: &str) -> Value {
    let options: Vec<Value> = RESOURCE_KINDS.iter().map(|k| json!({"text": plain(k), "value": k})).collect();
    json!({
        "type": "modal",
        "callback_id": DEPLOY_CALLBACK_ID,
        "title": plain("Confirm deploy"),
        "submit": plain("Deploy"),
        "close": plain("Cancel"),
        "private_metadata": private_metadata(service, channel_id),
        "blocks": [
            {
                "type": "section",
                "block_id": "deploy_summary",
                "text": {
                    "type": "mrkdwn",
                    "text": format!(
                        "Deploy *{service}*?\nPulse reconciles its infrastructure and reports progress in <#{channel_id}>."
                    ),
                },
            },
            {
                "type": "input",
                "block_id": ONLY_BLOCK_ID,
                "optional": true,
                "label": plain("Only these resource kinds"),
                "hint": plain("Leave empty to reconcile everything."),
                "element": {
                    "type": "multi_static_select",
                    "action_id": ONLY_ACTION_ID,
                    "placeholder": plain("All kinds"),
                    "options": options,
                },
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_modal_carries_service_channel_and_callback() {
        let view = deploy_modal("api", "C0OPSDEPLOY");
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
