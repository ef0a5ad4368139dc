//! The kinds of resources the engine manages, one module each, behind the [`Resource`] trait.

use async_trait::async_trait;
use serde::Serialize;

use crate::clients::{Clients, Context};
use crate::error::Result;
use crate::model::{self, Change, Kind, Properties, ResourceId};

pub mod alarm;
pub mod api_route;
pub mod autoscaling_group;
pub mod bucket;
pub mod bucket_notifications;
pub mod dedicated_host;
pub mod ec2_instance;
pub mod event_bus;
pub mod fleet;
pub mod iam_instance_profile;
pub mod iam_role;
pub mod image_builder;
pub mod lambda;
pub mod lambda_async;
pub mod lambda_code;
pub(crate) mod lambda_deploy;
pub mod launch_template;
pub mod launch_template_data;
pub mod queue;
pub mod queue_policy;
pub mod rule;
pub mod table;

pub use alarm::{AlarmSpec, Watch};
pub use api_route::ApiRouteSpec;
pub use autoscaling_group::AutoScalingGroupSpec;
pub use bucket::BucketSpec;
pub use bucket_notifications::BucketNotificationsSpec;
pub use dedicated_host::{AutoPlacement, DedicatedHostSpec};
pub use ec2_instance::Ec2InstanceSpec;
pub use event_bus::EventBusSpec;
pub use iam_instance_profile::IamInstanceProfileSpec;
pub use iam_role::IamRoleSpec;
pub use image_builder::{ImageBuilderSpec, InlineComponent, PrebuiltVenv};
pub use lambda::{Architecture, EventSourceSpec, LambdaSpec, TracingMode};
pub use lambda_async::AsynchronousSpec;
pub use launch_template::LaunchTemplateSpec;
pub use queue::{DeadLetterSpec, QueueSpec};
pub use queue_policy::{QueuePolicySpec, RuleRef};
pub use rule::{InputTransformerSpec, RuleSpec, RuleState, ScheduleSpec, TargetSpec, TemplateSpec};
pub use table::{AttributeType, BillingMode, IndexSpec, KeyAttribute, ProjectionType, TableSpec};

/// What applying one resource needs besides the resource's own declaration.
#[derive(Debug, Clone, Copy)]
pub struct ApplyInput<'a> {
    pub change: &'a Change,
    /// The declared properties, as [`Resource::desired`] gave them.
    pub desired: &'a Properties,
    /// What [`Resource::observe`] saw at plan time (`None` when the resource was absent).
    pub observed: Option<&'a Properties>,
    pub cx: &'a Context,
}

/// One declared resource of some kind: how to read it, compare it and change it.
///
/// `observe` makes read calls only; `apply` makes the fewest write calls that turn the observed
/// state into the desired one for the change it is given (it may read too, e.g. to wait for a
/// table to become active).
#[async_trait]
pub trait Resource: Send + Sync + std::fmt::Debug {
    fn id(&self) -> ResourceId;

    /// The resources this one references by name; they are applied before it.
    fn references(&self) -> Vec<ResourceId>;

