//! The Slack client (`pulse-slack`) against the fake, the fake's Slack semantics, its control API
//! and its binary; `page/` the local Slack page's HTTP face and stand-in.

mod page;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use pulse_core::Deadline;
use pulse_fake_slack::{FakeSlack, Fault, RESPONSE_URL_METHOD};
use pulse_slack::{ClientConfig, SlackClient, SlackError};
use serde_json::{Value, json};

const TOKEN: &str = "xoxb-0000-SECRET-do-not-leak";

/// Everything logged by any test in this binary. A global subscriber (installed before a test
/// does anything) rather than a per-test `set_default`, whose interest caching races with
/// callsites first hit by tests running on other threads.
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber =
            tracing_subscriber::fmt().with_max_level(tracing::Level::INFO).with_ansi(false).with_writer(move || writer.clone()).finish();
        tracing::subscriber::set_global_default(subscriber).expect("only this binary sets it");
        logs
    })
}

async fn setup() -> (FakeSlack, SlackClient) {
    logs();
    let fake = FakeSlack::start().await;
    fake.set_token(TOKEN);
    let client = SlackClient::new(fake.client_config(TOKEN));
    (fake, client)
}

fn client_with(fake: &FakeSlack, tweak: impl FnOnce(&mut ClientConfig)) -> SlackClient {
    let mut config = fake.client_config(TOKEN);
    tweak(&mut config);
    SlackClient::new(config)
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

fn home(blocks: Vec<Value>) -> Value {
    json!({"type": "home", "blocks": blocks})
}

fn statuses(fake: &FakeSlack, method: &str) -> Vec<u16> {
    fake.calls_to(method).iter().map(|c| c.status).collect()
}

// ---- retry policy against the fake ----

#[tokio::test]
async fn rate_limited_call_waits_retry_after_then_succeeds() {
    let (fake, client) = setup().await;
    fake.inject("chat.postMessage", Fault::RateLimited { retry_after_secs: 1 }, 1);
    let started = Instant::now();
    let posted = client.chat_post_message("C1", "hello", None, None, None).await.expect("succeeds after the 429");
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    assert_eq!(statuses(&fake, "chat.postMessage"), vec![429, 200]);
    assert_eq!(fake.message("C1", &posted.ts).unwrap()["text"], "hello");
}

#[tokio::test]
async fn retry_after_is_capped_by_config() {
    let (fake, _) = setup().await;
    let client = client_with(&fake, |c| c.max_retry_after = Duration::from_millis(50));
    fake.inject("auth.test", Fault::RateLimited { retry_after_secs: 30 }, 1);
    let started = Instant::now();
    client.auth_test().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(statuses(&fake, "auth.test"), vec![429, 200]);
}

#[tokio::test]
async fn ok_false_ratelimited_is_retried_like_429() {
    let (fake, client) = setup().await;
    fake.inject("chat.postMessage", Fault::SlackError("ratelimited".into()), 1);
    client.chat_post_message("C1", "x", None, None, None).await.unwrap();
    assert_eq!(fake.calls_to("chat.postMessage").len(), 2);
}

#[tokio::test]
async fn server_errors_twice_then_success() {
    let (fake, client) = setup().await;
    fake.inject("chat.postMessage", Fault::ServerError(500), 2);
    client.chat_post_message("C1", "x", None, None, None).await.unwrap();
    assert_eq!(statuses(&fake, "chat.postMessage"), vec![500, 500, 200]);
    assert_eq!(fake.messages().len(), 1, "faulted attempts have no effect");
}

#[tokio::test]
async fn api_error_surfaces_without_retry() {
    let (fake, client) = setup().await;
    let err = client.chat_post_message("", "x", None, None, None).await.unwrap_err();
    match &err {
        SlackError::Api { method, error, .. } => {
            assert_eq!(method, "chat.postMessage");
            assert_eq!(error, "channel_not_found");
        }
        other => panic!("expected Api, got {other:?}"),
    }
    assert_eq!(fake.calls_to("chat.postMessage").len(), 1, "not retried");
}

#[tokio::test]
async fn injected_api_error_is_not_retried() {
    let (fake, client) = setup().await;
    fake.inject("users.info", Fault::SlackError("channel_not_found".into()), 3);
    let err = client.users_info("U1").await.unwrap_err();
    assert_eq!(err.api_error(), Some("channel_not_found"));
    assert!(matches!(err, SlackError::Api { .. }));
    assert_eq!(fake.calls_to("users.info").len(), 1);
}

#[tokio::test]
async fn server_errors_exhaust_attempts() {
    let (fake, _) = setup().await;
    let client = client_with(&fake, |c| c.max_attempts = 3);
    fake.inject("*", Fault::ServerError(503), 10);
    let err = client.auth_test().await.unwrap_err();
    match &err {
        SlackError::RetriesExhausted { method, attempts, last } => {
            assert_eq!(method, "auth.test");
            assert_eq!(*attempts, 3);
            assert!(matches!(**last, SlackError::Http { status: 503, .. }), "{last:?}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(fake.calls_to("auth.test").len(), 3);
}

#[tokio::test]
async fn slow_answer_times_out_and_is_retried() {
    let (fake, _) = setup().await;
    let client = client_with(&fake, |c| c.request_timeout = Duration::from_millis(500));
    fake.inject("conversations.open", Fault::Delay(Duration::from_secs(3)), 1);
    let started = Instant::now();
    let channel = client.conversations_open(&["U1"]).await.unwrap();
    assert_eq!(channel, "DU1");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(500) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(fake.calls_to("conversations.open").len(), 2);
}

#[tokio::test]
async fn slow_answers_exhaust_with_timeout() {
    let (fake, _) = setup().await;
    let client = client_with(&fake, |c| {
        c.request_timeout = Duration::from_millis(150);
        c.max_attempts = 2;
    });
    fake.inject("auth.test", Fault::Delay(Duration::from_secs(2)), 5);
    let err = client.auth_test().await.unwrap_err();
    match err {
        SlackError::RetriesExhausted { attempts: 2, last, .. } => {
            assert!(matches!(*last, SlackError::Timeout { .. }), "{last:?}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
}

/// Under a final deadline (a Lambda invocation's), a retry whose wait and next attempt would not
/// end before it is given up at once: the message goes back to its queue instead of dying with
/// the invocation. A deadline with room for the wait changes nothing.
#[tokio::test]
async fn a_retry_that_would_outlive_the_deadline_is_given_up_at_once() {
    let (fake, _) = setup().await;
    let client = client_with(&fake, |c| {
        c.request_timeout = Duration::from_secs(2);
        c.max_retry_after = Duration::from_secs(60);
    });
    fake.inject("auth.test", Fault::RateLimited { retry_after_secs: 30 }, 1);
    let started = Instant::now();
    let err = Deadline::after(Duration::from_secs(10)).scope(client.auth_test()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "waited {:?}", started.elapsed());
    match err {
        SlackError::RetriesExhausted { attempts: 1, last, .. } => assert!(matches!(*last, SlackError::RateLimited { .. }), "{last:?}"),
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(fake.calls_to("auth.test").len(), 1);

    fake.inject("auth.test", Fault::RateLimited { retry_after_secs: 1 }, 1);
    Deadline::after(Duration::from_secs(10)).scope(client.auth_test()).await.expect("waited for and retried");
    assert_eq!(fake.calls_to("auth.test").len(), 3);
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    logs();
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = SlackClient::new(ClientConfig {
        base_url: format!("http://127.0.0.1:{port}/api"),
        max_attempts: 2,
        base_backoff: Duration::from_millis(5),
        ..ClientConfig::new(TOKEN)
    });
    let err = client.auth_test().await.unwrap_err();
    match err {
        SlackError::RetriesExhausted { attempts: 2, last, .. } => {
            assert!(matches!(*last, SlackError::Transport { .. }), "{last:?}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
}

#[tokio::test]
async fn fail_after_effect_really_posts() {
    let (fake, _) = setup().await;
    let client = client_with(&fake, |c| c.max_attempts = 1);
    fake.inject("chat.postMessage", Fault::FailAfterEffect(500), 1);
    let err = client.chat_post_message("C9", "deploy started", None, None, None).await.unwrap_err();
    assert!(matches!(err, SlackError::RetriesExhausted { attempts: 1, .. }), "{err:?}");
    let stored = fake.messages_in("C9");
    assert_eq!(stored.len(), 1, "the message was posted although the answer was a 500");
    assert_eq!(stored[0]["text"], "deploy started");
    assert_eq!(statuses(&fake, "chat.postMessage"), vec![500]);

    // A naive retry duplicates it: this is what the notifier's ledger must prevent.
    fake.inject("chat.postMessage", Fault::FailAfterEffect(502), 1);
    let retrying = client_with(&fake, |c| c.max_attempts = 2);
    retrying.chat_post_message("C9", "again", None, None, None).await.unwrap();
    assert_eq!(fake.messages_in("C9").len(), 3);
}

// ---- Slack semantics of the fake, through the typed helpers ----

#[tokio::test]
async fn views_publish_rejects_101_blocks() {
    let (fake, client) = setup().await;
    let err = client.views_publish("U1", home(vec![json!({"type": "divider"}); 101]), None).await.unwrap_err();
    match &err {
        SlackError::Api { error, response_metadata, .. } => {
            assert_eq!(error, "invalid_blocks");
            let text = response_metadata.as_ref().unwrap().to_string();
            assert!(text.contains("must be no more than 100 items"), "{text}");
        }
        other => panic!("expected Api, got {other:?}"),
    }
    assert!(err.to_string().contains("must be no more than 100 items"));
    assert_eq!(fake.calls_to("views.publish").len(), 1);
    assert!(fake.home_view("U1").is_none());
    client.views_publish("U1", home(vec![json!({"type": "divider"}); 100]), None).await.expect("100 blocks are fine");
}

#[tokio::test]
async fn views_publish_rejects_long_section_text() {
    let (fake, client) = setup().await;
    let err = client.views_publish("U1", home(vec![section(&"x".repeat(3001))]), None).await.unwrap_err();
    assert_eq!(err.api_error(), Some("invalid_blocks"));
    assert!(fake.home_view("U1").is_none());
    client.views_publish("U1", home(vec![section(&"x".repeat(3000))]), None).await.expect("3000 characters are fine");
    assert!(fake.home_view("U1").is_some());
}

#[tokio::test]
async fn views_publish_rejects_oversized_view() {
    let (_fake, client) = setup().await;
    let blocks = vec![section(&"y".repeat(2900)); 90];
    let err = client.views_publish("U1", home(blocks), None).await.unwrap_err();
    assert_eq!(err.api_error(), Some("view_too_large"));
}

#[tokio::test]
async fn views_publish_stores_view_and_checks_hash() {
    let (fake, client) = setup().await;
    let first = client.views_publish("U1", home(vec![section("one")]), None).await.unwrap();
    let hash = first["hash"].as_str().unwrap().to_owned();
    let second = client.views_publish("U1", home(vec![section("two")]), Some(&hash)).await.unwrap();
    assert_ne!(second["hash"], first["hash"]);
    assert_eq!(second["id"], first["id"], "the Home view keeps its id");
    let stale = client.views_publish("U1", home(vec![section("three")]), Some(&hash)).await.unwrap_err();
    assert_eq!(stale.api_error(), Some("hash_conflict"));
    let view = fake.home_view("U1").unwrap();
    assert_eq!(view["blocks"][0]["text"]["text"], "two");
}

#[tokio::test]
async fn messages_threads_and_updates() {
    let (fake, client) = setup().await;
    let parent = client.chat_post_message("C1", "job started", Some(json!([section("*build* started")])), None, None).await.unwrap();
    let reply = client
        .chat_post_message("C1", "job done", None, Some(&parent.ts), Some(json!({"event_type": "job", "event_payload": {}})))
        .await
        .unwrap();
    assert!(reply.ts > parent.ts, "ts increase: {} then {}", parent.ts, reply.ts);
    let updated = client.chat_update("C1", &parent.ts, "job passed", Some(json!([section("*build* passed")]))).await.unwrap();
    assert_eq!(updated, parent);

    let current = fake.message("C1", &parent.ts).unwrap();
    assert_eq!(current["text"], "job passed");
    assert_eq!(current["blocks"][0]["text"]["text"], "*build* passed");
    assert!(current.get("edited").is_some());
    let thread = fake.thread("C1", &parent.ts);
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0]["text"], "job done");
    assert_eq!(fake.calls_to("chat.postMessage")[1].thread_ts.as_deref(), Some(parent.ts.as_str()));

    let missing = client.chat_update("C1", "1.000000", "x", None).await.unwrap_err();
    assert_eq!(missing.api_error(), Some("message_not_found"));
    let no_text = client.chat_post_message("C1", "", None, None, None).await.unwrap_err();
    assert_eq!(no_text.api_error(), Some("no_text"));
    let too_many = client.chat_post_message("C1", "x", Some(json!(vec![json!({"type": "divider"}); 51])), None, None).await.unwrap_err();
    assert_eq!(too_many.api_error(), Some("invalid_blocks"));
}

#[tokio::test]
async fn dm_users_ephemeral_and_modals() {
    let (fake, client) = setup().await;
    fake.add_user("U1", "alice", Some("alice@example.com"));
    fake.add_user("U2", "bob", None);

    let dm = client.conversations_open(&["U1"]).await.unwrap();
    assert!(dm.starts_with('D'));
    assert_eq!(client.conversations_open(&["U1"]).await.unwrap(), dm, "stable per user");
    let posted = client.chat_post_message("U1", "hi", None, None, None).await.unwrap();
    assert_eq!(posted.channel, dm, "posting to a user id lands in their DM");

    let alice = client.users_info("U1").await.unwrap();
    assert_eq!(alice.id, "U1");
    assert_eq!(alice.name, "alice");
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(client.users_info("U2").await.unwrap().email, None);
    let unknown = client.users_info("U404").await.unwrap_err();
    assert_eq!(unknown.api_error(), Some("user_not_found"));

    let ts = client.chat_post_ephemeral("C1", "U1", "only you", None).await.unwrap();
    assert!(!ts.is_empty());

    let modal = json!({"type": "modal", "title": {"type": "plain_text", "text": "Deploy billing?"}, "blocks": [section("sure?")]});
    let opened = client.views_open("trigger-1", modal).await.unwrap();
    assert!(opened["id"].as_str().unwrap().starts_with('V'));
    assert_eq!(fake.opened_views().len(), 1);
}

#[tokio::test]
async fn response_url_posts_are_recorded_without_token_and_limited() {
    let (fake, client) = setup().await;
    let url = fake.response_url("cmd-1");
    fake.inject(RESPONSE_URL_METHOD, Fault::ServerError(500), 1);
    client.post_response_url(&url, &json!({"text": "subscribed"})).await.unwrap();
    let calls = fake.calls_to(RESPONSE_URL_METHOD);
    assert_eq!(calls.len(), 2, "retried after the 500");
    assert_eq!(calls[1].response_id.as_deref(), Some("cmd-1"));
    assert_eq!(calls[1].token, None, "no bot token on response URLs");
    assert_eq!(fake.responses("cmd-1"), vec![json!({"text": "subscribed"})]);
    for _ in 0..4 {
        client.post_response_url(&url, &json!({"text": "more"})).await.unwrap();
    }
    let err = client.post_response_url(&url, &json!({"text": "sixth"})).await.unwrap_err();
    assert_eq!(err.api_error(), Some("used_url"));
}

#[tokio::test]
async fn auth_and_unknown_methods() {
    let (fake, client) = setup().await;
    let wrong = SlackClient::new(fake.client_config("xoxb-wrong"));
    assert_eq!(wrong.auth_test().await.unwrap_err().api_error(), Some("invalid_auth"));
    let raw: Value =
        reqwest::Client::new().post(format!("{}/auth.test", fake.base_url())).json(&json!({})).send().await.unwrap().json().await.unwrap();
    assert_eq!(raw, json!({"ok": false, "error": "not_authed"}));
    let err = client.call("chat.nope", &json!({})).await.unwrap_err();
    assert_eq!(err.api_error(), Some("unknown_method"));
    assert_eq!(fake.calls_to("auth.test")[0].token.as_deref(), Some("xoxb-wrong"));
}

#[tokio::test]
async fn form_encoded_requests_are_understood() {
    let (fake, _) = setup().await;
    let response = reqwest::Client::new()
        .post(format!("{}/chat.postMessage", fake.base_url()))
        .form(&[("token", TOKEN), ("channel", "C7"), ("text", "from a form"), ("blocks", r#"[{"type":"divider"}]"#)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    let call = &fake.calls_to("chat.postMessage")[0];
    assert_eq!(call.token.as_deref(), Some(TOKEN));
    assert_eq!(call.body["blocks"][0]["type"], "divider");
    assert!(call.body.get("token").is_none());
    assert_eq!(call.channel.as_deref(), Some("C7"));
}

#[tokio::test]
async fn wait_for_calls_wakes_on_arrival() {
    let (fake, client) = setup().await;
    let poster = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        client.chat_post_message("C1", "late", None, None, None).await.unwrap();
    });
    let calls = fake.wait_for_calls("chat.postMessage", 1, Duration::from_secs(5)).await;
    assert_eq!(calls.len(), 1);
    poster.await.unwrap();
    let none = fake.wait_for_calls("views.open", 1, Duration::from_millis(50)).await;
    assert!(none.is_empty());
}

// ---- the token never leaks ----

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn token_never_appears_in_errors_or_logs() {
    let (fake, _) = setup().await;
    let client = client_with(&fake, |c| {
        c.max_attempts = 2;
        c.request_timeout = Duration::from_millis(400);
    });
    let marker = "VIEW-BODY-MARKER";
    let mut errors = Vec::new();
    errors.push(client.chat_post_message("", "x", None, None, None).await.unwrap_err());
    fake.inject("*", Fault::RateLimited { retry_after_secs: 0 }, 2);
    errors.push(client.auth_test().await.unwrap_err());
    fake.inject("*", Fault::ServerError(500), 2);
    errors.push(client.auth_test().await.unwrap_err());
    fake.inject("views.publish", Fault::Delay(Duration::from_secs(1)), 2);
    errors.push(client.views_publish("U1", home(vec![section(marker)]), None).await.unwrap_err());
    errors.push(client.views_publish("U1", home(vec![section(&format!("{marker}{}", "x".repeat(3001)))]), None).await.unwrap_err());
    let refused = SlackClient::new(ClientConfig { base_url: "http://127.0.0.1:1/api".into(), max_attempts: 1, ..ClientConfig::new(TOKEN) });
    errors.push(refused.auth_test().await.unwrap_err());
    let wrong = SlackClient::new(fake.client_config("xoxb-other-SECRET"));
    errors.push(wrong.auth_test().await.unwrap_err());
    // A 4xx without a Slack body, from a path the fake does not serve.
    let not_found = SlackClient::new(ClientConfig { base_url: format!("{}/nowhere", fake.root_url()), ..fake.client_config(TOKEN) });
    errors.push(not_found.auth_test().await.unwrap_err());

    let kinds: Vec<String> = errors.iter().map(|e| format!("{e:?}")).collect();
    for kind in ["Api", "RateLimited", "Http", "Timeout", "Transport", "RetriesExhausted"] {
        assert!(kinds.iter().any(|k| k.contains(kind)), "no {kind} among {kinds:#?}");
    }
    for err in &errors {
        for text in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
            assert!(!text.contains(TOKEN), "token leaked: {text}");
            assert!(!text.contains("SECRET"), "token leaked: {text}");
        }
    }
    let config = fake.client_config(TOKEN);
    assert!(!format!("{config:?} {client:?}").contains("SECRET"));

    let logs = String::from_utf8(logs().0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying Slack call"), "retries are logged: {logs}");
    assert!(logs.contains("attempt=1"));
    assert!(logs.contains("wait_ms="));
    assert!(!logs.contains("SECRET"), "token in logs");
    assert!(!logs.contains(marker), "view body in logs");
}

// ---- the control API and the binary ----

#[tokio::test]
async fn control_api_round_trip() {
    let (fake, client) = setup().await;
    let http = reqwest::Client::new();
    let root = fake.root_url();
    let post = |path: &str, body: Value| {
        let req = http.post(format!("{root}{path}")).json(&body);
        async move {
            let res = req.send().await.unwrap();
            assert!(res.status().is_success(), "{}", res.status());
            res.json::<Value>().await.unwrap()
        }
    };
    let get = |path: &str| {
        let req = http.get(format!("{root}{path}"));
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };

    post("/_fake/users", json!({"id": "U1", "name": "alice", "email": "a@example.com"})).await;
    post("/_fake/users", json!([{"id": "U2", "name": "bob"}])).await;
    post("/_fake/faults", json!({"method": "users.info", "fault": {"kind": "server_error", "status": 500}, "times": 1})).await;
    assert_eq!(client.users_info("U1").await.unwrap().email.as_deref(), Some("a@example.com"));
    assert_eq!(client.users_info("U2").await.unwrap().name, "bob");

    let (status, calls) = get("/_fake/calls?method=users.info").await;
    assert_eq!(status, 200);
    let calls = calls.as_array().unwrap();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0]["status"], 500);
    assert_eq!(calls[1]["status"], 200);
    assert_eq!(calls[1]["body"]["user"], "U1");
    assert!(calls[0]["at_ms"].as_u64().unwrap() > 1_600_000_000_000);
    let typed: Vec<pulse_fake_slack::RecordedCall> = serde_json::from_value(Value::from(calls.clone())).unwrap();
    // The wire carries `at` in milliseconds; everything else round-trips exactly.
    let strip = |calls: Vec<pulse_fake_slack::RecordedCall>| {
        calls.into_iter().map(|c| (c.method, c.body, c.token, c.user, c.status, c.error)).collect::<Vec<_>>()
    };
    assert_eq!(strip(typed), strip(fake.calls_to("users.info")));

    assert_eq!(get("/_fake/home/U1").await.0, 404);
    client.views_publish("U1", home(vec![section("hi")]), None).await.unwrap();
    let (status, view) = get("/_fake/home/U1").await;
    assert_eq!((status, &view["blocks"][0]["text"]["text"]), (200, &json!("hi")));

    let posted = client.chat_post_message("C1", "m", None, None, None).await.unwrap();
    let (_, messages) = get("/_fake/messages").await;
    assert_eq!(messages[0]["ts"], posted.ts.as_str());
    let (status, one) = get(&format!("/_fake/messages/C1/{}", posted.ts)).await;
    assert_eq!((status, &one["message"]["text"]), (200, &json!("m")));

    let (_, waited) = get("/_fake/calls/wait?method=chat.postMessage&n=1&timeout_ms=100").await;
    assert_eq!(waited.as_array().unwrap().len(), 1);

    post("/_fake/reset", json!({})).await;
    assert!(fake.calls().is_empty());
    assert!(fake.messages().is_empty());
    assert_eq!(client.users_info("U2").await.unwrap().name, "bob", "users survive reset");

    post("/_fake/token", json!({"token": "xoxb-rotated"})).await;
    assert_eq!(client.auth_test().await.unwrap_err().api_error(), Some("invalid_auth"));
}

#[tokio::test]
async fn binary_serves_the_fake() {
    logs();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pulse-fake-slack"))
        .args(["--addr", "127.0.0.1:0", "--token", TOKEN, "--user", "U1:alice:a@example.com"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base_url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{line}");

    let client = SlackClient::new(ClientConfig { base_url: base_url.clone(), ..ClientConfig::new(TOKEN) });
    let alice = client.users_info("U1").await.unwrap();
    assert_eq!(alice.email.as_deref(), Some("a@example.com"));
    client.chat_post_message("C1", "hello", None, None, None).await.unwrap();
    let calls: Value = reqwest::get(format!("{}/_fake/calls", base_url.trim_end_matches("/api"))).await.unwrap().json().await.unwrap();
    assert_eq!(calls.as_array().unwrap().len(), 2);

    child.kill().unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("chat.postMessage") && stderr.contains("C1"), "{stderr}");
    assert!(!stderr.contains("SECRET"), "token in the binary's log");
}

// ---- a rotated bot token ----

/// A token store a test rotates: like the SSM-backed one, it serves its cached value until
/// invalidated, and counts the invalidations.
struct Rotating {
    value: Arc<Mutex<&'static str>>,
    cached: Mutex<Option<&'static str>>,
    invalidated: Arc<Mutex<u32>>,
}

impl pulse_core::secret::FetchSecret for Rotating {
    fn fetch(&self) -> pulse_core::secret::SecretFuture<'_> {
        let value = *self.cached.lock().unwrap().get_or_insert_with(|| *self.value.lock().unwrap());
        Box::pin(async move { Ok(pulse_core::Secret::new(value)) })
    }
    fn invalidate(&self) {
        *self.cached.lock().unwrap() = None;
        *self.invalidated.lock().unwrap() += 1;
    }
}

#[tokio::test]
async fn a_rotated_token_is_re_read_once_after_invalid_auth_and_never_logged() {
    logs();
    let fake = FakeSlack::start().await;
    let old = "xoxb-rotated-away-SECRET-1";
    let new = "xoxb-rotated-in-SECRET-2";
    let value = Arc::new(Mutex::new(old));
    let invalidated = Arc::new(Mutex::new(0));
    let source =
        pulse_core::SecretSource::store(Rotating { value: value.clone(), cached: Mutex::new(None), invalidated: invalidated.clone() });
    let client = SlackClient::new(fake.client_config(source));

    fake.set_token(old);
    client.call("auth.test", &json!({})).await.expect("the token in use is accepted");

    // Slack's side rotates first; the store is updated: the next call is refused once, the
    // token re-read, and the call made again with the new one.
    fake.set_token(new);
    *value.lock().unwrap() = new;
    client.call("auth.test", &json!({})).await.expect("the rotated token is picked up without a restart");
    let tokens: Vec<Option<String>> = fake.calls_to("auth.test").iter().map(|c| c.token.clone()).collect();
    assert_eq!(tokens, [Some(old.to_owned()), Some(old.to_owned()), Some(new.to_owned())]);
    assert_eq!(*invalidated.lock().unwrap(), 1);

    // A token refused with nothing new in the store fails at once, after one re-read.
    fake.set_token("xoxb-someone-else");
    let err = client.call("auth.test", &json!({})).await.expect_err("refused");
    assert!(matches!(err, SlackError::Api { ref error, .. } if error == "invalid_auth"), "{err}");
    assert_eq!(fake.calls_to("auth.test").len(), 4, "not retried with the same token");
    assert_eq!(*invalidated.lock().unwrap(), 2);

    let logged = String::from_utf8_lossy(&logs().0.lock().unwrap()).into_owned();
    assert!(!logged.contains("SECRET-1") && !logged.contains("SECRET-2"), "a token reached the logs");
}
