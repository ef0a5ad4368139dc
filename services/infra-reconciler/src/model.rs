//! The vocabulary of the engine: kinds, resource ids, properties, and the diff between what a
//! stack declares and what the cloud holds.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A kind of cloud resource the reconciler manages. The names are the ones stack files and
/// `--only` use.
///
/// Adding a kind: add a variant here (and to [`Kind::ALL`]), a spec struct implementing
/// [`crate::Resource`] in `kinds/`, and a variant of [`crate::ResourceSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    EventBus,
    Queue,
    QueuePolicy,
    Rule,
    Schedule,
    Table,
    Bucket,
    BucketNotifications,
    DedicatedHost,
    IAMInstanceProfile,
    EC2Instance,
    ImageBuilder,
    LaunchTemplate,
    AutoScalingGroup,
    IamRole,
    Lambda,
    ApiRoute,
    Alarm,
}

impl Kind {
    /// Every kind, in the order a reader meets them in a stack.
    pub const ALL: [Kind; 18] = [
        Kind::EventBus,
        Kind::Queue,
        Kind::QueuePolicy,
        Kind::Rule,
        Kind::Schedule,
        Kind::Table,
        Kind::Bucket,
        Kind::BucketNotifications,
        Kind::DedicatedHost,
        Kind::IAMInstanceProfile,
        Kind::EC2Instance,
        Kind::ImageBuilder,
        Kind::LaunchTemplate,
        Kind::AutoScalingGroup,
        Kind::IamRole,
        Kind::Lambda,
        Kind::ApiRoute,
        Kind::Alarm,
    ];

    /// The kinds `pulse infra shutdown` can stop (praktika's `--shutdown`).
    pub const SHUTDOWN: [Kind; 2] = [Kind::EC2Instance, Kind::DedicatedHost];

    /// The name used in stack files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EventBus => "EventBus",
            Kind::Queue => "Queue",
            Kind::QueuePolicy => "QueuePolicy",
            Kind::Rule => "Rule",
            Kind::Schedule => "Schedule",
            Kind::Table => "Table",
            Kind::Bucket => "Bucket",
            Kind::BucketNotifications => "BucketNotifications",
            Kind::DedicatedHost => "DedicatedHost",
            Kind::IAMInstanceProfile => "IAMInstanceProfile",
            Kind::EC2Instance => "EC2Instance",
            Kind::ImageBuilder => "ImageBuilder",
            Kind::LaunchTemplate => "LaunchTemplate",
            Kind::AutoScalingGroup => "AutoScalingGroup",
            Kind::IamRole => "IamRole",
            Kind::Lambda => "Lambda",
            Kind::ApiRoute => "ApiRoute",
            Kind::Alarm => "Alarm",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for an unknown kind name; it lists the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown resource kind {given:?}; known kinds: {}", Kind::ALL.map(Kind::as_str).join(", "))]
pub struct UnknownKind {
    pub given: String,
}

impl FromStr for Kind {
    type Err = UnknownKind;

    /// Exact names (`Queue`), case-insensitively (`queue` works too).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| UnknownKind { given: s.to_owned() })
    }
}

/// One resource of a stack: its kind and its name (unique within the kind).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceId {
    pub kind: Kind,
    pub name: String,
}

impl ResourceId {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        Self { kind, name: name.into() }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// A resource's properties by field name (the AWS API's names: `VisibilityTimeout`,
/// `EventPattern`, ...). Desired properties hold only what the stack declares; observed ones may
/// hold more (for example a queue's URL), which the diff ignores.
pub type Properties = BTreeMap<String, Value>;

/// One property that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    /// What the cloud holds, normalised; `None` when the property is not set there.
    pub from: Option<Value>,
    /// What the stack declares, normalised.
    pub to: Value,
}

/// What applying a resource would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    /// The resource does not exist: create it with every declared property.
    Create,
    /// The resource exists but these declared properties differ.
    Update { fields: Vec<FieldChange> },
    /// The resource exists and matches every declared property.
    NoChange,
}

impl Change {
    pub fn is_no_change(&self) -> bool {
        matches!(self, Change::NoChange)
    }

    /// The changed fields of an update (empty for create and no change).
    pub fn fields(&self) -> &[FieldChange] {
        match self {
            Change::Update { fields } => fields,
            _ => &[],
        }
    }

    /// Whether an update touches `field`.
    pub fn touches(&self, field: &str) -> bool {
        self.fields().iter().any(|f| f.field == field)
    }
}

/// Compare the declared properties with the observed ones.
///
/// Only the fields in `desired` count. Both sides are [`normalize`]d first, so `"60"` equals
/// `60`, a JSON policy or event pattern held as a string equals the same document as an object
/// whatever its key order or spacing, and `5` equals `5.0`.
pub fn diff(desired: &Properties, observed: Option<&Properties>) -> Change {
    let Some(observed) = observed else {
        return Change::Create;
    };
    let mut fields = Vec::new();
    for (field, want) in desired {
        let want = normalize(want);
        let have = observed.get(field).map(normalize).filter(|v| !v.is_null());
        let same = match &have {
            Some(have) => *have == want,
            None => want.is_null(),
        };
        if !same {
            fields.push(FieldChange { field: field.clone(), from: have, to: want });
        }
    }
    if fields.is_empty() { Change::NoChange } else { Change::Update { fields } }
}

