//! Turning bytes from the outside (SQS bodies, CLI files, EventBridge events) into typed
//! envelopes, with errors that say what is wrong.

use serde_json::{Map, Value};

use crate::envelope::{Envelope, detail_type};
use crate::error::ContractError;
use crate::event::{CATALOGUE, Event};
use crate::schema;

/// The envelope's fields; no others are allowed (unlike `detail`, the envelope never grows
/// without a new contract).
pub const ENVELOPE_FIELDS: [&str; 7] = ["id", "type", "version", "occurred_at", "source", "dedup_key", "detail"];

/// Parse a JSON string holding one envelope.
pub fn parse_str(s: &str) -> Result<Envelope<Event>, ContractError> {
    parse_envelope(json(s)?)
}

/// Parse one envelope: check the envelope fields, then parse `detail` as the type and version
/// it declares. Does not run the JSON Schema (see [`validate_and_parse`]).
pub fn parse_envelope(value: Value) -> Result<Envelope<Event>, ContractError> {
    typed(parse_raw_envelope(value)?)
}

/// Check the envelope fields but leave `detail` as JSON, for code that moves events without
/// reading them. The type and version are not checked against the catalogue.
pub fn parse_raw_envelope(value: Value) -> Result<Envelope<Value>, ContractError> {
    let object = match &value {
        Value::Object(object) => object,
        other => {
            return Err(not_envelope(format!("expected a JSON object, found {}", json_kind(other))));
        }
    };
    if object.contains_key("detail-type") {
        return Err(not_envelope(
            "this is an EventBridge event (it has `detail-type`); the envelope is its `detail` \
             (from_sqs_body unwraps it)"
                .to_owned(),
        ));
    }
    if let Some(extra) = object.keys().find(|k| !ENVELOPE_FIELDS.contains(&k.as_str())) {
        return Err(not_envelope(format!("unexpected field `{extra}` (an envelope has only {})", ENVELOPE_FIELDS.join(", "))));
    }
    let raw: Envelope<Value> = serde_path_to_error::deserialize(value).map_err(|err| {
        let message = err.inner().to_string();
        let path = err.path().to_string();
        if message.starts_with("missing field") {
            not_envelope(message)
        } else {
            not_envelope(format!("field `{}`: {message}", path.trim_start_matches('.')))
        }
    })?;
    for (field, text) in [("type", &raw.event_type), ("source", &raw.source), ("dedup_key", &raw.dedup_key)] {
        if text.trim().is_empty() {
            return Err(not_envelope(format!("field `{field}` is empty")));
        }
    }
    Ok(raw)
}

/// Parse an SQS message body: either an envelope (sent by a Pulse producer to a queue) or an
/// EventBridge event delivered by a rule (`{"detail-type": "ci.workflow.v1", "detail":
/// {<envelope>}, ...}`), whose `detail-type` must agree with the envelope inside.
///
/// An EventBridge event from a foreign source Pulse reads (S3's `Object Created`) has no
/// envelope: it becomes the Pulse event it means (see [`crate::foreign`]).
pub fn from_sqs_body(body: &str) -> Result<Envelope<Event>, ContractError> {
    let (value, label) = match unwrap_sqs_body(body)? {
        Unwrapped::Foreign(envelope) => return Ok(*envelope),
        Unwrapped::Pulse(value, label) => (value, label),
    };
    let raw = parse_raw_envelope(value)?;
    check_label(label, &raw)?;
    typed(raw)
}

/// [`from_sqs_body`], plus the JSON Schema check of [`validate_and_parse`]: for consumers of
/// events that may come straight from outside producers (PutEvents without `pulse publish`).
pub fn from_sqs_body_validated(body: &str) -> Result<Envelope<Event>, ContractError> {
    let (value, label) = match unwrap_sqs_body(body)? {
        Unwrapped::Foreign(envelope) => {
            check_schema(&envelope.to_raw(), &serde_json::to_value(&*envelope).map_err(|err| not_envelope(err.to_string()))?)?;
            return Ok(*envelope);
        }
        Unwrapped::Pulse(value, label) => (value, label),
    };
    let raw = parse_raw_envelope(value.clone())?;
    check_label(label, &raw)?;
    check_schema(&raw, &value)?;
    typed(raw)
}

