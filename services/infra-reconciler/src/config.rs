//! Stack files: loading, `${prefix}` substitution, flags, validation and dependencies.
//!
//! A stack file is one JSON object:
//!
//! ```json
//! {
//!   "description": "what this stack is",
//!   "flags": { "local_tap": false },
//!   "resources": [
//!     { "kind": "Queue", "name": "${prefix}-work-dlq", "message_retention_seconds": 1209600 },
//!     { "kind": "Queue", "name": "${prefix}-work", "visibility_timeout_seconds": 60,
//!       "dead_letter": { "queue": "${prefix}-work-dlq", "max_receive_count": 5 } },
//!     { "kind": "Queue", "name": "${prefix}-tap", "if": "local_tap" }
//!   ]
//! }
//! ```
//!
//! The top level may also hold `"$schema"` (the path of `infra/stack.schema.json`, for editors).
//! Each resource has a `kind` (see [`Kind`]), a `name`, the kind's own fields (unknown fields are
//! errors), and optionally `if` (a flag name, or `!flag`; the resource exists only when the
//! condition holds) and `depends_on` (`[{"kind": ..., "name": ...}]`, for ordering the engine
//! cannot infer). Keys starting with `//` are comments. `${prefix}` in any string value becomes
//! the stack prefix; `"variables"` (top level) declares `${var.NAME}` placeholders, overridable
//! with [`LoadOptions::var`] (rules in [`crate::variables`]); no other `${...}` placeholder exists
//! (`${partition}`, `${region}`, `${account}` are left for the kinds).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::graph::topological_order;
use crate::kinds::{ResourceSpec, RuleRef};
use crate::model::{Kind, ResourceId};
use crate::variables::Scope;

/// Pulse's own stack file, built into the binary (the same file as `infra/pulse-stack.json`).
pub const PULSE_STACK_JSON: &str = include_str!("../../../infra/pulse-stack.json");

/// Pulse's whole deployment (functions, roles, API route, and by `include` the stack), built
/// into the binary (the same file as `infra/examples/pulse-deployment.json`).
pub const PULSE_DEPLOYMENT_JSON: &str = include_str!("../../../infra/examples/pulse-deployment.json");

/// How to load a stack file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Substituted for `${prefix}`. Lowercase letters, digits and `-`, at most 32 characters.
    pub prefix: String,
    /// Overrides of the file's `flags` (each must be declared there).
    pub flags: BTreeMap<String, bool>,
    /// Overrides of the file's `variables` (`--var name=value`; each must be declared there).
    pub variables: BTreeMap<String, String>,
}

impl LoadOptions {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into(), flags: BTreeMap::new(), variables: BTreeMap::new() }
    }

    /// Set a flag (for example `local_tap`).
    pub fn flag(mut self, name: impl Into<String>, value: bool) -> Self {
        self.flags.insert(name.into(), value);
        self
    }

    /// Set a variable (for example `feed_bucket`), as `--var name=value` does.
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.insert(name.into(), value.into());
        self
    }
}

/// One resource as declared: its spec and the dependencies declared with `depends_on`.
#[derive(Debug, Clone)]
pub struct Declared {
    pub spec: ResourceSpec,
    /// Explicit `depends_on` entries (references the kind infers are not repeated here).
    pub depends_on: Vec<ResourceId>,
}

impl Declared {
    pub fn id(&self) -> ResourceId {
        self.spec.id()
    }

    /// Everything this resource must come after: what it references and what it declares.
    pub fn dependencies(&self) -> Vec<ResourceId> {
        let mut deps = self.spec.resource().references();
        deps.extend(self.depends_on.iter().cloned());
        deps.sort();
        deps.dedup();
        deps
    }
}

