//! What a CI job runs to send its results to Pulse, and nothing else: `publish` (a workflow
//! result or any Pulse envelope, validated against its contract first) and `run` (wrap a command
//! in the `ci.job` lifecycle). Both publish to EventBridge and need no other AWS service, so the
//! slim `pulse-publish` binary built from this crate compiles one AWS SDK; the full `pulse`
//! command serves the same two subcommands from here.

pub mod exit;
pub mod publish;
pub mod run;
pub mod settings;
