//! A channel's GitHub repositories (issue #15): `/pulser subscribe OWNER/REPO [filters]`,
//! `/pulser unsubscribe OWNER/REPO`, `/pulser subscriptions`.
//!
//! - [`filters`]: pure — which runs a subscription's filters take (workflow name exact, branch
//!   glob, trigger event), and how a subscription is described to people;
//! - [`commands`]: pure — the three commands' plans: the change to store and the ephemeral
//!   answer, once per command;
//! - [`store`]: the subscriptions in the messages table, changed only by these commands'
//!   events, each write conditional on the command's time so redelivered and out-of-order
//!   commands converge on the newest.
//!
//! And one message per workflow run attempt in each subscribed channel (`github.workflow_run`,
//! `github.workflow_job`):
//! - [`run`]: pure — a run's state merged monotonically from deliveries in any order;
//! - [`render`]: pure — the attempt's message from the whole state;
//! - [`runs`]: pure — which channels show it, posted once then updated in place, re-runs in the
//!   first attempt's thread;
//! - [`rerun`]: pure — the "Re-run failed jobs" button and the plan for one click (policy,
//!   audit, one call to GitHub per attempt);
//! - [`transitions`]: pure — "main is red" / "main is green again" per subscription, once;
//! - [`run_store`]: the run and branch states in the messages table, written conditionally on
//!   their version.

pub mod commands;
pub mod filters;
pub mod render;
pub mod rerun;
mod rerun_exec;
pub mod run;
pub mod run_store;
pub mod runs;
pub mod store;
pub mod transitions;

#[cfg(test)]
mod fixtures;
