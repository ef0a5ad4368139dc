//! Start-up failures reach the Runtime API's `/init/error` (`pulse_runtime::main`), naming what
//! is missing and never a secret, and the process exits non-zero without asking for work.

use crate::harness::{Scene, free_port};
use crate::lambda::function::{EnvChange, Function};

/// Secrets set in every function's environment here: no init error may show them.
const BOT_TOKEN_VALUE: &str = "xoxb-lambda-init-secret-4f1d";
const SIGNING_SECRET_VALUE: &str = "signing-lambda-init-secret-9c2e";

const SECRETS: [(&str, Option<&str>); 2] =
    [("SLACK_BOT_TOKEN", Some(BOT_TOKEN_VALUE)), ("SLACK_SIGNING_SECRET", Some(SIGNING_SECRET_VALUE))];

/// Start `service` with `changes`, expect it to fail to start, and return its init error's
/// message after the checks every case shares.
async fn init_error_of(scene: &Scene, service: &str, changes: &[(&str, Option<&str>)]) -> String {
    let mut env = SECRETS.to_vec();
    env.extend_from_slice(changes);
    let mut function = Function::start(scene, service, &env).await;
    let (error, _status) = function.init_failure().await;
    assert_eq!(error.header_type.as_deref(), Some("Runtime.InitError"), "{service}: {error:?}");
    assert_eq!(error.error_type().as_deref(), Some("Runtime.InitError"), "{service}: {error:?}");
    let message = error.error_message().unwrap_or_else(|| panic!("{service}: no errorMessage in {}", error.body));
    for secret in [BOT_TOKEN_VALUE, SIGNING_SECRET_VALUE] {
        assert!(!error.body.contains(secret), "{service}'s init error shows a secret: {}", error.body);
    }
    message
}

/// What each binary cannot start without. `PULSE_STACK`, `SLACK_API_URL` and most settings have
/// defaults: ingress loses its signing secret (neither the variable nor the SSM parameter is
/// there), the others a setting without a default or get an invalid value.
const BROKEN_SETTINGS: [(&str, EnvChange<'static>, &str); 6] = [
    ("ingress", ("SLACK_SIGNING_SECRET", None), "SLACK_SIGNING_SECRET"),
    ("home-renderer", ("PULSE_SUBSCRIPTION_RETENTION_DAYS", Some("forever")), "PULSE_SUBSCRIPTION_RETENTION_DAYS"),
    ("notifier", ("NOTIFIER_CONFIG", None), "NOTIFIER_CONFIG"),
    ("praktika-compat", ("PULSE_SLACK_TEAM_ID", None), "PULSE_SLACK_TEAM_ID"),
    ("feed-projector", ("PULSE_FEED_RETENTION_DAYS", Some("0")), "PULSE_FEED_RETENTION_DAYS"),
    ("infra-reconciler", ("PULSE_DEPLOY_CONFIG", Some("/nonexistent/pulse-deployment.json")), "/nonexistent/pulse-deployment.json"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_binary_reports_a_missing_or_invalid_setting_by_name() {
    let scene = Scene::start("lambda_init_missing_setting", &[]).await;
    for (service, change, named) in BROKEN_SETTINGS {
        let message = init_error_of(&scene, service, &[change]).await;
        assert!(message.contains(named), "{service}'s init error does not name {named}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssm_unreachable_is_reported_naming_the_secret_and_its_parameter() {
    let scene = Scene::start("lambda_init_ssm_unreachable", &[]).await;
    let closed = format!("http://127.0.0.1:{}", free_port());
    let unreachable = [("AWS_ENDPOINT_URL", Some(closed.as_str()))];

    // Ingress reads its signing secret at start.
    let mut changes = unreachable.to_vec();
    changes.push(("SLACK_SIGNING_SECRET", None));
    let message = init_error_of(&scene, "ingress", &changes).await;
    assert!(message.contains("signing secret"), "{message}");
    assert!(message.contains("SLACK_SIGNING_SECRET") && message.contains("pulse_slack_signing_secret"), "{message}");

    // The notifier its bot token.
    let mut changes = unreachable.to_vec();
    changes.push(("SLACK_BOT_TOKEN", None));
    let message = init_error_of(&scene, "notifier", &changes).await;
    assert!(message.contains("Slack bot token"), "{message}");
    assert!(message.contains("SLACK_BOT_TOKEN") && message.contains("reading SSM parameter"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absent_ssm_parameter_is_reported_by_name() {
    let scene = Scene::start("lambda_init_absent_parameter", &[]).await;
    let parameter = format!("/{}/absent-bot-token", scene.prefix);
    let changes = [("SLACK_BOT_TOKEN", None), ("PULSE_SLACK_BOT_TOKEN_PARAM", Some(parameter.as_str()))];
    for service in ["notifier", "home-renderer"] {
        let message = init_error_of(&scene, service, &changes).await;
        assert!(message.contains(&format!("SSM parameter {parameter} does not exist")), "{service}: {message}");
        assert!(message.contains("SLACK_BOT_TOKEN is not set"), "{service}: {message}");
    }
}
