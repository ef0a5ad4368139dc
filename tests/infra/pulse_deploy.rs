//! Pulse's own deployment on the emulator: Lambda functions (code by SHA, configuration drift,
//! secrets from SSM, versions and aliases, SQS event source mappings with partial batch
//! responses), IAM roles, the API Gateway route to ingress, the `deploy.requested` →
//! `deploy.status` flow with real rollbacks, and the whole `infra/examples/pulse-deployment.json`.
//!
//! moto cannot run a function (no Docker), only manage it: these tests assert what lands in the
//! emulator's Lambda, IAM, API Gateway and SQS, never an invocation. Functions are deployed from
//! `path` zips the tests write themselves; nothing is built with cargo-lambda here.
//!
//! moto differences met (worked around in the kinds, noted here for readers):
//! - an event source mapping created on an alias is stored under the version the alias pointed
//!   to (`fn:1`, AWS keeps `fn:live`): the `Lambda` kind finds mappings by queue and matches the
//!   unqualified function ARN, which works on both;
//! - `FunctionResponseTypes` does round-trip (asserted below).

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::sqs::Queue;
use pulse_contracts::{Actor, DeployAction, DeployPhase, DeployRequested, DeployStatus, DeployTrigger, Event, EventDetail, from_sqs_body};
use pulse_infra_reconciler::kinds::lambda_code;
use pulse_infra_reconciler::service::InfraReconciler;
use pulse_infra_reconciler::{Change, Clients, Kind, LoadOptions, PlanOptions, ResourceId, StackConfig, apply, plan};
use pulse_runtime::poller::PollerOptions;
use pulse_tests::{capture_logs, deploy_stack, drain, emulator_config, poll_until_settled, unique};
use serde_json::{Value, json};

/// A function package: a zip with a `bootstrap` whose content is `marker`.
fn write_zip(marker: &str) -> PathBuf {
    let bytes = lambda_code::zip(&[("bootstrap".to_owned(), format!("#!/bin/sh\necho {marker}\n").into_bytes())]).unwrap();
    let path = std::env::temp_dir().join(format!("{}.zip", unique("pulse-fn")));
    std::fs::write(&path, bytes).unwrap();
    path
}

async fn put_secret(clients: &Clients, name: &str, value: &str) {
    clients.ssm.put_parameter().name(name).value(value).r#type(ParameterType::SecureString).overwrite(true).send().await.unwrap();
}

/// A function `<p>-worker` with its role and queue, fed by the queue, with one secret.
fn worker_stack(prefix: &str, zip: &PathBuf, secret_param: &str, extra: Value) -> StackConfig {
    let mut function = json!({
        "kind": "Lambda", "name": "${prefix}-worker", "path": zip, "role": "${prefix}-worker",
        "environments": {"MODE": "test"}, "secrets": {secret_param: "SLACK_BOT_TOKEN"},
        "event_sources": [{"queue": "${prefix}-worker", "batch_size": 5}]
    });
    for (k, v) in extra.as_object().unwrap() {
        function[k] = v.clone();
    }
    let text = json!({"resources": [
        {"kind": "Queue", "name": "${prefix}-worker", "visibility_timeout_seconds": 60},
        {"kind": "IamRole", "name": "${prefix}-worker", "policies": {"queue": [{
            "Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": "arn:${partition}:sqs:${region}:${account}:${prefix}-worker"}]}},
        function
    ]});
    StackConfig::parse(&text.to_string(), "test", &LoadOptions::new(prefix)).unwrap()
}

async fn deploy(stack: &StackConfig, clients: &Clients) -> pulse_infra_reconciler::ApplyReport {
    let p = plan(stack, clients, &PlanOptions::default()).await.unwrap();
    apply(&p, clients, |_| {}).await.unwrap()
}

async fn alias_version(clients: &Clients, function: &str) -> String {
    let out = clients.lambda.get_alias().function_name(function).name("live").send().await.unwrap();
    out.function_version().unwrap().to_owned()
}

