//! The fake walked through as a runtime walks the Runtime API: `/next`, then `/response` or
//! `/error`; `/init/error` before any.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pulse_fake_lambda_runtime::{ERROR_TYPE_HEADER, FakeRuntime, Outcome};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

fn url(fake: &FakeRuntime, path: &str) -> String {
    format!("http://{}/2018-06-01/runtime/{path}", fake.address())
}

/// What a runtime does for one invocation: take it, then answer with `answer(event)` at
/// `/response` or, when it returns `Err(type)`, at `/error`.
async fn serve_one(fake: &FakeRuntime, answer: impl FnOnce(&Value) -> Result<Value, String>) -> (reqwest::header::HeaderMap, u16) {
    let http = reqwest::Client::new();
    let next = http.get(url(fake, "invocation/next")).send().await.expect("/next");
    assert_eq!(next.status(), 200);
    let headers = next.headers().clone();
    let id = headers["Lambda-Runtime-Aws-Request-Id"].to_str().unwrap().to_owned();
    let event: Value = next.json().await.expect("the event is JSON");
    let status = match answer(&event) {
        Ok(body) => http.post(url(fake, &format!("invocation/{id}/response"))).json(&body).send().await,
        Err(kind) => {
            let body = json!({"errorMessage": "it broke", "errorType": kind});
            http.post(url(fake, &format!("invocation/{id}/error"))).header(ERROR_TYPE_HEADER, kind).json(&body).send().await
        }
    };
    (headers, status.expect("answer").status().as_u16())
}

#[tokio::test]
async fn an_invocation_reaches_the_function_with_lambdas_headers_and_its_response_comes_back() {
    let fake = FakeRuntime::start("pulse-notifier").await.unwrap();
    let event = json!({"Records": [{"messageId": "m-1"}]});
    let (outcome, (headers, status)) =
        tokio::join!(fake.invoke(event.clone(), WAIT), serve_one(&fake, |e| Ok(json!({"echo": e["Records"][0]["messageId"]}))));

    assert_eq!(outcome.unwrap().json(), json!({"echo": "m-1"}));
    assert_eq!(status, 202);
    assert_eq!(headers["Lambda-Runtime-Invoked-Function-Arn"], "arn:aws:lambda:us-east-1:123456789012:function:pulse-notifier");
    let deadline: u128 = headers["Lambda-Runtime-Deadline-Ms"].to_str().unwrap().parse().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    assert!(deadline > now && deadline <= now + WAIT.as_millis(), "the deadline is the invocation's timeout from now: {deadline} vs {now}");
    assert!(headers["Lambda-Runtime-Trace-Id"].to_str().unwrap().starts_with("Root=1-"));
    assert!(fake.first_next().is_some());
}

#[tokio::test]
async fn an_error_report_keeps_its_type_header_and_body() {
    let fake = FakeRuntime::start("f").await.unwrap();
    let (outcome, _) = tokio::join!(fake.invoke(json!({}), WAIT), serve_one(&fake, |_| Err("Runtime.Boom".to_owned())));
    let Ok(Outcome::Error(error)) = outcome else { panic!("expected an error, got {outcome:?}") };
    assert_eq!(error.header_type.as_deref(), Some("Runtime.Boom"));
    assert_eq!(error.error_message().as_deref(), Some("it broke"));
    assert_eq!(error.error_type().as_deref(), Some("Runtime.Boom"));
}

#[tokio::test]
async fn an_invocation_is_settled_once_and_only_by_its_own_id() {
    let fake = FakeRuntime::start("f").await.unwrap();
    let http = reqwest::Client::new();
    let unknown = http.post(url(&fake, "invocation/not-an-id/response")).body("{}").send().await.unwrap();
    assert_eq!(unknown.status(), 400);

    let (outcome, (headers, first)) = tokio::join!(fake.invoke(json!({"n": 1}), WAIT), serve_one(&fake, |_| Ok(json!(1))));
    assert_eq!(outcome.unwrap(), Outcome::Response("1".to_owned()));
    assert_eq!(first, 202);
    let id = headers["Lambda-Runtime-Aws-Request-Id"].to_str().unwrap();
    let again = http.post(url(&fake, &format!("invocation/{id}/response"))).body("2").send().await.unwrap();
    assert_eq!(again.status(), 400, "a second answer to the same invocation is refused");
}

#[tokio::test]
async fn init_errors_are_recorded_and_awaited() {
    let fake = FakeRuntime::start("f").await.unwrap();
    assert_eq!(fake.init_error(Duration::from_millis(50)).await, None);
    let body = json!({"errorMessage": "SLACK_BOT_TOKEN is not set", "errorType": "Runtime.InitError"});
    let posted = reqwest::Client::new()
        .post(url(&fake, "init/error"))
        .header(ERROR_TYPE_HEADER, "Runtime.InitError")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    let error = fake.init_error(WAIT).await.expect("recorded");
    assert_eq!(error.error_message().as_deref(), Some("SLACK_BOT_TOKEN is not set"));
    assert_eq!(error.header_type.as_deref(), Some("Runtime.InitError"));
    assert!(fake.first_next().is_none());
}

#[tokio::test]
async fn an_unanswered_invocation_times_out_saying_whether_it_was_taken() {
    let fake = FakeRuntime::start("f").await.unwrap();
    let untaken = fake.invoke(json!({}), Duration::from_millis(100)).await.unwrap_err();
    assert!(!untaken.taken, "{untaken}");

    let http = reqwest::Client::new();
    let take = async {
        // The first queued invocation (still waiting), then the second.
        for _ in 0..2 {
            http.get(url(&fake, "invocation/next")).send().await.unwrap();
        }
    };
    let (taken, ()) = tokio::join!(fake.invoke(json!({}), Duration::from_millis(300)), take);
    assert!(taken.unwrap_err().taken);
}
