//! GitHub Actions deliveries through the deployed stack: `github.workflow_run` and
//! `github.workflow_job` routed to the feed-projector, folded per commit and merged into the
//! author's praktika feed, whatever their order; `feed.updated` announced for the Home tab and
//! DMs.

use std::time::Duration;

use pulse_contracts::praktika::{FeedEvent, PrStatus};
use pulse_contracts::{Envelope, Event, FeedUpdated, GithubWorkflowJob, GithubWorkflowRun};
use pulse_feed_projector::github::UNKNOWN_PR_BASE;
use serde_json::{Value, json};

use crate::harness::{Stack, delivered_envelope, fast_poller};

const REPO: &str = "octo-org/widgets";
const SHA: &str = "5f0c2a9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39";
const AUTHOR: &str = "lin@widgets.example";
/// The noreply address of the login that triggered the runs (id 7, login `release-bot`).
const TRIGGERER: &str = "7+release-bot@users.noreply.github.com";

/// A `workflow_run` delivery envelope as ingress publishes it; `overrides` replace run fields.
fn run(delivery: &str, id: u64, workflow: &str, state: (&str, Option<&str>), updated_at: &str, overrides: Value) -> Envelope<Event> {
    let (status, conclusion) = state;
    let mut run = json!({
        "id": id, "name": workflow, "head_branch": "faster-io", "head_sha": SHA, "event": "pull_request",
        "status": status, "run_number": 311, "run_attempt": 1,
        "html_url": format!("https://github.com/{REPO}/actions/runs/{id}"),
        "created_at": "2026-05-01T09:00:00Z", "updated_at": updated_at,
        "pull_requests": [{"number": 58, "head_ref": "faster-io", "base_ref": "main"}],
        "head_commit": {"message": "Faster IO", "author_name": "Lin", "author_email": AUTHOR},
        "actor": {"login": "lin", "id": 3}, "triggering_actor": {"login": "release-bot", "id": 7},
    });
    if let Some(c) = conclusion {
        run["conclusion"] = json!(c);
    }
    for (k, v) in overrides.as_object().cloned().unwrap_or_default() {
        run[k] = v;
    }
    let action = if status == "queued" { "requested" } else { status };
    let detail: GithubWorkflowRun =
        serde_json::from_value(json!({"delivery_id": delivery, "action": action, "repository": REPO, "run": run})).expect("a run");
    Event::GithubWorkflowRunV1(detail).into_envelope(
        "pulse.ingress",
        format!("github.workflow_run:{delivery}"),
        uuid::Uuid::new_v4(),
        chrono::Utc::now(),
    )
}

/// A `workflow_job` delivery envelope of run `run_id`, started (and ended, if concluded) at `at`.
fn job(delivery: &str, run_id: u64, id: u64, name: &str, state: (&str, Option<&str>), at: &str) -> Envelope<Event> {
    let (status, conclusion) = state;
    let mut job = json!({
        "id": id, "run_id": run_id, "run_attempt": 1, "name": name, "workflow_name": "ignored-when-the-run-is-known",
        "head_branch": "faster-io", "head_sha": SHA, "status": status, "started_at": at,
    });
    if let Some(c) = conclusion {
        job["conclusion"] = json!(c);
        job["completed_at"] = json!(at);
    }
    let detail: GithubWorkflowJob =
        serde_json::from_value(json!({"delivery_id": delivery, "action": status, "repository": REPO, "job": job})).expect("a job");
    Event::GithubWorkflowJobV1(detail).into_envelope(
        "pulse.ingress",
        format!("github.workflow_job:{delivery}"),
        uuid::Uuid::new_v4(),
        chrono::Utc::now(),
    )
}

const RUNNING: (&str, Option<&str>) = ("in_progress", None);
const OK: (&str, Option<&str>) = ("completed", Some("success"));
const FAILED: (&str, Option<&str>) = ("completed", Some("failure"));

/// Publish `events` and project until each is settled; none may be dead-lettered.
async fn deliver(stack: &Stack, events: &[Envelope<Event>]) {
    stack.publish(events).await;
    let stats = stack.project(&stack.projector(), &fast_poller(), events.len(), Duration::from_secs(30)).await;
    assert_eq!((stats.done, stats.dead_lettered), (events.len(), 0), "{stats:?}");
}

