//! The JSON Schemas in `contracts/schemas/`, embedded at compile time and compiled on first use.
//!
//! Each schema describes a whole envelope of one type and version (draft 2020-12). Formats
//! (`date-time`, `uuid`, `uri`) are checked, not just annotated.

use std::sync::OnceLock;

use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

/// One embedded schema and its compiled validator.
struct Entry {
    event_type: &'static str,
    version: u32,
    source: &'static str,
    compiled: OnceLock<Result<Validator, String>>,
}

macro_rules! schemas {
    ($( ($name:literal, $version:literal) ),* $(,)?) => {
        [ $( Entry {
            event_type: $name,
            version: $version,
            source: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"), "/../../contracts/schemas/", $name, ".v", $version, ".schema.json"
            )),
            compiled: OnceLock::new(),
        }, )* ]
    };
}

static SCHEMAS: [Entry; 21] = schemas![
    ("ci.workflow", 1),
    ("ci.job", 1),
    ("ci.job", 2),
    ("ops.alert", 1),
    ("user.registered", 1),
    ("slack.command", 1),
    ("slack.command", 2),
    ("slack.command", 3),
    ("slack.interaction", 1),
    ("slack.home_opened", 1),
    ("feed.updated", 1),
    ("subscription.changed", 1),
    ("deploy.requested", 1),
    ("deploy.status", 1),
    ("digest.tick", 1),
    ("feed.written", 1),
    ("subscription.imported", 1),
    ("person.forget", 1),
    ("person.forgotten", 1),
    ("github.workflow_run", 1),
    ("github.workflow_job", 1),
];

/// Every `(type, version)` in the catalogue (the same list as [`crate::CATALOGUE`]).
pub fn catalogue() -> &'static [(&'static str, u32)] {
    crate::event::CATALOGUE
}

/// The schema's text as embedded, or `None` if there is no schema for this type and version.
pub fn source(event_type: &str, version: u32) -> Option<&'static str> {
    find(event_type, version).map(|e| e.source)
}

/// One way a document breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON Pointer to the offending value, e.g. `/detail/ext/commit_authors`. For a missing
    /// property it names the property itself (`/detail/job`), not the object lacking it.
    pub instance_path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.instance_path.is_empty() { "/" } else { &self.instance_path };
        write!(f, "{path}: {}", self.message)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("no schema for event type `{event_type}` version {version}")]
    UnknownSchema { event_type: String, version: u32 },

    #[error("`{event_type}` version {version} event violates its schema: {}", join(violations))]
    Violations { event_type: String, version: u32, violations: Vec<Violation> },

    /// The embedded schema itself does not compile: a bug in `contracts/`, caught by the tests.
    #[error("the schema for `{event_type}` version {version} does not compile: {reason}")]
    BrokenSchema { event_type: String, version: u32, reason: String },
}

impl SchemaError {
    /// The violations, empty for the other variants.
    pub fn violations(&self) -> &[Violation] {
        match self {
            SchemaError::Violations { violations, .. } => violations,
            _ => &[],
        }
    }
}

fn join(violations: &[Violation]) -> String {
    let parts: Vec<String> = violations.iter().map(Violation::to_string).collect();
    parts.join("; ")
}

/// Check a whole envelope document against the schema of `event_type` version `version`,
/// reporting every violation.
pub fn validate(event_type: &str, version: u32, document: &Value) -> Result<(), SchemaError> {
    let entry = find(event_type, version).ok_or_else(|| SchemaError::UnknownSchema { event_type: event_type.to_owned(), version })?;
    let validator = entry.validator()?;
    let violations: Vec<Violation> = validator.iter_errors(document).map(|e| violation(&e)).collect();
    if violations.is_empty() { Ok(()) } else { Err(SchemaError::Violations { event_type: event_type.to_owned(), version, violations }) }
}

/// Compile every embedded schema now (a service can call this at start-up to fail fast).
pub fn compile_all() -> Result<(), SchemaError> {
    SCHEMAS.iter().try_for_each(|e| e.validator().map(|_| ()))
}

fn find(event_type: &str, version: u32) -> Option<&'static Entry> {
    SCHEMAS.iter().find(|e| e.event_type == event_type && e.version == version)
}

impl Entry {
    fn validator(&self) -> Result<&Validator, SchemaError> {
        let compiled = self.compiled.get_or_init(|| {
            let schema: Value = serde_json::from_str(self.source).map_err(|e| format!("not JSON: {e}"))?;
            jsonschema::draft202012::options().should_validate_formats(true).build(&schema).map_err(|e| e.to_string())
        });
        compiled.as_ref().map_err(|reason| SchemaError::BrokenSchema {
            event_type: self.event_type.to_owned(),
            version: self.version,
            reason: reason.clone(),
        })
    }
}

/// Longest offending value quoted in a message; bigger ones (whole objects under `if`/`then`)
/// are replaced by "value" so a dead-letter message stays readable.
const MAX_QUOTED: usize = 120;

fn violation(error: &jsonschema::ValidationError<'_>) -> Violation {
    let mut instance_path = error.instance_path().to_string();
    let missing = match error.kind() {
        ValidationErrorKind::Required { property } => property.as_str(),
        _ => None,
    };
    if let Some(name) = missing {
        instance_path.push('/');
        instance_path.push_str(&name.replace('~', "~0").replace('/', "~1"));
    }
    let quoted = serde_json::to_string(error.instance().as_ref()).map_or(usize::MAX, |s| s.len());
    let message = if quoted > MAX_QUOTED { error.masked().to_string() } else { error.to_string() };
    Violation { instance_path, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles_and_matches_the_catalogue() {
        compile_all().unwrap();
        let embedded: Vec<(&str, u32)> = SCHEMAS.iter().map(|e| (e.event_type, e.version)).collect();
        assert_eq!(embedded, catalogue());
    }

    #[test]
    fn unknown_schema_names_type_and_version() {
        let err = validate("foo.bar", 3, &Value::Null).unwrap_err();
        assert_eq!(err.to_string(), "no schema for event type `foo.bar` version 3");
        assert!(source("ci.job", 3).is_none());
        assert!(source("ci.job", 1).unwrap().contains("\"ci.job\""));
    }

    #[test]
    fn a_required_violation_names_the_missing_property() {
        let doc = serde_json::json!({"id": "4dffb2ea-f2bd-4bdb-9ece-1c1dae39b490", "type": "digest.tick"});
        let err = validate("digest.tick", 1, &doc).unwrap_err();
        let paths: Vec<&str> = err.violations().iter().map(|v| v.instance_path.as_str()).collect();
        assert!(paths.contains(&"/dedup_key"), "{paths:?}");
        assert!(paths.contains(&"/detail"), "{paths:?}");
        assert!(err.to_string().starts_with("`digest.tick` version 1 event violates its schema: "));
    }
}
