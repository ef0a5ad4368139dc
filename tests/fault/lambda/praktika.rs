//! praktika-compat as praktika invokes it: an asynchronous invocation with praktika's raw JSON
//! payload. A usable one becomes an event on the bus; an unusable one fails the invocation
//! (reported to `/invocation/{id}/error`, so AWS retries it) with nothing published.

use pulse_fake_lambda_runtime::Outcome;
use serde_json::json;

use crate::harness::Scene;
use crate::lambda::function::Function;

/// `slack.command` events that crossed the bus so far.
async fn commands(scene: &Scene) -> usize {
    scene.tap(std::time::Duration::from_millis(300)).await.iter().filter(|t| t.detail_type.starts_with("slack.command")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn praktikas_subscribe_is_published_and_a_bad_payload_fails_the_invocation() {
    let scene = Scene::start("lambda_praktika", &[]).await;
    let mut worker = Function::start(&scene, "praktika-compat", &[("PULSE_SLACK_TEAM_ID", Some("T0LAMBDA"))]).await;
    let subscribe = json!({
        "action": "subscribe",
        "user_id": "U0LAMBDA05",
        "username": "dev",
        "github_login": format!("dev-{}@lambda.example", scene.prefix),
        "response_url": scene.slack.response_url("praktika-sub"),
    });
    worker.respond(subscribe).await;
    assert_eq!(commands(&scene).await, 1, "the subscribe was not published once");
    let in_queue = crate::lambda::events::sqs_batch(&scene, "home-renderer", 1).await;
    assert!(in_queue.messages[0].1.contains("subscribe dev-"), "the home-renderer got: {}", in_queue.messages[0].1);

    let outcome = worker.invoke(json!({"action": "subscribe", "username": "no user id"})).await;
    let Outcome::Error(error) = outcome else { panic!("a payload without user_id was accepted: {outcome:?}") };
    assert!(error.error_message().unwrap_or_default().contains("user_id"), "{error:?}");
    assert_eq!(commands(&scene).await, 1, "a refused payload published something");
    assert!(worker.process.is_running(), "a bad payload ended the function");
}
