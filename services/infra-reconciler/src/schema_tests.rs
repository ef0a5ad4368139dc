//! `infra/stack.schema.json` (the JSON Schema editors use for stack files) against the loader:
//! Pulse's stack, every example and the local stack's deployment validate and load, every kind
//! has a definition, and mistakes the loader rejects are rejected by the schema too.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::config::{LoadOptions, StackConfig};
use crate::model::Kind;

fn infra_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra")
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn schema() -> Value {
    read(&infra_dir().join("stack.schema.json"))
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema()).expect("the schema compiles as draft 2020-12")
}

fn errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

/// The stack files the schema must accept: Pulse's own, every example, and the local stack's
/// deployment (`PULSE_DEPLOY_CONFIG` in `localstack/up`).
fn stack_files() -> Vec<PathBuf> {
    let mut files = vec![infra_dir().join("pulse-stack.json")];
    let mut examples: Vec<PathBuf> = std::fs::read_dir(infra_dir().join("examples"))
        .expect("infra/examples exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    examples.sort();
    assert!(!examples.is_empty());
    files.extend(examples);
    files.push(infra_dir().join("../localstack/demo-deployment.json"));
    files
}

#[test]
fn the_schema_is_draft_2020_12() {
    let schema = schema();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert!(jsonschema::meta::is_valid(&schema), "the schema is valid against its metaschema");
}

#[test]
fn every_stack_file_validates_and_loads() {
    let validator = validator();
    for path in stack_files() {
        let doc = read(&path);
        let errs = errors(&validator, &doc);
        assert!(errs.is_empty(), "{}: {errs:#?}", path.display());
        StackConfig::load(&path, &LoadOptions::new("schema-test"))
            .unwrap_or_else(|e| panic!("{} validates but does not load: {e}", path.display()));
    }
}

#[test]
fn every_kind_has_a_definition() {
    let schema = schema();
    let listed: Vec<&str> = schema["$defs"]["resource"]["properties"]["kind"]["enum"]
        .as_array()
        .expect("the resource kind enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for kind in Kind::ALL {
        let def = &schema["$defs"][kind.as_str()];
        assert!(def.is_object(), "no $defs/{kind} in infra/stack.schema.json");
        assert!(listed.contains(&kind.as_str()), "{kind} is missing from the kind enum");
    }
}

#[test]
fn mistakes_the_loader_rejects_are_rejected_by_the_schema() {
    let validator = validator();
    let ok = json!({"$schema": "./stack.schema.json", "// why": "comments are fine", "resources": [
        {"kind": "DedicatedHost", "name": "pool", "instance_type": "mac2.metal", "auto_placement": "on",
         "availability_zones": ["us-east-1a"], "// note": "here too", "depends_on": [{"kind": "Queue", "name": "q"}]},
        {"kind": "AutoScalingGroup", "name": "g", "vpc_name": "ci-cd", "launch_template_name": "lt", "desired_capacity": null},
        {"kind": "Lambda", "name": "f", "path": "f.zip", "role": "r", "asynchronous": {"on_failure_queue": "q", "maximum_retry_attempts": 0}},
        {"kind": "BucketNotifications", "name": "${var.bucket}"},
        {"kind": "Lambda", "name": "g", "path": "g.zip", "role": "r", "reserved_concurrency": 0, "tracing": "Active"},
        {"kind": "Alarm", "name": "a", "watch": {"queue": "q"}, "metric_name": "ApproximateNumberOfMessagesVisible",
         "statistic": "Maximum", "threshold": 0, "comparison_operator": "GreaterThanThreshold", "treat_missing_data": "notBreaching"},
        {"kind": "Alarm", "name": "b", "namespace": "Pulse", "dimensions": {"Service": "notifier"}, "metric_name": "Retried",
         "statistic": "Sum", "threshold": 10, "comparison_operator": "GreaterThanOrEqualToThreshold", "alarm_actions": ["arn:aws:sns:us-east-1:1:ops"]}
    ], "variables": {"bucket": {"default": "${prefix}-b", "description": "d"}, "// c": "comment"}});
    assert_eq!(errors(&validator, &ok), Vec::<String>::new());
    let bad = [
        json!({"resources": [{"kind": "DedicatedHost", "name": "p", "auto_placement": "yes"}]}),
        json!({"resources": [{"kind": "DedicatedHost", "name": "p", "quantity": 2}]}),
        json!({"resources": [{"kind": "Lambda", "name": "f"}]}),
        json!({"resources": [{"kind": "Queue"}]}),
        json!({"resources": [{"kind": "AutoScalingGroup", "name": "g", "min_size": -1}]}),
        json!({"resources": [{"kind": "LaunchTemplate", "name": "lt", "data": {"CpuOptions": {}}}]}),
        json!({"resources": [], "extra": 1}),
        json!({"resources": [{"kind": "Lambda", "name": "f", "path": "f.zip", "role": "r", "asynchronous": {"maximum_retry_attempts": 3}}]}),
        json!({"resources": [{"kind": "Lambda", "name": "f", "path": "f.zip", "role": "r", "asynchronous": {"maximum_event_age_seconds": 30}}]}),
        json!({"resources": [{"kind": "BucketNotifications", "name": "b", "eventbridge_notifications": true}]}),
        json!({"resources": [], "variables": {"x": {"value": "y"}}}),
        json!({"resources": [], "variables": {"Bad-Name": {}}}),
        json!({"resources": [{"kind": "Lambda", "name": "f", "path": "f.zip", "role": "r", "tracing": "On"}]}),
        json!({"resources": [{"kind": "Lambda", "name": "f", "path": "f.zip", "role": "r", "reserved_concurrency": -1}]}),
        json!({"resources": [{"kind": "Alarm", "name": "a", "watch": {"function": "f"}, "namespace": "AWS/Lambda", "metric_name": "Errors", "statistic": "Sum", "threshold": 0, "comparison_operator": "GreaterThanThreshold"}]}),
        json!({"resources": [{"kind": "Alarm", "name": "a", "metric_name": "Errors", "statistic": "Sum", "threshold": 0, "comparison_operator": "GreaterThanThreshold"}]}),
        json!({"resources": [{"kind": "Alarm", "name": "a", "watch": {"topic": "t"}, "metric_name": "Errors", "statistic": "Sum", "threshold": 0, "comparison_operator": "GreaterThanThreshold"}]}),
        json!({"resources": [{"kind": "Alarm", "name": "a", "watch": {"function": "f"}, "metric_name": "Errors", "statistic": "Sum", "threshold": 0, "comparison_operator": "GreaterThanThreshold", "alarm_actions": ["ops"]}]}),
    ];
    for doc in bad {
        assert!(!errors(&validator, &doc).is_empty(), "the schema accepts {doc}");
    }
}
