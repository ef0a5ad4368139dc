use serde_json::json;

use super::*;

fn completed(conclusion: GithubConclusion) -> (String, bool) {
    let mapped = conclusion.praktika_status();
    (mapped.status.as_str().to_owned(), mapped.cancelled)
}

fn mapped(status: &str, cancelled: bool) -> (String, bool) {
    (status.to_owned(), cancelled)
}

#[test]
fn success_is_ok() {
    assert_eq!(completed(GithubConclusion::Success), mapped("OK", false));
    assert!(GithubConclusion::Success.praktika_status().status.is_success());
}

#[test]
fn failure_is_fail() {
    assert_eq!(completed(GithubConclusion::Failure), mapped("FAIL", false));
    assert!(GithubConclusion::Failure.is_failure());
}

#[test]
fn timed_out_is_fail() {
    assert_eq!(completed(GithubConclusion::TimedOut), mapped("FAIL", false));
    assert!(GithubConclusion::TimedOut.is_failure());
}

#[test]
fn startup_failure_is_error_and_failing() {
    assert_eq!(completed(GithubConclusion::StartupFailure), mapped("ERROR", false));
    assert!(GithubConclusion::StartupFailure.is_failure(), "praktika's worker counts ERROR as failing");
}

#[test]
fn cancelled_is_dropped_and_marked_cancelled_never_a_failure() {
    assert_eq!(completed(GithubConclusion::Cancelled), mapped("DROPPED", true));
    assert!(!GithubConclusion::Cancelled.is_failure());
    assert!(!GithubConclusion::Cancelled.praktika_status().status.is_success());
}

#[test]
fn stale_is_dropped_and_marked_cancelled() {
    assert_eq!(completed(GithubConclusion::Stale), mapped("DROPPED", true));
    assert!(!GithubConclusion::Stale.is_failure());
}

#[test]
fn skipped_is_skipped() {
    assert_eq!(completed(GithubConclusion::Skipped), mapped("SKIPPED", false));
    assert!(GithubConclusion::Skipped.praktika_status().status.is_skipped());
    assert!(!GithubConclusion::Skipped.is_failure());
}

#[test]
fn neutral_is_ok() {
    assert_eq!(completed(GithubConclusion::Neutral), mapped("OK", false));
    assert!(!GithubConclusion::Neutral.is_failure());
}

#[test]
fn action_required_is_pending_not_a_verdict() {
    assert_eq!(completed(GithubConclusion::ActionRequired), mapped("PENDING", false));
    assert!(GithubConclusion::ActionRequired.praktika_status().status.is_in_flight());
    assert!(!GithubConclusion::ActionRequired.is_failure());
}

#[test]
fn statuses_before_completed_are_in_flight() {
    for (status, want) in [
        (GithubStatus::Requested, "PENDING"),
        (GithubStatus::Queued, "PENDING"),
        (GithubStatus::Pending, "PENDING"),
        (GithubStatus::Waiting, "PENDING"),
        (GithubStatus::InProgress, "RUNNING"),
    ] {
        let state = GithubState::from_parts(status, None).unwrap();
        let mapped = state.praktika_status();
        assert_eq!((mapped.status.as_str(), mapped.cancelled), (want, false), "{status:?}");
        assert!(mapped.status.is_in_flight(), "{status:?}");
        assert_eq!(state.status(), status);
        assert_eq!(state.conclusion(), None);
    }
}

#[test]
fn every_praktika_status_is_one_praktika_knows() {
    use crate::praktika::StatusClass;
    for conclusion in GithubConclusion::ALL {
        let class = conclusion.praktika_status().status.class();
        assert!(!matches!(class, StatusClass::Other | StatusClass::Missing | StatusClass::Unknown), "{conclusion:?}: {class:?}");
        assert_eq!(serde_json::to_value(conclusion).unwrap(), conclusion.as_str());
    }
}

#[test]
fn state_is_status_and_conclusion_on_the_wire() {
    let done = GithubState::Completed(GithubConclusion::TimedOut);
    assert_eq!(serde_json::to_value(done).unwrap(), json!({"status": "completed", "conclusion": "timed_out"}));
    let running = GithubState::Active(ActiveStatus::InProgress);
    assert_eq!(serde_json::to_value(running).unwrap(), json!({"status": "in_progress"}));
    assert_eq!(serde_json::from_value::<GithubState>(json!({"status": "in_progress", "conclusion": null})).unwrap(), running);
    let err = serde_json::from_value::<GithubState>(json!({"status": "completed", "conclusion": null})).unwrap_err();
    assert!(err.to_string().contains("missing field `conclusion`"), "{err}");
    let err = serde_json::from_value::<GithubState>(json!({"status": "completed", "conclusion": "exploded"})).unwrap_err();
    assert!(err.to_string().contains("unknown variant `exploded`"), "{err}");
}

#[test]
fn a_step_in_a_job_reads_its_state_and_failed_steps_are_found() {
    let job: WorkflowJob = serde_json::from_value(json!({
        "id": 7, "run_id": 9, "run_attempt": 1, "name": "test", "head_sha": "abc",
        "status": "completed", "conclusion": "failure",
        "steps": [
            {"number": 1, "name": "Set up job", "status": "completed", "conclusion": "success"},
            {"number": 2, "name": "Run tests", "status": "completed", "conclusion": "failure"},
            {"number": 3, "name": "Upload", "status": "completed", "conclusion": "skipped"}
        ]
    }))
    .unwrap();
    assert_eq!(job.state, GithubState::Completed(GithubConclusion::Failure));
    let failed: Vec<&str> = job.failed_steps().map(|s| s.name.as_str()).collect();
    assert_eq!(failed, ["Run tests"]);
    assert_eq!(
        serde_json::to_value(&job).unwrap()["steps"][1],
        json!({"number": 2, "name": "Run tests", "status": "completed", "conclusion": "failure"})
    );
}
