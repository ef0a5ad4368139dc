//! The reconciler's errors. Each names the resource it is about and, for AWS failures, the
//! operation and the SDK's full error context.

use std::fmt::Debug;
use std::path::PathBuf;

use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::model::ResourceId;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read stack file {}: {error}", path.display())]
    ReadConfig { path: PathBuf, error: std::io::Error },

    #[error("invalid stack file {origin}: {message}")]
    InvalidConfig { origin: String, message: String },

    #[error("{resource} depends on {missing}, which the stack does not declare")]
    UnknownDependency { resource: ResourceId, missing: ResourceId },

    #[error("dependency cycle: {}", cycle_text(cycle))]
    DependencyCycle {
        /// The resources on the cycle, in order; the first depends on the second, and so on, and
        /// the last on the first.
        cycle: Vec<ResourceId>,
    },

    #[error("cannot determine the AWS account and region: {context}")]
    Account { context: String },

    #[error("{resource}: {operation} failed: {context}")]
    Aws {
        resource: ResourceId,
        /// `service:Operation`, e.g. `sqs:CreateQueue`.
        operation: &'static str,
        /// The AWS error code when the service sent one.
        code: Option<String>,
        /// The SDK error with its whole chain of causes (`DisplayErrorContext`).
        context: String,
    },

    #[error("{resource}: {message}")]
    Resource { resource: ResourceId, message: String },

    /// The Lambda package store (`pulse infra package`, `--packages`).
    #[error("Lambda packages at {store}: {message}")]
    Packages { store: String, message: String },
}

fn cycle_text(cycle: &[ResourceId]) -> String {
    let mut parts: Vec<String> = cycle.iter().map(ToString::to_string).collect();
    if let Some(first) = cycle.first() {
        parts.push(first.to_string());
    }
    parts.join(" → ")
}

impl Error {
    /// Wrap an SDK error with the resource and operation it happened on.
    pub(crate) fn aws<E, R>(resource: &ResourceId, operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
        R: Debug,
    {
        Error::Aws {
            resource: resource.clone(),
            operation,
            code: err.code().map(str::to_owned),
            context: DisplayErrorContext(&err).to_string(),
        }
    }

    pub(crate) fn resource(resource: &ResourceId, message: impl Into<String>) -> Self {
        Error::Resource { resource: resource.clone(), message: message.into() }
    }

    /// The resource the error is about, if it is about one.
    pub fn resource_id(&self) -> Option<&ResourceId> {
        match self {
            Error::Aws { resource, .. } | Error::Resource { resource, .. } | Error::UnknownDependency { resource, .. } => Some(resource),
            _ => None,
        }
    }
}

/// Whether an SDK error is a service error with one of `codes` as its AWS error code (or, when
/// `codes` holds `"404"`, with HTTP status 404: S3's HeadBucket answers without a body).
pub(crate) fn error_is<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>, codes: &[&str]) -> bool {
    match err {
        SdkError::ServiceError(service) => {
            err.code().is_some_and(|c| codes.contains(&c)) || (codes.contains(&"404") && service.raw().status().as_u16() == 404)
        }
        _ => false,
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