#[tokio::test]
async fn lambda_deploys_with_secrets_and_partial_batch_responses_and_redeploys_with_no_write() {
    let clients = Clients::new(&emulator_config().await);
    let prefix = unique("ld");
    let secret_param = format!("/{prefix}/bot-token");
    let secret = format!("xoxb-{}", unique("secret"));
    put_secret(&clients, &secret_param, &secret).await;
    let (logs, _guard) = capture_logs();
    let stack = worker_stack(&prefix, &write_zip("v1"), &secret_param, json!({}));
    let function = format!("{prefix}-worker");

    let first = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    assert_eq!(first.summary().create, 3, "{first}");
    assert_eq!(first.api_calls.write, 0);
    let shown = format!("{first}\n{}", first.to_json());
    assert!(!shown.contains(&secret), "the plan shows a secret");
    assert!(shown.contains(&format!("(secret from SSM {secret_param})")), "{shown}");
    apply(&first, &clients, |_| {}).await.unwrap();

    // What landed: the function with the secret in its environment, version 1 behind `live`,
    // the mapping on the alias with ReportBatchItemFailures.
    let config = clients.lambda.get_function_configuration().function_name(&function).send().await.unwrap();
    let env = config.environment().unwrap().variables().unwrap();
    assert_eq!(env.get("SLACK_BOT_TOKEN"), Some(&secret));
    assert_eq!(env.get("MODE").map(String::as_str), Some("test"));
    assert_eq!((config.timeout(), config.memory_size()), (Some(3), Some(128)));
    assert_eq!(config.runtime().map(|r| r.as_str()), Some("provided.al2023"));
    assert_eq!(config.code_sha256(), Some(lambda_code::from_path(&PathBuf::from(stack_zip(&stack)), &[]).unwrap().sha256.as_str()));
    assert_eq!(alias_version(&clients, &function).await, "1");
    let cx = clients.context().await.unwrap();
    let mappings = clients.lambda.list_event_source_mappings().event_source_arn(cx.sqs_arn(&function)).send().await.unwrap();
    let mapping = &mappings.event_source_mappings()[0];
    assert_eq!(mapping.batch_size(), Some(5));
    assert_eq!(mapping.function_response_types().iter().map(|t| t.as_str()).collect::<Vec<_>>(), ["ReportBatchItemFailures"]);
    assert!(mapping.function_arn().unwrap().starts_with(&cx.lambda_arn(&function, None)));
    let role = clients.iam.get_role_policy().role_name(&function).policy_name("queue").send().await.unwrap();
    assert!(role.policy_document().contains(&cx.account_id) || role.policy_document().contains("123456789012"));

    // A redeploy plans no change and makes no write call.
    let again = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    assert!(!again.has_changes(), "{again}");
    let report = apply(&again, &clients, |_| {}).await.unwrap();
    assert_eq!(report.api_calls.write, 0, "{:?}", report.api_calls);
    assert_eq!(alias_version(&clients, &function).await, "1");

    // A rotated secret shows as drift, masked, and the deploy sets the new value.
    let rotated = format!("xoxb-{}", unique("rotated"));
    put_secret(&clients, &secret_param, &rotated).await;
    let drift = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    let entry = drift.entry(&ResourceId::new(Kind::Lambda, &function)).unwrap();
    assert_eq!(entry.change.fields().iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["Environment"]);
    let shown = format!("{drift}\n{}", drift.to_json());
    assert!(shown.contains("differs from SSM") && !shown.contains(&rotated) && !shown.contains(&secret), "{shown}");
    let report = apply(&drift, &clients, |p| tracing::info!(progress = %p, "deploy progress")).await.unwrap();
    assert_eq!(report.api_calls.writes(), ["lambda:PublishVersion", "lambda:UpdateAlias", "lambda:UpdateFunctionConfiguration"]);
    let env = clients.lambda.get_function_configuration().function_name(&function).send().await.unwrap();
    assert_eq!(env.environment().unwrap().variables().unwrap().get("SLACK_BOT_TOKEN"), Some(&rotated));
    assert_eq!(alias_version(&clients, &function).await, "2");

    let text = logs.text();
    assert!(text.contains("alias moved"), "the deploy logs what it does: {text}");
    assert!(!text.contains(&secret) && !text.contains(&rotated), "a secret reached the logs");
}

fn stack_zip(stack: &StackConfig) -> String {
    stack
        .resources
        .iter()
        .find_map(|d| match &d.spec {
            pulse_infra_reconciler::ResourceSpec::Lambda(l) => l.path.clone(),
            _ => None,
        })
        .unwrap()
}

