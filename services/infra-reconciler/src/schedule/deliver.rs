//! What EventBridge delivers to a target when a schedule fires, computed without I/O: the
//! scheduled event, then the target's input (the whole event, a constant `Input`, an
//! `InputPath`, or an input transformer).
//!
//! The input transformer, as EventBridge documents it: `InputPathsMap` names values of the event
//! by JSON path; each `<name>` of `InputTemplate` is replaced by its value. Inside a JSON string
//! of the template (`"dedup:<time>"`) a value goes in as string content, so a quoted `"<time>"`
//! stays one JSON string; outside one it goes in as JSON (a string with its quotes). The
//! predefined `<aws.events.rule-arn>`, `<aws.events.rule-name>`,
//! `<aws.events.event.ingestion-time>` and `<aws.events.event.json>` work too. A `<word>` the map
//! does not name is left as it is, as EventBridge leaves it.
//!
//! Paths: `$` and dotted member paths (`$.detail.period`) only; anything else (`[0]`, `*`,
//! `..`) is refused with an error naming the path, rather than delivered wrong.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// What a target receives (EventBridge's target input options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetInput {
    /// The event itself.
    Event,
    /// `Input`: constant text.
    Constant(String),
    /// `InputPath`: the part of the event at a path.
    Path(String),
    /// `InputTransformer`.
    Transformer { paths: BTreeMap<String, String>, template: String },
}

/// Why a target's input could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliverError {
    #[error("JSON path {0:?} is not supported here (only $ and $.a.b member paths)")]
    UnsupportedPath(String),
    #[error("JSON path {0:?} finds nothing in the scheduled event")]
    NothingAt(String),
}

/// The event EventBridge sends when a scheduled rule fires at `time`.
pub fn scheduled_event(id: &str, time: DateTime<Utc>, account: &str, region: &str, rule_arn: &str) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    })
}

/// The text `input` makes of `event` for the rule `rule_name` (`rule_arn`).
pub fn target_input(input: &TargetInput, event: &Value, rule_name: &str, rule_arn: &str) -> Result<String, DeliverError> {
    match input {
        TargetInput::Event => Ok(event.to_string()),
        TargetInput::Constant(text) => Ok(text.clone()),
        TargetInput::Path(path) => Ok(lookup(event, path)?.to_string()),
        TargetInput::Transformer { paths, template } => {
            let mut values: BTreeMap<&str, Value> = BTreeMap::new();
            for (name, path) in paths {
                values.insert(name, lookup(event, path)?.clone());
            }
            values.insert("aws.events.rule-arn", json!(rule_arn));
            values.insert("aws.events.rule-name", json!(rule_name));
            values.insert("aws.events.event.ingestion-time", event["time"].clone());
            values.insert("aws.events.event.json", event.clone());
            Ok(fill(template, &values))
        }
    }
}

fn lookup<'a>(event: &'a Value, path: &str) -> Result<&'a Value, DeliverError> {
    let unsupported = || DeliverError::UnsupportedPath(path.to_owned());
    let rest = path.strip_prefix('$').ok_or_else(unsupported)?;
    let mut at = event;
    if rest.is_empty() {
        return Ok(at);
    }
    let members = rest.strip_prefix('.').ok_or_else(unsupported)?;
    for member in members.split('.') {
        let plain = !member.is_empty() && member.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
        if !plain {
            return Err(unsupported());
        }
        at = at.get(member).ok_or_else(|| DeliverError::NothingAt(path.to_owned()))?;
    }
    Ok(at)
}