/// The canonical form of a property value, for comparison and display.
///
/// - a string holding a JSON object or array becomes that document (normalised in turn);
/// - a string holding a number or a boolean becomes that number or boolean (SQS answers
///   `"60"` and `"true"`);
/// - an integral number becomes an integer (`5.0` → `5`);
/// - objects are compared without regard to key order (serde_json's map equality).
pub fn normalize(value: &Value) -> Value {
    match value {
        Value::String(s) => {
            let t = s.trim();
            if (t.starts_with('{') || t.starts_with('['))
                && let Ok(parsed) = serde_json::from_str::<Value>(t)
            {
                return normalize(&parsed);
            }
            match t {
                "true" => return Value::Bool(true),
                "false" => return Value::Bool(false),
                _ => {}
            }
            if looks_numeric(t)
                && let Ok(Value::Number(n)) = serde_json::from_str::<Value>(t)
            {
                return normalize_number(&n);
            }
            value.clone()
        }
        Value::Number(n) => normalize_number(n),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect()),
        Value::Null | Value::Bool(_) => value.clone(),
    }
}

fn looks_numeric(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty()
        && digits.chars().next().is_some_and(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
}

fn normalize_number(n: &serde_json::Number) -> Value {
    if n.is_i64() || n.is_u64() {
        return Value::Number(n.clone());
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
        _ => Value::Number(n.clone()),
    }
}

/// A value as the plan shows it: compact JSON, strings without quotes.
pub(crate) fn show(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(absent)".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(pairs: &[(&str, Value)]) -> Properties {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn kinds_parse_by_name_case_insensitively() {
        assert_eq!("Queue".parse::<Kind>().unwrap(), Kind::Queue);
        assert_eq!("queuepolicy".parse::<Kind>().unwrap(), Kind::QueuePolicy);
        let err = "Lambada".parse::<Kind>().unwrap_err();
        assert!(err.to_string().contains("known kinds: EventBus, Queue"), "{err}");
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>().unwrap(), kind);
        }
    }

    #[test]
    fn numbers_compare_as_numbers() {
        let desired = props(&[("VisibilityTimeout", json!(60)), ("MaxReceive", json!(5))]);
        let observed = props(&[("VisibilityTimeout", json!("60")), ("MaxReceive", json!(5.0))]);
        assert_eq!(diff(&desired, Some(&observed)), Change::NoChange);
    }

    #[test]
    fn json_strings_compare_as_documents() {
        let desired = props(&[("EventPattern", json!({"detail-type": [{"prefix": "ci.workflow."}], "source": ["a", "b"]}))]);
        let observed =
            props(&[("EventPattern", json!("{ \"source\": [\"a\",\"b\"],\n \"detail-type\":[{\"prefix\":\"ci.workflow.\"}] }"))]);
        assert_eq!(diff(&desired, Some(&observed)), Change::NoChange);

        // Array order is significant (kinds sort set-like arrays themselves).
        let reordered = props(&[("EventPattern", json!({"detail-type": [{"prefix": "ci.workflow."}], "source": ["b", "a"]}))]);
        assert!(matches!(diff(&desired, Some(&reordered)), Change::Update { .. }));
    }

    #[test]
    fn redrive_policy_with_string_count_matches() {
        let desired = props(&[("RedrivePolicy", json!({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:q-dlq", "maxReceiveCount": 5}))]);
        let observed =
            props(&[("RedrivePolicy", json!("{\"maxReceiveCount\":\"5\",\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:1:q-dlq\"}"))]);
        assert_eq!(diff(&desired, Some(&observed)), Change::NoChange);
    }

    #[test]
    fn only_declared_fields_count_and_changes_show_old_and_new() {
        let desired = props(&[("VisibilityTimeout", json!(60)), ("ReceiveMessageWaitTimeSeconds", json!(20))]);
        let observed = props(&[
            ("VisibilityTimeout", json!("30")),
            ("ReceiveMessageWaitTimeSeconds", json!("20")),
            ("DelaySeconds", json!("7")),
            ("QueueUrl", json!("http://x")),
        ]);
        let change = diff(&desired, Some(&observed));
        assert_eq!(
            change,
            Change::Update { fields: vec![FieldChange { field: "VisibilityTimeout".into(), from: Some(json!(30)), to: json!(60) }] }
        );
        assert!(change.touches("VisibilityTimeout"));
        assert!(!change.touches("DelaySeconds"));
    }

    #[test]
    fn missing_fields_are_absent_and_missing_resources_are_created() {
        let desired = props(&[("Policy", json!({"Version": "2012-10-17"}))]);
        let change = diff(&desired, Some(&Properties::new()));
        assert_eq!(change.fields()[0].from, None);
        assert_eq!(diff(&desired, None), Change::Create);
        // A declared null matches an absent property.
        let nothing = props(&[("TimeToLive", Value::Null)]);
        assert_eq!(diff(&nothing, Some(&Properties::new())), Change::NoChange);
    }

    #[test]
    fn plain_strings_stay_strings() {
        assert_eq!(normalize(&json!("ENABLED")), json!("ENABLED"));
        assert_eq!(normalize(&json!("cron(0 13 * * ? *)")), json!("cron(0 13 * * ? *)"));
        assert_eq!(normalize(&json!("{not json")), json!("{not json"));
        assert_eq!(normalize(&json!("1e3")), json!(1000));
        assert_eq!(normalize(&json!("-")), json!("-"));
        assert_eq!(normalize(&json!("true")), json!(true));
    }
}
