//! What operators read: every request's lines carry its ledger key, and no secret, token or
//! signature ever appears, for forged and valid requests alike.

use std::io::Write;
use std::sync::{Arc, Mutex};

use pulse_ingress::testkit::{self, Command};
use tracing_subscriber::fmt::MakeWriter;

use crate::harness::{BOT_TOKEN, SECRET, SlackPost, Stack};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    fn lines(&self) -> Vec<serde_json::Value> {
        self.text().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn logs_name_the_request_and_never_contain_secret_token_or_signature() {
    let stack = Stack::deploy().await;
    let ingress = stack.ingress();
    let captured = Captured::default();
    // The Lambda format (JSON, span fields on every line), at debug level for our crates.
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(captured.clone())
        .with_env_filter("debug,aws_smithy_runtime=info,aws_smithy_http_client=info,aws_config=info,hyper=info,hyper_util=info,reqwest=info,h2=info,rustls=info")
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut signatures = Vec::new();
    // Forged: a signature made with another secret, and a valid signature on a tampered body.
    let forged = SlackPost::form(Command::new("/pulser status", "U1").form()).signed_with("attacker-secret");
    signatures.push(forged.signed.signature.clone());
    assert_eq!(forged.send(&ingress).await.status, 401);
    let genuine = SlackPost::form(Command::new("/praktika subscribe a@b.c", "U1").form());
    let tampered = SlackPost { body: genuine.body.replace("a%40b.c", "evil%40b.c"), ..genuine };
    signatures.push(tampered.signed.signature.clone());
    assert_eq!(tampered.send(&ingress).await.status, 401);
    // Valid: a command, a deploy (which calls Slack with the bot token), an event, a bad body.
    let command = Command::new("/pulser deploy api", "U1");
    let valid = SlackPost::form(command.form());
    signatures.push(valid.signed.signature.clone());
    assert_eq!(valid.send(&ingress).await.status, 200);
    let event = SlackPost::json(testkit::home_opened_payload(&testkit::event_id(), "U1").to_string());
    signatures.push(event.signed.signature.clone());
    assert_eq!(event.send(&ingress).await.status, 200);
    let bad = SlackPost::json("{\"type\":\"nope\"}".to_owned());
    signatures.push(bad.signed.signature.clone());
    assert_eq!(bad.send(&ingress).await.status, 400);
    // A failing views.open, whose error path logs Slack's answer.
    stack.slack.inject("views.open", pulse_slack::fake::Fault::ServerError(500), 5);
    let failing = SlackPost::form(Command::new("/pulser deploy web", "U1").form());
    signatures.push(failing.signed.signature.clone());
    assert_eq!(failing.send(&ingress).await.status, 200);

    let text = captured.text();
    assert!(!text.is_empty());
    assert!(!text.contains(SECRET), "the signing secret was logged");
    assert!(!text.contains(BOT_TOKEN), "the bot token was logged");
    for signature in &signatures {
        assert!(!text.contains(&signature[3..]), "a signature was logged");
    }

    // Each outcome is logged inside the request's span, with the ledger key when there is one.
    let lines = captured.lines();
    let refused: Vec<_> = lines.iter().filter(|l| l["message"] == "refused: bad signature").collect();
    assert_eq!(refused.len(), 2, "{text}");
    assert!(refused.iter().all(|l| l["span"]["transport"] == "http"));
    let accepted = lines
        .iter()
        .find(|l| l["message"] == "accepted and published" && l["span"]["event_type"] == "slack.command")
        .unwrap_or_else(|| panic!("no accepted line: {text}"));
    assert_eq!(accepted["span"]["ledger_key"], format!("{}#{}", command.team_id, command.trigger_id));
    assert!(accepted["span"]["event_id"].as_str().is_some_and(|id| id.len() == 36));
    assert!(lines.iter().any(|l| l["message"] == "rejected" && l["reason"].as_str().is_some_and(|r| r.contains("unknown variant"))), "{text}");
}