fn jobs(event: &FeedEvent) -> Vec<(String, String)> {
    event.jobs().iter().map(|j| (j.name.clone(), j.status.to_string())).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// The one event of `email`'s feed.
async fn only_event(stack: &Stack, email: &str) -> FeedEvent {
    let feed = stack.feed(email).await.unwrap_or_else(|| panic!("no feed for {email}"));
    assert_eq!(feed.events.len(), 1, "{:#?}", feed.events);
    feed.events.into_iter().next().unwrap()
}

/// The `feed.updated` events the home-renderer received.
async fn announced(stack: &Stack, at_least: usize) -> Vec<FeedUpdated> {
    stack
        .drain(&stack.names.queue("home-renderer"), at_least)
        .await
        .iter()
        .map(|m| match delivered_envelope(m).detail {
            Event::FeedUpdatedV1(u) => u,
            other => panic!("home-renderer got {}", other.event_type()),
        })
        .collect()
}

#[tokio::test]
async fn several_workflows_of_one_commit_land_as_one_event_in_the_authors_and_the_triggerers_feed() {
    let stack = Stack::deploy().await;
    stack.set_now(1_777_626_000); // 2026-05-01T09:00:00Z
    // Shuffled on purpose: completions before starts, jobs before runs.
    deliver(
        &stack,
        &[
            job("j-build-done", 900, 1, "build", FAILED, "2026-05-01T09:06:00Z"),
            run("r-lint-done", 901, "Lint", OK, "2026-05-01T09:03:00Z", json!({})),
            run("r-ci-done", 900, "CI", FAILED, "2026-05-01T09:07:00Z", json!({})),
            job("j-eslint-done", 901, 2, "eslint", OK, "2026-05-01T09:02:50Z"),
            run("r-ci-start", 900, "CI", RUNNING, "2026-05-01T09:01:00Z", json!({})),
            job("j-build-start", 900, 1, "build", RUNNING, "2026-05-01T09:01:30Z"),
            job("j-test-done", 900, 3, "test (ubuntu-latest, 22)", OK, "2026-05-01T09:05:00Z"),
        ],
    )
    .await;

    let event = only_event(&stack, AUTHOR).await;
    assert_eq!(jobs(&event), pairs(&[("CI / build", "FAIL"), ("CI / test (ubuntu-latest, 22)", "OK"), ("Lint / eslint", "OK")]));
    assert_eq!((event.ext.pr_number, event.ext.pr_status), (58, Some(PrStatus::Open)));
    assert_eq!((event.ci_status.as_str(), event.kind.is_completed()), ("FAIL", true));
    assert_eq!(event.ext.commit_authors, [AUTHOR]);
    assert_eq!(event.ext.workflow_name, "CI, Lint");
    assert_eq!(only_event(&stack, TRIGGERER).await, event, "the triggering login's feed holds the same run");

    // The fold's state is private: under its own prefix, not a feed.
    let s3 = pulse_aws::config::s3_client(&stack.config);
    let listed = s3.list_objects_v2().bucket(stack.names.feed_bucket()).send().await.expect("list");
    let mut keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "events/7_plus_release-bot_at_users.noreply.github.com.json.gz",
            "events/lin_at_widgets.example.json.gz",
            &format!("pulse-github-state/{REPO}/{SHA}.json.gz"),
        ]
    );

    // Announced for both feeds; the last announcement of the author's feed is the final state.
    let updates = announced(&stack, 2).await;
    let authors: Vec<&FeedUpdated> = updates.iter().filter(|u| u.email.as_str() == AUTHOR).collect();
    assert!(!authors.is_empty() && updates.iter().any(|u| u.email.as_str() == TRIGGERER), "{updates:?}");
    // Intermediate states are announced as they come (in whatever order SQS delivered them);
    // the final one is among them.
    assert!(authors.iter().any(|u| u.newest_event == event), "the final state was not announced: {authors:#?}");
    assert!(authors.iter().any(|u| u.has(pulse_contracts::FeedChange::NewFailure)), "{authors:#?}");
    assert_eq!(event.failing_job_names(), ["CI / build"]);
}

#[tokio::test]
async fn a_job_before_its_run_waits_for_it_and_a_late_job_after_completion_still_lands() {
    let stack = Stack::deploy().await;
    stack.set_now(1_777_626_000);
    deliver(&stack, &[job("early", 900, 1, "build", FAILED, "2026-05-01T09:06:00Z")]).await;
    assert!(stack.feed(AUTHOR).await.is_none(), "no run yet: no author, no feed");
    assert!(announced(&stack, 0).await.is_empty());

    deliver(&stack, &[run("done", 900, "CI", FAILED, "2026-05-01T09:07:00Z", json!({}))]).await;
    assert_eq!(jobs(&only_event(&stack, AUTHOR).await), pairs(&[("CI / build", "FAIL")]));

    // A job whose completion is delivered after the run completed, with an older time.
    deliver(&stack, &[job("late", 900, 4, "docs", OK, "2026-05-01T09:04:00Z")]).await;
    let event = only_event(&stack, AUTHOR).await;
    assert_eq!(jobs(&event), pairs(&[("CI / build", "FAIL"), ("CI / docs", "OK")]));
    assert_eq!(event.ci_status.as_str(), "FAIL");
    let updates = announced(&stack, 4).await;
    assert!(updates.iter().any(|u| u.email.as_str() == AUTHOR && u.newest_event.jobs().len() == 2), "{updates:?}");
}

