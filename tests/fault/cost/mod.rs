//! # What it costs (issue #13): AWS calls per CI event and per Slack request, counted
//!
//! Pulse's AWS bill is calls: EventBridge entries, SQS requests, DynamoDB reads and writes, S3
//! requests, Lambda invocations. This test runs the real workers (feed-projector, home-renderer,
//! notifier), `pulse publish` as CI runs it, and ingress (in process, as its Lambda runs it),
//! each reaching moto through its own counting proxy ([`crate::counting`]), so every call is
//! attributed to the process that made it. It sends Slack requests and then CI events one at a
//! time, lets each settle, and checks each one's calls against its budget ([`budget`]): a change
//! that adds a call fails here, naming the process, service and operation. The measured table
//! goes to `target/fault/cost.json` and stdout ([`report`]); BENCHMARKS.md ("Cost model") prices
//! it and sets it next to praktika's own calls for the same work.
//!
//! The mix: four authors, two of them followed (ann by U1 with failure DMs on, bob by U2 with
//! the defaults); eight runs of one or two authors, some failed. Workers use a 30 s visibility
//! so no heartbeat (every third of it) falls inside a message's handling: heartbeats are calls
//! made with time, not with work, and Lambda has none (its lease is the invocation).

mod budget;
mod meter;
mod report;

use std::time::Duration;

use pulse_ingress::Ingress;
use pulse_slack_requests::{self as requests, Command};
use serde_json::json;

use crate::fixtures::{self, email, workflow};
use crate::harness::{Scene, WorkerOptions, in_process_ingress, post_signed};
use budget::{CiShape, SlackRequest};
use meter::Meter;
use report::Report;

const CONSUMERS: [&str; 3] = ["feed-projector", "home-renderer", "notifier"];
const ANN_FOLLOWER: &str = "U0COSTANN";
const BOB_FOLLOWER: &str = "U0COSTBOB";

/// Send one Slack request through ingress.
async fn slack_request(scene: &Scene, ingress: &Ingress, request: SlackRequest, user: &str, followed: &str) {
    match request {
        SlackRequest::Subscribe => {
            let mut command = Command::new(&format!("/praktika subscribe {followed}"), user);
            command.response_url = scene.slack.response_url(&format!("sub-{user}"));
            post_signed(ingress, "/slack/commands", command.form(), false).await;
        }
        SlackRequest::Toggle => {
            let payload = requests::home_toggle_payload("toggle_notify_on_failure", "on", user, &format!("V{user}"));
            post_signed(ingress, "/slack/interactivity", requests::interactivity_form(&payload), false).await;
        }
        SlackRequest::HomeOpened => {
            let payload = requests::home_opened_payload(&requests::event_id(), user);
            post_signed(ingress, "/slack/events", payload.to_string(), true).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_calls_per_ci_event_and_per_slack_request_stay_within_budget() {
    let tag_users = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let [ann, bob, carol, dave] = ["ann", "bob", "carol", "dave"].map(|who| email(&tag_users, who));
    let users = [(ANN_FOLLOWER, "ann", ann.as_str()), (BOB_FOLLOWER, "bob", bob.as_str())];
    let scene = Scene::start("cost", &users).await;
    let mut meter = Meter::start(&scene, &["pulse publish", "ingress", "feed-projector", "home-renderer", "notifier"]).await;
    let options = |process: &str| WorkerOptions { endpoint: Some(meter.url(process)), visibility: 30, ..WorkerOptions::default() };
    let _workers = tokio::join!(
        scene.worker("feed-projector", options("feed-projector")),
        scene.worker("home-renderer", options("home-renderer")),
        scene.worker("notifier", options("notifier")),
    );
    let ingress = in_process_ingress(&scene, &meter.url("ingress")).await;
    // What the workers did to start (queue URLs, redrive policies) is not per unit of work.
    meter.window(&scene).await;

    let mut report = Report::default();
    let mut problems = Vec::new();
    let requests = [
        (SlackRequest::Subscribe, ANN_FOLLOWER, &ann),
        (SlackRequest::Subscribe, BOB_FOLLOWER, &bob),
        (SlackRequest::Toggle, ANN_FOLLOWER, &ann),
        (SlackRequest::HomeOpened, ANN_FOLLOWER, &ann),
    ];
    for (request, user, followed) in requests {
        slack_request(&scene, &ingress, request, user, followed).await;
        assert!(scene.settle(&CONSUMERS, Duration::from_secs(30)).await, "{request:?} by {user} did not settle");
        let window = meter.window(&scene).await;
        let label = format!("{request:?} by {user}");
        problems.extend(budget::slack_request(request).check(&label, &window));
        report.add("slack_request", format!("{request:?}"), json!({"user": user}), &window);
    }
    // What landed: each subscription answered once, and U1's Home view shows ann's feed.
    for user in [ANN_FOLLOWER, BOB_FOLLOWER] {
        let replies = scene.slack.succeeded("response_url").await;
        let id = format!("sub-{user}");
        assert_eq!(replies.iter().filter(|c| c["response_id"].as_str() == Some(id.as_str())).count(), 1, "replies to {user}");
    }

    // The CI mix: (authors, failed). ann's follower gets a DM for each failed run of ann's.
    let tag = scene.prefix.clone();
    let mix: [(&[&String], bool); 8] = [
        (&[&ann], false),
        (&[&carol], true),
        (&[&ann, &carol], true),
        (&[&bob], false),
        (&[&dave, &bob], true),
        (&[&ann], true),
        (&[&carol, &dave], false),
        (&[&bob, &ann], false),
    ];
    let mut dms_expected = 0;
    let mut runs = Vec::new();
    for (n, (authors, failed)) in mix.iter().enumerate() {
        let authors: Vec<String> = authors.iter().map(|a| a.to_string()).collect();
        let run = workflow(&tag, n as u64 + 1, &authors, *failed);
        let subscribers = authors.iter().filter(|a| **a == ann || **a == bob).count() as u64;
        let dms = u64::from(*failed && authors.contains(&ann));
        let first_dms = if dms_expected == 0 { dms } else { 0 };
        dms_expected += dms;
        let shape = CiShape { authors: authors.len() as u64, subscribers, dms, first_dms };
        scene.publish_via(&meter.url("pulse publish"), std::slice::from_ref(&run.envelope)).await;
        assert!(scene.settle(&CONSUMERS, Duration::from_secs(30)).await, "run {} did not settle", n + 1);
        let window = meter.window(&scene).await;
        problems.extend(budget::ci_event(shape).check(&format!("run {} {shape:?}", n + 1), &window));
        report.add("ci_event", format!("run {}", n + 1), json!(shape), &window);
        runs.push(run);
    }
    report.write(&scene);

    // What landed: every run in each author's feed once, the failure DMs, no dead letter.
    for run in &runs {
        for author in &run.authors {
            assert_eq!(scene.feed_holds(author, &run.sha).await, 1, "run {} in {author}'s feed", fixtures::dedup_key(&run.envelope));
        }
    }
    assert_eq!(crate::seen::dms(&scene, ANN_FOLLOWER).await as u64, dms_expected, "failure DMs to ann's follower");
    assert_eq!(crate::seen::dms(&scene, BOB_FOLLOWER).await, 0, "bob's follower asked for no DMs");
    let dead: u64 = scene.dead_letter_counts().await.values().sum();
    assert_eq!(dead, 0, "dead letters");
    assert!(problems.is_empty(), "calls outside their budget (see cost.json):\n{}", problems.join("\n"));
}
