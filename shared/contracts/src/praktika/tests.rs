use serde_json::{Value, json};

use super::*;

/// Every status praktika writes today, the older vocabulary, the empty string and a stranger.
const STATUSES: [&str; 20] = [
    "OK", "FAIL", "ERROR", "SKIPPED", "UNKNOWN", "XFAIL", "XPASS", "PENDING", "RUNNING", "DROPPED", "success", "failure", "error",
    "skipped", "dropped", "pending", "running", "", "Fail", "flaky",
];

fn event_with(ci_status: &str, job_status: &str) -> Value {
    json!({
        "type": "completed", "timestamp": 1_780_000_000, "sha": "abc",
        "result": {"name": "PR", "status": ci_status, "results": [{"name": "Build", "status": job_status}], "ext": {}},
        "ci_status": ci_status,
        "ext": {"pr_number": 1, "repo_name": "o/r", "commit_authors": ["a@x.io"]},
        "linked_events": [],
    })
}

#[test]
fn every_status_reads_and_is_written_back_exactly_as_received() {
    for status in STATUSES {
        let raw = event_with(status, status);
        let event: FeedEvent = serde_json::from_value(raw.clone()).unwrap_or_else(|e| panic!("{status:?}: {e}"));
        assert_eq!(event.ci_status.as_str(), status);
        let back = serde_json::to_value(&event).unwrap();
        assert_eq!(back["ci_status"], raw["ci_status"], "{status:?}");
        assert_eq!(back["result"]["results"][0]["status"], raw["result"]["results"][0]["status"], "{status:?}");
    }
}

#[test]
fn statuses_are_classified_in_any_letter_case() {
    use StatusClass::*;
    let cases = [
        ("OK", Ok),
        ("ok", Ok),
        ("success", Ok),
        ("SUCCESS", Ok),
        ("FAIL", Fail),
        ("failure", Fail),
        ("Fail", Fail),
        ("ERROR", Error),
        ("error", Error),
        ("SKIPPED", Skipped),
        ("skipped", Skipped),
        ("XFAIL", XFail),
        ("XPASS", XPass),
        ("UNKNOWN", Unknown),
        ("PENDING", Pending),
        ("pending", Pending),
        ("RUNNING", Running),
        ("running", Running),
        ("DROPPED", Dropped),
        ("dropped", Dropped),
        ("", Missing),
        ("flaky", Other),
    ];
    for (s, class) in cases {
        assert_eq!(Status::from(s).class(), class, "{s:?}");
    }
}

#[test]
fn failing_means_what_praktikas_worker_counts() {
    let failing: Vec<&str> = STATUSES.into_iter().filter(|s| Status::from(*s).is_failing()).collect();
    assert_eq!(failing, ["FAIL", "ERROR", "failure", "error", "Fail"]);
    assert!(!Status::from("XPASS").is_failing(), "the worker does not count XPASS");
    assert!(Status::from("XFAIL").is_success());
    assert!(Status::from("RUNNING").is_in_flight() && Status::from("pending").is_in_flight());
}

#[test]
fn a_feed_with_every_status_and_odd_values_decodes_whole() {
    let mut events: Vec<Value> = STATUSES.iter().map(|s| event_with(s, s)).collect();
    // What Python may leave behind: nulls, a float timestamp, an unknown type and pr_status,
    // a job that is not an object, a missing status.
    events.push(json!({
        "type": "queued", "timestamp": 1_780_000_000.7, "sha": "def",
        "result": {"name": "PR", "status": null, "results": [{"name": "a"}, "junk", {"status": "OK"}], "ext": null},
        "ci_status": null,
        "ext": {"pr_number": null, "pr_status": "closed", "repo_name": "o/r", "commit_authors": null, "run_id": null,
                "is_cancelled": null, "custom": {"kept": true}},
        "linked_events": [{"anything": 1}],
    }));
    let feed: EventFeed = serde_json::from_value(json!({"events": events})).unwrap();
    assert_eq!(feed.events.len(), STATUSES.len() + 1);
    let odd = feed.events.last().unwrap();
    assert_eq!(odd.kind, EventKind::Other("queued".into()));
    assert_eq!(odd.timestamp, 1_780_000_000);
    assert_eq!(odd.ci_status.class(), StatusClass::Missing);
    assert_eq!(odd.jobs().len(), 2);
    assert_eq!(odd.ext.pr_status, None);
    assert_eq!(odd.ext.extra["custom"], json!({"kept": true}));
    assert_eq!(odd.linked_events, vec![json!({"anything": 1})]);
}

