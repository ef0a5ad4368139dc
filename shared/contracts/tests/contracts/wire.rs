//! The wire forms: EventBridge wrappers from SQS, and envelopes built in Rust.

use pulse_contracts::schema;
use pulse_contracts::{
    CiJob, ContractError, Envelope, Event, EventDetail, JobPhase, from_sqs_body, from_sqs_body_validated, parse_envelope, parse_str,
};
use serde_json::{Value, json};

use crate::example;

#[test]
fn from_sqs_body_unwraps_eventbridge_and_checks_the_detail_type() {
    let doc = example("ci.workflow.v1", "merge-result.json");
    let body = json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "ci.workflow.v1",
        "source": "ci",
        "account": "111122223333",
        "time": "2025-11-21T16:45:30Z",
        "region": "us-east-1",
        "resources": [],
        "detail": doc,
    });
    let envelope = from_sqs_body(&body.to_string()).unwrap();
    assert_eq!(envelope.dedup_key, doc["dedup_key"]);
    let Event::CiWorkflowV1(workflow) = &envelope.detail else { panic!("{:?}", envelope.detail) };
    assert!(workflow.is_merge_result());
    assert_eq!(workflow.ext.parent_pr_number, 91234);

    let mut mislabelled = body.clone();
    mislabelled["detail-type"] = json!("ci.job.v1");
    let err = from_sqs_body(&mislabelled.to_string()).unwrap_err();
    assert!(matches!(err, ContractError::DetailTypeMismatch { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("`ci.job.v1`") && message.contains("`ci.workflow.v1`"), "{message}");

    let mut empty = body.clone();
    empty.as_object_mut().unwrap().remove("detail");
    assert!(from_sqs_body(&empty.to_string()).unwrap_err().to_string().contains("has no `detail`"));

    // A wrapper handed to the plain parser is recognised, not mistaken for a broken envelope.
    let err = parse_envelope(body).unwrap_err();
    assert!(err.to_string().contains("EventBridge event"), "{err}");
}

#[test]
fn into_envelope_makes_a_wire_envelope_with_the_bare_detail() {
    let doc = example("ci.job.v1", "started.json");
    let job: CiJob = serde_json::from_value(doc["detail"].clone()).unwrap();
    assert!(matches!(job.phase, JobPhase::Started));

    let (clock, ids) = (pulse_core::Clock::system(), pulse_core::Ids::random());
    let before = chrono::Utc::now();
    let first = job.clone().into_envelope("pulse.cli", "ci.job:collect_stock_prices:run-7c1d9e2a:started", ids.uuid(), clock.now());
    let second = Event::from(job).into_envelope("pulse.cli", "same", ids.uuid(), clock.now());
    assert_ne!(first.id, second.id, "every envelope gets a fresh id");
    assert_eq!(first.id.get_version_num(), 4);
    assert!(first.occurred_at >= before && first.occurred_at <= chrono::Utc::now());
    assert_eq!((first.event_type.as_str(), first.version), (CiJob::EVENT_TYPE, CiJob::VERSION));
    assert_eq!(first.detail_type(), "ci.job.v1");

    let wire: Value = serde_json::from_str(&first.to_json()).unwrap();
    assert_eq!(wire["detail"], doc["detail"], "detail is the bare typed detail, no enum tag");
    assert_eq!(wire["type"], "ci.job");
    schema::validate("ci.job", 1, &wire).expect("a fresh envelope satisfies the schema");
    let back: Envelope<Event> = parse_str(&first.to_json()).unwrap();
    assert_eq!(back, first);
}

#[test]
fn from_sqs_body_validated_also_runs_the_schema() {
    let mut doc = example("ci.workflow.v1", "running-pr.json");
    doc["detail"]["ext"]["commit_authors"] = json!(["not an email"]);
    let body = json!({"version": "0", "detail-type": "ci.workflow.v1", "source": "ci", "detail": doc});
    assert!(from_sqs_body(&body.to_string()).is_ok(), "the typed parse alone accepts it");
    let err = from_sqs_body_validated(&body.to_string()).unwrap_err();
    let ContractError::Schema(schema_err) = &err else { panic!("expected a schema error: {err:?}") };
    assert_eq!(schema_err.violations()[0].instance_path, "/detail/ext/commit_authors/0");

    let mut mislabelled = body.clone();
    mislabelled["detail-type"] = json!("ci.workflow.v2");
    let err = from_sqs_body_validated(&mislabelled.to_string()).unwrap_err();
    assert!(matches!(err, ContractError::DetailTypeMismatch { .. }), "{err:?}");

    let mut unknown = doc.clone();
    unknown["type"] = json!("ci.pipeline");
    let err = from_sqs_body_validated(&unknown.to_string()).unwrap_err();
    assert_eq!(err.to_string(), "unknown event type `ci.pipeline` version 1");
}
