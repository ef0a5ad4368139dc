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
