//! Why a document was refused. Every message is meant for a human reading a dead-letter queue:
//! it names the event type and version when known, and the offending field.

use crate::schema::SchemaError;

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// The body is not JSON at all.
    #[error("not JSON: {reason}")]
    NotJson { reason: String },

    /// JSON, but not a Pulse envelope: a field is missing, has the wrong type, is empty, or is not
    /// an envelope field. `reason` names the field.
    #[error("not a Pulse event envelope: {reason}")]
    NotAnEnvelope { reason: String },

    /// No version of this event type is in the catalogue.
    #[error("unknown event type `{event_type}` version {version}")]
    UnknownEventType { event_type: String, version: u32 },

    /// The type is known but this consumer does not accept this version.
    #[error("unsupported version {version} of event type `{event_type}` (supported: {})", list_versions(supported))]
    UnsupportedVersion { event_type: String, version: u32, supported: Vec<u32> },

    /// The envelope is fine but its `detail` does not match the type. `path` names the field,
    /// e.g. `detail.ext.pr_number`.
    #[error("invalid `{event_type}` version {version} event: `{path}`: {message}")]
    InvalidDetail { event_type: String, version: u32, path: String, message: String },

    /// An EventBridge event whose `detail-type` disagrees with the envelope it carries: a
    /// producer or rule is mislabelling events.
    #[error(
        "EventBridge detail-type `{detail_type}` does not match the envelope it carries \
         (type `{event_type}` version {version}, i.e. `{event_type}.v{version}`)"
    )]
    DetailTypeMismatch { detail_type: String, event_type: String, version: u32 },

    /// An event from outside Pulse that Pulse recognises (an S3 notification delivered by an
    /// EventBridge rule, see [`crate::foreign`]) but cannot use: `what` names it, `reason` the
    /// field.
    #[error("{what}: {reason}")]
    Foreign { what: String, reason: String },

    /// The document violates its JSON Schema (only from [`crate::validate_and_parse`]).
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

impl ContractError {
    /// [`ContractError::UnknownEventType`] or [`ContractError::UnsupportedVersion`], depending on
    /// whether any version of `event_type` is in the catalogue.
    pub fn unknown(event_type: &str, version: u32) -> Self {
        let supported = crate::event::supported_versions(event_type);
        if supported.is_empty() {
            ContractError::UnknownEventType { event_type: event_type.to_owned(), version }
        } else {
            ContractError::UnsupportedVersion { event_type: event_type.to_owned(), version, supported }
        }
    }
}

fn list_versions(versions: &[u32]) -> String {
    let list: Vec<String> = versions.iter().map(|v| v.to_string()).collect();
    list.join(", ")
}
