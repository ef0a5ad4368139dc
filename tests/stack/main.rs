//! Integration tests of the infra-reconciler against the AWS emulator named by
//! `AWS_ENDPOINT_URL`: Pulse's stack is planned and deployed under a unique prefix per test, so
//! the tests run in parallel on one emulator.

mod common;
mod deploy;
mod drift;
mod failure;
mod routing;
mod schedules;
