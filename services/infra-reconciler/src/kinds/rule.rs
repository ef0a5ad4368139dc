//! `Rule` (an event-pattern rule on a bus) and `Schedule` (a cron or rate rule, which AWS only
//! allows on the default bus), both with SQS queue targets.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_eventbridge::types::{InputTransformer, RuleState as SdkRuleState, Target};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{ApplyInput, Resource, check_name};
use crate::clients::{Clients, Context, DEFAULT_BUS};
use crate::error::{Error, Result, error_is};
use crate::model::{Change, Kind, Properties, ResourceId, normalize};

/// An event-pattern rule on a bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    /// The name of an `EventBus` declared in the same stack, or `default`.
    pub bus: String,
    /// The EventBridge event pattern, as a JSON object.
    pub event_pattern: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub state: RuleState,
    pub targets: Vec<TargetSpec>,
}

/// A scheduled rule on the default bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    pub name: String,
    /// `cron(...)` (six fields) or `rate(...)`.
    pub schedule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub state: RuleState,
    pub targets: Vec<TargetSpec>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleState {
    #[default]
    Enabled,
    Disabled,
}

impl RuleState {
    fn as_str(self) -> &'static str {
        match self {
            RuleState::Enabled => "ENABLED",
            RuleState::Disabled => "DISABLED",
        }
    }
}

/// A rule target: an SQS queue of the stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// The name of a `Queue` declared in the same stack (which must also have a `QueuePolicy`).
    pub queue: String,
    /// The target id; defaults to the queue name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_transformer: Option<InputTransformerSpec>,
}

impl TargetSpec {
    pub fn target_id(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.queue)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputTransformerSpec {
    /// `InputPathsMap`: variable → JSON path into the event.
    pub input_paths: BTreeMap<String, String>,
    /// `InputTemplate`: a string, or (more readably) a JSON object that is sent as its compact
    /// text. Quote placeholders (`"<time>"`) to keep an object template valid JSON.
    pub input_template: TemplateSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TemplateSpec {
    Text(String),
    Json(Map<String, Value>),
}

impl TemplateSpec {
    pub fn text(&self) -> String {
        match self {
            TemplateSpec::Text(s) => s.clone(),
            TemplateSpec::Json(map) => Value::Object(map.clone()).to_string(),
        }
    }
}

/// What a rule fires on.
#[derive(Debug, Clone, Copy)]
enum Trigger<'a> {
    Pattern(&'a Value),
    Schedule(&'a str),
}

/// The common shape of `Rule` and `Schedule`.
#[derive(Debug, Clone, Copy)]
struct EventRule<'a> {
    kind: Kind,
    name: &'a str,
    bus: &'a str,
    trigger: Trigger<'a>,
    description: Option<&'a str>,
    state: RuleState,
    targets: &'a [TargetSpec],
}

impl RuleSpec {
    fn common(&self) -> EventRule<'_> {
        EventRule {
            kind: Kind::Rule,
            name: &self.name,
            bus: &self.bus,
            trigger: Trigger::Pattern(&self.event_pattern),
            description: self.description.as_deref(),
            state: self.state,
            targets: &self.targets,
        }
    }
}

impl ScheduleSpec {
    fn common(&self) -> EventRule<'_> {
        EventRule {
            kind: Kind::Schedule,
            name: &self.name,
            bus: DEFAULT_BUS,
            trigger: Trigger::Schedule(&self.schedule),
            description: self.description.as_deref(),
            state: self.state,
            targets: &self.targets,
        }
    }
}

const RULE_FIELDS: [&str; 4] = ["EventPattern", "ScheduleExpression", "State", "Description"];

