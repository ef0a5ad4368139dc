//! The infra-reconciler against the emulator (and the project's fake Image Builder): the CI
//! fleet's kinds, Pulse's own deployment, plans, no-op redeploys, drift, `--only`, shutdown,
//! validation, and deploys requested from Slack.

mod fleet;
mod image_builder;
mod operable;
mod praktika_deploy;
mod pulse_deploy;
mod restore;
