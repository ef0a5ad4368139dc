//! Bad documents are refused with messages naming the type, version and field.

use pulse_contracts::schema;
use pulse_contracts::{ContractError, from_sqs_body, parse_envelope, parse_str, validate_and_parse};
use serde_json::{Value, json};

use crate::example;

#[test]
fn unknown_type_is_refused_naming_type_and_version() {
    let mut doc = example("digest.tick.v1", "daily.json");
    doc["type"] = json!("foo.bar");
    doc["version"] = json!(3);
    for err in [parse_envelope(doc.clone()).unwrap_err(), validate_and_parse(doc.clone()).unwrap_err()] {
        assert!(matches!(&err, ContractError::UnknownEventType { event_type, version: 3 } if event_type == "foo.bar"));
        assert_eq!(err.to_string(), "unknown event type `foo.bar` version 3");
    }
}

#[test]
fn unknown_version_is_refused_naming_type_version_and_what_is_supported() {
    let mut doc = example("ci.job.v1", "started.json");
    doc["version"] = json!(7);
    let err = parse_envelope(doc.clone()).unwrap_err();
    match &err {
        ContractError::UnsupportedVersion { event_type, version, supported } => {
            assert_eq!((event_type.as_str(), *version, supported.as_slice()), ("ci.job", 7, &[1, 2][..]));
        }
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("`ci.job`") && message.contains("version 7"), "{message}");
    assert!(matches!(validate_and_parse(doc).unwrap_err(), ContractError::UnsupportedVersion { .. }));
}

/// Assert `err` is an InvalidDetail for ci.job / ci.workflow etc. at `path`.
fn assert_invalid_detail(err: ContractError, want_type: &str, want_path: &str) -> String {
    let message = err.to_string();
    match err {
        ContractError::InvalidDetail { event_type, version, path, .. } => {
            assert_eq!((event_type.as_str(), version, path.as_str()), (want_type, 1, want_path), "{message}");
        }
        other => panic!("expected InvalidDetail at {want_path}, got {other:?}"),
    }
    assert!(message.contains(want_path) && message.contains(want_type), "{message}");
    message
}

#[test]
fn a_missing_required_detail_field_is_named() {
    let mut doc = example("ci.job.v1", "started.json");
    doc["detail"].as_object_mut().unwrap().remove("job");
    let message = assert_invalid_detail(parse_envelope(doc).unwrap_err(), "ci.job", "detail.job");
    assert!(message.contains("missing field `job`"), "{message}");

    // A completed job without its status: the wire is flat, the rule is per phase.
    let mut doc = example("ci.job.v1", "completed-success.json");
    doc["detail"].as_object_mut().unwrap().remove("status");
    assert_invalid_detail(parse_envelope(doc.clone()).unwrap_err(), "ci.job", "detail.status");
    let schema_err = validate_and_parse(doc).unwrap_err();
    let ContractError::Schema(schema_err) = schema_err else { panic!("expected a schema error: {schema_err}") };
    assert_eq!(schema_err.violations().len(), 1, "{schema_err}");
    assert_eq!(schema_err.violations()[0].instance_path, "/detail/status");

    // Inside a tagged enum.
    let mut doc = example("slack.command.v1", "pulser-deploy.json");
    doc["detail"]["action"].as_object_mut().unwrap().remove("service");
    assert_invalid_detail(parse_envelope(doc).unwrap_err(), "slack.command", "detail.action.service");

    // Nested in praktika's event.
    let mut doc = example("feed.updated.v1", "new-failure.json");
    doc["detail"]["newest_event"]["ext"]["pr_number"] = json!([1]);
    assert_invalid_detail(parse_envelope(doc).unwrap_err(), "feed.updated", "detail.newest_event.ext.pr_number");
}

#[test]
fn a_wrongly_typed_detail_field_is_named() {
    let mut doc = example("ci.workflow.v1", "running-pr.json");
    doc["detail"]["ext"]["pr_number"] = json!("PR ninety-one");
    let message = assert_invalid_detail(parse_envelope(doc).unwrap_err(), "ci.workflow", "detail.ext.pr_number");
    assert!(message.contains("expected an integer"), "{message}");

    let mut doc = example("ops.alert.v1", "deploy-failed.json");
    doc["detail"]["severity"] = json!("apocalyptic");
    assert_invalid_detail(parse_envelope(doc).unwrap_err(), "ops.alert", "detail.severity");

    let mut doc = example("user.registered.v1", "new-user.json");
    doc["detail"]["email"] = json!("carol");
    let message = assert_invalid_detail(parse_envelope(doc).unwrap_err(), "user.registered", "detail.email");
    assert!(message.contains("`carol` is not an email address"), "{message}");
}

#[test]
fn the_schema_enforces_what_praktika_leaves_optional() {
    let cases = [("/detail/ext/commit_authors/0", json!(["not an email"]))];
    for (path, authors) in cases {
        let mut doc = example("ci.workflow.v1", "running-pr.json");
        doc["detail"]["ext"]["commit_authors"] = authors;
        assert!(parse_envelope(doc.clone()).is_ok(), "the Rust type alone accepts it");
        let err = validate_and_parse(doc).unwrap_err();
        let message = err.to_string();
        let ContractError::Schema(schema_err) = err else { panic!("expected a schema error: {message}") };
        let paths: Vec<&str> = schema_err.violations().iter().map(|v| v.instance_path.as_str()).collect();
        assert_eq!(paths, [path], "{message}");
        assert!(message.contains("`ci.workflow` version 1") && message.contains(path), "{message}");
    }

    let mut doc = example("ci.workflow.v1", "merge-result.json");
    doc["detail"]["ext"].as_object_mut().unwrap().remove("repo_name");
    doc["detail"]["sha"] = json!("");
    let err = validate_and_parse(doc).unwrap_err();
    let paths: Vec<String> = match &err {
        ContractError::Schema(e) => e.violations().iter().map(|v| v.instance_path.clone()).collect(),
        other => panic!("{other:?}"),
    };
    assert!(paths.contains(&"/detail/ext/repo_name".to_owned()), "{paths:?}");
    assert!(paths.contains(&"/detail/sha".to_owned()), "{paths:?}");
}