#[tokio::test]
async fn code_is_uploaded_only_when_its_sha_differs_and_configuration_drift_shows() {
    let clients = Clients::new(&emulator_config().await);
    let prefix = unique("lc");
    let param = format!("/{prefix}/token");
    put_secret(&clients, &param, "xoxb-1").await;
    let function = format!("{prefix}-worker");
    deploy(&worker_stack(&prefix, &write_zip("v1"), &param, json!({})), &clients).await;

    // The same bytes from another file: no upload.
    let same = worker_stack(&prefix, &write_zip("v1"), &param, json!({}));
    assert!(!plan(&same, &clients, &PlanOptions::default()).await.unwrap().has_changes());

    // New code: only the code moves, then a version and the alias.
    let v2 = worker_stack(&prefix, &write_zip("v2"), &param, json!({}));
    let p = plan(&v2, &clients, &PlanOptions::default()).await.unwrap();
    let entry = p.entry(&ResourceId::new(Kind::Lambda, &function)).unwrap();
    assert_eq!(entry.change.fields().iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["CodeSha256"]);
    let report = apply(&p, &clients, |_| {}).await.unwrap();
    assert_eq!(report.api_calls.writes(), ["lambda:PublishVersion", "lambda:UpdateAlias", "lambda:UpdateFunctionCode"]);
    assert_eq!(alias_version(&clients, &function).await, "2");

    // Drift made out of band shows in the plan with both values; the deploy fixes only it.
    clients.lambda.update_function_configuration().function_name(&function).memory_size(512).send().await.unwrap();
    let p = plan(&v2, &clients, &PlanOptions::default()).await.unwrap();
    let entry = p.entry(&ResourceId::new(Kind::Lambda, &function)).unwrap();
    let Change::Update { fields } = &entry.change else { panic!("{p}") };
    let memory = fields.iter().find(|f| f.field == "MemorySize").expect("MemorySize drift");
    assert_eq!((memory.from.clone(), memory.to.clone()), (Some(json!(512)), json!(128)));
    // $LATEST no longer matches what the alias serves: shown too (the alias still serves 2).
    assert_eq!(fields.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["Alias", "MemorySize"]);
    assert!(p.to_string().contains("Alias: live (at version 2, older than $LATEST) → live"), "{p}");
    assert!(p.to_string().contains("MemorySize: 512 → 128"), "{p}");
    let report = apply(&p, &clients, |_| {}).await.unwrap();
    assert_eq!(report.api_calls.writes(), ["lambda:PublishVersion", "lambda:UpdateAlias", "lambda:UpdateFunctionConfiguration"]);

    // A batch size change updates the mapping in place, nothing else.
    let bigger =
        worker_stack(&prefix, &write_zip("v2"), &param, json!({"event_sources": [{"queue": "${prefix}-worker", "batch_size": 8}]}));
    let p = plan(&bigger, &clients, &PlanOptions::default()).await.unwrap();
    assert!(p.to_string().contains("EventSources."), "{p}");
    let report = apply(&p, &clients, |_| {}).await.unwrap();
    assert_eq!(report.api_calls.writes(), ["lambda:UpdateEventSourceMapping"]);
    assert!(!plan(&bigger, &clients, &PlanOptions::default()).await.unwrap().has_changes());

    // An inline policy added by hand is drift, removed by the deploy.
    clients
        .iam
        .put_role_policy()
        .role_name(&function)
        .policy_name("by-hand")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}).to_string(),
        )
        .send()
        .await
        .unwrap();
    let p = plan(&bigger, &clients, &PlanOptions::only([Kind::IamRole])).await.unwrap();
    assert!(p.to_string().contains("Policy/by-hand"), "{p}");
    let report = apply(&p, &clients, |_| {}).await.unwrap();
    assert_eq!(report.api_calls.writes(), ["iam:DeleteRolePolicy"]);
}

