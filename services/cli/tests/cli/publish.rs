//! `pulse publish` as a CI job runs it: the real binary, against the emulator.

use std::process::Command;

use pulse_aws::names::StackNames;
use pulse_aws::sqs::Queue;
use pulse_infra_reconciler::{Clients, LoadOptions, PlanOptions, StackConfig, apply, plan};

const PULSE: &str = env!("CARGO_BIN_EXE_pulse");

fn example_path(name: &str) -> String {
    format!("{}/../../contracts/examples/ci.workflow.v1/{name}.json", env!("CARGO_MANIFEST_DIR"))
}

async fn deployed_stack() -> (aws_config::SdkConfig, StackNames) {
    let config = pulse_tests::emulator_config().await;
    let prefix = pulse_tests::unique("cli");
    let stack = StackConfig::pulse(&LoadOptions::new(prefix.clone())).unwrap();
    let clients = Clients::new(&config);
    apply(&plan(&stack, &clients, &PlanOptions::default()).await.unwrap(), &clients, |_| {}).await.unwrap();
    (config, StackNames::new(prefix))
}

fn pulse(names: &StackNames, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(PULSE)
        .args(args)
        .env("PULSE_STACK", names.prefix())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run pulse");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn an_invalid_document_is_refused_naming_the_field_and_nothing_is_published() {
    let (config, names) = deployed_stack().await;
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(example_path("running-pr")).unwrap()).unwrap();
    doc["detail"]["timestamp"] = serde_json::json!("yesterday");
    // A valid document alongside: one bad document means nothing at all is sent.
    let valid = std::fs::read_to_string(example_path("merge-result")).unwrap();
    let input = format!("[{doc}, {valid}]");

    let out = pulse(&names, &["publish", "-"], Some(&input));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "must exit non-zero");
    assert!(stderr.contains("/detail/timestamp"), "stderr must name the field: {stderr}");
    assert!(stderr.contains("stdin[0]"), "stderr must say which document: {stderr}");

    let queue = Queue::from_name(aws_sdk_sqs::Client::new(&config), &names.queue("feed-projector")).await.unwrap();
    assert!(queue.receive(10, 2).await.unwrap().is_empty(), "nothing may be published");
}

#[tokio::test]
async fn a_valid_result_file_is_published_as_ci_workflow_v1() {
    let (config, names) = deployed_stack().await;
    let detail: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(example_path("running-pr")).unwrap()).unwrap();
    let bare = detail["detail"].to_string();

    let out = pulse(&names, &["publish"], Some(&bare));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("published ci.workflow.v1"), "{stdout}");

    let queue = Queue::from_name(aws_sdk_sqs::Client::new(&config), &names.queue("feed-projector")).await.unwrap();
    let received = queue.receive(10, 5).await.unwrap();
    assert_eq!(received.len(), 1);
    let envelope = pulse_contracts::from_sqs_body(&received[0].body).unwrap();
    assert_eq!(envelope.detail_type(), "ci.workflow.v1");
    assert_eq!(envelope.source, "ci");
    assert_eq!(envelope.detail.to_detail(), detail["detail"]);
}