#[test]
fn schema_conditionals_follow_the_discriminators() {
    let refuse = |label: &str, file: &str, edit: &dyn Fn(&mut Value), want: &str| {
        let mut doc = example(label, file);
        edit(&mut doc);
        let err = schema::validate(doc["type"].as_str().unwrap(), 1, &doc).unwrap_err();
        let paths: Vec<&str> = err.violations().iter().map(|v| v.instance_path.as_str()).collect();
        assert!(paths.contains(&want), "{label}/{file}: wanted {want}, got {err}");
    };
    refuse("deploy.status.v1", "failed.json", &|d| drop(d["detail"].as_object_mut().unwrap().remove("error")), "/detail/error");
    refuse(
        "deploy.requested.v1",
        "approve-button.json",
        &|d| drop(d["detail"].as_object_mut().unwrap().remove("alert_id")),
        "/detail/alert_id",
    );
    refuse(
        "subscription.changed.v1",
        "unsubscribed.json",
        &|d| drop(d["detail"].as_object_mut().unwrap().remove("deleted_at")),
        "/detail/deleted_at",
    );
    refuse(
        "slack.interaction.v1",
        "approve-button.json",
        &|d| drop(d["detail"]["kind"]["container"].as_object_mut().unwrap().remove("message_ts")),
        "/detail/kind/container/message_ts",
    );
    refuse(
        "slack.interaction.v1",
        "deploy-modal-submit.json",
        &|d| drop(d["detail"]["kind"].as_object_mut().unwrap().remove("view_id")),
        "/detail/kind/view_id",
    );
    refuse("digest.tick.v1", "daily.json", &|d| d["detail"]["scheduled_for"] = json!("tomorrow"), "/detail/scheduled_for");
    refuse("deploy.status.v1", "started.json", &|d| d["detail"]["deploy_id"] = json!("42"), "/detail/deploy_id");
    refuse("digest.tick.v1", "daily.json", &|d| d["occurred_at"] = json!("2025-11-20 13:00"), "/occurred_at");
    refuse(
        "github.workflow_run.v1",
        "pr-completed-failure.json",
        &|d| drop(d["detail"]["run"].as_object_mut().unwrap().remove("conclusion")),
        "/detail/run/conclusion",
    );
    refuse(
        "github.workflow_job.v1",
        "completed-failure-failed-step.json",
        &|d| drop(d["detail"]["job"]["steps"][3].as_object_mut().unwrap().remove("conclusion")),
        "/detail/job/steps/3/conclusion",
    );
}

#[test]
fn a_completed_github_run_without_its_conclusion_is_refused_by_the_type_too() {
    let mut doc = example("github.workflow_run.v1", "pr-completed-failure.json");
    doc["detail"]["run"].as_object_mut().unwrap().remove("conclusion");
    let err = parse_envelope(doc).unwrap_err();
    assert!(err.to_string().contains("missing field `conclusion`"), "{err}");
    let mut doc = example("github.workflow_run.v1", "fork-pr-in-progress.json");
    doc["detail"]["run"]["conclusion"] = json!("success");
    assert!(schema::validate("github.workflow_run", 1, &doc).is_err(), "a run in progress has no conclusion");
}

#[test]
fn details_accept_added_fields_but_the_envelope_does_not() {
    let mut doc = example("ci.job.v1", "completed-failure.json");
    doc["detail"]["attempt"] = json!(2);
    validate_and_parse(doc).expect("adding a detail field is a minor change");

    let mut doc = example("ci.job.v1", "completed-failure.json");
    doc["priority"] = json!("high");
    let err = parse_envelope(doc.clone()).unwrap_err();
    assert!(matches!(err, ContractError::NotAnEnvelope { .. }));
    assert!(err.to_string().contains("unexpected field `priority`"), "{err}");
    assert!(schema::validate("ci.job", 1, &doc).is_err());
}

#[test]
fn envelope_problems_name_the_field() {
    let base = example("digest.tick.v1", "weekly.json");
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: [(&str, Edit); 6] = [
        ("missing field `dedup_key`", Box::new(|d| drop(d.as_object_mut().unwrap().remove("dedup_key")))),
        ("field `dedup_key` is empty", Box::new(|d| d["dedup_key"] = json!(""))),
        ("field `id`", Box::new(|d| d["id"] = json!("not-a-uuid"))),
        ("field `occurred_at`", Box::new(|d| d["occurred_at"] = json!("yesterday"))),
        ("field `version`", Box::new(|d| d["version"] = json!("1"))),
        ("expected a JSON object, found an array", Box::new(|d| *d = json!([1]))),
    ];
    for (want, edit) in cases {
        let mut doc = base.clone();
        edit(&mut doc);
        let err = parse_envelope(doc).unwrap_err();
        assert!(matches!(err, ContractError::NotAnEnvelope { .. }), "{want}: {err:?}");
        assert!(err.to_string().contains(want), "wanted {want:?} in {err}");
    }
    assert!(matches!(parse_str("{\"id\":"), Err(ContractError::NotJson { .. })));
    assert!(matches!(from_sqs_body("not json"), Err(ContractError::NotJson { .. })));
}