#[tokio::test]
async fn the_api_route_reaches_the_ingress_alias() {
    let clients = Clients::new(&emulator_config().await);
    let prefix = unique("api");
    let text = json!({"resources": [
        {"kind": "IamRole", "name": "${prefix}-ingress"},
        {"kind": "Lambda", "name": "${prefix}-ingress", "path": write_zip("ingress"), "role": "${prefix}-ingress"},
        {"kind": "ApiRoute", "name": "${prefix}-slack", "function": "${prefix}-ingress"}
    ]});
    let stack = StackConfig::parse(&text.to_string(), "test", &LoadOptions::new(&prefix)).unwrap();
    deploy(&stack, &clients).await;

    let cx = clients.context().await.unwrap();
    let apis = clients.apigateway.get_apis().send().await.unwrap();
    let api = apis.items().iter().find(|a| a.name() == Some(&format!("{prefix}-slack"))).expect("the API exists");
    let api_id = api.api_id().unwrap();
    let routes = clients.apigateway.get_routes().api_id(api_id).send().await.unwrap();
    assert_eq!(routes.items().iter().map(|r| r.route_key().unwrap()).collect::<Vec<_>>(), ["POST /slack/events"]);
    let integrations = clients.apigateway.get_integrations().api_id(api_id).send().await.unwrap();
    let integration = &integrations.items()[0];
    assert_eq!(integration.integration_uri(), Some(cx.lambda_arn(&format!("{prefix}-ingress"), Some("live")).as_str()));
    assert_eq!(routes.items()[0].target(), Some(format!("integrations/{}", integration.integration_id().unwrap()).as_str()));
    let stages = clients.apigateway.get_stages().api_id(api_id).send().await.unwrap();
    assert_eq!(stages.items()[0].stage_name(), Some("$default"));
    let policy = clients.lambda.get_policy().function_name(format!("{prefix}-ingress")).qualifier("live").send().await.unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], json!("apigateway.amazonaws.com"));
    assert_eq!(
        statement["Condition"]["ArnLike"]["AWS:SourceArn"],
        json!(format!("arn:aws:execute-api:{}:{}:{api_id}/*/POST/slack/events", cx.region, cx.account_id))
    );

    let again = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    assert!(!again.has_changes(), "{again}");
    assert_eq!(apply(&again, &clients, |_| {}).await.unwrap().api_calls.write, 0);
}

fn deploy_request(service: &str, action: DeployAction) -> pulse_contracts::Envelope<Event> {
    let detail = DeployRequested {
        deploy_id: uuid::Uuid::new_v4(),
        service: service.to_owned(),
        action,
        trigger: DeployTrigger::SlashCommand,
        requested_by: Actor { user_id: "U1".into(), user_name: "alice".into() },
        alert_id: None,
        channel_id: Some("C1".into()),
        message_ts: None,
        only: Vec::new(),
    };
    let key = format!("deploy.requested:{}", detail.deploy_id);
    detail.into_envelope("pulse.notifier", key, uuid::Uuid::new_v4(), chrono::Utc::now())
}

/// Every `deploy.status` on the tap queue, in arrival order.
async fn statuses(tap: &Queue, at_least: usize) -> Vec<DeployStatus> {
    let mut out: Vec<DeployStatus> = drain(tap, at_least)
        .await
        .into_iter()
        .filter_map(|m| match from_sqs_body(&m.body).ok()?.detail {
            Event::DeployStatusV1(s) => Some(s),
            _ => None,
        })
        .collect();
    // Phases in order (arrival order on a queue is not guaranteed).
    out.sort_by_key(|s| match s.phase {
        DeployPhase::Started => 0,
        _ => 1,
    });
    out
}

