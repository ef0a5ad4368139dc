//! Verified, recorded once, acknowledged: the HTTP path end to end on the emulator.

use pulse_contracts::{CommandAction, Email, Event, InteractionKind};
use pulse_ingress::decide::LedgerKey;
use pulse_ingress::ledger::Status;
use pulse_slack_requests::{self as requests, Command};
use serde_json::json;
use std::time::Duration;

use crate::harness::{SlackPost, Stack, ephemeral_text};

fn command_key(command: &Command) -> LedgerKey {
    LedgerKey { team_id: command.team_id.clone(), envelope_id: command.trigger_id.clone() }
}

#[tokio::test]
async fn signed_slash_command_is_acknowledged_recorded_and_published_once() {
    let stack = Stack::deploy().await;
    let ingress = stack.ingress();
    let command = Command::new("/praktika subscribe alice@clickhouse.com", "U2CERLKJA");
    let post = SlackPost::form(command.form());

    let reply = post.send(&ingress).await;
    assert!(ephemeral_text(&reply).contains("alice@clickhouse.com"), "{reply:?}");

    let record = stack.record(&command_key(&command)).await.expect("a ledger record");
    assert_eq!(record.status, Status::Processed);
    assert_eq!(record.attempts, 1);
    assert_eq!(record.kind, "slack.command");
    assert_eq!(record.last_error, None);
    assert!(record.expires_at > crate::harness::now() + 24 * 3600, "a TTL days ahead");

    // The same request delivered again (a replay within the window): same answer, not published.
    let again = post.send(&ingress).await;
    assert_eq!(again, reply);
    assert_eq!(stack.record(&command_key(&command)).await.unwrap().attempts, 1);

    let events = stack.tap(1).await;
    assert_eq!(events.len(), 1, "exactly one event on the bus: {events:?}");
    let event = &events[0];
    assert_eq!(event.event_type, "slack.command");
    assert_eq!(event.source, "pulse.ingress");
    assert_eq!(event.dedup_key, format!("slack.command:{}:{}", command.team_id, command.trigger_id));
    let Event::SlackCommandV1(detail) = &event.detail else { panic!("{event:?}") };
    assert_eq!(detail.action, CommandAction::Subscribe { email: Some(Email::parse("alice@clickhouse.com").unwrap()) });
    assert_eq!(detail.response_url, command.response_url);
}

#[tokio::test]
async fn events_api_retry_of_an_accepted_event_is_acknowledged_and_not_republished() {
    let stack = Stack::deploy().await;
    let ingress = stack.ingress();
    let event_id = requests::event_id();
    let body = requests::home_opened_payload(&event_id, "U2CERLKJA").to_string();

    let first = SlackPost::json(body.clone()).send(&ingress).await;
    assert_eq!((first.status, &first.body), (200, &None));
    let retry = SlackPost::json(body)
        .with_header("X-Slack-Retry-Num", "1")
        .with_header("X-Slack-Retry-Reason", "http_timeout")
        .send(&ingress)
        .await;
    assert_eq!((retry.status, &retry.body), (200, &None));

    let events = stack.tap(1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].dedup_key, format!("slack.home_opened:{}:{event_id}", requests::TEAM_ID));
    let Event::SlackHomeOpenedV1(detail) = &events[0].detail else { panic!() };
    assert_eq!(detail.user_id, "U2CERLKJA");

    let record = stack.record(&LedgerKey { team_id: requests::TEAM_ID.into(), envelope_id: event_id }).await.unwrap();
    assert_eq!((record.status, record.attempts, record.kind.as_str()), (Status::Processed, 1, "slack.home_opened"));
}

#[tokio::test]
async fn forged_or_stale_requests_get_401_and_leave_no_trace() {
    let stack = Stack::deploy().await;
    let ingress = stack.ingress();
    let command = Command::new("/pulser status", "U1");

    let forged = SlackPost::form(command.form()).signed_with("someone-elses-secret").send(&ingress).await;
    assert_eq!(forged.status, 401, "{forged:?}");
    let mut stale = SlackPost::form(command.form());
    stale.signed = requests::Signed::form(crate::harness::SECRET, crate::harness::now() - 600, &command.form());
    assert_eq!(stale.send(&ingress).await.status, 401);
    let event_id = requests::event_id();
    let tampered = SlackPost::json(requests::home_opened_payload(&event_id, "U1").to_string());
    let tampered = SlackPost { body: tampered.body.replace("U1", "U2"), ..tampered };
    assert_eq!(tampered.send(&ingress).await.status, 401);

    assert_eq!(stack.record(&command_key(&command)).await, None);
    assert_eq!(stack.record(&LedgerKey { team_id: requests::TEAM_ID.into(), envelope_id: event_id }).await, None);
    assert!(stack.tap(0).await.is_empty());
}

