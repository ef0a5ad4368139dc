//! The webhook handler, on payloads written here from GitHub's documented shapes
//! (docs.github.com, "Webhook events and payloads": `workflow_run`, `workflow_job`).

use chrono::{DateTime, Utc};
use pulse_contracts::events::github::{GithubConclusion, GithubState, JobAction, RunAction};
use pulse_contracts::{Event, schema};
use pulse_core::Ids;
use serde_json::{Value, json};

use super::*;
use crate::github::sign;

const SECRET: &str = "a webhook secret for tests";
const DELIVERY: &str = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
const SHA: &str = "3f9c2a7be41d05c6a8e7f1b2d9c04e5a6b7c8d9e";

fn now() -> DateTime<Utc> {
    "2026-03-04T10:17:43Z".parse().unwrap()
}

/// A repository object as GitHub sends it (a few of its many fields).
fn repository() -> Value {
    json!({
        "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "widgets", "full_name": "octo-org/widgets",
        "private": false, "owner": {"login": "octo-org", "id": 9919, "type": "Organization"},
        "html_url": "https://github.com/octo-org/widgets", "default_branch": "main",
        "hooks_url": "https://api.github.com/repos/octo-org/widgets/hooks"
    })
}

fn user(login: &str, id: u64) -> Value {
    json!({"login": login, "id": id, "node_id": "MDQ6VXNlcjE=", "type": "User", "site_admin": false})
}

/// A `workflow_run` payload: a push to main, completed successfully.
fn run_payload(action: &str) -> Value {
    json!({
        "action": action,
        "workflow_run": {
            "id": 13849305521_u64, "name": "CI", "node_id": "WFR_kwLOA", "head_branch": "main", "head_sha": SHA,
            "path": ".github/workflows/ci.yml", "display_title": "Use the lockfile hash in the cache key",
            "run_number": 1432, "event": "push", "status": "completed", "conclusion": "success",
            "workflow_id": 84215377, "check_suite_id": 33301255712_u64,
            "url": "https://api.github.com/repos/octo-org/widgets/actions/runs/13849305521",
            "html_url": "https://github.com/octo-org/widgets/actions/runs/13849305521",
            "pull_requests": [], "created_at": "2026-03-04T10:05:11Z", "updated_at": "2026-03-04T10:17:40Z",
            "actor": user("ada-okafor", 5120347), "run_attempt": 1, "referenced_workflows": [],
            "run_started_at": "2026-03-04T10:05:11Z", "triggering_actor": user("ada-okafor", 5120347),
            "jobs_url": "https://api.github.com/repos/octo-org/widgets/actions/runs/13849305521/jobs",
            "head_commit": {
                "id": SHA, "tree_id": "e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4", "message": "Use the lockfile hash in the cache key",
                "timestamp": "2026-03-04T10:05:02Z",
                "author": {"name": "Ada Okafor", "email": "ada@octo-org.example"},
                "committer": {"name": "GitHub", "email": "noreply@github.com"}
            },
            "repository": repository(), "head_repository": repository()
        },
        "workflow": {"id": 84215377, "name": "CI", "path": ".github/workflows/ci.yml", "state": "active"},
        "repository": repository(),
        "organization": {"login": "octo-org", "id": 9919},
        "sender": user("ada-okafor", 5120347)
    })
}