#[tokio::test]
async fn deploy_requested_publishes_status_with_versions_and_rollback_moves_the_alias_back() {
    let config = emulator_config().await;
    let prefix = unique("dr");
    let names = deploy_stack(&prefix, true).await;
    let clients = Clients::new(&config);
    let param = format!("/{prefix}/token");
    put_secret(&clients, &param, "xoxb-x").await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let tap = Queue::from_name(sqs.clone(), &format!("{prefix}-tap")).await.unwrap();
    let work = Queue::from_name(sqs.clone(), &names.queue("infra-reconciler")).await.unwrap();
    let bus = EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), names.bus());
    let options = PollerOptions { wait_seconds: 1, ..PollerOptions::default() };
    let function = format!("{prefix}-worker");
    let service = |zip: &PathBuf| {
        InfraReconciler::new(
            Clients::new(&config),
            worker_stack(&prefix, zip, &param, json!({})),
            EventPublisher::new(aws_sdk_eventbridge::Client::new(&config), names.bus()),
            pulse_core::Clock::system(),
            pulse_core::Ids::random(),
        )
    };

    // The worker's queue exists (a deploy of one service plans only its function, role and
    // routes; what they reference is assumed to be there).
    let queues =
        plan(&worker_stack(&prefix, &write_zip("v1"), &param, json!({})), &clients, &PlanOptions::only([Kind::Queue])).await.unwrap();
    apply(&queues, &clients, |_| {}).await.unwrap();

    // First deploy, through the bus, the rule, the queue and the shared consumer.
    let (logs, _guard) = capture_logs();
    let v1 = service(&write_zip("v1"));
    let request = deploy_request("worker", DeployAction::Deploy);
    bus.publish_one(&request).await.unwrap();
    let settled = poll_until_settled(&pulse_tests::worker(&config, &names, &v1), &work, &options, 1, Duration::from_secs(60)).await;
    assert_eq!(settled.done, 1, "{settled:?}");
    let got = statuses(&tap, 3).await;
    let phases: Vec<DeployPhase> = got.iter().map(|s| s.phase).collect();
    assert_eq!(phases, [DeployPhase::Started, DeployPhase::Completed], "{got:?}");
    let done = &got[1];
    assert_eq!((done.from_version.as_deref(), done.to_version.as_deref()), (None, Some("1")));
    assert_eq!(done.service, "worker");
    let kinds: Vec<(&str, &str)> = done.changes.iter().map(|c| (c.kind.as_str(), c.name.as_str())).collect();
    assert_eq!(kinds, [("IamRole", function.as_str()), ("Lambda", function.as_str())]);
    assert!(done.changes.iter().all(|c| c.change == pulse_contracts::ChangeKind::Create));
    // Structured logs: the status lines carry the request's event id; the secret is nowhere.
    let status_line = logs.lines().into_iter().find(|l| l["message"] == json!("deploy status published")).expect("a status log line");
    assert_eq!(status_line["span"]["event_id"], json!(request.id.to_string()), "{status_line}");
    assert!(!logs.text().contains("xoxb-x"), "a secret reached the logs");

    // The same request again (a redelivery, or a double click): processed once.
    bus.publish_one(&request).await.unwrap();
    let settled = poll_until_settled(&pulse_tests::worker(&config, &names, &v1), &work, &options, 1, Duration::from_secs(60)).await;
    assert_eq!(settled.done, 1);
    assert!(statuses(&tap, 0).await.is_empty(), "a duplicate published statuses again");

    // New code: 1 → 2.
    let v2 = service(&write_zip("v2"));
    bus.publish_one(&deploy_request("worker", DeployAction::Deploy)).await.unwrap();
    poll_until_settled(&pulse_tests::worker(&config, &names, &v2), &work, &options, 1, Duration::from_secs(60)).await;
    let got = statuses(&tap, 2).await;
    assert_eq!(
        (got[1].phase, got[1].from_version.as_deref(), got[1].to_version.as_deref()),
        (DeployPhase::Completed, Some("1"), Some("2"))
    );
    let lambda_change = got[1].changes.iter().find(|c| c.kind == "Lambda").unwrap();
    assert_eq!(lambda_change.fields, ["CodeSha256"]);
    assert_eq!(alias_version(&clients, &function).await, "2");

    // Rollback: the alias goes back to 1, and the status says so.
    bus.publish_one(&deploy_request("worker", DeployAction::Rollback)).await.unwrap();
    poll_until_settled(&pulse_tests::worker(&config, &names, &v2), &work, &options, 1, Duration::from_secs(60)).await;
    let got = statuses(&tap, 2).await;
    assert_eq!(
        (got[1].action, got[1].from_version.as_deref(), got[1].to_version.as_deref()),
        (DeployAction::Rollback, Some("2"), Some("1"))
    );
    assert_eq!(alias_version(&clients, &function).await, "1");

    // Deploying again after a rollback moves the alias forward to the version of the file's
    // code, even though $LATEST already holds it (`only` narrows the reconcile to kinds).
    let mut only = deploy_request("worker", DeployAction::Deploy);
    if let Event::DeployRequestedV1(d) = &mut only.detail {
        d.only = vec!["Lambda".into()];
    }
    bus.publish_one(&only).await.unwrap();
    poll_until_settled(&pulse_tests::worker(&config, &names, &v2), &work, &options, 1, Duration::from_secs(60)).await;
    let got = statuses(&tap, 2).await;
    assert_eq!(got[1].phase, DeployPhase::Completed, "{got:?}");
    let kinds: Vec<(&str, pulse_contracts::ChangeKind)> = got[1].changes.iter().map(|c| (c.kind.as_str(), c.change)).collect();
    assert_eq!(kinds, [("Lambda", pulse_contracts::ChangeKind::Update)], "{got:?}");
    assert_eq!(got[1].changes[0].fields, ["Alias"]);
    // PublishVersion finds version 2 already holds $LATEST: no new version, the alias moves.
    assert_eq!((got[1].from_version.as_deref(), got[1].to_version.as_deref()), (Some("1"), Some("2")));
    assert_eq!(alias_version(&clients, &function).await, "2");

    // An unknown component fails loudly, with the reason, and is not retried.
    bus.publish_one(&deploy_request("billing", DeployAction::Deploy)).await.unwrap();
    let settled = poll_until_settled(&pulse_tests::worker(&config, &names, &v2), &work, &options, 1, Duration::from_secs(60)).await;
    assert_eq!(settled.done, 1);
    let got = statuses(&tap, 2).await;
    assert_eq!(got[1].phase, DeployPhase::Failed);
    assert!(got[1].error.as_deref().unwrap().contains("no component named \"billing\""), "{got:?}");
}

