//! `Queue`: a standard SQS queue, optionally with a redrive policy to a dead-letter queue that is
//! declared as its own `Queue`.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApplyInput, Resource, check_name};
use crate::clients::{Clients, Context};
use crate::error::{Error, Result, error_is};
use crate::model::{Change, Kind, Properties, ResourceId};

/// The error codes SQS answers for a queue that does not exist (JSON and query protocols).
pub(crate) const QUEUE_MISSING: [&str; 2] = ["QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    pub name: String,
    /// `VisibilityTimeout`, 0–43200 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_timeout_seconds: Option<u32>,
    /// `MessageRetentionPeriod`, 60–1209600 s (14 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_retention_seconds: Option<u32>,
    /// `ReceiveMessageWaitTimeSeconds` (long polling), 0–20 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive_wait_time_seconds: Option<u32>,
    /// `DelaySeconds`, 0–900 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<u32>,
    /// `RedrivePolicy`: where messages go after `max_receive_count` receives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<DeadLetterSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterSpec {
    /// The name of a `Queue` declared in the same stack.
    pub queue: String,
    pub max_receive_count: u32,
}

impl QueueSpec {
    fn attributes(&self, cx: &Context) -> Vec<(&'static str, Value)> {
        let mut attrs = Vec::new();
        let mut put = |name: &'static str, v: Option<u32>| {
            if let Some(v) = v {
                attrs.push((name, json!(v)));
            }
        };
        put("VisibilityTimeout", self.visibility_timeout_seconds);
        put("MessageRetentionPeriod", self.message_retention_seconds);
        put("ReceiveMessageWaitTimeSeconds", self.receive_wait_time_seconds);
        put("DelaySeconds", self.delay_seconds);
        if let Some(dl) = &self.dead_letter {
            attrs.push(("RedrivePolicy", json!({"deadLetterTargetArn": cx.sqs_arn(&dl.queue), "maxReceiveCount": dl.max_receive_count})));
        }
        attrs
    }
}

/// An SQS attribute value as the API takes it: numbers as decimal text, documents as compact JSON.
pub(crate) fn attribute_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The policy text as the queue holds it (observed properties are normalised to JSON values).
fn raw_policy(policy: &Value) -> Value {
    match policy {
        Value::String(s) => Value::String(s.clone()),
        Value::Null => Value::Null,
        doc => Value::String(doc.to_string()),
    }
}

pub(crate) async fn queue_url(clients: &Clients, id: &ResourceId, queue: &str) -> Result<Option<String>> {
    match clients.sqs.get_queue_url().queue_name(queue).send().await {
        Ok(out) => Ok(out.queue_url().map(str::to_owned)),
        Err(err) if error_is(&err, &QUEUE_MISSING) => Ok(None),
        Err(err) => Err(Error::aws(id, "sqs:GetQueueUrl", err)),
    }
}

#[async_trait]
impl Resource for QueueSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::Queue, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        self.dead_letter.iter().map(|dl| ResourceId::new(Kind::Queue, &dl.queue)).collect()
    }

    fn validate(&self) -> std::result::Result<(), String> {
        check_name("queue", &self.name, 1..=80, |c| c.is_ascii_alphanumeric() || "-_".contains(c), "A-Z a-z 0-9 - _")?;
        let ranges = [
            ("visibility_timeout_seconds", self.visibility_timeout_seconds, 0..=43_200),
            ("message_retention_seconds", self.message_retention_seconds, 60..=1_209_600),
            ("receive_wait_time_seconds", self.receive_wait_time_seconds, 0..=20),
            ("delay_seconds", self.delay_seconds, 0..=900),
        ];
        for (field, value, range) in ranges {
            if let Some(v) = value
                && !range.contains(&v)
            {
                return Err(format!("{field} {v} is outside {}..={}", range.start(), range.end()));
            }
        }
        if let Some(dl) = &self.dead_letter {
            if !(1..=1000).contains(&dl.max_receive_count) {
                return Err(format!("dead_letter.max_receive_count {} is outside 1..=1000", dl.max_receive_count));
            }
            if dl.queue == self.name {
                return Err("a queue cannot be its own dead-letter queue".into());
            }
        }
        Ok(())
    }

    fn desired(&self, cx: &Context) -> Properties {
        self.attributes(cx).into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    async fn observe(&self, clients: &Clients, _cx: &Context) -> Result<Option<Properties>> {
        let id = self.id();
        let Some(url) = queue_url(clients, &id, &self.name).await? else {
            return Ok(None);
        };
        let out = clients
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(|e| Error::aws(&id, "sqs:GetQueueAttributes", e))?;
        let mut props: Properties =
            out.attributes().into_iter().flatten().map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone()))).collect();
        props.insert("QueueUrl".into(), Value::String(url));
        Ok(Some(props))
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        let id = self.id();
        match input.change {
            Change::Create => {
                let attributes: HashMap<QueueAttributeName, String> =
                    input.desired.iter().map(|(k, v)| (QueueAttributeName::from(k.as_str()), attribute_text(v))).collect();
                clients
                    .sqs
                    .create_queue()
                    .queue_name(&self.name)
                    .set_attributes((!attributes.is_empty()).then_some(attributes))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&id, "sqs:CreateQueue", e))?;
            }
            Change::Update { fields } => {
                let url = match input.observed.and_then(|o| o.get("QueueUrl")).and_then(Value::as_str) {
                    Some(url) => url.to_owned(),
                    None => queue_url(clients, &id, &self.name)
                        .await?
                        .ok_or_else(|| Error::resource(&id, "the queue disappeared since the plan"))?,
                };
                let mut request = clients.sqs.set_queue_attributes().queue_url(url);
                for field in fields {
                    let value = input.desired.get(&field.field).unwrap_or(&field.to);
                    request = request.attributes(QueueAttributeName::from(field.field.as_str()), attribute_text(value));
                }
                // Resend the queue's current access policy with the change: AWS keeps attributes
                // a call leaves out, but moto drops the policy on any SetQueueAttributes without
                // it. Same call count; on AWS it rewrites the policy with itself.
                if let Some(Value::String(policy)) = input.observed.and_then(|o| o.get("Policy")).map(raw_policy) {
                    request = request.attributes(QueueAttributeName::Policy, policy);
                }
                request.send().await.map_err(|e| Error::aws(&id, "sqs:SetQueueAttributes", e))?;
            }
            Change::NoChange => {}
        }
        Ok(())
    }
}