    /// Check names and values beyond what the file's types enforce.
    fn validate(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    /// The declared properties, with ARNs spelled out for this account and region.
    fn desired(&self, cx: &Context) -> Properties;

    /// The resource's current properties, or `None` when it does not exist.
    async fn observe(&self, clients: &Clients, cx: &Context) -> Result<Option<Properties>>;

    /// The change from `observed` to `desired`. The default compares the declared fields only,
    /// after normalisation (see [`model::diff`]).
    fn diff(&self, desired: &Properties, observed: Option<&Properties>) -> Change {
        model::diff(desired, observed)
    }

    /// Make the change. Never called for [`Change::NoChange`].
    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()>;
}

/// A resource as a stack declares it: one variant per kind.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind")]
pub enum ResourceSpec {
    EventBus(EventBusSpec),
    Queue(QueueSpec),
    QueuePolicy(QueuePolicySpec),
    Rule(RuleSpec),
    Schedule(ScheduleSpec),
    Table(TableSpec),
    Bucket(BucketSpec),
    BucketNotifications(BucketNotificationsSpec),
    DedicatedHost(DedicatedHostSpec),
    IAMInstanceProfile(IamInstanceProfileSpec),
    EC2Instance(Ec2InstanceSpec),
    /// Boxed: it declares a whole pipeline, many times larger than the other kinds.
    ImageBuilder(Box<ImageBuilderSpec>),
    LaunchTemplate(LaunchTemplateSpec),
    AutoScalingGroup(AutoScalingGroupSpec),
    IamRole(IamRoleSpec),
    Lambda(LambdaSpec),
    ApiRoute(ApiRouteSpec),
    Alarm(AlarmSpec),
}

impl ResourceSpec {
    /// Parse the kind-specific fields of a declaration (unknown fields are errors).
    pub fn from_value(kind: Kind, value: serde_json::Value) -> serde_json::Result<Self> {
        use serde_json::from_value as parse;
        Ok(match kind {
            Kind::EventBus => ResourceSpec::EventBus(parse(value)?),
            Kind::Queue => ResourceSpec::Queue(parse(value)?),
            Kind::QueuePolicy => ResourceSpec::QueuePolicy(parse(value)?),
            Kind::Rule => ResourceSpec::Rule(parse(value)?),
            Kind::Schedule => ResourceSpec::Schedule(parse(value)?),
            Kind::Table => ResourceSpec::Table(parse(value)?),
            Kind::Bucket => ResourceSpec::Bucket(parse(value)?),
            Kind::BucketNotifications => ResourceSpec::BucketNotifications(parse(value)?),
            Kind::DedicatedHost => ResourceSpec::DedicatedHost(parse(value)?),
            Kind::IAMInstanceProfile => ResourceSpec::IAMInstanceProfile(parse(value)?),
            Kind::EC2Instance => ResourceSpec::EC2Instance(parse(value)?),
            Kind::ImageBuilder => ResourceSpec::ImageBuilder(parse(value)?),
            Kind::LaunchTemplate => ResourceSpec::LaunchTemplate(parse(value)?),
            Kind::AutoScalingGroup => ResourceSpec::AutoScalingGroup(parse(value)?),
            Kind::IamRole => ResourceSpec::IamRole(parse(value)?),
            Kind::Lambda => ResourceSpec::Lambda(parse(value)?),
            Kind::ApiRoute => ResourceSpec::ApiRoute(parse(value)?),
            Kind::Alarm => ResourceSpec::Alarm(parse(value)?),
        })
    }

    pub fn resource(&self) -> &dyn Resource {
        match self {
            ResourceSpec::EventBus(r) => r,
            ResourceSpec::Queue(r) => r,
            ResourceSpec::QueuePolicy(r) => r,
            ResourceSpec::Rule(r) => r,
            ResourceSpec::Schedule(r) => r,
            ResourceSpec::Table(r) => r,
            ResourceSpec::Bucket(r) => r,
            ResourceSpec::BucketNotifications(r) => r,
            ResourceSpec::DedicatedHost(r) => r,
            ResourceSpec::IAMInstanceProfile(r) => r,
            ResourceSpec::EC2Instance(r) => r,
            ResourceSpec::ImageBuilder(r) => &**r,
            ResourceSpec::LaunchTemplate(r) => r,
            ResourceSpec::AutoScalingGroup(r) => r,
            ResourceSpec::IamRole(r) => r,
            ResourceSpec::Lambda(r) => r,
            ResourceSpec::ApiRoute(r) => r,
            ResourceSpec::Alarm(r) => r,
        }
    }

    pub fn id(&self) -> ResourceId {
        self.resource().id()
    }

    pub fn kind(&self) -> Kind {
        self.id().kind
    }
}

/// Check a name against a length range and an allowed character set.
pub(crate) fn check_name(
    what: &str,
    name: &str,
    len: std::ops::RangeInclusive<usize>,
    allowed: impl Fn(char) -> bool,
    allowed_text: &str,
) -> std::result::Result<(), String> {
    if !len.contains(&name.len()) {
        return Err(format!("{what} name {name:?} must be {} to {} characters long (it is {})", len.start(), len.end(), name.len()));
    }
    if let Some(bad) = name.chars().find(|c| !allowed(*c)) {
        return Err(format!("{what} name {name:?} contains {bad:?}; allowed: {allowed_text}"));
    }
    Ok(())
}