#[tokio::test]
async fn a_launch_template_rollback_makes_the_previous_version_the_default() {
    let clients = Clients::new(&emulator_config().await);
    let name = unique("lt");
    let data = |image: &str| {
        pulse_infra_reconciler::sdk::ec2::types::RequestLaunchTemplateData::builder()
            .image_id(image)
            .instance_type(pulse_infra_reconciler::sdk::ec2::types::InstanceType::T3Micro)
            .build()
    };
    clients.ec2.create_launch_template().launch_template_name(&name).launch_template_data(data("ami-11111111")).send().await.unwrap();
    clients
        .ec2
        .create_launch_template_version()
        .launch_template_name(&name)
        .launch_template_data(data("ami-22222222"))
        .send()
        .await
        .unwrap();
    clients.ec2.modify_launch_template().launch_template_name(&name).default_version("2").send().await.unwrap();

    let moved = pulse_infra_reconciler::rollback::rollback_launch_template(&clients, &name).await.unwrap();
    assert_eq!((moved.from.as_deref(), moved.to.as_deref()), (Some("2"), Some("1")));
    let out = clients.ec2.describe_launch_templates().launch_template_names(&name).send().await.unwrap();
    assert_eq!(out.launch_templates()[0].default_version_number(), Some(1));
    let err = pulse_infra_reconciler::rollback::rollback_launch_template(&clients, &name).await.unwrap_err();
    assert!(err.to_string().contains("version 1 is the oldest"), "{err}");
}

/// The example, as a real account would get it, with each `crate` replaced by a test zip (tests
/// never build with cargo-lambda; `PULSE_LAMBDA_ZIP_DIR` does the same for operators with
/// prebuilt zips).
pub fn pulse_deployment(prefix: &str, zip: &std::path::Path) -> StackConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/examples/pulse-deployment.json");
    let mut stack = StackConfig::load(path, &LoadOptions::new(prefix)).unwrap();
    for d in &mut stack.resources {
        if let pulse_infra_reconciler::ResourceSpec::Lambda(l) = &mut d.spec {
            l.krate = None;
            l.path = Some(zip.display().to_string());
        }
    }
    stack
}

#[tokio::test]
async fn the_pulse_deployment_example_deploys_and_redeploys_with_no_write() {
    let clients = Clients::new(&emulator_config().await);
    let prefix = unique("pd");
    put_secret(&clients, "/pulse/slack/bot-token", "xoxb-example").await;
    put_secret(&clients, "/pulse/slack/signing-secret", "example-signing-secret").await;
    let stack = pulse_deployment(&prefix, &write_zip("pulse"));

    let first = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    let s = first.summary();
    assert_eq!((s.update, s.no_change), (0, 0), "{first}");
    let count = |k: Kind| first.entries.iter().filter(|e| e.id.kind == k).count();
    assert_eq!((count(Kind::Lambda), count(Kind::IamRole), count(Kind::ApiRoute)), (5, 5, 2));
    // One alarm per dead-letter queue (4), two per function (errors, throttles), one per API (5xx).
    assert_eq!(count(Kind::Alarm), 4 + 2 * 5 + 2);
    assert!(!first.to_string().contains("xoxb-example") && !first.to_string().contains("example-signing-secret"));
    apply(&first, &clients, |_| {}).await.unwrap();

    let cx = clients.context().await.unwrap();
    for svc in ["feed-projector", "home-renderer", "notifier", "infra-reconciler"] {
        let queue = format!("{prefix}-{svc}");
        let m = clients.lambda.list_event_source_mappings().event_source_arn(cx.sqs_arn(&queue)).send().await.unwrap();
        assert_eq!(m.event_source_mappings().len(), 1, "{svc}");
        assert_eq!(m.event_source_mappings()[0].function_response_types()[0].as_str(), "ReportBatchItemFailures");
    }
    let ingress = clients.lambda.get_function_configuration().function_name(format!("{prefix}-ingress")).send().await.unwrap();
    let env = ingress.environment().unwrap().variables().unwrap();
    assert_eq!(env.get("SLACK_SIGNING_SECRET").map(String::as_str), Some("example-signing-secret"));
    assert_eq!(env.get("PULSE_STACK"), Some(&prefix));
    assert_eq!(ingress.tracing_config().and_then(|t| t.mode()).map(|m| m.as_str()), Some("Active"));
    let notifier = clients.lambda.get_function_concurrency().function_name(format!("{prefix}-notifier")).send().await.unwrap();
    assert_eq!(notifier.reserved_concurrent_executions(), Some(5));
    // The 5xx alarm watches the Slack API by the id API Gateway gave it.
    let apis = clients.apigateway.get_apis().send().await.unwrap();
    let slack_api = apis.items().iter().find(|a| a.name() == Some(&format!("{prefix}-slack"))).and_then(|a| a.api_id()).unwrap();
    let alarms = clients.cloudwatch.describe_alarms().alarm_names(format!("{prefix}-slack-api-5xx")).send().await.unwrap();
    let dims = alarms.metric_alarms()[0].dimensions();
    assert_eq!((dims[0].name(), dims[0].value()), (Some("ApiId"), Some(slack_api)));

    let again = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    assert!(!again.has_changes(), "{again}");
    let report = apply(&again, &clients, |_| {}).await.unwrap();
    assert_eq!(report.api_calls.write, 0);
}