impl EventRule<'_> {
    fn id(&self) -> ResourceId {
        ResourceId::new(self.kind, self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        let mut refs = Vec::new();
        if self.bus != DEFAULT_BUS {
            refs.push(ResourceId::new(Kind::EventBus, self.bus));
        }
        for t in self.targets {
            refs.push(ResourceId::new(Kind::Queue, &t.queue));
            // EventBridge cannot deliver before the queue lets it: the policy goes first.
            refs.push(ResourceId::new(Kind::QueuePolicy, &t.queue));
        }
        refs.sort();
        refs.dedup();
        refs
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let what = if self.kind == Kind::Rule { "rule" } else { "schedule" };
        check_name(what, self.name, 1..=64, |c| c.is_ascii_alphanumeric() || "._-".contains(c), "A-Z a-z 0-9 . _ -")?;
        match self.trigger {
            Trigger::Pattern(pattern) => {
                let ok = pattern.as_object().is_some_and(|o| !o.is_empty());
                if !ok {
                    return Err("event_pattern must be a non-empty JSON object".into());
                }
            }
            Trigger::Schedule(expr) => validate_schedule(expr)?,
        }
        if self.targets.is_empty() {
            return Err(format!("{what} {} has no targets", self.name));
        }
        if self.targets.len() > 5 {
            return Err(format!("{what} {} has {} targets; EventBridge allows 5", self.name, self.targets.len()));
        }
        let mut ids: Vec<&str> = self.targets.iter().map(TargetSpec::target_id).collect();
        for id in &ids {
            check_name("target id", id, 1..=64, |c| c.is_ascii_alphanumeric() || "._-".contains(c), "A-Z a-z 0-9 . _ -")?;
        }
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("{what} {} has two targets with id {}", self.name, w[0]));
        }
        Ok(())
    }

    fn target_value(&self, t: &TargetSpec, cx: &Context) -> Value {
        let mut v = json!({"Arn": cx.sqs_arn(&t.queue)});
        if let Some(it) = &t.input_transformer {
            v["InputTransformer"] = json!({"InputPathsMap": it.input_paths, "InputTemplate": it.input_template.text()});
        }
        v
    }

    fn target_sdk(&self, t: &TargetSpec, cx: &Context) -> Result<Target> {
        let id = self.id();
        let build_err = |e: aws_sdk_eventbridge::error::BuildError| Error::resource(&id, format!("invalid target {}: {e}", t.target_id()));
        let mut b = Target::builder().id(t.target_id()).arn(cx.sqs_arn(&t.queue));
        if let Some(it) = &t.input_transformer {
            let transformer = InputTransformer::builder()
                .set_input_paths_map(Some(it.input_paths.clone().into_iter().collect()))
                .input_template(it.input_template.text())
                .build()
                .map_err(build_err)?;
            b = b.input_transformer(transformer);
        }
        b.build().map_err(build_err)
    }

    fn desired(&self, cx: &Context) -> Properties {
        let mut p = Properties::new();
        match self.trigger {
            Trigger::Pattern(pattern) => p.insert("EventPattern".into(), pattern.clone()),
            Trigger::Schedule(expr) => p.insert("ScheduleExpression".into(), json!(expr)),
        };
        p.insert("State".into(), json!(self.state.as_str()));
        if let Some(d) = self.description {
            p.insert("Description".into(), json!(d));
        }
        let targets: Map<String, Value> = self.targets.iter().map(|t| (t.target_id().to_owned(), self.target_value(t, cx))).collect();
        p.insert("Targets".into(), Value::Object(targets));
        p
    }

    async fn observe(&self, clients: &Clients) -> Result<Option<Properties>> {
        let id = self.id();
        let rule = match clients.eventbridge.describe_rule().name(self.name).event_bus_name(self.bus).send().await {
            Ok(rule) => rule,
            Err(err) if error_is(&err, &["ResourceNotFoundException"]) => return Ok(None),
            Err(err) => return Err(Error::aws(&id, "events:DescribeRule", err)),
        };
        let mut p = Properties::new();
        let mut put = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                p.insert(k.to_owned(), json!(v));
            }
        };
        put("Arn", rule.arn());
        put("EventPattern", rule.event_pattern());
        put("ScheduleExpression", rule.schedule_expression());
        put("State", rule.state().map(SdkRuleState::as_str));
        put("Description", rule.description());

        let mut targets = Map::new();
        let mut next_token: Option<String> = None;
        loop {
            let out = clients
                .eventbridge
                .list_targets_by_rule()
                .rule(self.name)
                .event_bus_name(self.bus)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| Error::aws(&id, "events:ListTargetsByRule", e))?;
            for t in out.targets() {
                let mut v = json!({"Arn": t.arn()});
                if let Some(it) = t.input_transformer() {
                    let paths: BTreeMap<&String, &String> = it.input_paths_map().into_iter().flatten().collect();
                    v["InputTransformer"] = json!({"InputPathsMap": paths, "InputTemplate": it.input_template()});
                }
                if let Some(input) = t.input() {
                    v["Input"] = json!(input);
                }
                if let Some(path) = t.input_path() {
                    v["InputPath"] = json!(path);
                }
                if let Some(role) = t.role_arn() {
                    v["RoleArn"] = json!(role);
                }
                targets.insert(t.id().to_owned(), v);
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        p.insert("Targets".into(), Value::Object(targets));
        Ok(Some(p))
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        let id = self.id();
        let creating = matches!(input.change, Change::Create);
        if creating || RULE_FIELDS.iter().any(|f| input.change.touches(f)) {
            let mut put = clients
                .eventbridge
                .put_rule()
                .name(self.name)
                .event_bus_name(self.bus)
                .state(SdkRuleState::from(self.state.as_str()))
                .set_description(self.description.map(str::to_owned));
            put = match self.trigger {
                Trigger::Pattern(pattern) => put.event_pattern(pattern.to_string()),
                Trigger::Schedule(expr) => put.schedule_expression(expr),
            };
            put.send().await.map_err(|e| Error::aws(&id, "events:PutRule", e))?;
        }

        if !(creating || input.change.touches("Targets")) {
            return Ok(());
        }
        let empty = Map::new();
        let observed = input.observed.and_then(|o| o.get("Targets")).and_then(Value::as_object).unwrap_or(&empty);
        let stale: Vec<String> = observed.keys().filter(|k| !self.targets.iter().any(|t| t.target_id() == k.as_str())).cloned().collect();
        let mut to_put = Vec::new();
        for t in self.targets {
            let want = normalize(&self.target_value(t, input.cx));
            let have = observed.get(t.target_id()).map(normalize);
            if have.as_ref() != Some(&want) {
                to_put.push(self.target_sdk(t, input.cx)?);
            }
        }
        if !to_put.is_empty() {
            let out = clients
                .eventbridge
                .put_targets()
                .rule(self.name)
                .event_bus_name(self.bus)
                .set_targets(Some(to_put))
                .send()
                .await
                .map_err(|e| Error::aws(&id, "events:PutTargets", e))?;
            if out.failed_entry_count() > 0 {
                let failures: Vec<String> = out
                    .failed_entries()
                    .iter()
                    .map(|f| {
                        format!("{}: {} {}", f.target_id().unwrap_or("?"), f.error_code().unwrap_or("?"), f.error_message().unwrap_or(""))
                    })
                    .collect();
                return Err(Error::resource(&id, format!("PutTargets rejected targets: {}", failures.join("; "))));
            }
        }
        if !stale.is_empty() {
            let out = clients
                .eventbridge
                .remove_targets()
                .rule(self.name)
                .event_bus_name(self.bus)
                .set_ids(Some(stale))
                .send()
                .await
                .map_err(|e| Error::aws(&id, "events:RemoveTargets", e))?;
            if out.failed_entry_count() > 0 {
                return Err(Error::resource(&id, format!("RemoveTargets failed for {} targets", out.failed_entry_count())));
            }
        }
        Ok(())
    }
}

