//! One module per event type: the typed `detail` of each catalogue entry.
//!
//! `ci.workflow`'s detail is praktika's [`FeedEvent`](crate::praktika::FeedEvent), in
//! [`crate::praktika`].
//!
//! Conventions shared by every type here: optional fields and empty collections are omitted when
//! serializing (absent means none / empty), unknown fields are ignored when parsing (adding a
//! field is a minor change), and closed sets of values are enums.

pub mod ci_job;
pub mod deploy_requested;
pub mod deploy_status;
pub mod digest_tick;
pub mod feed_updated;
pub mod feed_written;
pub mod github;
pub mod ops_alert;
pub mod person;
pub mod slack_command;
pub mod slack_home_opened;
pub mod slack_interaction;
pub mod subscription_changed;
pub mod subscription_imported;
pub mod user_registered;

pub use ci_job::{CiJob, CiJobV2, JobCompletion, JobPhase, JobStatus, StatValue};
pub use deploy_requested::{DeployAction, DeployRequested, DeployTrigger};
pub use deploy_status::{ChangeKind, DeployPhase, DeployStatus, ResourceChange};
pub use digest_tick::{DigestPeriod, DigestTick};
pub use feed_updated::{FeedChange, FeedUpdated};
pub use feed_written::{FeedWritten, LearnedFrom};
pub use github::{
    ActiveStatus, GithubConclusion, GithubState, GithubStatus, GithubUser, GithubWorkflowJob, GithubWorkflowRun, HeadCommit, JobAction,
    JobStep, PraktikaStatus, PullRequestRef, RunAction, WorkflowJob, WorkflowRun,
};
pub use ops_alert::{AlertKind, Link, OpsAlert, Severity};
pub use person::{ForgetAction, ForgottenRecord, PersonForget, PersonForgotten};
pub use slack_command::{CommandAction, RepoFilter, SlackCommand, SlackCommandV2, SlackCommandV3, SlashCommand};
pub use slack_home_opened::{HomeTab, SlackHomeOpened};
pub use slack_interaction::{Container, InteractionKind, SlackInteraction};
pub use subscription_changed::{DigestSchedule, Preferences, SubscriptionChanged, SubscriptionState};
pub use subscription_imported::{ImportSource, LastNotified, SubscriptionImported};
pub use user_registered::UserRegistered;