/// A loaded, validated stack: every name substituted, every reference resolved, no cycles.
#[derive(Debug, Clone)]
pub struct StackConfig {
    pub prefix: String,
    /// Where it came from (a path, or a label for built-in text).
    pub origin: String,
    pub description: Option<String>,
    /// The effective flags (the file's, with the options' overrides).
    pub flags: BTreeMap<String, bool>,
    /// The effective variables (defaults, with the options' overrides), by name.
    pub variables: BTreeMap<String, String>,
    /// In declaration order, without the resources whose `if` does not hold.
    pub resources: Vec<Declared>,
}

impl StackConfig {
    /// Load a stack file.
    pub fn load(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|error| Error::ReadConfig { path: path.to_owned(), error })?;
        Self::parse(&text, &path.display().to_string(), options)
    }

    /// Pulse's own stack, from the copy built into the binary.
    pub fn pulse(options: &LoadOptions) -> Result<Self> {
        Self::parse(PULSE_STACK_JSON, "infra/pulse-stack.json (built in)", options)
    }

    /// Parse stack text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, options: &LoadOptions) -> Result<Self> {
        let invalid = |message: String| Error::InvalidConfig { origin: origin.to_owned(), message };
        check_prefix(&options.prefix).map_err(invalid)?;

        let top: Value = serde_json::from_str(text).map_err(|e| invalid(format!("not valid JSON: {e}")))?;
        let Value::Object(mut top) = top else {
            return Err(invalid("the top level must be a JSON object".into()));
        };
        strip_comments(&mut top);
        let base = Path::new(origin).parent().unwrap_or(Path::new("."));
        expand_includes(&mut top, base, 0).map_err(invalid)?;
        // Editors find the JSON Schema through it (`"$schema": "./stack.schema.json"`).
        match top.remove("$schema") {
            None | Some(Value::String(_)) => {}
            Some(_) => return Err(invalid("$schema must be a string".into())),
        }
        let description = match top.remove("description") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(invalid("description must be a string".into())),
        };
        let mut flags: BTreeMap<String, bool> = match top.remove("flags") {
            None => BTreeMap::new(),
            Some(v) => BTreeMap::deserialize(v).map_err(|e| invalid(format!("flags must map names to true/false: {e}")))?,
        };
        for (name, value) in &options.flags {
            match flags.get_mut(name) {
                Some(slot) => *slot = *value,
                None => {
                    let known: Vec<&str> = flags.keys().map(String::as_str).collect();
                    return Err(invalid(format!("unknown flag {name:?}; the file declares {known:?}")));
                }
            }
        }
        let declared = crate::variables::declarations(top.remove("variables")).map_err(invalid)?;
        let scope = Scope::resolve(&options.prefix, &declared, &options.variables).map_err(invalid)?;
        let Some(Value::Array(items)) = top.remove("resources") else {
            return Err(invalid("`resources` must be an array".into()));
        };
        if let Some(key) = top.keys().next() {
            return Err(invalid(format!(
                "unknown top-level key {key:?} (expected $schema, description, include, flags, variables, resources)"
            )));
        }

        let mut resources = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let at = |message: String| invalid(format!("resources[{i}]: {message}"));
            let item = scope.substitute(item).map_err(at)?;
            let Value::Object(mut fields) = item else {
                return Err(at("each resource must be a JSON object".into()));
            };
            strip_comments(&mut fields);
            let kind: Kind = match fields.remove("kind") {
                Some(Value::String(k)) => k.parse().map_err(|e: crate::model::UnknownKind| at(e.to_string()))?,
                _ => return Err(at("missing \"kind\"".into())),
            };
            let name = fields.get("name").and_then(Value::as_str).unwrap_or("?").to_owned();
            let at = |message: String| invalid(format!("resources[{i}] ({kind} {name}): {message}"));
            if let Some(condition) = fields.remove("if") {
                let Value::String(condition) = condition else {
                    return Err(at("\"if\" must be a flag name (or !name)".into()));
                };
                let (negate, flag) = match condition.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, condition.as_str()),
                };
                let Some(value) = flags.get(flag) else {
                    return Err(at(format!("\"if\" names flag {flag:?}, which `flags` does not declare")));
                };
                if *value == negate {
                    continue;
                }
            }
            let depends_on: Vec<ResourceId> = match fields.remove("depends_on") {
                None => Vec::new(),
                Some(v) => Vec::deserialize(v).map_err(|e| at(format!("depends_on: {e}")))?,
            };
            let spec = ResourceSpec::from_value(kind, Value::Object(fields)).map_err(|e| at(e.to_string()))?;
            resources.push(Declared { spec, depends_on });
        }

        let mut stack = StackConfig {
            prefix: options.prefix.clone(),
            origin: origin.to_owned(),
            description,
            flags,
            variables: scope.values,
            resources,
        };
        stack.resolve_senders().map_err(invalid)?;
        crate::fleet_rules::resolve(&stack.prefix, &mut stack.resources).map_err(invalid)?;
        stack.validate().map_err(invalid)?;
        stack.ordered()?;
        Ok(stack)
    }

    /// Fill each `QueuePolicy` with the rules and schedules that target its queue, and check that
    /// every targeted queue has one.
    fn resolve_senders(&mut self) -> std::result::Result<(), String> {
        let mut senders: BTreeMap<String, Vec<RuleRef>> = BTreeMap::new();
        let mut targets: Vec<(ResourceId, String)> = Vec::new();
        for d in &self.resources {
            let (bus, name, rule_targets) = match &d.spec {
                ResourceSpec::Rule(r) => (r.bus.as_str(), &r.name, &r.targets),
                ResourceSpec::Schedule(s) => (crate::clients::DEFAULT_BUS, &s.name, &s.targets),
                _ => continue,
            };
            for t in rule_targets {
                senders.entry(t.queue.clone()).or_default().push(RuleRef { bus: bus.to_owned(), rule: name.clone() });
                targets.push((d.id(), t.queue.clone()));
            }
        }
        for d in &mut self.resources {
            if let ResourceSpec::QueuePolicy(p) = &mut d.spec {
                p.senders = senders.get(&p.name).cloned().unwrap_or_default();
                p.senders.sort();
                p.senders.dedup();
            }
        }
        for (rule, queue) in targets {
            if self.get(&ResourceId::new(Kind::Queue, &queue)).is_none() {
                return Err(format!("{rule} targets queue {queue}, which the stack does not declare"));
            }
            if self.get(&ResourceId::new(Kind::QueuePolicy, &queue)).is_none() {
                return Err(format!("{rule} targets queue {queue}, which has no QueuePolicy: EventBridge could not deliver to it"));
            }
        }
        Ok(())
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.resources {
            let id = d.id();
            d.spec.resource().validate().map_err(|e| format!("{id}: {e}"))?;
            if !seen.insert(id.clone()) {
                return Err(format!("{id} is declared twice"));
            }
        }
        // A bucket the file owns has its notifications declared on its `Bucket`.
        for d in &self.resources {
            if let ResourceSpec::BucketNotifications(n) = &d.spec
                && self.get(&ResourceId::new(Kind::Bucket, &n.name)).is_some()
            {
                return Err(format!(
                    "{}: bucket {} is declared by this file as a Bucket; BucketNotifications is for buckets the file does not own (set eventbridge_notifications on the Bucket)",
                    d.id(),
                    n.name
                ));
            }
        }
        // AWS's guidance for SQS event sources: visibility ≥ 6 × the function's timeout.
        crate::queue_visibility::check(self)?;
        Ok(())
    }

    /// The resource with this id.
    pub fn get(&self, id: &ResourceId) -> Option<&Declared> {
        self.resources.iter().find(|d| d.id() == *id)
    }

    /// The names of the declared resources of one kind, in declaration order.
    pub fn names(&self, kind: Kind) -> Vec<&str> {
        self.resources.iter().filter(|d| d.spec.kind() == kind).map(|d| d.spec.resource_name()).collect()
    }

    /// The resources in dependency order (each after everything it depends on; otherwise in
    /// declaration order).
    pub fn ordered(&self) -> Result<Vec<&Declared>> {
        let nodes: Vec<(ResourceId, Vec<ResourceId>)> = self.resources.iter().map(|d| (d.id(), d.dependencies())).collect();
        Ok(topological_order(&nodes)?.into_iter().map(|i| &self.resources[i]).collect())
    }
}

