//! `QueuePolicy`: the SQS access policy that lets EventBridge deliver to a queue.
//!
//! It grants `sqs:SendMessage` to `events.amazonaws.com`, limited (`aws:SourceArn`) to exactly the
//! stack's rules and schedules that target the queue. The loader fills in those senders from the
//! stack, so adding a target to a rule widens the policy by itself.

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::queue::queue_url;
use super::{ApplyInput, Resource};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result};
use crate::model::{Kind, Properties, ResourceId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueuePolicySpec {
    /// The name of the `Queue` (declared in the same stack) the policy is attached to.
    pub name: String,
    /// The rules allowed to send, filled in by the loader from the stack's rules and schedules.
    #[serde(skip_deserializing, default)]
    pub senders: Vec<RuleRef>,
}

/// A rule on a bus.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RuleRef {
    pub bus: String,
    pub rule: String,
}

impl QueuePolicySpec {
    /// The policy document.
    pub fn document(&self, cx: &Context) -> Value {
        let mut sources: Vec<String> = self.senders.iter().map(|s| cx.rule_arn(&s.bus, &s.rule)).collect();
        sources.sort();
        sources.dedup();
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "AllowStackRules",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": cx.sqs_arn(&self.name),
                "Condition": {"ArnEquals": {"aws:SourceArn": sources}},
            }],
        })
    }
}

#[async_trait]
impl Resource for QueuePolicySpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::QueuePolicy, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        vec![ResourceId::new(Kind::Queue, &self.name)]
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.senders.is_empty() {
            return Err(format!("QueuePolicy {} grants nothing: no Rule or Schedule in the stack targets queue {}", self.name, self.name));
        }
        Ok(())
    }

    fn desired(&self, cx: &Context) -> Properties {
        Properties::from([("Policy".to_owned(), self.document(cx))])
    }

    /// Absent when the queue is absent or has no policy.
    async fn observe(&self, clients: &Clients, _cx: &Context) -> Result<Option<Properties>> {
        let id = self.id();
        let Some(url) = queue_url(clients, &id, &self.name).await? else {
            return Ok(None);
        };
        let out = clients
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::Policy)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "sqs:GetQueueAttributes", e))?;
        let policy = out.attributes().and_then(|a| a.get(&QueueAttributeName::Policy)).filter(|p| !p.is_empty());
        Ok(policy.map(|policy| {
            Properties::from([("Policy".to_owned(), Value::String(policy.clone())), ("QueueUrl".to_owned(), Value::String(url))])
        }))
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        if input.change.is_no_change() {
            return Ok(());
        }
        let id = self.id();
        let url = match input.observed.and_then(|o| o.get("QueueUrl")).and_then(Value::as_str) {
            Some(url) => url.to_owned(),
            // Created in this run, after the plan looked.
            None => queue_url(clients, &id, &self.name)
                .await?
                .ok_or_else(|| Error::resource(&id, format!("queue {} does not exist; deploy the Queue first", self.name)))?,
        };
        let policy = input.desired.get("Policy").map(Value::to_string).unwrap_or_default();
        clients
            .sqs
            .set_queue_attributes()
            .queue_url(url)
            .attributes(QueueAttributeName::Policy, policy)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "sqs:SetQueueAttributes", e))?;
        Ok(())
    }
}