#[test]
fn only_praktikas_seven_fields_are_written_in_its_order() {
    let mut raw = event_with("OK", "OK");
    raw["pulse_note"] = json!("not praktika's");
    let event: FeedEvent = serde_json::from_value(raw).unwrap();
    assert_eq!(event.dropped.keys().collect::<Vec<_>>(), ["pulse_note"]);
    let text = serde_json::to_string(&event).unwrap();
    let keys: Vec<String> = serde_json::from_str::<Map<String, Value>>(&text).unwrap().keys().cloned().collect();
    let praktika = ["type", "timestamp", "sha", "result", "ci_status", "ext", "linked_events"];
    let mut sorted = praktika.to_vec();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    assert!(text.starts_with(r#"{"type":"completed","timestamp":1780000000,"sha":"abc","result":{"#), "{text}");
    assert!(text.contains(r#"},"ci_status":"OK","ext":{"#), "{text}");
    assert!(text.ends_with(r#"},"linked_events":[]}"#), "fields in praktika's dataclass order: {text}");
}

#[test]
fn compaction_keeps_name_status_and_report_url_as_praktika_does() {
    let mut result: RunResult = serde_json::from_value(json!({
        "name": "PR", "status": "FAIL", "start_time": 1.5, "duration": 30.0, "files": ["f"], "assets": [],
        "links": ["https://pr", "https://run"], "info": "x", "storage_usage": {"kept": 1},
        "results": [
            {"name": "Build", "status": "OK", "start_time": 2.0, "duration": 3.0, "results": [{"name": "t", "status": "OK"}], "links": []},
            {"name": "Tests", "status": "FAIL", "ext": {"labels": []}},
        ],
        "ext": {"report_url": "https://report", "other": 1},
    }))
    .unwrap();
    assert!(result.compact());
    assert_eq!(
        serde_json::to_value(&result).unwrap(),
        json!({
            "name": "PR", "status": "FAIL",
            "results": [{"name": "Build", "status": "OK"}, {"name": "Tests", "status": "FAIL"}],
            "ext": {"report_url": "https://report"},
            "storage_usage": {"kept": 1},
        })
    );
    assert!(!result.compact(), "compaction is idempotent");

    let mut no_report: RunResult =
        serde_json::from_value(json!({"name": "PR", "status": "OK", "ext": {"a": 1, "report_url": ""}})).unwrap();
    assert!(no_report.compact());
    assert_eq!(serde_json::to_value(&no_report).unwrap(), json!({"name": "PR", "status": "OK", "ext": {}}));
}

#[test]
fn failing_jobs_and_report_url() {
    let event: FeedEvent = serde_json::from_value(json!({
        "type": "completed", "timestamp": 1, "sha": "s", "ci_status": "FAIL",
        "result": {"name": "PR", "status": "FAIL", "ext": {"report_url": "https://r"},
                   "results": [{"name": "a", "status": "failure"}, {"name": "b", "status": "XPASS"}, {"name": "c", "status": "Error"}, {"name": "d", "status": "OK"}]},
        "ext": {"pr_number": 1, "repo_name": "o/r", "report_url": "https://job"},
    }))
    .unwrap();
    assert_eq!(event.failing_job_names(), ["a", "c"]);
    assert!(event.has_failing_job());
    assert_eq!(event.report_url(), Some("https://r"));
}
