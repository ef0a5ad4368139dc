//! Pulse's declarative infrastructure reconciler.
//!
//! A stack file (see [`config`]) declares resources, each with a [`Kind`], a name, the resources
//! it references and its desired properties. [`plan`] observes each one with read calls only and
//! diffs it against its declaration ([`Change::Create`], [`Change::Update`] with the fields that
//! differ, or [`Change::NoChange`]); [`apply`] makes the changes in dependency order and stops at
//! the first failure. Every SDK call goes through [`Clients`], which counts reads and writes, so a
//! no-op deploy can be shown to make no write call.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use pulse_infra_reconciler::{Clients, LoadOptions, PlanOptions, StackConfig, apply, plan};
//!
//! let stack = StackConfig::load("infra/pulse-stack.json", &LoadOptions::new("pulse"))?;
//! let clients = Clients::from_env().await;
//! let plan = plan(&stack, &clients, &PlanOptions::default()).await?;
//! println!("{plan}");
//! let report = apply(&plan, &clients, |p| println!("{p}")).await?;
//! assert_eq!(report.api_calls.write > 0, plan.has_changes());
//! # Ok(()) }
//! ```
//!
//! Kinds today: `EventBus`, `Queue`, `QueuePolicy`, `Rule`, `Schedule`, `Table`, `Bucket`; the
//! CI fleet's `DedicatedHost`, `IAMInstanceProfile`, `EC2Instance`, `ImageBuilder`, `LaunchTemplate`,
//! `AutoScalingGroup` (see [`kinds::fleet`] for ownership); and for deploying Pulse itself
//! `IamRole`, `Lambda` (with its SQS event source mappings), `ApiRoute`. [`service`] is the
//! `deploy.requested` consumer; [`rollback`] moves Lambda aliases and launch template defaults
//! back. A new
//! kind is a module in `kinds/` implementing [`Resource`], plus a [`Kind`] and a [`ResourceSpec`]
//! variant.

pub mod clients;
pub mod config;
pub mod engine;
pub mod error;
mod fleet_rules;
pub mod graph;
pub mod kinds;
pub mod local_scheduler;
pub mod model;
pub mod packages;
pub mod queue_visibility;
pub mod restore;
pub mod rollback;
pub mod schedule;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod variables;

pub use clients::{ApiCalls, Clients, Context, is_read_operation};
pub use config::{Declared, LoadOptions, PULSE_DEPLOYMENT_JSON, PULSE_STACK_JSON, StackConfig};
pub use engine::{ApplyError, ApplyReport, Outcome, Plan, PlanEntry, PlanOptions, PlanSummary, Progress, apply, plan};
pub use error::{Error, Result};
pub use kinds::{ApplyInput, Resource, ResourceSpec};
pub use model::{Change, FieldChange, Kind, Properties, ResourceId, UnknownKind, diff, normalize};
pub use shutdown::{ShutdownError, ShutdownPlan, ShutdownProgress, ShutdownReport, plan_shutdown, shutdown};

/// The SDK crates behind [`Clients`], for callers (tests, tools) that build requests for its
/// clients without depending on the SDKs themselves.
pub mod sdk {
    pub use aws_sdk_apigatewayv2 as apigateway;
    pub use aws_sdk_autoscaling as autoscaling;
    pub use aws_sdk_ec2 as ec2;
    pub use aws_sdk_iam as iam;
    pub use aws_sdk_imagebuilder as imagebuilder;
    pub use aws_sdk_lambda as lambda;
}

#[cfg(test)]
mod pulse_stack_tests;
#[cfg(test)]
mod schema_tests;
