//! praktika-compat: Pulse under the name of praktika's Slack worker (`praktika_slack_worker`),
//! so praktika's runner and Slack app keep invoking what they invoke today and Pulse does the work.
//!
//! - [`decide`]: the pure core, one invocation's JSON payload → the Pulse events it stands for
//!   (or a [`decide::Refusal`]);
//! - [`handler`]: the I/O shell, publishing them on Pulse's bus;
//! - `main.rs`: the Lambda entry (`lambda_runtime`, raw JSON payload).
//!
//! See the crate's README for both paths by which praktika's feed writes reach Pulse.

pub mod decide;
pub mod handler;
pub mod settings;

pub use decide::{Config, Refusal, decide};
pub use handler::{Compat, CompatError};
