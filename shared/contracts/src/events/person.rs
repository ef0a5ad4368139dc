//! `person.forget` v1 and `person.forgotten` v1: removing a person from everywhere Pulse keeps
//! them (`pulse forget`).
//!
//! Each service's tables are private, so the request travels as an event: the CLI publishes one
//! `person.forget` naming the person by e-mail, Slack user id or both; every service that keeps
//! personal data removes what it holds (or, on a dry run, only counts it) and answers with one
//! `person.forgotten` saying what it removed, where. The reports carry no identifier of the
//! person, only the request's id, so the answer does not spread what it removes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::types::Email;

/// Forget one person. At least one of `email` and `slack_user_id` is set (the schema requires
/// it; [`PersonForget::is_empty`] says when a hand-built one names nobody).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonForget {
    /// Names this request: its reports and its audit record carry it.
    pub request_id: Uuid,
    /// The commit author's e-mail (their feed, the subscriptions that follow it, DMs about it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// The Slack user (their subscription, preferences, DM ledger, audit entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_user_id: Option<String>,
    /// Count what would go; remove nothing.
    pub dry_run: bool,
    /// Who asked (the operator), for the audit log.
    pub requested_by: String,
    /// What replaces the person's identifiers in the audit log: the same for every entry of
    /// this request, and derived from nothing about the person.
    pub pseudonym: String,
}

impl PersonForget {
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.slack_user_id.as_deref().is_none_or(str::is_empty)
    }

    /// The pseudonym for a request: `person-` and the first 12 hex digits of its id.
    pub fn pseudonym_for(request_id: Uuid) -> String {
        format!("person-{}", &request_id.simple().to_string()[..12])
    }
}

/// One service's answer to a [`PersonForget`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonForgotten {
    pub request_id: Uuid,
    /// The service answering, e.g. `notifier`.
    pub service: String,
    pub dry_run: bool,
    /// What it removed (or, on a dry run, would remove), one line per kind of record and place;
    /// empty when it held nothing of the person.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<ForgottenRecord>,
}

/// One kind of record in one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForgottenRecord {
    pub action: ForgetAction,
    /// What kind of record, e.g. `feed object versions`, `subscription`.
    pub what: String,
    /// Where: a table or `s3://bucket/prefix`.
    pub place: String,
    pub count: u64,
    /// Anything the reader should know, e.g. why something is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForgetAction {
    /// Deleted outright.
    Deleted,
    /// Rewritten without the person (another person's feed that listed them as co-author).
    Rewritten,
    /// Kept, with the person's identifiers replaced by the pseudonym (the audit log).
    Pseudonymised,
    /// Kept as is, until it expires (`note` says why and how long).
    Kept,
}

impl ForgetAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ForgetAction::Deleted => "deleted",
            ForgetAction::Rewritten => "rewritten",
            ForgetAction::Pseudonymised => "pseudonymised",
            ForgetAction::Kept => "kept",
        }
    }
}
