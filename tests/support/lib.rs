//! Shared helpers for Pulse's integration tests: they run against the AWS emulator named by
//! `AWS_ENDPOINT_URL` (see `tests/run`) and create uniquely named resources, so tests can run in
//! parallel on one emulator without seeing each other.

use aws_config::SdkConfig;

/// The SDK configuration for the emulator. Panics with instructions when `AWS_ENDPOINT_URL` is
/// unset: these tests must never run against a real account by accident.
pub async fn emulator_config() -> SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "AWS_ENDPOINT_URL is not set: run the integration tests through `./tests/run`, which starts the emulator"
    );
    pulse_aws::config::load().await
}

/// A lowercase name unique to this test run, safe for queues, tables and buckets.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// Deploy Pulse's own stack (`infra/pulse-stack.json`) under `prefix` on the emulator through
/// the infra-reconciler, with the local tap queue (`<prefix>-tap`, every event on the bus) when
/// `local_tap`. Returns the stack's resource names.
pub async fn deploy_stack(prefix: &str, local_tap: bool) -> pulse_aws::names::StackNames {
    use pulse_infra_reconciler::{Clients, LoadOptions, PlanOptions, StackConfig, apply, plan};
    let config = emulator_config().await;
    let stack = StackConfig::pulse(&LoadOptions::new(prefix).flag("local_tap", local_tap)).expect("the stack file loads");
    let clients = Clients::new(&config);
    let plan = plan(&stack, &clients, &PlanOptions::default()).await.expect("plan the stack");
    apply(&plan, &clients, |_| {}).await.expect("deploy the stack");
    pulse_aws::names::StackNames::new(prefix)
}

/// An in-memory log sink for asserting what operators would read: hand it to a
/// `tracing_subscriber::fmt().json()` subscriber as its writer, then read the lines back.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Every line that is JSON, parsed.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.text().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
