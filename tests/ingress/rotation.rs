//! Secrets rotated in SSM reach a running ingress without a restart: it is built by
//! `config::from_settings` exactly as the binary builds it, with no secret in its environment.

use aws_sdk_ssm::types::ParameterType;
use pulse_core::{Clock, Ids, Settings};
use pulse_ingress::config;
use pulse_slack_requests::Command;

use crate::harness::{SlackPost, Stack, ephemeral_text};

async fn put(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) {
    ssm.put_parameter().name(name).value(value).r#type(ParameterType::SecureString).overwrite(true).send().await.expect("put parameter");
}

#[tokio::test]
async fn a_rotated_signing_secret_is_taken_up_after_the_first_request_it_refuses() {
    let stack = Stack::deploy().await;
    let ssm = aws_sdk_ssm::Client::new(&stack.config);
    let parameter = format!("/{}/slack/signing-secret", stack.names.prefix());
    put(&ssm, &parameter, "first-signing-secret").await;
    let settings = Settings::from_pairs([
        ("PULSE_STACK", stack.names.prefix().to_owned()),
        ("PULSE_SLACK_SIGNING_SECRET_PARAM", parameter.clone()),
        ("SLACK_API_URL", stack.slack.base_url()),
        ("SLACK_BOT_TOKEN", crate::harness::BOT_TOKEN.to_owned()),
    ]);
    let ingress = config::from_settings(&stack.config, &settings, Clock::system(), Ids::random()).await.expect("ingress starts");

    let command = |text: &str| SlackPost::form(Command::new(text, "U2CERLKJA").form());
    let reply = command("/pulser subscribe alice@clickhouse.com").signed_with("first-signing-secret").send(&ingress).await;
    assert!(!ephemeral_text(&reply).is_empty(), "signed with the secret in SSM: accepted");

    put(&ssm, &parameter, "second-signing-secret").await;
    let reply = command("/pulser subscribe alice@clickhouse.com").signed_with("second-signing-secret").send(&ingress).await;
    assert_eq!(reply.status, 200, "signed with the rotated secret: accepted without a restart: {reply:?}");
    let reply = command("/pulser subscribe alice@clickhouse.com").signed_with("first-signing-secret").send(&ingress).await;
    assert_eq!(reply.status, 401, "the old secret no longer verifies: {reply:?}");
    let reply = command("/pulser subscribe alice@clickhouse.com").signed_with("forged").send(&ingress).await;
    assert_eq!(reply.status, 401, "a forged request is still refused: {reply:?}");
}

#[tokio::test]
async fn a_missing_signing_secret_stops_start_up_naming_both_places_and_no_value() {
    let stack = Stack::deploy().await;
    let parameter = format!("/{}/slack/absent", stack.names.prefix());
    let settings = Settings::from_pairs([
        ("PULSE_STACK", stack.names.prefix().to_owned()),
        ("PULSE_SLACK_SIGNING_SECRET_PARAM", parameter.clone()),
        ("SLACK_BOT_TOKEN", crate::harness::BOT_TOKEN.to_owned()),
    ]);
    let err = config::from_settings(&stack.config, &settings, Clock::system(), Ids::random()).await.expect_err("no secret anywhere");
    let text = format!("{err:#}");
    assert!(text.contains("SLACK_SIGNING_SECRET") && text.contains(&parameter), "{text}");
    assert!(!text.contains(crate::harness::BOT_TOKEN), "{text}");
}
