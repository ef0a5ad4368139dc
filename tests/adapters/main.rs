//! Integration tests of the `pulse-aws` adapters against the AWS emulator named by
//! `AWS_ENDPOINT_URL` (moto server or LocalStack). Every test creates its own uniquely named
//! resources, so the tests run in parallel on one emulator.
//!
//! The EventBridge resend tests run against a scripted fake PutEvents endpoint instead (partial
//! failures cannot be provoked in the emulator).

mod boundaries;
mod common;
mod eventbridge;
mod fake_eventbridge;
mod house_rules;
mod idempotency;
mod runtime;
mod s3;
#[cfg(all(feature = "notifier", feature = "home-renderer"))]
mod settings_table;
mod sqs;
mod ssm;