/// A `workflow_job` payload: a job whose test step failed.
fn job_payload(action: &str) -> Value {
    json!({
        "action": action,
        "workflow_job": {
            "id": 38812440913_u64, "run_id": 13850117734_u64, "workflow_name": "CI", "head_branch": "parser-rewrite",
            "run_url": "https://api.github.com/repos/octo-org/widgets/actions/runs/13850117734", "run_attempt": 1,
            "node_id": "CR_kwDOA", "head_sha": SHA,
            "url": "https://api.github.com/repos/octo-org/widgets/actions/jobs/38812440913",
            "html_url": "https://github.com/octo-org/widgets/actions/runs/13850117734/job/38812440913",
            "status": "completed", "conclusion": "failure", "created_at": "2026-03-04T10:48:31Z",
            "started_at": "2026-03-04T10:48:41Z", "completed_at": "2026-03-04T11:01:55Z",
            "name": "test (ubuntu-latest, 20)",
            "steps": [
                {"name": "Set up job", "status": "completed", "conclusion": "success", "number": 1,
                 "started_at": "2026-03-04T10:48:41Z", "completed_at": "2026-03-04T10:48:43Z"},
                {"name": "Run npm test", "status": "completed", "conclusion": "failure", "number": 2,
                 "started_at": "2026-03-04T10:48:43Z", "completed_at": "2026-03-04T11:01:50Z"},
                {"name": "Upload coverage", "status": "completed", "conclusion": "skipped", "number": 3,
                 "started_at": null, "completed_at": null}
            ],
            "check_run_url": "https://api.github.com/repos/octo-org/widgets/check-runs/38812440913",
            "labels": ["ubuntu-latest"], "runner_id": 7, "runner_name": "GitHub Actions 7",
            "runner_group_id": 2, "runner_group_name": "GitHub Actions"
        },
        "repository": repository(),
        "sender": user("bolindqvist", 8830121)
    })
}

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(SECRET).unwrap()
}

/// Decide on `body` delivered as `event`, signed with the test secret.
fn deliver(event: &str, body: &[u8]) -> Decision {
    let signature = sign(SECRET, body);
    let headers = GithubHeaders::from_str_pairs([
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", DELIVERY),
        ("X-Hub-Signature-256", signature.as_str()),
        ("Content-Type", "application/json"),
    ]);
    decide_with(headers, body)
}

