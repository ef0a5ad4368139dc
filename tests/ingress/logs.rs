//! What operators read: every request's lines carry its ledger key, and no secret, token or
//! signature ever appears, for forged and valid requests alike.
//!
//! One global subscriber captures the logs of every test in this binary (installed by
//! `Stack::deploy`, before any test runs ingress code): per-thread subscribers race with
//! callsite registration when tests run in parallel, and lose lines. So the secret and token
//! checks cover all tests' logs; the per-request checks pick this test's lines by their path.

use std::sync::OnceLock;

use pulse_slack_requests::{self as requests, Command};

use crate::harness::{BOT_TOKEN, SECRET, SlackPost, Stack};

pub use pulse_tests::CapturedLogs as Captured;

static LOGS: OnceLock<Captured> = OnceLock::new();

/// Install the capturing subscriber (the Lambda format: JSON, span fields on every line; debug
/// level for Pulse's crates). Idempotent.
pub fn init() {
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(captured.clone())
            .with_env_filter("info,pulse_ingress=debug,pulse_slack=debug,pulse_aws=debug")
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in this binary");
        captured
    });
}

fn logs() -> &'static Captured {
    LOGS.get().expect("logs::init ran")
}

#[tokio::test]
async fn logs_name_the_request_and_never_contain_secret_token_or_signature() {
    let stack = Stack::deploy().await;
    let ingress = stack.ingress();
    let path = format!("/slack/logs-{}", pulse_tests::unique("t"));

    let mut signatures = Vec::new();
    // Forged: a signature made with another secret, and a valid signature on a tampered body.
    let forged = SlackPost::form(Command::new("/pulser status", "U1").form()).signed_with("attacker-secret");
    signatures.push(forged.signed.signature.clone());
    assert_eq!(forged.send_to(&ingress, &path).await.status, 401);
    let genuine = SlackPost::form(Command::new("/praktika subscribe a@b.c", "U1").form());
    let tampered = SlackPost { body: genuine.body.replace("a%40b.c", "evil%40b.c"), ..genuine };
    signatures.push(tampered.signed.signature.clone());
    assert_eq!(tampered.send_to(&ingress, &path).await.status, 401);
    // Valid: a command, a deploy (which calls Slack with the bot token), an event, a bad body.
    let command = Command::new("/pulser deploy api", "U1");
    let valid = SlackPost::form(command.form());
    signatures.push(valid.signed.signature.clone());
    assert_eq!(valid.send_to(&ingress, &path).await.status, 200);
    let event = SlackPost::json(requests::home_opened_payload(&requests::event_id(), "U1").to_string());
    signatures.push(event.signed.signature.clone());
    assert_eq!(event.send_to(&ingress, &path).await.status, 200);
    let bad = SlackPost::json("{\"type\":\"nope\"}".to_owned());
    signatures.push(bad.signed.signature.clone());
    assert_eq!(bad.send_to(&ingress, &path).await.status, 400);
    // A failing views.open, whose error path logs Slack's answer.
    stack.slack.inject("views.open", pulse_fake_slack::Fault::ServerError(500), 5);
    let failing = SlackPost::form(Command::new("/pulser deploy web", "U1").form());
    signatures.push(failing.signed.signature.clone());
    assert_eq!(failing.send_to(&ingress, &path).await.status, 200);

    let text = logs().text();
    assert!(!text.contains(SECRET), "the signing secret was logged");
    assert!(!text.contains(BOT_TOKEN), "the bot token was logged");
    for signature in &signatures {
        assert!(!text.contains(&signature[3..]), "a signature was logged");
    }

    // Each outcome is logged inside the request's span, with the ledger key when there is one.
    let lines: Vec<serde_json::Value> = logs().lines().into_iter().filter(|l| l["span"]["path"] == path.as_str()).collect();
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    let count = |m: &str| messages.iter().filter(|x| **x == m).count();
    assert_eq!(count("refused: bad signature"), 2, "{messages:?}");
    assert_eq!(count("accepted and published"), 2, "{messages:?}");
    assert_eq!(count("rejected"), 1, "{messages:?}");
    assert_eq!(count("could not open the deploy confirmation"), 1, "{messages:?}");
    let accepted = lines
        .iter()
        .find(|l| l["message"] == "accepted and published" && l["span"]["event_type"] == "slack.command")
        .unwrap_or_else(|| panic!("no accepted command: {messages:?}"));
    assert_eq!(accepted["span"]["ledger_key"], format!("{}#{}", command.team_id, command.trigger_id));
    assert!(accepted["span"]["event_id"].as_str().is_some_and(|id| id.len() == 36));
    assert!(lines.iter().any(|l| l["reason"].as_str().is_some_and(|r| r.contains("unknown variant `nope`"))));
}