impl ResourceSpec {
    /// The declared name.
    pub fn resource_name(&self) -> &str {
        match self {
            ResourceSpec::EventBus(r) => &r.name,
            ResourceSpec::Queue(r) => &r.name,
            ResourceSpec::QueuePolicy(r) => &r.name,
            ResourceSpec::Rule(r) => &r.name,
            ResourceSpec::Schedule(r) => &r.name,
            ResourceSpec::Table(r) => &r.name,
            ResourceSpec::Bucket(r) => &r.name,
            ResourceSpec::BucketNotifications(r) => &r.name,
            ResourceSpec::DedicatedHost(r) => &r.name,
            ResourceSpec::IAMInstanceProfile(r) => &r.name,
            ResourceSpec::EC2Instance(r) => &r.name,
            ResourceSpec::ImageBuilder(r) => &r.name,
            ResourceSpec::LaunchTemplate(r) => &r.name,
            ResourceSpec::AutoScalingGroup(r) => &r.name,
            ResourceSpec::IamRole(r) => &r.name,
            ResourceSpec::Lambda(r) => &r.name,
            ResourceSpec::ApiRoute(r) => &r.name,
            ResourceSpec::Alarm(r) => &r.name,
        }
    }
}

/// Stack prefixes go into bucket names (lowercase) and rule names (64 characters at most).
pub fn check_prefix(prefix: &str) -> std::result::Result<(), String> {
    let ok_chars = prefix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let ok_edges = prefix.starts_with(|c: char| c.is_ascii_alphanumeric()) && !prefix.ends_with('-');
    if prefix.is_empty() || prefix.len() > 32 || !ok_chars || !ok_edges {
        return Err(format!(
            "stack prefix {prefix:?} must be 1 to 32 lowercase letters, digits or '-', starting with a letter or digit and not ending with '-'"
        ));
    }
    Ok(())
}