/// Check the document against its JSON Schema, then parse it. For documents from outside Pulse's
/// own producers (the `pulse publish` CLI): the schema also enforces what the Rust types leave
/// to the producer (non-empty `commit_authors`, conditional fields), and reports every violation
/// with its path.
pub fn validate_and_parse(value: Value) -> Result<Envelope<Event>, ContractError> {
    let raw = parse_raw_envelope(value.clone())?;
    check_schema(&raw, &value)?;
    typed(raw)
}

/// What an SQS body holds.
enum Unwrapped {
    /// A Pulse envelope (not yet checked), and the EventBridge `detail-type` if it came wrapped.
    Pulse(Value, Option<String>),
    /// A foreign event, already turned into its Pulse event.
    Foreign(Box<Envelope<Event>>),
}

/// The envelope in an SQS body, and the EventBridge `detail-type` if it came wrapped.
fn unwrap_sqs_body(body: &str) -> Result<Unwrapped, ContractError> {
    let value = json(body)?;
    let Value::Object(mut object) = value else {
        return Ok(Unwrapped::Pulse(value, None));
    };
    if crate::foreign::is_foreign(&object) {
        return crate::foreign::from_eventbridge(&object).map(|e| Unwrapped::Foreign(Box::new(e)));
    }
    let label = match object.remove("detail-type") {
        None => return Ok(Unwrapped::Pulse(Value::Object(object), None)),
        Some(Value::String(label)) => label,
        Some(other) => {
            return Err(not_envelope(format!("EventBridge `detail-type` must be a string, found {}", json_kind(&other))));
        }
    };
    let inner = object.remove("detail").ok_or_else(|| not_envelope(format!("EventBridge event `{label}` has no `detail`")))?;
    Ok(Unwrapped::Pulse(inner, Some(label)))
}

/// An EventBridge `detail-type` must name the envelope's own type and version.
fn check_label(label: Option<String>, raw: &Envelope<Value>) -> Result<(), ContractError> {
    match label {
        Some(label) if label != detail_type(&raw.event_type, raw.version) => {
            Err(ContractError::DetailTypeMismatch { detail_type: label, event_type: raw.event_type.clone(), version: raw.version })
        }
        _ => Ok(()),
    }
}

/// Known type and version first (a clearer message than "no schema"), then the schema.
fn check_schema(raw: &Envelope<Value>, document: &Value) -> Result<(), ContractError> {
    if !CATALOGUE.contains(&(raw.event_type.as_str(), raw.version)) {
        return Err(ContractError::unknown(&raw.event_type, raw.version));
    }
    schema::validate(&raw.event_type, raw.version, document)?;
    Ok(())
}

fn typed(raw: Envelope<Value>) -> Result<Envelope<Event>, ContractError> {
    let detail = Event::from_detail(&raw.event_type, raw.version, raw.detail)?;
    Ok(Envelope {
        id: raw.id,
        event_type: raw.event_type,
        version: raw.version,
        occurred_at: raw.occurred_at,
        source: raw.source,
        dedup_key: raw.dedup_key,
        detail,
    })
}

fn json(s: &str) -> Result<Value, ContractError> {
    serde_json::from_str(s).map_err(|err| ContractError::NotJson { reason: err.to_string() })
}

fn not_envelope(reason: String) -> ContractError {
    ContractError::NotAnEnvelope { reason }
}

/// What kind of JSON value this is, for error messages ("a string", "an array", ...).
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Wrap an envelope the way an EventBridge rule delivers it to SQS, for tests and local runners
/// that stand in for EventBridge.
pub fn eventbridge_wrap(envelope: &Envelope<Value>, bus_source: &str) -> Value {
    let mut object = Map::new();
    object.insert("version".into(), "0".into());
    // The wrapper's id is the envelope's: a stand-in reads no random source.
    object.insert("id".into(), envelope.id.to_string().into());
    object.insert("detail-type".into(), envelope.detail_type().into());
    object.insert("source".into(), bus_source.into());
    object.insert("account".into(), "000000000000".into());
    object.insert("time".into(), envelope.occurred_at.format("%Y-%m-%dT%H:%M:%SZ").to_string().into());
    object.insert("region".into(), "us-east-1".into());
    object.insert("resources".into(), Value::Array(Vec::new()));
    object.insert("detail".into(), serde_json::to_value(envelope).expect("an envelope always serializes"));
    Value::Object(object)
}
