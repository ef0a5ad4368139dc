//! The `/pulser deploy` confirmation modal's submission, read into a deploy request (pure).
//!
//! Ingress opens the modal (`callback_id` [`DEPLOY_CALLBACK_ID`]) with `private_metadata`
//! `{"service": ..., "channel_id": ...}` and an optional multi-select of resource kinds at
//! `values[deploy_only][only_kinds]`; the notifier turns the submission into
//! `deploy.requested`.

use serde::Deserialize;
use serde_json::{Map, Value};

pub const DEPLOY_CALLBACK_ID: &str = "deploy_confirm";
const ONLY_BLOCK_ID: &str = "deploy_only";
const ONLY_ACTION_ID: &str = "only_kinds";

/// What a confirmed deploy asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedDeploy {
    pub service: String,
    pub channel_id: Option<String>,
    pub only: Vec<String>,
}

#[derive(Deserialize)]
struct Metadata {
    service: String,
    #[serde(default)]
    channel_id: Option<String>,
}

/// `None` when the submission is not the deploy modal's; `Err` when it is but unreadable.
pub fn confirmed_deploy(callback_id: &str, private_metadata: &str, values: &Map<String, Value>) -> Option<Result<ConfirmedDeploy, String>> {
    if callback_id != DEPLOY_CALLBACK_ID {
        return None;
    }
    let metadata: Metadata = match serde_json::from_str(private_metadata) {
        Ok(m) => m,
        Err(e) => return Some(Err(format!("deploy modal private_metadata is not the expected JSON: {e}"))),
    };
    if metadata.service.trim().is_empty() {
        return Some(Err("deploy modal names no service".into()));
    }
    let only = values
        .get(ONLY_BLOCK_ID)
        .and_then(|b| b.get(ONLY_ACTION_ID))
        .and_then(|a| a.get("selected_options"))
        .and_then(Value::as_array)
        .map(|opts| opts.iter().filter_map(|o| o.get("value").and_then(Value::as_str)).map(str::to_owned).collect())
        .unwrap_or_default();
    Some(Ok(ConfirmedDeploy { service: metadata.service, channel_id: metadata.channel_id.filter(|c| !c.is_empty()), only }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_service_channel_and_kinds() {
        let values = json!({"deploy_only": {"only_kinds": {"type": "multi_static_select", "selected_options": [{"value": "Lambda"}, {"value": "Queue"}]}}});
        let got = confirmed_deploy("deploy_confirm", r#"{"service":"notifier","channel_id":"C1"}"#, values.as_object().unwrap());
        assert_eq!(
            got,
            Some(Ok(ConfirmedDeploy {
                service: "notifier".into(),
                channel_id: Some("C1".into()),
                only: vec!["Lambda".into(), "Queue".into()]
            }))
        );
        let none = confirmed_deploy("deploy_confirm", r#"{"service":"x"}"#, &Map::new()).unwrap().unwrap();
        assert!(none.only.is_empty() && none.channel_id.is_none());
        assert_eq!(confirmed_deploy("other", "", &Map::new()), None);
        assert!(confirmed_deploy("deploy_confirm", "", &Map::new()).unwrap().is_err());
    }
}