#[tokio::test]
async fn a_redelivery_and_a_stale_delivery_change_nothing_and_announce_nothing() {
    let stack = Stack::deploy().await;
    stack.set_now(1_777_626_000);
    let done = run("done", 900, "CI", OK, "2026-05-01T09:07:00Z", json!({}));
    deliver(&stack, std::slice::from_ref(&done)).await;
    let before = only_event(&stack, AUTHOR).await;
    assert_eq!(announced(&stack, 2).await.len(), 2, "author and triggerer");
    let s3 = pulse_aws::config::s3_client(&stack.config);
    let state_key = format!("pulse-github-state/{REPO}/{SHA}.json.gz");
    let etag = |o: aws_sdk_s3::operation::head_object::HeadObjectOutput| o.e_tag().map(str::to_owned);
    let state_etag = etag(s3.head_object().bucket(stack.names.feed_bucket()).key(&state_key).send().await.expect("state"));

    // The same delivery again (GitHub's redelivery keeps the id), and another delivery of an
    // older state (the run's start, arriving last).
    let mut again = done.clone();
    again.id = uuid::Uuid::new_v4();
    deliver(&stack, &[again, run("start", 900, "CI", RUNNING, "2026-05-01T09:01:00Z", json!({}))]).await;

    assert_eq!(only_event(&stack, AUTHOR).await, before);
    assert_eq!(etag(s3.head_object().bucket(stack.names.feed_bucket()).key(&state_key).send().await.expect("state")), state_etag);
    assert!(announced(&stack, 0).await.is_empty(), "nothing changed, nothing announced");
}

#[tokio::test]
async fn a_fork_pr_is_a_pr_of_unknown_number_and_a_push_on_the_same_commit_its_merge_result() {
    let stack = Stack::deploy().await;
    stack.set_now(1_777_626_000);
    let lin = json!({"triggering_actor": {"login": "lin", "id": 3}, "actor": {"login": "lin", "id": 3}});
    let mut fork = lin.clone();
    fork["pull_requests"] = json!([]);
    let mut push = lin;
    push["event"] = json!("push");
    push["pull_requests"] = json!([]);
    deliver(
        &stack,
        &[run("fork", 900, "CI", FAILED, "2026-05-01T09:07:00Z", fork), run("push", 902, "Nightly", OK, "2026-05-01T09:08:00Z", push)],
    )
    .await;

    let feed = stack.feed(AUTHOR).await.expect("the author's feed");
    assert_eq!(feed.events.len(), 2, "{:#?}", feed.events);
    let pr = feed.events.iter().find(|e| !e.is_merge_result()).expect("the fork PR's event");
    assert!(pr.ext.pr_number >= UNKNOWN_PR_BASE, "{}", pr.ext.pr_number);
    assert_eq!(pr.ext.pr_status, Some(PrStatus::Open), "never taken for merged");
    assert_eq!(pr.ext.extra.get("pr_number_unknown"), Some(&json!(true)));
    assert_eq!(jobs(pr), pairs(&[("CI", "FAIL")]));
    let merge = feed.events.iter().find(|e| e.is_merge_result()).expect("the push's event");
    assert_eq!(jobs(merge), pairs(&[("Nightly", "OK")]));
    assert_eq!(merge.ext.pr_status, Some(PrStatus::Merged));
    assert!(stack.feed("3+lin@users.noreply.github.com").await.is_some(), "the triggering login is not the author: followed");
}

#[tokio::test]
async fn forgetting_the_author_empties_the_commit_state_and_later_deliveries_stay_out_of_their_feed() {
    let stack = Stack::deploy().await;
    stack.set_now(1_777_626_000);
    deliver(&stack, &[run("done", 900, "CI", FAILED, "2026-05-01T09:07:00Z", json!({}))]).await;
    assert!(stack.feed(AUTHOR).await.is_some());

    let request = pulse_contracts::PersonForget {
        request_id: uuid::Uuid::new_v4(),
        email: Some(pulse_contracts::Email::parse(AUTHOR).expect("an address")),
        slack_user_id: None,
        dry_run: false,
        requested_by: "ops".into(),
        pseudonym: "person-1".into(),
    };
    let forget = Event::PersonForgetV1(request.clone()).into_envelope(
        "pulse.cli",
        format!("person.forget:{}", request.request_id),
        uuid::Uuid::new_v4(),
        chrono::Utc::now(),
    );
    deliver(&stack, &[forget]).await;
    assert!(stack.feed(AUTHOR).await.is_none(), "the author's feed is gone");
    let s3 = pulse_aws::config::s3_client(&stack.config);
    let state_key = format!("pulse-github-state/{REPO}/{SHA}.json.gz");
    let versions = s3.list_object_versions().bucket(stack.names.feed_bucket()).prefix(&state_key).send().await.expect("versions");
    assert_eq!(versions.versions().len(), 1, "older versions of the state are deleted");
    let body = s3.get_object().bucket(stack.names.feed_bucket()).key(&state_key).send().await.expect("state").body.collect().await;
    let text = String::from_utf8(flate2_decode(&body.expect("body").into_bytes())).expect("utf-8");
    assert!(!text.contains(AUTHOR) && !text.contains("\"Lin\""), "{text}");

    // GitHub redelivers the run's completion (another delivery id, the same payload).
    deliver(&stack, &[run("done-again", 900, "CI", FAILED, "2026-05-01T09:07:00Z", json!({}))]).await;
    assert!(stack.feed(AUTHOR).await.is_none(), "a later delivery of the commit does not bring the person back");
}

fn flate2_decode(gzip: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gzip), &mut out).expect("gzip");
    out
}