/// The top-level `include`: a list of stack files (paths relative to the including file) whose
/// flags, variables and resources come first; the including file's flags and variable
/// declarations override theirs (variables are then substituted in every resource alike, so an
/// included file sees the including file's values: see [`crate::variables`]). This is how
/// `infra/examples/pulse-deployment.json` reuses `infra/pulse-stack.json` instead of copying it.
/// A `pulse-stack.json` that is not on disk (a binary running away from the repository, e.g. in
/// Lambda) is served from the copy built into the binary.
fn expand_includes(top: &mut Map<String, Value>, base: &Path, depth: usize) -> std::result::Result<(), String> {
    let Some(include) = top.remove("include") else {
        return Ok(());
    };
    if depth >= 4 {
        return Err("includes nest more than 4 deep (a cycle?)".into());
    }
    let paths: Vec<String> = Vec::deserialize(include).map_err(|e| format!("include must be a list of paths: {e}"))?;
    let mut flags = Map::new();
    let mut variables = Map::new();
    let mut resources = Vec::new();
    for rel in paths {
        let path = base.join(&rel);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(_) if path.file_name().is_some_and(|n| n == "pulse-stack.json") => PULSE_STACK_JSON.to_owned(),
            Err(e) => return Err(format!("include {rel:?} ({}): {e}", path.display())),
        };
        let Value::Object(mut inner) = serde_json::from_str(&text).map_err(|e| format!("include {rel:?}: not valid JSON: {e}"))? else {
            return Err(format!("include {rel:?}: the top level must be a JSON object"));
        };
        strip_comments(&mut inner);
        expand_includes(&mut inner, path.parent().unwrap_or(base), depth + 1)?;
        if let Some(Value::Object(f)) = inner.remove("flags") {
            flags.extend(f);
        }
        match inner.remove("variables") {
            None => {}
            Some(Value::Object(v)) => variables.extend(v),
            Some(_) => return Err(format!("include {rel:?}: `variables` must be an object")),
        }
        if let Some(Value::Array(r)) = inner.remove("resources") {
            resources.extend(r);
        }
    }
    if let Some(Value::Object(own)) = top.remove("flags") {
        flags.extend(own);
    }
    match top.remove("variables") {
        None => {}
        Some(Value::Object(own)) => variables.extend(own),
        Some(_) => return Err("`variables` must be an object".into()),
    }
    top.insert("variables".into(), Value::Object(variables));
    if let Some(Value::Array(own)) = top.remove("resources") {
        resources.extend(own);
    }
    top.insert("flags".into(), Value::Object(flags));
    top.insert("resources".into(), Value::Array(resources));
    Ok(())
}