fn decide_with(headers: GithubHeaders<'_>, body: &[u8]) -> Decision {
    let request = GithubRequest { method: "POST", path: "/github/webhook", headers, body };
    decide(&request, &verifier(), now(), &Ids::random())
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// The one published event, checked against its schema.
fn published(decision: &Decision) -> (String, Event) {
    assert_eq!(decision.outcome, "accepted", "{decision:?}");
    let accepted = decision.accepted.as_ref().unwrap();
    assert_eq!(accepted.events.len(), 1);
    let envelope = &accepted.events[0];
    let wire: Value = serde_json::from_str(&envelope.to_json()).unwrap();
    schema::validate(&envelope.event_type, 1, &wire).unwrap_or_else(|e| panic!("{e}"));
    (envelope.dedup_key.clone(), envelope.detail.clone())
}

fn refused(decision: &Decision, status: u16, outcome: &str, reason: &str) {
    assert_eq!((decision.reply.status, decision.outcome), (status, outcome), "{decision:?}");
    assert!(decision.accepted.is_none(), "nothing recorded: {decision:?}");
    let text = decision.reply.body.as_ref().unwrap()["error"].as_str().unwrap();
    assert!(text.contains(reason), "{text}");
}

#[test]
fn a_completed_run_is_accepted_with_the_delivery_as_its_key() {
    let decision = deliver("workflow_run", &bytes(&run_payload("completed")));
    assert_eq!(decision.reply.status, 200);
    let accepted = decision.accepted.as_ref().unwrap();
    assert_eq!(accepted.key.pk(), format!("github#{DELIVERY}"));
    assert_eq!(accepted.event_type, "github.workflow_run");
    assert!(accepted.fail_with_5xx && accepted.modal.is_none());
    let envelope = &accepted.events[0];
    assert_eq!((envelope.source.as_str(), envelope.occurred_at), ("pulse.ingress", now()));
    let (dedup, event) = published(&decision);
    assert_eq!(dedup, format!("github.workflow_run:{DELIVERY}"));
    let Event::GithubWorkflowRunV1(run) = event else { panic!("{event:?}") };
    assert_eq!((run.delivery_id.as_str(), run.action), (DELIVERY, RunAction::Completed));
    assert_eq!((run.repository.as_str(), run.default_branch.as_deref()), ("octo-org/widgets", Some("main")));
    let r = &run.run;
    assert_eq!((r.id, r.name.as_str(), r.workflow_id, r.run_number, r.run_attempt), (13849305521, "CI", Some(84215377), 1432, 1));
    assert_eq!((r.head_branch.as_deref(), r.head_sha.as_str(), r.event.as_str()), (Some("main"), SHA, "push"));
    assert_eq!(r.state, GithubState::Completed(GithubConclusion::Success));
    assert!(r.pull_requests.is_empty());
    let commit = r.head_commit.as_ref().unwrap();
    assert_eq!((commit.author_name.as_str(), commit.author_email.as_str()), ("Ada Okafor", "ada@octo-org.example"));
    assert_eq!(r.actor.as_ref().map(|a| (a.login.as_str(), a.id)), Some(("ada-okafor", 5120347)));
    assert_eq!(r.run_started_at, Some("2026-03-04T10:05:11Z".parse().unwrap()));
}

#[test]
fn each_run_action_is_published_with_its_state() {
    for (action, status, want_action) in [
        ("requested", "queued", RunAction::Requested),
        ("in_progress", "in_progress", RunAction::InProgress),
        ("completed", "completed", RunAction::Completed),
    ] {
        let mut payload = run_payload(action);
        payload["workflow_run"]["status"] = json!(status);
        if action != "completed" {
            payload["workflow_run"]["conclusion"] = Value::Null;
        }
        let (_, event) = published(&deliver("workflow_run", &bytes(&payload)));
        let Event::GithubWorkflowRunV1(run) = event else { panic!("{event:?}") };
        assert_eq!(run.action, want_action);
        assert_eq!(serde_json::to_value(run.run.state.status()).unwrap(), status);
        assert_eq!(run.run.state.conclusion().is_some(), action == "completed", "{action}");
    }
}

#[test]
fn each_job_action_is_published_and_steps_keep_their_conclusions() {
    for (action, status, want) in [
        ("queued", "queued", JobAction::Queued),
        ("waiting", "waiting", JobAction::Waiting),
        ("in_progress", "in_progress", JobAction::InProgress),
        ("completed", "completed", JobAction::Completed),
    ] {
        let mut payload = job_payload(action);
        payload["workflow_job"]["status"] = json!(status);
        if action != "completed" {
            payload["workflow_job"]["conclusion"] = Value::Null;
            payload["workflow_job"]["completed_at"] = Value::Null;
        }
        let decision = deliver("workflow_job", &bytes(&payload));
        let (dedup, event) = published(&decision);
        assert_eq!(dedup, format!("github.workflow_job:{DELIVERY}"));
        let Event::GithubWorkflowJobV1(job) = event else { panic!("{event:?}") };
        assert_eq!((job.action, job.repository.as_str()), (want, "octo-org/widgets"));
        assert_eq!((job.job.id, job.job.run_id, job.job.run_attempt), (38812440913, 13850117734, 1));
        assert_eq!(job.job.workflow_name.as_deref(), Some("CI"));
        assert_eq!(job.job.completed_at.is_some(), action == "completed");
    }
    let (_, event) = published(&deliver("workflow_job", &bytes(&job_payload("completed"))));
    let Event::GithubWorkflowJobV1(job) = event else { panic!() };
    assert_eq!(job.job.state, GithubState::Completed(GithubConclusion::Failure));
    let failed: Vec<(u32, &str)> = job.job.failed_steps().map(|s| (s.number, s.name.as_str())).collect();
    assert_eq!(failed, [(2, "Run npm test")]);
    assert_eq!(job.job.steps.len(), 3);
}

#[test]
fn a_forged_delivery_is_refused_before_anything_is_read() {
    let body = bytes(&run_payload("completed"));
    let wrong = sign("another secret", &body);
    let headers = GithubHeaders::from_str_pairs([
        ("X-GitHub-Event", "workflow_run"),
        ("X-GitHub-Delivery", DELIVERY),
        ("X-Hub-Signature-256", wrong.as_str()),
    ]);
    refused(&decide_with(headers, &body), 401, "forged", "does not match");
    // Signed, then changed in transit.
    let signature = sign(SECRET, &body);
    let mut tampered = body.clone();
    let at = tampered.len() - 3;
    tampered[at] ^= 1;
    let headers = GithubHeaders::from_str_pairs([
        ("X-GitHub-Event", "workflow_run"),
        ("X-GitHub-Delivery", DELIVERY),
        ("X-Hub-Signature-256", signature.as_str()),
    ]);
    refused(&decide_with(headers, &tampered), 401, "forged", "does not match");
    // Even a ping or an unparseable body is refused unsigned: the signature comes first.
    let headers = GithubHeaders::from_str_pairs([("X-GitHub-Event", "ping"), ("X-GitHub-Delivery", DELIVERY)]);
    refused(&decide_with(headers, b"{not json"), 401, "forged", "missing");
}

#[test]
fn a_missing_or_malformed_signature_header_is_refused() {
    let body = bytes(&run_payload("completed"));
    let sha1 = format!("sha1={}", "0".repeat(40));
    for (headers, reason) in [
        (vec![("X-GitHub-Event", "workflow_run"), ("X-GitHub-Delivery", DELIVERY)], "missing"),
        (vec![("X-GitHub-Event", "workflow_run"), ("X-GitHub-Delivery", DELIVERY), ("X-Hub-Signature", sha1.as_str())], "missing"),
        (vec![("X-GitHub-Event", "workflow_run"), ("X-Hub-Signature-256", "sha256=abc")], "not `sha256=`"),
    ] {
        refused(&decide_with(GithubHeaders::from_str_pairs(headers), &body), 401, "forged", reason);
    }
}

#[test]
fn a_redelivery_decides_the_same_key_and_dedup_key() {
    let body = bytes(&run_payload("completed"));
    let first = deliver("workflow_run", &body);
    let again = deliver("workflow_run", &body);
    let (a, b) = (first.accepted.unwrap(), again.accepted.unwrap());
    assert_eq!(a.key, b.key);
    assert_eq!(a.events[0].dedup_key, b.events[0].dedup_key);
    assert_ne!(a.events[0].id, b.events[0].id, "the envelope id is fresh; the key names the fact");
    // The next delivery about the same run is another fact.
    let signature = sign(SECRET, &body);
    let headers = GithubHeaders::from_str_pairs([
        ("X-GitHub-Event", "workflow_run"),
        ("X-GitHub-Delivery", "0c4d9e10-c5a3-11f0-9b7d-7a1f3e2c4b66"),
        ("X-Hub-Signature-256", signature.as_str()),
    ]);
    assert_ne!(decide_with(headers, &body).accepted.unwrap().key, a.key);
}

#[test]
fn missing_delivery_or_event_headers_are_bad_requests() {
    let body = bytes(&run_payload("completed"));
    let signature = sign(SECRET, &body);
    let no_delivery = GithubHeaders::from_str_pairs([("X-GitHub-Event", "workflow_run"), ("X-Hub-Signature-256", signature.as_str())]);
    refused(&decide_with(no_delivery, &body), 400, "rejected", "X-GitHub-Delivery");
    let empty_delivery = GithubHeaders::from_str_pairs([
        ("X-GitHub-Event", "workflow_run"),
        ("X-GitHub-Delivery", " "),
        ("X-Hub-Signature-256", signature.as_str()),
    ]);
    refused(&decide_with(empty_delivery, &body), 400, "rejected", "X-GitHub-Delivery");
    let no_event = GithubHeaders::from_str_pairs([("X-GitHub-Delivery", DELIVERY), ("X-Hub-Signature-256", signature.as_str())]);
    refused(&decide_with(no_event, &body), 400, "rejected", "X-GitHub-Event");
}

#[test]
fn malformed_payloads_are_bad_requests_naming_the_field() {
    refused(&deliver("workflow_run", b"{\"action\": \"completed\","), 400, "rejected", "malformed payload");
    refused(&deliver("workflow_job", b"[]"), 400, "rejected", "malformed payload");
    let mut payload = run_payload("completed");
    payload["workflow_run"]["conclusion"] = Value::Null;
    refused(&deliver("workflow_run", &bytes(&payload)), 400, "rejected", "`workflow_run.conclusion`: missing field `conclusion`");
    let mut payload = run_payload("completed");
    payload["workflow_run"]["conclusion"] = json!("exploded");
    refused(&deliver("workflow_run", &bytes(&payload)), 400, "rejected", "workflow_run.conclusion");
    let mut payload = run_payload("completed");
    payload["workflow_run"].as_object_mut().unwrap().remove("head_sha");
    refused(&deliver("workflow_run", &bytes(&payload)), 400, "rejected", "`workflow_run.head_sha`: missing field");
    let mut payload = run_payload("completed");
    payload["workflow_run"]["head_sha"] = json!("main");
    refused(&deliver("workflow_run", &bytes(&payload)), 400, "rejected", "not a commit sha");
    let mut payload = run_payload("completed");
    payload["repository"]["full_name"] = json!("widgets");
    refused(&deliver("workflow_run", &bytes(&payload)), 400, "rejected", "OWNER/REPO");
    let mut payload = job_payload("completed");
    payload["workflow_job"]["steps"][1]["conclusion"] = Value::Null;
    refused(&deliver("workflow_job", &bytes(&payload)), 400, "rejected", "workflow_job.steps[1].conclusion");
    let mut payload = job_payload("completed");
    payload["workflow_job"]["run_id"] = json!("13850117734");
    refused(&deliver("workflow_job", &bytes(&payload)), 400, "rejected", "workflow_job.run_id");
}

#[test]
fn an_oversized_body_is_refused_before_the_signature_is_computed() {
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    // Correctly signed or not, the size decides first.
    let signature = sign(SECRET, &body);
    let headers = GithubHeaders::from_str_pairs([
        ("X-GitHub-Event", "workflow_run"),
        ("X-GitHub-Delivery", DELIVERY),
        ("X-Hub-Signature-256", signature.as_str()),
    ]);
    refused(&decide_with(headers, &body), 413, "too_large", "over the 1048576-byte limit");
    refused(&decide_with(GithubHeaders::default(), &body), 413, "too_large", "limit");
    // At the limit it is read (and here, being blanks, is malformed).
    let at_limit = vec![b' '; MAX_BODY_BYTES];
    refused(&deliver("workflow_run", &at_limit), 400, "rejected", "malformed");
}

#[test]
fn ping_is_answered_and_nothing_recorded() {
    let body = bytes(
        &json!({"zen": "Keep it logically awesome.", "hook_id": 30, "hook": {"type": "Repository", "events": ["workflow_run", "workflow_job"]}}),
    );
    let decision = deliver("ping", &body);
    assert_eq!((decision.reply.status, decision.outcome), (200, "ping"));
    assert!(decision.accepted.is_none());
}

#[test]
fn event_types_pulse_does_not_use_are_answered_2xx_and_not_published() {
    for event in ["push", "check_run", "pull_request", "workflow_dispatch"] {
        let decision = deliver(event, br#"{"action": "created", "anything": [1, 2, 3]}"#);
        assert_eq!((decision.reply.status, decision.outcome), (200, "ignored"), "{event}");
        assert!(decision.accepted.is_none(), "{event}");
        assert_eq!(decision.reply.body.as_ref().unwrap()["ignored"], event);
    }
}

#[test]
fn actions_pulse_does_not_use_are_answered_2xx_and_not_published() {
    let decision = deliver("workflow_run", &bytes(&run_payload("reopened")));
    assert_eq!((decision.reply.status, decision.outcome), (200, "ignored"));
    assert!(decision.accepted.is_none());
    let decision = deliver("workflow_job", &bytes(&job_payload("archived")));
    assert_eq!((decision.reply.status, decision.outcome), (200, "ignored"));
}

#[test]
fn methods_and_content_types_other_than_githubs_are_refused_after_the_signature() {
    let body = bytes(&run_payload("completed"));
    let signature = sign(SECRET, &body);
    let headers = GithubHeaders::from_str_pairs([
        ("X-GitHub-Event", "workflow_run"),
        ("X-GitHub-Delivery", DELIVERY),
        ("X-Hub-Signature-256", signature.as_str()),
    ]);
    let get = GithubRequest { method: "GET", path: "/github/webhook", headers, body: &body };
    let decision = decide(&get, &verifier(), now(), &Ids::random());
    refused(&decision, 405, "method_not_allowed", "GitHub POSTs");
    for content_type in ["application/x-www-form-urlencoded", "text/plain"] {
        let headers = GithubHeaders::from_str_pairs([
            ("X-GitHub-Event", "ping"),
            ("X-GitHub-Delivery", DELIVERY),
            ("X-Hub-Signature-256", signature.as_str()),
            ("Content-Type", content_type),
        ]);
        refused(&decide_with(headers, &body), 415, "unsupported_media_type", "application/json");
    }
    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        let headers = GithubHeaders::from_str_pairs([
            ("X-GitHub-Event", "workflow_run"),
            ("X-GitHub-Delivery", DELIVERY),
            ("X-Hub-Signature-256", signature.as_str()),
            ("Content-Type", content_type),
        ]);
        assert_eq!(decide_with(headers, &body).outcome, "accepted", "{content_type}");
    }
}

#[test]
fn a_fork_pr_run_keeps_its_empty_pull_requests_and_a_pr_run_its_refs() {
    let mut fork = run_payload("completed");
    fork["workflow_run"]["event"] = json!("pull_request");
    fork["workflow_run"]["head_branch"] = json!("patch-1");
    let (_, event) = published(&deliver("workflow_run", &bytes(&fork)));
    let Event::GithubWorkflowRunV1(run) = event else { panic!() };
    assert!(run.run.pull_requests.is_empty());
    assert_eq!(run.run.event, "pull_request");

    let mut pr = fork.clone();
    pr["workflow_run"]["pull_requests"] = json!([{
        "url": "https://api.github.com/repos/octo-org/widgets/pulls/482", "id": 2311554410_u64, "number": 482,
        "head": {"ref": "parser-rewrite", "sha": SHA, "repo": {"id": 1296269, "name": "widgets"}},
        "base": {"ref": "main", "sha": "0000000000000000000000000000000000000001", "repo": {"id": 1296269, "name": "widgets"}}
    }]);
    let (_, event) = published(&deliver("workflow_run", &bytes(&pr)));
    let Event::GithubWorkflowRunV1(run) = event else { panic!() };
    let refs: Vec<(u64, &str, &str)> = run.run.pull_requests.iter().map(|p| (p.number, p.head_ref.as_str(), p.base_ref.as_str())).collect();
    assert_eq!(refs, [(482, "parser-rewrite", "main")]);
}

#[test]
fn nullable_fields_are_omitted_and_a_rerun_keeps_both_actors() {
    let mut payload = run_payload("completed");
    let run = &mut payload["workflow_run"];
    run["name"] = Value::Null;
    run["head_branch"] = Value::Null;
    run["head_commit"] = Value::Null;
    run["run_attempt"] = json!(2);
    run["triggering_actor"] = user("bolindqvist", 8830121);
    payload["repository"].as_object_mut().unwrap().remove("default_branch");
    let (_, event) = published(&deliver("workflow_run", &bytes(&payload)));
    let Event::GithubWorkflowRunV1(run) = event else { panic!() };
    assert_eq!(run.run.name, ".github/workflows/ci.yml", "a run without a name is named by its file");
    assert!(run.run.is_rerun());
    assert_eq!((run.run.head_branch, run.run.head_commit, run.default_branch), (None, None, None));
    assert_eq!(run.run.actor.unwrap().login, "ada-okafor");
    assert_eq!(run.run.triggering_actor.unwrap().login, "bolindqvist");
}

#[test]
fn a_null_status_takes_the_one_its_action_names() {
    let mut payload = run_payload("in_progress");
    payload["workflow_run"]["status"] = Value::Null;
    payload["workflow_run"]["conclusion"] = Value::Null;
    let (_, event) = published(&deliver("workflow_run", &bytes(&payload)));
    let Event::GithubWorkflowRunV1(run) = event else { panic!() };
    assert_eq!(run.run.state.praktika_status().status.as_str(), "RUNNING");
}