/// The measurement: API calls and wall time for a plan and a no-op deploy of a
/// 50-resource config (10 roles, 10 functions with event sources, 10 queues, 10 dead-letter
/// queues, 10 tables), on the emulator. Run with `--ignored --nocapture`; results in
/// BENCHMARKS.md.
#[tokio::test]
#[ignore]
async fn measure_plan_and_noop_deploy_of_50_resources() {
    let clients = Clients::new(&emulator_config().await);
    let prefix = unique("bench");
    let zip = write_zip("bench");
    let mut resources = Vec::new();
    for i in 0..10 {
        resources.push(json!({"kind": "Queue", "name": format!("${{prefix}}-q{i}-dlq")}));
        resources.push(json!({"kind": "Queue", "name": format!("${{prefix}}-q{i}"), "visibility_timeout_seconds": 60,
            "dead_letter": {"queue": format!("${{prefix}}-q{i}-dlq"), "max_receive_count": 5}}));
        resources.push(json!({"kind": "Table", "name": format!("${{prefix}}-t{i}"), "partition_key": {"name": "pk", "type": "S"}}));
        resources.push(json!({"kind": "IamRole", "name": format!("${{prefix}}-f{i}"), "policies": {"work": [{"Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": format!("arn:${{partition}}:sqs:${{region}}:${{account}}:${{prefix}}-q{i}")}]}}));
        resources.push(json!({"kind": "Lambda", "name": format!("${{prefix}}-f{i}"), "path": zip, "role": format!("${{prefix}}-f{i}"),
            "event_sources": [{"queue": format!("${{prefix}}-q{i}")}]}));
    }
    let text = json!({"resources": resources}).to_string();
    let stack = StackConfig::parse(&text, "bench", &LoadOptions::new(&prefix)).unwrap();
    assert_eq!(stack.resources.len(), 50);
    let created = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    apply(&created, &clients, |_| {}).await.unwrap();

    let mut rows = Vec::new();
    for run in 1..=3 {
        let p = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
        assert!(!p.has_changes(), "{p}");
        let started = std::time::Instant::now();
        let deploy_plan = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
        let report = apply(&deploy_plan, &clients, |_| {}).await.unwrap();
        let deploy_time = started.elapsed();
        assert_eq!(report.api_calls.write, 0);
        rows.push(format!(
            "run {run}: plan {} calls ({} read, {} write) in {:.0} ms; no-op deploy (plan + apply) {} calls ({} write) in {:.0} ms",
            p.api_calls.total(),
            p.api_calls.read,
            p.api_calls.write,
            p.wall_time.as_secs_f64() * 1000.0,
            deploy_plan.api_calls.total() + report.api_calls.total(),
            deploy_plan.api_calls.write + report.api_calls.write,
            deploy_time.as_secs_f64() * 1000.0,
        ));
        if run == 1 {
            println!("calls by operation (plan): {:?}", p.api_calls.by_operation);
        }
    }
    for r in rows {
        println!("{r}");
    }
}

