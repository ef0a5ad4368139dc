//! Catalogue coverage: every example validates, parses and round-trips; schemas, examples and
//! the catalogue cover each other; the schemas agree on the envelope.

use std::collections::BTreeSet;
use std::fs;

use pulse_contracts::events::github::{GithubConclusion, GithubStatus, JobAction, RunAction};
use pulse_contracts::schema;
use pulse_contracts::{
    AlertKind, CATALOGUE, FeedChange, eventbridge_wrap, from_sqs_body, from_sqs_body_validated, parse_envelope, parse_str,
    validate_and_parse,
};
use serde_json::{Value, json};

use crate::{contracts_dir, examples, split_label};

#[test]
fn every_example_validates_parses_and_round_trips() {
    let examples = examples();
    assert!(examples.len() >= CATALOGUE.len(), "only {} examples", examples.len());
    let mut failures = Vec::new();
    for (label, file, doc) in examples {
        let name = file.strip_prefix(contracts_dir()).unwrap().display().to_string();
        let Some((event_type, version)) = split_label(&label) else {
            failures.push(format!("{name}: directory is not named <type>.v<version>"));
            continue;
        };
        if doc["type"] != event_type.as_str() || doc["version"] != version {
            failures.push(format!("{name}: declares {} v{}, lives under {label}", doc["type"], doc["version"]));
        }
        if let Err(e) = schema::validate(&event_type, version, &doc) {
            failures.push(format!("{name}: {e}"));
            continue;
        }
        let envelope = match parse_envelope(doc.clone()) {
            Ok(envelope) => envelope,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        assert_eq!((envelope.detail.event_type(), envelope.detail.version()), (event_type.as_str(), version));
        let reserialized = serde_json::to_value(&envelope).unwrap();
        if reserialized != doc {
            failures.push(format!("{name}: re-serializes differently:\n  file:  {doc}\n  rust:  {reserialized}"));
        }
        // The other ways in agree with the plain parse.
        assert_eq!(validate_and_parse(doc.clone()).unwrap(), envelope, "{name}");
        assert_eq!(parse_str(&doc.to_string()).unwrap(), envelope, "{name}");
        assert_eq!(from_sqs_body(&doc.to_string()).unwrap(), envelope, "{name}");
        let wrapped = eventbridge_wrap(&envelope.to_raw(), "pulse.test");
        assert_eq!(from_sqs_body_validated(&wrapped.to_string()).unwrap(), envelope, "{name}");
        assert_eq!(from_sqs_body(&wrapped.to_string()).unwrap(), envelope, "{name}");
        assert_eq!(envelope.to_raw().detail, doc["detail"], "{name}");
    }
    assert!(failures.is_empty(), "{} example(s) broken:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn catalogue_schemas_and_examples_cover_each_other() {
    let catalogue: BTreeSet<String> = CATALOGUE.iter().map(|(t, v)| format!("{t}.v{v}")).collect();
    assert_eq!(schema::catalogue(), CATALOGUE);

    let schemas: BTreeSet<String> = fs::read_dir(contracts_dir().join("schemas"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .map(|f| f.strip_suffix(".schema.json").unwrap_or_else(|| panic!("stray file {f} in schemas/")).to_owned())
        .collect();
    assert_eq!(schemas, catalogue, "schemas/ on disk vs the catalogue");

    let mut with_examples = BTreeSet::new();
    for (label, _, _) in examples() {
        with_examples.insert(label);
    }
    assert_eq!(with_examples, catalogue, "example directories vs the catalogue");

    for (event_type, version) in CATALOGUE {
        let on_disk = fs::read_to_string(contracts_dir().join(format!("schemas/{event_type}.v{version}.schema.json")));
        assert_eq!(schema::source(event_type, *version), Some(on_disk.unwrap().as_str()), "embedded copy is stale");
    }
    let workflows = examples().into_iter().filter(|(l, _, _)| l == "ci.workflow.v1").count();
    assert!(workflows >= 3, "ci.workflow needs running PR, failed PR and merge-result examples");
    let runs = examples().into_iter().filter(|(l, _, _)| l == "github.workflow_run.v1").count();
    assert!(runs >= 4, "github.workflow_run needs push, failed PR, fork PR and re-run examples");
}

#[test]
fn every_schema_describes_the_same_closed_envelope() {
    for (event_type, version) in CATALOGUE {
        let schema: Value = serde_json::from_str(schema::source(event_type, *version).unwrap()).unwrap();
        let label = format!("{event_type}.v{version}");
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema", "{label}");
        assert_eq!(schema["additionalProperties"], false, "{label}: the envelope is closed");
        assert_eq!(schema["required"], json!(["id", "type", "version", "occurred_at", "source", "dedup_key", "detail"]), "{label}");
        let props = &schema["properties"];
        assert_eq!(props["type"]["const"], *event_type, "{label}");
        assert_eq!(props["version"]["const"], *version, "{label}");
        assert_eq!(props["id"]["format"], "uuid", "{label}");
        assert_eq!(props["occurred_at"]["$ref"], "#/$defs/timestamp", "{label}");
        assert_eq!(schema["$defs"]["timestamp"]["format"], "date-time", "{label}");
        assert_eq!(props["detail"]["$ref"], "#/$defs/detail", "{label}");
        assert_ne!(schema["$defs"]["detail"]["additionalProperties"], false, "{label}: details stay open");
    }
}

#[test]
fn feed_updated_embeds_the_same_praktika_event_as_ci_workflow() {
    let defs = |t: &str| -> Value {
        let schema: Value = serde_json::from_str(schema::source(t, 1).unwrap()).unwrap();
        schema["$defs"].clone()
    };
    let (workflow, feed) = (defs("ci.workflow"), defs("feed.updated"));
    for name in ["feedEvent", "runResult", "eventExt", "status", "email", "nonEmptyString"] {
        assert!(workflow.get(name).is_some(), "ci.workflow lacks $defs/{name}");
        assert_eq!(workflow[name], feed[name], "$defs/{name} drifted between ci.workflow and feed.updated");
    }
}

#[test]
fn closed_sets_in_rust_match_the_schema_enums() {
    let schema_enum = |t: &str, pointer: &str| -> Value {
        let schema: Value = serde_json::from_str(schema::source(t, 1).unwrap()).unwrap();
        schema.pointer(pointer).unwrap_or_else(|| panic!("{t}: no {pointer}")).clone()
    };
    let names = |values: Vec<Value>| Value::Array(values);
    assert_eq!(
        names(FeedChange::ALL.iter().map(|c| serde_json::to_value(c).unwrap()).collect()),
        schema_enum("feed.updated", "/$defs/detail/properties/changes/items/enum")
    );
    assert_eq!(
        names(AlertKind::ALL.iter().map(|k| serde_json::to_value(k).unwrap()).collect()),
        schema_enum("ops.alert", "/$defs/detail/properties/kind/enum")
    );
    for t in ["github.workflow_run", "github.workflow_job"] {
        assert_eq!(
            names(GithubConclusion::ALL.iter().map(|c| serde_json::to_value(c).unwrap()).collect()),
            schema_enum(t, "/$defs/conclusion/enum"),
            "{t}"
        );
        assert_eq!(
            names(GithubStatus::ALL.iter().map(|c| serde_json::to_value(c).unwrap()).collect()),
            schema_enum(t, "/$defs/status/enum"),
            "{t}"
        );
    }
    assert_eq!(
        names(RunAction::ALL.iter().map(|a| serde_json::to_value(a).unwrap()).collect()),
        schema_enum("github.workflow_run", "/$defs/detail/properties/action/enum")
    );
    assert_eq!(
        names(JobAction::ALL.iter().map(|a| serde_json::to_value(a).unwrap()).collect()),
        schema_enum("github.workflow_job", "/$defs/detail/properties/action/enum")
    );
}
