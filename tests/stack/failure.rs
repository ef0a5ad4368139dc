//! A failing apply stops at the failure and says what it already changed.

use pulse_infra_reconciler::{Change, Clients, Error, Kind, LoadOptions, PlanOptions, ResourceId, StackConfig, apply, plan};
use serde_json::json;

#[tokio::test]
async fn apply_stops_at_the_first_failure_and_reports_what_changed() {
    let config = pulse_tests::emulator_config().await;
    let prefix = pulse_tests::unique("t");
    let stack_text = json!({
        "resources": [
            {"kind": "Queue", "name": "${prefix}-first"},
            {"kind": "Table", "name": "${prefix}-clash", "partition_key": {"name": "pk", "type": "S"}},
            {"kind": "Queue", "name": "${prefix}-never"}
        ]
    });
    let stack = StackConfig::parse(&stack_text.to_string(), "test", &LoadOptions::new(&prefix)).unwrap();
    let clients = Clients::new(&config);
    let plan = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    assert!(plan.entries.iter().all(|e| e.change == Change::Create));

    // Someone creates the table between plan and apply.
    aws_sdk_dynamodb::Client::new(&config)
        .create_table()
        .table_name(format!("{prefix}-clash"))
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let mut lines = Vec::new();
    let err = apply(&plan, &clients, |p| lines.push(p.to_string())).await.unwrap_err();
    let table = ResourceId::new(Kind::Table, format!("{prefix}-clash"));
    assert_eq!(err.failed, table);
    assert_eq!(err.report.created, [ResourceId::new(Kind::Queue, format!("{prefix}-first"))]);
    assert_eq!(err.report.not_attempted, [ResourceId::new(Kind::Queue, format!("{prefix}-never"))]);
    let Error::Aws { operation, code, .. } = &err.error else { panic!("{err}") };
    assert_eq!(*operation, "dynamodb:CreateTable");
    assert_eq!(code.as_deref(), Some("ResourceInUseException"));
    let text = err.to_string();
    assert!(text.contains(&format!("Table {prefix}-clash: dynamodb:CreateTable failed")), "{text}");
    assert!(text.contains(&format!("Already changed (1): Queue {prefix}-first")), "{text}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].contains("FAILED") && lines[1].contains("ResourceInUse"), "{lines:?}");
}
