//! Helpers shared by the adapter tests.

use std::sync::Once;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification};
use aws_sdk_sqs::types::QueueAttributeName;
use pulse_aws::sqs::{Queue, ReceivedMessage};
use pulse_contracts::Envelope;
use serde_json::Value;

/// Log to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("RUST_LOG").is_some() {
            let _ =
                tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_test_writer().try_init();
        }
    });
}

/// A fresh envelope of `event_type` version `version`.
pub fn envelope(event_type: &str, version: u32, detail: Value) -> Envelope {
    let id = uuid::Uuid::new_v4();
    Envelope {
        id,
        event_type: event_type.to_owned(),
        version,
        occurred_at: chrono::Utc::now(),
        source: "pulse.tests".to_owned(),
        dedup_key: format!("test:{id}"),
        detail,
    }
}

/// Create a table keyed by `pk` (S) with TTL on `expires_at`, as the infra-reconciler does for
/// idempotency tables.
pub async fn create_key_table(client: &aws_sdk_dynamodb::Client, table: &str) {
    client
        .create_table()
        .table_name(table)
        .attribute_definitions(AttributeDefinition::builder().attribute_name("pk").attribute_type(ScalarAttributeType::S).build().unwrap())
        .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().unwrap())
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(TimeToLiveSpecification::builder().attribute_name("expires_at").enabled(true).build().unwrap())
        .send()
        .await
        .expect("enable TTL");
}

/// Create a queue with attributes; returns its URL and ARN.
pub async fn create_queue(client: &aws_sdk_sqs::Client, name: &str, attributes: &[(QueueAttributeName, String)]) -> (String, String) {
    let mut request = client.create_queue().queue_name(name);
    for (k, v) in attributes {
        request = request.attributes(k.clone(), v);
    }
    let url = request.send().await.expect("create queue").queue_url.expect("queue url");
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .expect("queue arn");
    (url, arn)
}

/// Receive (and delete) until `want` messages arrived or `timeout` passed.
pub async fn drain(queue: &Queue, want: usize, timeout: Duration) -> Vec<ReceivedMessage> {
    let deadline = Instant::now() + timeout;
    let mut all = Vec::new();
    while all.len() < want && Instant::now() < deadline {
        let batch = queue.receive(10, 1).await.expect("receive");
        if !batch.is_empty() {
            let handles: Vec<String> = batch.iter().map(|m| m.receipt_handle.clone()).collect();
            queue.delete_batch(&handles).await.expect("delete");
            all.extend(batch);
        }
    }
    all
}
