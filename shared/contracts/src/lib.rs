//! Pulse's event contracts: the envelope, one typed payload per event type and version, and the
//! JSON Schemas in `contracts/` they are tested against.
//!
//! Producers build a typed detail and wrap it ([`Event::into_envelope`] or
//! [`EventDetail::into_envelope`], with an id and a time from their own `pulse_core::Ids` and
//! `pulse_core::Clock`: this crate reads neither a clock nor a random source); consumers parse a queue message with [`from_sqs_body`] and
//! match on [`Event`]. Anything that cannot be parsed is a [`ContractError`] whose message names the
//! event type, version and field, for the dead-letter queue.

pub mod codec;
pub mod envelope;
pub mod error;
pub mod event;
pub mod events;
pub mod feed_layout;
pub mod foreign;
pub mod github_account;
pub mod parse;
pub mod praktika;
pub mod schema;
pub mod types;

pub use envelope::{Envelope, detail_type};
pub use error::ContractError;
pub use event::{CATALOGUE, Event, EventDetail, TypedEnvelope, supported_versions};
pub use events::{ActiveStatus, HeadCommit, JobAction, JobStep, RunAction, WorkflowJob, WorkflowRun};
pub use events::{
    AlertKind, ChangeKind, CiJob, CiJobV2, CommandAction, Container, DeployAction, DeployPhase, DeployRequested, DeployStatus,
    DeployTrigger, DigestPeriod, DigestSchedule, DigestTick, FeedChange, FeedUpdated, FeedWritten, ForgetAction, ForgottenRecord,
    GithubConclusion, GithubState, GithubStatus, GithubWorkflowJob, GithubWorkflowRun, HomeTab, ImportSource, InteractionKind,
    JobCompletion, JobPhase, JobStatus, LastNotified, LearnedFrom, Link, OpsAlert, PersonForget, PersonForgotten, Preferences, RepoFilter,
    ResourceChange, Severity, SlackCommand, SlackCommandV2, SlackCommandV3, SlackHomeOpened, SlackInteraction, SlashCommand, StatValue,
    SubscriptionChanged, SubscriptionImported, SubscriptionState, UserRegistered,
};
pub use github_account::GithubAccount;
pub use parse::{
    ENVELOPE_FIELDS, eventbridge_wrap, from_sqs_body, from_sqs_body_validated, parse_envelope, parse_raw_envelope, parse_str,
    validate_and_parse,
};
pub use praktika::FeedEvent;
pub use schema::{SchemaError, Violation};
pub use types::{Actor, Email, InvalidEmail};