/// A schedule expression in EventBridge's own dialect (see [`crate::schedule`]), so that a
/// typo fails the plan rather than the deploy's `PutRule`.
fn validate_schedule(expr: &str) -> std::result::Result<(), String> {
    crate::schedule::parse(expr).map(drop).map_err(|e| e.to_string())
}

macro_rules! impl_resource_for_rule {
    ($spec:ty) => {
        #[async_trait]
        impl Resource for $spec {
            fn id(&self) -> ResourceId {
                self.common().id()
            }
            fn references(&self) -> Vec<ResourceId> {
                self.common().references()
            }
            fn validate(&self) -> std::result::Result<(), String> {
                self.common().validate()
            }
            fn desired(&self, cx: &Context) -> Properties {
                self.common().desired(cx)
            }
            async fn observe(&self, clients: &Clients, _cx: &Context) -> Result<Option<Properties>> {
                self.common().observe(clients).await
            }
            async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
                self.common().apply(clients, input).await
            }
        }
    };
}

impl_resource_for_rule!(RuleSpec);
impl_resource_for_rule!(ScheduleSpec);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_checked() {
        assert!(validate_schedule("cron(0 13 * * ? *)").is_ok());
        assert!(validate_schedule("cron(0 13 ? * MON *)").is_ok());
        assert!(validate_schedule("rate(5 minutes)").is_ok());
        assert!(validate_schedule("cron(0 13 * * *)").unwrap_err().contains("needs 6"));
        assert!(validate_schedule("every day").is_err());
        assert!(validate_schedule("rate(0 days)").is_err());
        // The parser's own rules reach the plan: `*` in both day fields, a plural for 1.
        assert!(validate_schedule("cron(0 13 * * * *)").unwrap_err().contains("one of them must be ?"));
        assert!(validate_schedule("rate(1 days)").unwrap_err().contains("rate(1 day)"));
    }

    #[test]
    fn object_templates_become_compact_text() {
        let t: TemplateSpec = serde_json::from_value(json!({"id": "<id>", "n": 1})).unwrap();
        assert_eq!(t.text(), r#"{"id":"<id>","n":1}"#);
        let t: TemplateSpec = serde_json::from_value(json!("<id> at <time>")).unwrap();
        assert_eq!(t.text(), "<id> at <time>");
    }
}
