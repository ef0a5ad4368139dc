//! The consumers as SQS-triggered functions: batches built from messages received from the
//! stack's queues, answered with a partial batch response, effects read back from storage, the
//! bus and the fake Slack.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use crate::fixtures::{self, TEAM, alert, email, subscription_changed, workflow};
use crate::harness::{Scene, eventually};
use crate::lambda::events::{scheduled_event, sqs_batch, transformed};
use crate::lambda::function::Function;

/// The message ids a partial batch response reports as failed.
fn failed_ids(response: &Value) -> BTreeSet<String> {
    let failures = response["batchItemFailures"].as_array().unwrap_or_else(|| panic!("no batchItemFailures in {response}"));
    failures.iter().map(|f| f["itemIdentifier"].as_str().expect("itemIdentifier").to_owned()).collect()
}

/// The notifier's projection of `user`'s subscription to `email` (its messages table), if any.
async fn notifier_subscription(scene: &Scene, user: &str, email: &str) -> Option<std::collections::HashMap<String, AttributeValue>> {
    aws_sdk_dynamodb::Client::new(&scene.sdk)
        .get_item()
        .table_name(scene.names.table("notifier", "messages"))
        .key("pk", AttributeValue::S(format!("sub#{email}")))
        .key("sk", AttributeValue::S(format!("{TEAM}#{user}")))
        .send()
        .await
        .expect("read the notifier's messages table")
        .item
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_batch_reports_exactly_its_retryable_and_panicking_records() {
    let scene = Scene::start("lambda_notifier_batch", &[]).await;
    let tag = scene.prefix.clone();
    let (ann, bob) = (email(&tag, "ann"), email(&tag, "bob"));
    // Good: a subscription the notifier projects (no Slack call). Retryable: an alert whose
    // post Slack keeps answering 500. Panicking: another subscription, its handler panics.
    let good = subscription_changed("U0LAMBDA01", &ann, 1);
    let retryable = alert(&tag, 1);
    let panicking = subscription_changed("U0LAMBDA02", &bob, 1);
    scene.publish(&[good.clone(), retryable.envelope.clone(), panicking.clone()]).await;
    // Poisoned: not an envelope at all.
    let poisoned = format!("{{\"not\": \"an envelope\", \"tag\": \"{tag}\"");
    scene.queue(&scene.names.queue("notifier")).await.send(&poisoned, &[]).await.expect("send the poisoned message");
    let batch = sqs_batch(&scene, "notifier", 4).await;
    scene.slack.inject("chat.postMessage", json!({"kind": "server_error", "status": 500}), 1000).await;

    let panic_on = format!("claimed=panic@{}", fixtures::dedup_key(&panicking));
    let mut notifier = Function::start(&scene, "notifier", &[("PULSE_FAULT", Some(&panic_on))]).await;
    let response = notifier.respond(batch.event.clone()).await;

    let expected: BTreeSet<String> = [batch.id_of(&retryable.dedup_key), batch.id_of(&fixtures::dedup_key(&panicking))].into();
    assert_eq!(failed_ids(&response), expected, "the response lists exactly the retryable and the panicking record: {response}");
    // The good record took effect; the failed ones did not.
    assert!(notifier_subscription(&scene, "U0LAMBDA01", &ann).await.is_some(), "the good subscription was not projected");
    assert!(notifier_subscription(&scene, "U0LAMBDA02", &bob).await.is_none(), "the panicking record took effect");
    assert!(!scene.slack.calls("chat.postMessage").await.is_empty(), "the retryable alert never tried Slack");
    assert_eq!(crate::seen::posts(&scene, fixtures::ALERT_CHANNEL, &retryable.title).await, 0);
    // The poisoned record is in the dead-letter queue, not reported (so not redelivered).
    let dead = scene.dead_letters("notifier").await;
    assert_eq!(dead.len(), 1, "{dead:#?}");
    assert!(!failed_ids(&response).contains(&batch.id_of(&poisoned)));
    assert!(notifier.process.is_running(), "a panicking record ended the function");

    // Every line logged while handling the batch names the invocation and its trace; the
    // outcomes are counted in CloudWatch's embedded metric format on the same stream.
    let request_id = notifier
        .runtime
        .calls()
        .iter()
        .find_map(|c| c.path.strip_prefix("/2018-06-01/runtime/invocation/")?.strip_suffix("/response").map(str::to_owned))
        .expect("the function answered through /response");
    let log = std::fs::read_to_string(notifier.process.log_files.last().expect("a log")).expect("read the function's log");
    let lines: Vec<Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let (metrics, logged): (Vec<&Value>, Vec<&Value>) = lines.iter().partition(|l| l.get("_aws").is_some());
    let handling: Vec<&&Value> = logged.iter().filter(|l| l["span"]["name"] == "message").collect();
    assert!(handling.len() >= 4, "the records' lines: {log}");
    for line in handling {
        assert_eq!(line["spans"][0]["requestId"], request_id.as_str(), "{line}");
        assert!(line["spans"][0]["xrayTraceId"].as_str().is_some_and(|t| t.starts_with("Root=1-")), "{line}");
        assert!(line["timestamp"].is_string(), "{line}");
    }
    let count = |name: &str| metrics.iter().filter(|m| m.get(name).is_some()).count();
    assert_eq!(
        (count("MessagesHandled"), count("MessagesRetried"), count("MessagesDeadLettered")),
        (1, 2, 1),
        "one handled, two retried, one dead-lettered: {log}"
    );
    assert!(count("SlackCalls") >= 1 && count("EndToEndLatency") == 1, "{log}");
    let function = |m: &&Value| m["Service"].as_str().is_some_and(|s| s.ends_with("notifier"));
    assert!(metrics.iter().all(|m| function(m) && m["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Pulse"), "named by the function");
}

/// A Slack rate limit that outlasts the invocation: every post of an alert is answered 429 with
/// `Retry-After: 8`, and the invocation has 10 s. Each wait fits the notifier's rate-limit budget
/// (20 s), but a wait and another post do not fit the deadline: it sleeps through none of them,
/// and the record is reported failed, for SQS to redeliver, long before the deadline; nothing
/// was posted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_longer_than_the_invocation_is_not_waited_for() {
    let scene = Scene::start("lambda_notifier_deadline", &[]).await;
    let storm = alert(&scene.prefix, 2);
    scene.publish(std::slice::from_ref(&storm.envelope)).await;
    let batch = sqs_batch(&scene, "notifier", 1).await;
    scene.slack.inject("chat.postMessage", json!({"kind": "rate_limited", "retry_after_secs": 8}), 1000).await;
    let mut notifier = Function::start(&scene, "notifier", &[]).await;
    notifier.ready().await;
    let started = std::time::Instant::now();
    let response = notifier.respond_within(batch.event.clone(), Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "answered after {took:?}: a retry waited on the rate limit");
    assert_eq!(failed_ids(&response), [batch.id_of(&storm.dedup_key)].into(), "{response}");
    assert!(!scene.slack.calls("chat.postMessage").await.is_empty(), "Slack was never tried");
    assert_eq!(crate::seen::posts(&scene, fixtures::ALERT_CHANNEL, &storm.title).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_projector_writes_a_feed_and_the_notifiers_digest_tick_posts_it() {
    let scene = Scene::start("lambda_feed_and_digest", &[]).await;
    // The example routing sends alice@clickhouse.com's daily digest to C0CI.
    let alice = "alice@clickhouse.com".to_owned();
    let run = workflow(&scene.prefix, 1, std::slice::from_ref(&alice), true);
    scene.publish(std::slice::from_ref(&run.envelope)).await;
    let batch = sqs_batch(&scene, "feed-projector", 1).await;
    let mut projector = Function::start(&scene, "feed-projector", &[]).await;
    let response = projector.respond(batch.event).await;
    assert!(failed_ids(&response).is_empty(), "{response}");
    assert_eq!(scene.feed_holds(&alice, &run.sha).await, 1, "the run is not in alice's feed");
    assert_eq!(scene.on_bus(&run.feed_updated_key(&alice)).await, 1, "feed.updated was not announced once");

    // EventBridge fires the daily schedule; its input transformer makes a digest.tick.
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let rule = format!("{}-digest-daily", scene.prefix);
    let tick = transformed("${prefix}-digest-daily", &scheduled_event(&rule, &time));
    // Only the tick: what else reached the notifier's queue (the run, the projector's
    // feed.updated) is not this test's business; the digest reads the feed from S3.
    let queue = scene.queue(&scene.names.queue("notifier")).await;
    queue.client().purge_queue().queue_url(queue.url()).send().await.expect("purge the notifier's queue");
    queue.send(&tick, &[]).await.expect("deliver the tick");
    let batch = sqs_batch(&scene, "notifier", 1).await;
    batch.id_of("digest.tick:daily:");
    // The example routing also mails the digest from pulse@example.com: a verified sender.
    let ses = aws_sdk_sesv2::Client::new(&scene.sdk);
    ses.create_email_identity().email_identity("pulse@example.com").send().await.expect("verify the sender");
    let mut notifier = Function::start(&scene, "notifier", &[]).await;
    let response = notifier.respond(batch.event).await;
    assert!(failed_ids(&response).is_empty(), "{response}");
    let digests = scene.slack.messages("C0CI").await;
    assert_eq!(digests.len(), 1, "{digests:#?}");
    assert!(digests[0].to_string().contains(&alice), "{}", digests[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_renderer_answers_a_subscribe_command_and_announces_it() {
    let scene = Scene::start("lambda_home_renderer", &[]).await;
    let tag = scene.prefix.clone();
    let (user, ann) = ("U0LAMBDA03", email(&tag, "ann"));
    let command = fixtures::subscribe_command(user, &ann, &scene.slack.response_url("lambda-sub"));
    scene.publish(std::slice::from_ref(&command)).await;
    let batch = sqs_batch(&scene, "home-renderer", 1).await;
    let mut renderer = Function::start(&scene, "home-renderer", &[]).await;
    let response = renderer.respond(batch.event).await;
    assert!(failed_ids(&response).is_empty(), "{response}");
    let replies = scene.slack.succeeded("response_url").await;
    assert_eq!(replies.iter().filter(|c| c["response_id"] == "lambda-sub").count(), 1, "{replies:#?}");
    let announced = crate::seen::subscription_revisions(&scene, user).await;
    assert_eq!(announced.values().sum::<usize>(), 1, "subscription.changed of {user}: {announced:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_infra_reconciler_deploys_and_announces_it() {
    let scene = Scene::start("lambda_infra_reconciler", &[]).await;
    let deploy = fixtures::deploy_requested("demo-runner");
    scene.publish(std::slice::from_ref(&deploy.envelope)).await;
    let batch = sqs_batch(&scene, "infra-reconciler", 1).await;
    let mut reconciler = Function::start(&scene, "infra-reconciler", &[]).await;
    let response = reconciler.respond(batch.event).await;
    assert!(failed_ids(&response).is_empty(), "{response}");
    let completed = eventually(Duration::from_secs(10), Duration::from_millis(200), || async {
        (scene.on_bus(&deploy.status_key("completed")).await == 1).then_some(())
    })
    .await;
    assert!(completed.is_some(), "no deploy.status completed on the bus");
    assert_eq!(scene.on_bus(&deploy.status_key("started")).await, 1);
    assert_eq!(scene.on_bus(&deploy.status_key("failed")).await, 0);
}