#[tokio::test]
async fn pulser_deploy_opens_the_modal_and_its_submission_is_published() {
    let stack = Stack::deploy().await;
    let ingress = stack.ingress();
    let command = Command::new("/pulser deploy api", "U0DANA");

    let reply = SlackPost::form(command.form()).send(&ingress).await;
    assert!(ephemeral_text(&reply).contains("`api`"));
    let opened = stack.slack.calls_to("views.open");
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert!(opened[0].succeeded(), "{opened:?}");
    assert_eq!(opened[0].body["trigger_id"], command.trigger_id.as_str());
    assert_eq!(opened[0].token.as_deref(), Some(crate::harness::BOT_TOKEN));
    let view = &stack.slack.opened_views()[0];
    assert_eq!(view["callback_id"], "deploy_confirm");
    let meta: serde_json::Value = serde_json::from_str(view["private_metadata"].as_str().unwrap()).unwrap();
    assert_eq!(meta, json!({"service": "api", "channel_id": command.channel_id}));

    // Submitting publishes a slack.interaction; cancelling publishes nothing.
    let submission = requests::deploy_submission_payload("api", &command.channel_id, "U0DANA", &["Lambda"]);
    let reply = SlackPost::form(requests::interactivity_form(&submission)).send(&ingress).await;
    assert_eq!((reply.status, reply.body), (200, None));
    let closed = SlackPost::form(requests::interactivity_form(&requests::deploy_closed_payload("U0DANA"))).send(&ingress).await;
    assert_eq!((closed.status, closed.body), (200, None));

    let mut events = stack.tap(2).await;
    assert_eq!(events.len(), 2, "{events:?}");
    events.sort_by_key(|e| e.event_type.clone());
    let Event::SlackCommandV1(detail) = &events[0].detail else { panic!() };
    assert_eq!(detail.action, CommandAction::Deploy { service: "api".into() });
    let Event::SlackInteractionV1(detail) = &events[1].detail else { panic!() };
    let InteractionKind::ViewSubmission { callback_id, values, .. } = &detail.kind else { panic!() };
    assert_eq!(callback_id, "deploy_confirm");
    assert_eq!(values["deploy_only"]["only_kinds"]["selected_options"][0]["value"], "Lambda");
    assert_eq!(stack.slack.calls_to("views.open").len(), 1, "the modal is opened once");
}

#[tokio::test]
async fn a_failed_views_open_is_recorded_and_explained() {
    let stack = Stack::deploy().await;
    stack.slack.inject("views.open", pulse_fake_slack::Fault::SlackError("expired_trigger_id".into()), 1);
    let command = Command::new("/pulser deploy api", "U0DANA");
    let reply = SlackPost::form(command.form()).send(&stack.ingress()).await;
    let text = ephemeral_text(&reply);
    assert!(text.contains("could not open the deploy confirmation") && text.contains("expired_trigger_id"), "{text}");
    let record = stack.record(&command_key(&command)).await.unwrap();
    assert_eq!(record.status, Status::Failed);
    assert!(record.last_error.unwrap().contains("views.open"));
    assert!(stack.tap(0).await.is_empty());
}

#[tokio::test]
async fn publish_failure_is_recorded_failed_and_the_retry_takes_over_and_publishes_once() {
    let stack = Stack::deploy().await;
    let broken = stack.ingress_on_bus(&format!("{}-no-such-bus", stack.names.prefix()));
    let event_id = requests::event_id();
    let key = LedgerKey { team_id: requests::TEAM_ID.into(), envelope_id: event_id.clone() };
    let body = requests::home_opened_payload(&event_id, "U2CERLKJA").to_string();

    let reply = SlackPost::json(body.clone()).send(&broken).await;
    assert_eq!(reply.status, 503, "{reply:?}");
    let record = stack.record(&key).await.unwrap();
    assert_eq!(record.status, Status::Failed);
    let last_error = record.last_error.expect("last_error is kept");
    assert!(last_error.contains("no-such-bus"), "{last_error}");

    // Slack retries; the bus is fixed by now.
    let reply = SlackPost::json(body.clone()).with_header("X-Slack-Retry-Num", "1").send(&stack.ingress()).await;
    assert_eq!((reply.status, reply.body), (200, None));
    let record = stack.record(&key).await.unwrap();
    assert_eq!((record.status, record.attempts), (Status::Processed, 2));
    // A later retry is a duplicate.
    let reply = SlackPost::json(body).with_header("X-Slack-Retry-Num", "2").send(&stack.ingress()).await;
    assert_eq!(reply.status, 200);

    let events = stack.tap(1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].dedup_key, key.dedup_key("slack.home_opened"));

    // A slash command (Slack never retries those) gets a readable answer instead of a 5xx.
    let command = Command::new("/pulser status", "U1");
    let reply = SlackPost::form(command.form()).send(&broken).await;
    assert!(ephemeral_text(&reply).contains("could not take this command"));
    assert_eq!(stack.record(&command_key(&command)).await.unwrap().status, Status::Failed);
}

