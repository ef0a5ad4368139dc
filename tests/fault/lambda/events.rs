//! The events AWS hands a function, written from AWS's documented shapes: an SQS batch as the
//! event source mapping delivers it (built from messages really received from the stack's queue
//! on moto, so their receipt handles work), and the scheduled event EventBridge fires, turned
//! into a queue message by the stack's own input transformer.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::{Map, Value, json};

use crate::harness::Scene;

/// An SQS batch as Lambda's event source mapping delivers it. The harness does not play the
/// mapping's other part (deleting the records a response does not list): a test asserts the
/// response itself.
pub struct SqsBatch {
    /// `{"Records": [...]}`.
    pub event: Value,
    /// Each record's `(messageId, body)`, in order.
    pub messages: Vec<(String, String)>,
}

impl SqsBatch {
    /// The message id of the record whose body contains `text`.
    pub fn id_of(&self, text: &str) -> String {
        let found = self.messages.iter().find(|(_, body)| body.contains(text));
        found.unwrap_or_else(|| panic!("no record's body contains {text:?}")).0.clone()
    }
}

/// Receive `count` messages from `service`'s queue as Lambda's poller does (the queue's own
/// visibility timeout, every attribute) and shape them into the `SqsEvent` Lambda sends.
pub async fn sqs_batch(scene: &Scene, service: &str, count: usize) -> SqsBatch {
    let queue = scene.queue(&scene.names.queue(service)).await;
    let client = queue.client();
    let attributes = client
        .get_queue_attributes()
        .queue_url(queue.url())
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("the queue's attributes")
        .attributes
        .unwrap_or_default();
    let arn = attributes.get(&QueueAttributeName::QueueArn).cloned().expect("the queue's ARN");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut records = Vec::new();
    let mut messages = Vec::new();
    while messages.len() < count {
        assert!(Instant::now() < deadline, "only {} of {count} messages reached {service}'s queue", messages.len());
        let received = client
            .receive_message()
            .queue_url(queue.url())
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive from the queue");
        for message in received.messages.unwrap_or_default() {
            let system: Map<String, Value> =
                message.attributes().into_iter().flatten().map(|(k, v)| (k.as_str().to_owned(), json!(v))).collect();
            let custom: Map<String, Value> = message
                .message_attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    let shape =
                        json!({"stringValue": v.string_value(), "stringListValues": [], "binaryListValues": [], "dataType": v.data_type()});
                    (k.clone(), shape)
                })
                .collect();
            let (id, body) = (message.message_id().unwrap_or_default(), message.body().unwrap_or_default());
            records.push(json!({
                "messageId": id,
                "receiptHandle": message.receipt_handle(),
                "body": body,
                "attributes": system,
                "messageAttributes": custom,
                "md5OfBody": message.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }));
            messages.push((id.to_owned(), body.to_owned()));
        }
    }
    SqsBatch { event: json!({ "Records": records }), messages }
}

/// The scheduled event EventBridge fires for a rule named `rule` at `time` (RFC 3339), as AWS
/// documents it ("Scheduled Event", source `aws.events`, empty detail).
pub fn scheduled_event(rule: &str, time: &str) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time,
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/{rule}")],
        "detail": {},
    })
}

/// The message the stack's `Schedule` resource named `name` (e.g. `${prefix}-digest-daily` in
/// `infra/pulse-stack.json`) puts in its queue when `event` fires: its input transformer
/// applied as EventBridge applies one (each `<var>` replaced by the value at its JSON path; the
/// template's placeholders sit inside quotes, so strings are inserted raw).
pub fn transformed(name: &str, event: &Value) -> String {
    let stack: Value = serde_json::from_str(include_str!("../../../infra/pulse-stack.json")).expect("the stack is JSON");
    let resource = stack["resources"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["kind"] == "Schedule" && r["name"] == name))
        .unwrap_or_else(|| panic!("no Schedule {name} in infra/pulse-stack.json"));
    let transformer = &resource["targets"][0]["input_transformer"];
    let mut text = transformer["input_template"].to_string();
    for (var, path) in transformer["input_paths"].as_object().expect("input_paths") {
        let field = path.as_str().and_then(|p| p.strip_prefix("$.")).expect("a top-level JSON path");
        let value = event[field].as_str().unwrap_or_else(|| panic!("the event has no {field}"));
        text = text.replace(&format!("<{var}>"), value);
    }
    text
}
