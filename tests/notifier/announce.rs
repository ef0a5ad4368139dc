//! Registrations to the users channel; deploy progress threaded per deploy.

use std::time::Duration;

use crate::harness::{Stack, again, example};

#[tokio::test]
async fn a_new_user_is_announced_once_in_the_users_channel() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    let registered = example("user.registered", "new-user");
    stack.publish(&[registered.clone(), again(&registered)]).await;
    let stats = stack.run(&notifier, 2, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "{stats:?}");
    let messages = stack.slack.messages_in("C0USERS");
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let shown = messages[0].to_string();
    for needle in ["carol.nguyen@example.org", "Carol Nguyen", "8d0f6c1e-55b2-4c8e-9d63-0f1c2b3a4d5e", "1284", "production"] {
        assert!(shown.contains(needle), "{needle} in {shown}");
    }
}

#[tokio::test]
async fn deploy_statuses_are_threaded_under_their_deploy() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    // No deploy channel in the routing: the default channel takes it.
    stack.publish(&[example("deploy.status", "started")]).await;
    stack.run(&notifier, 1, Duration::from_secs(20)).await;
    stack.publish(&[example("deploy.status", "completed")]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    let all = stack.slack.messages_in("C0DEFAULT");
    let roots: Vec<_> = all.iter().filter(|m| m.get("thread_ts").is_none_or(|t| t == &m["ts"])).collect();
    assert_eq!(roots.len(), 1, "one thread per deploy: {all:#?}");
    let thread = stack.slack.thread("C0DEFAULT", roots[0]["ts"].as_str().unwrap());
    let replies: Vec<String> = thread.iter().filter(|m| m["ts"] != roots[0]["ts"]).map(|m| m.to_string()).collect();
    assert_eq!(replies.len(), 2, "{replies:#?}");
    assert!(replies.iter().any(|r| r.contains("started")));
    assert!(replies.iter().any(|r| r.contains("completed") && r.contains("pulse-notifier")));
}

fn command(name: &str, response_id: &str, stack: &Stack) -> pulse_contracts::Envelope<pulse_contracts::Event> {
    let mut env = example("slack.command", &format!("pulser-{name}"));
    env.dedup_key = format!("slack.command:{response_id}");
    let pulse_contracts::Event::SlackCommandV1(ref mut c) = env.detail else { unreachable!() };
    c.response_url = stack.slack.response_url(response_id);
    env
}

#[tokio::test]
async fn pulser_status_answers_ephemerally_with_each_services_latest_event() {
    let stack = Stack::deploy().await;
    let notifier = stack.notifier();
    stack.publish(&[example("ops.alert", "deploy-failed"), example("ops.alert", "ci-passed")]).await;
    stack.run(&notifier, 2, Duration::from_secs(20)).await;
    let status = command("status", "status-1", &stack);
    stack.publish(&[status.clone(), again(&status)]).await;
    let stats = stack.run(&notifier, 2, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (2, 0), "{stats:?}");
    let answers = stack.slack.responses("status-1");
    assert_eq!(answers.len(), 1, "answered once: {answers:#?}");
    let shown = answers[0].to_string();
    assert_eq!(answers[0]["response_type"], "ephemeral");
    assert!(shown.contains("*odoo-web*") && shown.contains("deploy_failed"), "{shown}");
    assert!(shown.contains("ci_passed"), "{shown}");
}

#[tokio::test]
async fn pulser_health_reports_functions_queues_and_dead_letters() {
    let stack = Stack::deploy().await;
    let lambda = aws_sdk_lambda::Client::new(&stack.config);
    // ingress deployed as a Lambda function; the other services not (local processes).
    deploy_function(&stack, &lambda, &stack.names.function("ingress")).await;
    let notifier = stack.notifier().with_health(aws_sdk_sqs::Client::new(&stack.config), lambda, stack.names.clone());
    stack.publish(&[command("health", "health-1", &stack)]).await;
    let stats = stack.run(&notifier, 1, Duration::from_secs(20)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    let answers = stack.slack.responses("health-1");
    assert_eq!(answers.len(), 1, "{answers:#?}");
    let shown = answers[0].to_string();
    assert_eq!(answers[0]["response_type"], "ephemeral");
    for service in ["feed-projector", "home-renderer", "notifier", "infra-reconciler"] {
        assert!(shown.contains(&format!("*{service}* — queue")), "{service} in {shown}");
        assert!(shown.contains(&format!("*{service}* — no Lambda function `{}`", stack.names.function(service))), "{service} in {shown}");
    }
    assert!(shown.contains(&format!("*ingress* — Lambda `{}` Active", stack.names.function("ingress"))), "{shown}");
    assert!(shown.contains("dead letters 0") && shown.contains("Pulse is healthy"), "{shown}");
}

/// A minimal function in the emulator (moto wants its role to exist in IAM).
async fn deploy_function(stack: &Stack, lambda: &aws_sdk_lambda::Client, name: &str) {
    let iam = aws_sdk_iam::Client::new(&stack.config);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam.create_role().role_name(format!("{name}-role")).assume_role_policy_document(trust).send().await.expect("create role");
    // An empty zip archive (just its end-of-central-directory record): moto never runs it.
    let mut zip = b"PK\x05\x06".to_vec();
    zip.resize(22, 0);
    lambda
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role.role().map(|r| r.arn()).unwrap_or_default())
        .code(aws_sdk_lambda::types::FunctionCode::builder().zip_file(zip.into()).build())
        .send()
        .await
        .expect("create function");
}
