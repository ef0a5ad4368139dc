//! The page's HTTP face: its assets, the snapshot, the live stream, and the stand-in posting
//! signed requests to an ingress (here a small local server that checks signatures with its own
//! HMAC, as ingress does) and showing the answers where Slack shows them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use pulse_fake_slack::{FakeSlack, Refused};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "pulse-local-signing-secret";

/// What the stand-in's requests looked like on arrival: path, whether the signature held,
/// body.
type Seen = Arc<Mutex<Vec<(String, bool, String)>>>;

/// An ingress that checks Slack's signature and answers `answer` (status, body) to everything.
async fn ingress(answer: (u16, &'static str)) -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let record = |path: &'static str, seen: Seen| {
        move |headers: HeaderMap, body: Bytes| {
            let seen = Arc::clone(&seen);
            async move {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
                mac.update(format!("v0:{}:", header("x-slack-request-timestamp")).as_bytes());
                mac.update(&body);
                let expected = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
                let signed = header("x-slack-signature") == expected;
                seen.lock().unwrap().push((path.to_owned(), signed, String::from_utf8_lossy(&body).into_owned()));
                (StatusCode::from_u16(answer.0).unwrap(), answer.1)
            }
        }
    };
    let app = Router::new()
        .route("/slack/commands", post(record("/slack/commands", Arc::clone(&seen))))
        .route("/slack/interactivity", post(record("/slack/interactivity", Arc::clone(&seen))))
        .route("/slack/events", post(record("/slack/events", Arc::clone(&seen))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

async fn act(fake: &FakeSlack, act: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/_fake/ui/act", fake.root_url()))
        .header("origin", fake.root_url())
        .json(&act)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A bot message posted through the Web API, as a service would; Slack's answer.
async fn post_message(fake: &FakeSlack, channel: &str, text: &str) -> Value {
    let url = format!("{}/chat.postMessage", fake.base_url());
    let request = reqwest::Client::new().post(url).bearer_auth("xoxb-t").json(&json!({"channel": channel, "text": text}));
    request.send().await.unwrap().json().await.unwrap()
}

async fn snapshot(fake: &FakeSlack) -> Value {
    reqwest::get(format!("{}/_fake/ui/state", fake.root_url())).await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_offline_with_a_strict_policy() {
    let fake = FakeSlack::start().await;
    for (path, kind) in
        [("/", "text/html"), ("/gallery", "text/html"), ("/ui/app.js", "text/javascript"), ("/ui/gallery.json", "application/json")]
    {
        let response = reqwest::get(format!("{}{path}", fake.root_url())).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert!(headers["content-type"].to_str().unwrap().starts_with(kind), "{path}");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("script-src 'self'"), "{path}");
        let body = response.text().await.unwrap().replace('\'', "\"");
        for remote in ["src=\"http", "href=\"http", "from \"http", "import(\"http", "url(http", "@import"] {
            assert!(!body.contains(remote), "{path} loads nothing from elsewhere ({remote})");
        }
    }
    let missing = reqwest::get(format!("{}/ui/nope.js", fake.root_url())).await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_command_from_the_page_reaches_ingress_signed_and_its_answer_shows_to_its_user_only() {
    let (addr, seen) = ingress((200, r#"{"response_type":"ephemeral","text":"Subscribed to alice@example.com"}"#)).await;
    let fake = FakeSlack::start().await;
    fake.add_user("U1", "alice", Some("alice@example.com"));
    fake.set_stand_in(&format!("http://{addr}"), SECRET).unwrap();

    let (status, outcome) = act(&fake, json!({"kind": "command", "user": "U1", "channel": "C0CI", "text": "/praktika subscribe"})).await;
    assert_eq!((status, &outcome["ok"]), (200, &json!(true)), "{outcome}");
    let seen = seen.lock().unwrap().clone();
    let [(path, signed, body)] = seen.as_slice() else { panic!("{seen:?}") };
    assert_eq!(path, "/slack/commands");
    assert!(signed, "signed with the secret, over the body as sent");
    assert!(body.contains("command=%2Fpraktika") && body.contains("user_name=alice"), "{body}");
    assert!(!body.contains(SECRET));

    let ephemerals = fake.ephemerals();
    assert_eq!(ephemerals.len(), 1);
    assert_eq!((ephemerals[0]["channel"].as_str(), ephemerals[0]["user"].as_str()), (Some("C0CI"), Some("U1")));
    assert_eq!(ephemerals[0]["text"], "Subscribed to alice@example.com");
    assert!(fake.messages().is_empty(), "an ephemeral is in no channel's history");
    let state = snapshot(&fake).await;
    assert_eq!(state["stand_in"], json!({"enabled": true}));
    assert_eq!(state["ephemerals"][0]["via"], "command_answer");
    assert!(!state.to_string().contains(SECRET), "the page never sees the secret");
}

#[tokio::test]
async fn a_click_s_response_url_replaces_the_message_in_place() {
    let (addr, seen) = ingress((200, "")).await;
    let fake = FakeSlack::start().await;
    fake.set_stand_in(&format!("http://{addr}"), SECRET).unwrap();
    let client = reqwest::Client::new();
    let posted = post_message(&fake, "C0OPS", "disk full").await;
    let ts = posted["ts"].as_str().unwrap();
    let click = json!({"kind": "click", "user": "U1", "action_id": "ops_ack", "value": "a1", "channel": "C0OPS", "ts": ts});
    assert_eq!(act(&fake, click).await.0, 200);
    let payload = seen.lock().unwrap()[0].2.clone();
    let payload: Value = serde_json::from_str(&form_urlencoded::parse(payload.as_bytes()).next().unwrap().1).unwrap();
    let response_url = payload["response_url"].as_str().unwrap().to_owned();
    assert!(response_url.starts_with(&fake.root_url()), "{response_url}");

    // What the notifier would do with it.
    let answered = client
        .post(&response_url)
        .json(&json!({"replace_original": true, "text": "disk full (acknowledged by alice)"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    let messages = fake.messages_in("C0OPS");
    assert_eq!(messages.len(), 1, "replaced, not added");
    assert_eq!(messages[0]["text"], "disk full (acknowledged by alice)");
}

#[tokio::test]
async fn slack_s_words_when_ingress_fails_or_refuses() {
    let (addr, _) = ingress((401, "invalid signature")).await;
    let fake = FakeSlack::start().await;
    fake.set_stand_in(&format!("http://{addr}"), SECRET).unwrap();
    let (_, outcome) = act(&fake, json!({"kind": "command", "user": "U1", "channel": "C1", "text": "/pulser status"})).await;
    assert_eq!(outcome["error"], "http_status_401");
    assert_eq!(fake.ephemerals()[0]["text"], "/pulser failed with the error \"http_status_401\"");

    // Nothing listens there: Slack's dispatch_failed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    fake.set_stand_in(&format!("http://{closed}"), SECRET).unwrap();
    let (_, outcome) = act(&fake, json!({"kind": "command", "user": "U1", "channel": "C1", "text": "/pulser status"})).await;
    assert_eq!(outcome["error"], "dispatch_failed");
}

#[tokio::test]
async fn only_the_page_may_act_and_only_with_a_local_stand_in() {
    let fake = FakeSlack::start().await;
    let command = json!({"kind": "command", "user": "U1", "channel": "C1", "text": "/praktika subscribe"});
    let (status, answer) = act(&fake, command.clone()).await;
    assert_eq!(status, 403, "no stand-in configured: {answer}");
    assert!(snapshot(&fake).await["stand_in"]["reason"].as_str().unwrap().contains("--signing-secret"));

    let (addr, seen) = ingress((200, "")).await;
    assert_eq!(fake.set_stand_in("http://10.1.2.3:3000", SECRET), Err(Refused::NotLocal("http://10.1.2.3:3000".into())));
    let (status, answer) = act(&fake, command.clone()).await;
    assert_eq!(status, 403);
    assert!(answer["error"].as_str().unwrap().contains("local ingress"), "{answer}");
    assert_eq!(fake.set_stand_in(&format!("http://{addr}"), "0123456789abcdef0123456789abcdef"), Err(Refused::RealSecret));
    assert_eq!(act(&fake, command.clone()).await.0, 403);

    fake.set_stand_in(&format!("http://{addr}"), SECRET).unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/_fake/ui/act", fake.root_url());
    let elsewhere = client.post(&url).header("origin", "https://evil.example").json(&command).send().await.unwrap();
    assert_eq!(elsewhere.status(), 403, "another site open in the same browser");
    let form = client.post(&url).header("content-type", "text/plain").body(command.to_string()).send().await.unwrap();
    assert_eq!(form.status(), 403, "a cross-site simple request cannot be JSON");
    let bad = client.post(&url).json(&json!({"kind": "dance"})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(seen.lock().unwrap().is_empty(), "none of these reached ingress");
}

async fn next_event(stream: &mut reqwest::Response) -> String {
    let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await.expect("an event in time");
    String::from_utf8(chunk.unwrap().unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn the_stream_says_hello_then_follows_every_change() {
    let fake = FakeSlack::start().await;
    let mut stream = reqwest::get(format!("{}/_fake/ui/events", fake.root_url())).await.unwrap();
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let hello = next_event(&mut stream).await;
    let instance = snapshot(&fake).await["instance"].as_str().unwrap().to_owned();
    assert!(hello.starts_with("event: hello") && hello.contains(&instance), "{hello}");
    post_message(&fake, "C1", "hi").await;
    let change = next_event(&mut stream).await;
    assert!(change.starts_with("event: change"), "{change}");
    assert_eq!(snapshot(&fake).await["messages"][0]["text"], "hi");
}

#[test]
fn the_binary_refuses_a_stand_in_that_is_not_local() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pulse-fake-slack"))
        .args(["--addr", "127.0.0.1:0", "--ingress-url", "https://abc.execute-api.us-east-1.amazonaws.com", "--signing-secret", SECRET])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("signs only for a local ingress"), "{stderr}");
    assert!(!stderr.contains(SECRET));
}