/// A `crate` function whose package is missing: the plan says so and builds nothing; the deploy
/// builds it with cargo-lambda — here a stand-in on `PATH` that records its arguments and writes
/// the zip where cargo-lambda does — and uploads it; the next deploy neither builds nor writes.
#[tokio::test]
async fn a_crate_function_is_built_with_cargo_lambda_at_deploy_never_at_plan() {
    let clients = Clients::new(&emulator_config().await);
    let prefix = unique("lc");
    let dir = std::env::temp_dir().join(unique("cargo-lambda"));
    let (bin_dir, target) = (dir.join("bin"), dir.join("target"));
    std::fs::create_dir_all(&bin_dir).unwrap();
    let built = write_zip("built-by-cargo-lambda");
    let calls = dir.join("calls.log");
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> '{calls}'\nprev=''\nfor a in \"$@\"; do\n\
           [ \"$prev\" = --bin ] && bin=\"$a\"; [ \"$prev\" = --lambda-dir ] && dir=\"$a\"; prev=\"$a\"\ndone\n\
         mkdir -p \"$dir/$bin\" && cp '{built}' \"$dir/$bin/bootstrap.zip\"\n",
        calls = calls.display(),
        built = built.display()
    );
    let stand_in = bin_dir.join("cargo-lambda");
    std::fs::write(&stand_in, script).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    // SAFETY: nextest runs every test in its own process, and nothing else here reads these.
    unsafe {
        std::env::set_var("PATH", path);
        std::env::set_var("CARGO_TARGET_DIR", &target);
        // The stand-in is the virtualenv's cargo-lambda (looked in before PATH).
        std::env::set_var("PULSE_VENV", &dir);
        std::env::remove_var("PULSE_LAMBDA_ZIP_DIR");
    }
    let text = json!({"resources": [
        {"kind": "IamRole", "name": "${prefix}-built", "policies": {"logs": [{
            "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:${partition}:logs:${region}:${account}:log-group:/aws/lambda/${prefix}-built:*"}]}},
        {"kind": "Lambda", "name": "${prefix}-built", "crate": "demo-fn", "role": "${prefix}-built"}
    ]});
    let stack = StackConfig::parse(&text.to_string(), "test", &LoadOptions::new(&prefix)).unwrap();
    let function = format!("{prefix}-built");

    let first = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    let entry = first.entry(&ResourceId::new(Kind::Lambda, &function)).unwrap();
    assert_eq!(entry.change, Change::Create);
    assert_eq!(entry.desired["CodeSha256"], json!("(crate demo-fn not built yet: built at deploy)"));
    assert!(!calls.exists(), "a plan never builds");

    apply(&first, &clients, |_| {}).await.unwrap();
    let invoked = std::fs::read_to_string(&calls).unwrap();
    let lambda_dir = target.join("lambda/lambda");
    assert_eq!(
        invoked.trim(),
        format!(
            "lambda build --profile lambda --disable-optimizations --output-format zip --lambda-dir {} --arm64 --bin demo-fn",
            lambda_dir.display()
        )
    );
    assert!(lambda_dir.join("demo-fn/bootstrap.zip").is_file(), "the zip is in the `lambda` profile's own directory");
    let expected = lambda_code::Package::new(std::fs::read(&built).unwrap()).sha256;
    let config = clients.lambda.get_function_configuration().function_name(&function).send().await.unwrap();
    assert_eq!(config.code_sha256(), Some(expected.as_str()), "the built zip is what was uploaded");

    let again = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    assert!(!again.has_changes(), "{again}");
    let report = apply(&again, &clients, |_| {}).await.unwrap();
    assert_eq!(report.api_calls.write, 0);
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 1, "built once");

    // With PULSE_LAMBDA_ZIP_DIR the packages are the operator's: a missing one is an error that
    // says what to do, and nothing is built.
    let zips = dir.join("zips");
    std::fs::create_dir_all(&zips).unwrap();
    // SAFETY: as above.
    unsafe { std::env::set_var("PULSE_LAMBDA_ZIP_DIR", &zips) };
    let other = StackConfig::parse(&text.to_string().replace("demo-fn", "other-fn"), "test", &LoadOptions::new(&prefix)).unwrap();
    let p = plan(&other, &clients, &PlanOptions::default()).await.unwrap();
    let failed = apply(&p, &clients, |_| {}).await.unwrap_err();
    let message = failed.to_string();
    assert!(message.contains("other-fn.zip is not in PULSE_LAMBDA_ZIP_DIR"), "{message}");
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 1, "nothing was built");
}
