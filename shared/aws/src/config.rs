//! Loading AWS configuration the same way everywhere.
//!
//! Every Pulse binary reaches AWS through the standard chain, so `AWS_ENDPOINT_URL` points all of
//! them at moto, LocalStack or real AWS without a code change. The only emulator-specific tweak is
//! path-style S3 addressing when a custom endpoint is set (emulators on loopback have no
//! virtual-host DNS).

use aws_config::{BehaviorVersion, SdkConfig};

/// Load the shared SDK configuration from the environment (region, credentials, endpoint).
///
/// Defaults the region to `us-east-1` when none is configured, as praktika does.
pub async fn load() -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest());
    let config = loader.load().await;
    if config.region().is_some() {
        return config;
    }
    aws_config::defaults(BehaviorVersion::latest()).region(aws_config::Region::new("us-east-1")).load().await
}

/// True when a custom endpoint (an emulator) is configured through `AWS_ENDPOINT_URL`.
pub fn uses_custom_endpoint(config: &SdkConfig) -> bool {
    config.endpoint_url().is_some()
}

/// An S3 client that uses path-style addressing against custom endpoints.
#[cfg(feature = "s3")]
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config).force_path_style(uses_custom_endpoint(config)).build();
    aws_sdk_s3::Client::from_conf(s3_config)
}