#[tokio::test]
async fn socket_mode_payloads_go_through_the_same_ledger() {
    let stack = Stack::deploy().await;
    let ingress = stack.ingress();
    let command = Command::new("/pulser health", "U1");

    let ack = ingress.accept_socket_payload("slash_commands", command.socket_payload(), "env-1").await.unwrap();
    let ack = ack.expect("a slash command's ack carries the ephemeral answer");
    assert_eq!(ack["response_type"], "ephemeral");
    // Redelivered after a reconnect (new envelope id, same trigger id): same answer, not published.
    let again = ingress.accept_socket_payload("slash_commands", command.socket_payload(), "env-2").await.unwrap();
    assert_eq!(again, Some(ack));

    // An Events API event that already came over HTTP is a duplicate over Socket Mode too.
    let event_id = requests::event_id();
    let payload = requests::home_opened_payload(&event_id, "U1");
    assert_eq!(SlackPost::json(payload.to_string()).send(&ingress).await.status, 200);
    assert_eq!(ingress.accept_socket_payload("events_api", payload, "env-3").await, Ok(None));

    let click = requests::block_actions_payload("ops_ack", "alert-1", "U1", "C0OPS", "1763651024.001900");
    assert_eq!(ingress.accept_socket_payload("interactive", click, "env-4").await, Ok(None));

    let bad = ingress.accept_socket_payload("interactive", json!({"type": "shortcut"}), "env-5").await;
    assert!(matches!(bad, Err(pulse_ingress::IngressError::Rejected { status: 400, .. })), "{bad:?}");

    let broken = stack.ingress_on_bus("no-such-bus");
    let failing = requests::home_opened_payload(&requests::event_id(), "U1");
    let err = broken.accept_socket_payload("events_api", failing, "env-6").await;
    assert!(matches!(err, Err(pulse_ingress::IngressError::Unavailable { .. })), "{err:?}");

    let mut events = stack.tap(3).await;
    assert_eq!(events.len(), 3, "{events:?}");
    events.sort_by_key(|e| e.event_type.clone());
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, vec!["slack.command", "slack.home_opened", "slack.interaction"]);
}

#[tokio::test]
async fn concurrent_deliveries_of_one_event_publish_it_once() {
    // Slack's immediate retry can arrive while the first delivery is still being handled (a cold
    // start); with several ingress instances (Lambda) they race on the ledger's conditional write.
    let stack = Stack::deploy().await;
    let instances: Vec<pulse_ingress::Ingress> = (0..4).map(|_| stack.ingress()).collect();
    let event_id = requests::event_id();
    let body = requests::home_opened_payload(&event_id, "U2CERLKJA").to_string();
    let replies = futures::future::join_all((0..8).map(|i| {
        let post = SlackPost::json(body.clone()).with_header("X-Slack-Retry-Num", &(i % 2).to_string());
        let ingress = &instances[i % instances.len()];
        async move { post.send(ingress).await }
    }))
    .await;
    assert!(replies.iter().all(|r| r.status == 200), "{replies:?}");
    let events = stack.tap(1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let record = stack.record(&LedgerKey { team_id: requests::TEAM_ID.into(), envelope_id: event_id }).await.unwrap();
    assert_eq!((record.status, record.attempts), (Status::Processed, 1));
}

/// The real Socket Mode client, connected to the fake Socket Mode server, feeding the real
/// ingress: the slash command's answer comes back in the ack, the event is published once even
/// when Slack redelivers the envelope after a reconnect.
#[tokio::test]
async fn socket_mode_client_feeds_the_ingress_end_to_end() {
    use pulse_fake_socket_mode::FakeSocketMode;
    use pulse_ingress::socket_mode::{SocketModeClient, SocketModeConfig};

    let stack = Stack::deploy().await;
    let ingress = std::sync::Arc::new(stack.ingress());
    let slack = FakeSocketMode::start().await.expect("fake socket mode");
    let client = SocketModeClient::new(SocketModeConfig::new(slack.base_url(), "xapp-1-local"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(client.run(ingress, async move {
        let _ = stopped.await;
    }));

    let command = Command::new("/praktika subscribe carol@clickhouse.com", "U3");
    let id = slack.send_envelope("slash_commands", command.socket_payload());
    assert!(slack.wait_until(Duration::from_secs(10), |s| s.acks().iter().any(|a| a.envelope_id == id)).await, "no ack");
    let ack = slack.acks().into_iter().find(|a| a.envelope_id == id).unwrap();
    let answer = ack.payload.expect("the ack carries the ephemeral answer");
    assert!(answer.to_string().contains("carol@clickhouse.com"), "{answer}");

    // Slack redelivers the same envelope (e.g. after a reconnect): acknowledged, not republished.
    slack.redeliver(&id);
    assert!(slack.wait_until(Duration::from_secs(10), |s| s.acks().iter().filter(|a| a.envelope_id == id).count() >= 2).await);

    let events = stack.tap(1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_type, "slack.command");
    let _ = stop.send(());
    running.await.unwrap().expect("the client stops cleanly on shutdown");
}