fn strip_comments(map: &mut Map<String, Value>) {
    map.retain(|k, _| !k.starts_with("//"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<StackConfig> {
        StackConfig::parse(&v.to_string(), "test", &LoadOptions::new("p1"))
    }

    fn minimal() -> Value {
        json!({
            "flags": {"extra": false},
            "resources": [
                {"kind": "EventBus", "name": "${prefix}-bus"},
                {"kind": "Rule", "name": "${prefix}-r", "bus": "${prefix}-bus",
                 "event_pattern": {"detail-type": [{"prefix": "x."}]},
                 "targets": [{"queue": "${prefix}-q"}]},
                {"kind": "QueuePolicy", "name": "${prefix}-q"},
                {"kind": "Queue", "name": "${prefix}-q", "dead_letter": {"queue": "${prefix}-q-dlq", "max_receive_count": 5}},
                {"kind": "Queue", "name": "${prefix}-q-dlq", "// why": "comments are allowed"},
                {"kind": "Table", "name": "${prefix}-extra", "if": "extra", "partition_key": {"name": "pk", "type": "S"}}
            ]
        })
    }

    #[test]
    fn prefix_is_substituted_and_order_follows_references() {
        let stack = parse(minimal()).unwrap();
        let order: Vec<String> = stack.ordered().unwrap().iter().map(|d| d.id().to_string()).collect();
        assert_eq!(order, ["EventBus p1-bus", "Queue p1-q-dlq", "Queue p1-q", "QueuePolicy p1-q", "Rule p1-r"]);
        let ResourceSpec::QueuePolicy(policy) = &stack.get(&ResourceId::new(Kind::QueuePolicy, "p1-q")).unwrap().spec else { panic!() };
        assert_eq!(policy.senders, vec![RuleRef { bus: "p1-bus".into(), rule: "p1-r".into() }]);
    }

    #[test]
    fn flags_switch_conditional_resources() {
        assert!(parse(minimal()).unwrap().names(Kind::Table).is_empty());
        let on = StackConfig::parse(&minimal().to_string(), "test", &LoadOptions::new("p1").flag("extra", true)).unwrap();
        assert_eq!(on.names(Kind::Table), ["p1-extra"]);
        let err = StackConfig::parse(&minimal().to_string(), "test", &LoadOptions::new("p1").flag("nope", true)).unwrap_err();
        assert!(err.to_string().contains("unknown flag \"nope\""), "{err}");
    }

    #[test]
    fn mistakes_are_reported_with_the_resource() {
        let mut v = minimal();
        v["resources"][3]["visibility_timeout"] = json!(60);
        let err = parse(v).unwrap_err().to_string();
        assert!(err.contains("resources[3] (Queue p1-q)") && err.contains("unknown field `visibility_timeout`"), "{err}");

        let mut v = minimal();
        v["resources"][0]["name"] = json!("${stack}-bus");
        assert!(parse(v).unwrap_err().to_string().contains("unknown placeholder ${stack}"));

        let mut v = minimal();
        v["resources"][2] = json!({"kind": "Table", "name": "t-x", "partition_key": {"name": "pk", "type": "S"}});
        let err = parse(v).unwrap_err().to_string();
        assert!(err.contains("Rule p1-r targets queue p1-q, which has no QueuePolicy"), "{err}");

        let mut v = minimal();
        v["resources"][4]["name"] = json!("${prefix}-other");
        let err = parse(v).unwrap_err().to_string();
        assert!(err.contains("Queue p1-q depends on Queue p1-q-dlq, which the stack does not declare"), "{err}");

        let mut v = minimal();
        v["resources"][1]["kind"] = json!("Lambada");
        assert!(parse(v).unwrap_err().to_string().contains("unknown resource kind \"Lambada\""));

        assert!(StackConfig::parse("{}", "t", &LoadOptions::new("Bad_Prefix")).unwrap_err().to_string().contains("stack prefix"));
    }

    #[test]
    fn a_declared_cycle_is_an_error() {
        let mut v = minimal();
        v["resources"][4]["depends_on"] = json!([{"kind": "QueuePolicy", "name": "${prefix}-q"}]);
        let err = parse(v).unwrap_err();
        assert!(matches!(err, Error::DependencyCycle { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("Queue p1-q-dlq") && text.contains("QueuePolicy p1-q") && text.contains("Queue p1-q →"), "{text}");
    }

    #[test]
    fn includes_come_first_and_their_flags_can_be_overridden() {
        let dir = std::env::temp_dir().join(format!("pulse-include-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(
            dir.join("base.json"),
            json!({"flags": {"extra": false}, "resources": [
                {"kind": "Queue", "name": "${prefix}-base"},
                {"kind": "Queue", "name": "${prefix}-extra", "if": "extra"}
            ]})
            .to_string(),
        )
        .unwrap();
        let top = json!({"include": ["../base.json"], "flags": {"extra": true},
            "resources": [{"kind": "Queue", "name": "${prefix}-own"}]});
        std::fs::write(dir.join("sub/top.json"), top.to_string()).unwrap();
        let stack = StackConfig::load(dir.join("sub/top.json"), &LoadOptions::new("p1")).unwrap();
        assert_eq!(stack.names(Kind::Queue), ["p1-base", "p1-extra", "p1-own"]);

        std::fs::write(dir.join("sub/bad.json"), json!({"include": ["nope.json"], "resources": []}).to_string()).unwrap();
        let err = StackConfig::load(dir.join("sub/bad.json"), &LoadOptions::new("p1")).unwrap_err().to_string();
        assert!(err.contains("include \"nope.json\""), "{err}");

        // Away from the repository, pulse-stack.json is the built-in copy.
        let away = json!({"include": ["/nowhere/pulse-stack.json"], "resources": []}).to_string();
        let stack = StackConfig::parse(&away, "x/y.json", &LoadOptions::new("p1")).unwrap();
        assert!(stack.get(&ResourceId::new(Kind::EventBus, "p1-bus")).is_some());
    }

    #[test]
    fn an_on_failure_queue_must_be_declared_and_is_deployed_first() {
        let v = json!({"resources": [
            {"kind": "IamRole", "name": "w"},
            {"kind": "Lambda", "name": "w", "path": "w.zip", "role": "w",
             "asynchronous": {"on_failure_queue": "${prefix}-failed"}},
            {"kind": "Queue", "name": "${prefix}-failed"}
        ]});
        let stack = parse(v.clone()).unwrap();
        let order: Vec<String> = stack.ordered().unwrap().iter().map(|d| d.id().to_string()).collect();
        assert_eq!(order, ["IamRole w", "Queue p1-failed", "Lambda w"]);
        let mut missing = v.clone();
        missing["resources"].as_array_mut().unwrap().pop();
        let err = parse(missing).unwrap_err().to_string();
        assert!(err.contains("Lambda w depends on Queue p1-failed, which the stack does not declare"), "{err}");
        let mut bad = v;
        bad["resources"][1]["asynchronous"]["maximum_event_age_seconds"] = json!(30);
        let err = parse(bad).unwrap_err().to_string();
        assert!(err.contains("Lambda w") && err.contains("asynchronous.maximum_event_age_seconds 30"), "{err}");
    }

    #[test]
    fn notifications_of_an_owned_bucket_are_refused() {
        let v = json!({"resources": [
            {"kind": "Bucket", "name": "${prefix}-feeds"},
            {"kind": "BucketNotifications", "name": "${prefix}-feeds"}
        ]});
        let err = parse(v).unwrap_err().to_string();
        assert!(err.contains("BucketNotifications p1-feeds: bucket p1-feeds is declared by this file as a Bucket"), "{err}");
        let v = json!({"resources": [{"kind": "BucketNotifications", "name": "someone-elses"}]});
        assert_eq!(parse(v).unwrap().names(Kind::BucketNotifications), ["someone-elses"]);
    }

    #[test]
    fn variables_reach_included_files_and_overrides_are_checked() {
        let dir = std::env::temp_dir().join(format!("pulse-vars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("base.json"),
            json!({"variables": {"queue": {"default": "base"}}, "resources": [
                {"kind": "Queue", "name": "${prefix}-${var.queue}"}
            ]})
            .to_string(),
        )
        .unwrap();
        let top = json!({"include": ["base.json"],
            "variables": {"queue": {"default": "top"}, "bucket": {"default": "${prefix}-b", "description": "d"}},
            "resources": [{"kind": "Bucket", "name": "${var.bucket}"}]});
        std::fs::write(dir.join("top.json"), top.to_string()).unwrap();
        let stack = StackConfig::load(dir.join("top.json"), &LoadOptions::new("p1")).unwrap();
        assert_eq!(stack.names(Kind::Queue), ["p1-top"], "the including file's declaration wins");
        assert_eq!(stack.names(Kind::Bucket), ["p1-b"]);
        let set = LoadOptions::new("p1").var("queue", "cli").var("bucket", "theirs");
        let stack = StackConfig::load(dir.join("top.json"), &set).unwrap();
        assert_eq!((stack.names(Kind::Queue), stack.names(Kind::Bucket)), (vec!["p1-cli"], vec!["theirs"]));
        assert_eq!(stack.variables["bucket"], "theirs");

        let err = StackConfig::load(dir.join("top.json"), &LoadOptions::new("p1").var("nope", "x")).unwrap_err().to_string();
        assert!(err.contains("--var nope") && err.contains("[\"bucket\", \"queue\"]"), "{err}");
        let v = json!({"resources": [{"kind": "Queue", "name": "${var.missing}"}]});
        let err = parse(v).unwrap_err().to_string();
        assert!(err.contains("resources[0]") && err.contains("no variable \"missing\""), "{err}");
    }

    #[test]
    fn arn_placeholders_are_left_for_the_account_and_others_are_refused() {
        let v = json!({"resources": [{"kind": "IamRole", "name": "r", "policies": {"p": [{"Effect": "Allow",
            "Action": "sqs:SendMessage", "Resource": "arn:${partition}:sqs:${region}:${account}:${prefix}-q"}]}}]});
        let stack = parse(v).unwrap();
        let cx = crate::clients::Context::new("aws", "us-east-1", "123");
        let desired = stack.resources[0].spec.resource().desired(&cx);
        assert_eq!(desired["Policy/p"]["Statement"][0]["Resource"], json!("arn:aws:sqs:us-east-1:123:p1-q"));
        let v = json!({"resources": [{"kind": "Queue", "name": "${account}-${stack}"}]});
        assert!(parse(v).unwrap_err().to_string().contains("unknown placeholder ${stack}"));
    }
}