/// Replace each known `<name>` of `template`, as string content inside a JSON string and as
/// JSON outside one.
fn fill(template: &str, values: &BTreeMap<&str, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
            && let Some(value) = values.get(&rest[1..end])
        {
            match (in_string, value) {
                // A string's content, escaped as JSON (without its quotes).
                (true, Value::String(s)) => out.push_str(&json_content(s)),
                (true, other) => out.push_str(&json_content(&other.to_string())),
                (false, other) => out.push_str(&other.to_string()),
            }
            rest = &rest[end + 1..];
            continue;
        }
        if c == '"' && !escaped {
            in_string = !in_string;
        }
        escaped = in_string && c == '\\' && !escaped;
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn json_content(s: &str) -> String {
    let quoted = Value::String(s.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE_ARN: &str = "arn:aws:events:us-east-1:123456789012:rule/pulse-digest-daily";

    fn event() -> Value {
        let time = DateTime::parse_from_rfc3339("2026-12-04T13:00:00Z").unwrap().with_timezone(&Utc);
        scheduled_event("5c1e5f1e-8d6a-4a38-9a4e-6f8f7e2b1c01", time, "123456789012", "us-east-1", RULE_ARN)
    }

    fn transformer(paths: &[(&str, &str)], template: &str) -> TargetInput {
        TargetInput::Transformer {
            paths: paths.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            template: template.to_owned(),
        }
    }

    #[test]
    fn the_scheduled_event_has_eventbridges_shape() {
        let e = event();
        assert_eq!(e["detail-type"], "Scheduled Event");
        assert_eq!(e["source"], "aws.events");
        assert_eq!(e["time"], "2026-12-04T13:00:00Z");
        assert_eq!(e["resources"], json!([RULE_ARN]));
        assert_eq!(e["detail"], json!({}));
    }

    #[test]
    fn the_digest_template_becomes_an_envelope() {
        // The shape of the stack's digest schedules: quoted placeholders, one inside a longer string.
        let input = transformer(
            &[("id", "$.id"), ("time", "$.time")],
            r#"{"id":"<id>","type":"digest.tick","version":1,"occurred_at":"<time>","dedup_key":"digest.tick:daily:<time>","detail":{"period":"daily","scheduled_for":"<time>"}}"#,
        );
        let text = target_input(&input, &event(), "pulse-digest-daily", RULE_ARN).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["id"], "5c1e5f1e-8d6a-4a38-9a4e-6f8f7e2b1c01");
        assert_eq!(v["occurred_at"], "2026-12-04T13:00:00Z");
        assert_eq!(v["dedup_key"], "digest.tick:daily:2026-12-04T13:00:00Z");
        assert_eq!(v["detail"]["scheduled_for"], "2026-12-04T13:00:00Z");
        assert_eq!(v["version"], 1);
    }

    #[test]
    fn values_outside_strings_go_in_as_json_and_unknown_words_stay() {
        let input = transformer(&[("d", "$.detail"), ("r", "$.resources")], r#"{"d":<d>,"r":<r>,"n":"<aws.events.rule-name>","x":"<x>"}"#);
        let text = target_input(&input, &event(), "pulse-digest-daily", RULE_ARN).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, json!({"d": {}, "r": [RULE_ARN], "n": "pulse-digest-daily", "x": "<x>"}));
        // A plain-text template: the string's text alone.
        let input = transformer(&[("t", "$.time")], "fired at <t>");
        assert_eq!(target_input(&input, &event(), "r", RULE_ARN).unwrap(), r#"fired at "2026-12-04T13:00:00Z""#);
    }

    #[test]
    fn other_inputs() {
        assert_eq!(serde_json::from_str::<Value>(&target_input(&TargetInput::Event, &event(), "r", RULE_ARN).unwrap()).unwrap(), event());
        assert_eq!(target_input(&TargetInput::Constant("{\"a\":1}".into()), &event(), "r", RULE_ARN).unwrap(), "{\"a\":1}");
        assert_eq!(target_input(&TargetInput::Path("$.time".into()), &event(), "r", RULE_ARN).unwrap(), "\"2026-12-04T13:00:00Z\"");
    }

    #[test]
    fn paths_it_cannot_follow_are_errors_naming_them() {
        for path in ["$.resources[0]", "$..id", "$.*", "time", "$."] {
            let input = transformer(&[("v", path)], "<v>");
            assert_eq!(target_input(&input, &event(), "r", RULE_ARN), Err(DeliverError::UnsupportedPath(path.into())), "{path}");
        }
        let input = transformer(&[("v", "$.detail.period")], "<v>");
        assert_eq!(target_input(&input, &event(), "r", RULE_ARN), Err(DeliverError::NothingAt("$.detail.period".into())));
    }
}
