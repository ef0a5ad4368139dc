//! Adapters over the AWS services Pulse uses, each behind a cargo feature so a crate compiles
//! only the SDKs it calls. Every adapter is tested against the emulator in `tests/`.

pub mod config;
pub mod names;
pub mod settings;
pub mod text;

#[cfg(feature = "dynamodb")]
pub mod dynamo;
#[cfg(feature = "eventbridge")]
pub mod eventbridge;
#[cfg(feature = "dynamodb")]
pub mod idempotency;
#[cfg(feature = "s3")]
pub mod s3json;
#[cfg(feature = "ssm")]
pub mod secrets;
#[cfg(feature = "sqs")]
pub mod sqs;
