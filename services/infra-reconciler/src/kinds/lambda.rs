//! `Lambda`: a function with praktika's fields and defaults (`name`, `path`, `handler`, `region`,
//! `include_files`, `secrets`, `environments`, `timeout_ms` 3000, `memory_size_mb` 128), plus what
//! Pulse needs: `crate` (a workspace binary built with cargo-lambda), `role` (an `IamRole` of the
//! file), `runtime` (`provided.al2023`), `architecture` (`arm64`), `event_sources` (SQS queues of
//! the file, always with `ReportBatchItemFailures`), an `alias` (`live`) and `asynchronous`
//! (retries, event age and on-failure queue of asynchronous invocations: [`super::lambda_async`]),
//! `reserved_concurrency` and `tracing` (both absent: not managed, so praktika's files keep their
//! meaning).
//!
//! Deploy rules:
//! - code is uploaded only when the package's base64 SHA-256 differs from `CodeSha256`;
//! - configuration is updated only when one of its fields differs;
//! - every deploy that changes code or configuration (or finds no alias) publishes a version and
//!   points the alias at it, so a rollback can move the alias back ([`crate::rollback`]);
//! - the alias is observed through the version it serves: after a rollback the plan shows
//!   `Alias: live (at version 1, older than $LATEST) → live` and a deploy moves it forward;
//! - event source mappings target the alias, so they follow it.
//!
//! Secrets: `secrets` maps an SSM parameter to an environment variable. Plans read the parameter
//! to compare it with the function's variable but show only `(secret from SSM <name>)`, or
//! `(secret, differs from SSM <name>)`; values exist only inside the deploy call that sets them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::lambda_async::{self, AsynchronousSpec};
use super::lambda_code::{self, Code, PackageError};
use super::{ApplyInput, Resource, check_name};
use crate::clients::{Clients, Context};
use crate::error::Result;
use crate::model::{Kind, Properties, ResourceId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaSpec {
    pub name: String,
    /// A `.zip` file or a directory to zip (relative to the working directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A binary of this workspace, built into a zip with cargo-lambda.
    #[serde(default, rename = "crate", skip_serializing_if = "Option::is_none")]
    pub krate: Option<String>,
    /// `bootstrap` for the `provided.*` runtimes (praktika requires it; Rust ignores it).
    #[serde(default = "default_handler")]
    pub handler: String,
    /// praktika's per-function region; it must be the region the deploy runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Extra files put into the package (directory `path` or `crate`).
    #[serde(default)]
    pub include_files: Vec<String>,
    /// SSM parameter name → environment variable, fetched at deploy time, never printed.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// Plain environment variables.
    #[serde(default)]
    pub environments: BTreeMap<String, String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
    #[serde(default = "default_memory")]
    pub memory_size_mb: u32,
    /// The name of an `IamRole` declared in the same file.
    pub role: String,
    #[serde(default = "default_runtime")]
    pub runtime: String,
    #[serde(default)]
    pub architecture: Architecture,
    #[serde(default)]
    pub event_sources: Vec<EventSourceSpec>,
    /// The alias every deploy moves to the version it publishes.
    #[serde(default = "default_alias")]
    pub alias: String,
    /// How asynchronous invocations of the unqualified function are retried and where the
    /// failed ones go; absent: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asynchronous: Option<AsynchronousSpec>,
    /// Reserved concurrency: at most this many instances run at once, and that many are kept
    /// for the function out of the account's pool. `0` throttles every invocation (AWS's off
    /// switch). Absent: not managed, and a reservation already set stays (the reconciler keeps
    /// no state, so it cannot tell one it set from one an operator set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_concurrency: Option<u32>,
    /// X-Ray tracing (`TracingConfig`): `Active` samples and records invocations (the role
    /// needs `xray:PutTraceSegments` and `xray:PutTelemetryRecords`), `PassThrough` only
    /// forwards an upstream trace header. Absent: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TracingMode {
    Active,
    PassThrough,
}

impl TracingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TracingMode::Active => "Active",
            TracingMode::PassThrough => "PassThrough",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    #[default]
    Arm64,
    #[serde(rename = "x86_64")]
    X86_64,
}

impl Architecture {
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::Arm64 => "arm64",
            Architecture::X86_64 => "x86_64",
        }
    }
}

/// An SQS queue of the file feeding the function's alias, with partial batch responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSourceSpec {
    pub queue: String,
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_batching_window_seconds: Option<u32>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_handler() -> String {
    "bootstrap".into()
}
fn default_timeout_ms() -> u32 {
    3000
}
fn default_memory() -> u32 {
    128
}
fn default_runtime() -> String {
    "provided.al2023".into()
}
fn default_alias() -> String {
    "live".into()
}
fn default_batch_size() -> u32 {
    10
}
fn yes() -> bool {
    true
}

/// Partial batch responses are not optional: without them one failed message re-delivers the
/// whole batch (see `pulse_runtime::lambda`).
pub const FUNCTION_RESPONSE_TYPES: [&str; 1] = ["ReportBatchItemFailures"];

/// The configuration fields `UpdateFunctionConfiguration` sets.
pub const CONFIG_FIELDS: [&str; 7] = ["Runtime", "Handler", "Role", "Timeout", "MemorySize", "Environment", "Tracing"];

/// The plan field of `reserved_concurrency` (set apart from the configuration, not versioned).
pub const RESERVED_CONCURRENCY: &str = "ReservedConcurrency";

/// What the plan shows for a secret variable whose function value matches SSM (and what a
/// desired secret looks like): never the value.
pub fn secret_marker(parameter: &str) -> String {
    format!("(secret from SSM {parameter})")
}

/// What the plan shows for a secret variable whose function value differs from SSM.
pub fn secret_drift_marker(parameter: &str) -> String {
    format!("(secret, differs from SSM {parameter})")
}

impl LambdaSpec {
    /// Where the code comes from (checked by `validate`: exactly one of `path` and `crate`): a
    /// `crate` is looked up in the plan's package store when it has one ([`Context::packages`]),
    /// else among the local zips.
    pub fn code(&self, cx: &Context) -> std::result::Result<Code, PackageError> {
        match (&self.path, &self.krate, &cx.packages) {
            (Some(path), _, _) => lambda_code::from_path(&PathBuf::from(path), &self.include_files).map(Code::Zip),
            (None, Some(bin), Some(packages)) => match packages.find(bin, self.architecture.as_str()) {
                Ok(p) => Ok(Code::S3 { bucket: packages.store.bucket.clone(), key: p.key.clone(), sha256: p.code_sha256.clone() }),
                Err(missing) => Err(PackageError::Unavailable(missing.to_string())),
            },
            (None, Some(bin), None) => lambda_code::from_crate(bin).map(Code::Zip),
            (None, None, _) => Err(PackageError::Unavailable("neither path nor crate is set".into())),
        }
    }

    /// The code, building the crate first when its local zip is missing (deploys only; never
    /// with a package store, whose deploys run where there is no toolchain).
    pub fn code_for_deploy(&self, cx: &Context) -> std::result::Result<Code, String> {
        match self.code(cx) {
            Ok(code) => Ok(code),
            Err(PackageError::NotBuilt { bin, .. }) => {
                lambda_code::build_crate(&bin, self.architecture == Architecture::Arm64, &self.include_files)?;
                self.code(cx).map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// The `CodeSha256` a plan compares: the package's, or a note saying why there is none yet
    /// (which differs from any SHA, so the plan shows a code change).
    pub fn desired_code_sha(&self, cx: &Context) -> String {
        match self.code(cx) {
            Ok(code) => code.sha256().to_owned(),
            Err(PackageError::NotBuilt { bin, .. }) => format!("(crate {bin} not built yet: built at deploy)"),
            Err(PackageError::Unavailable(why)) => format!("(unavailable: {why})"),
        }
    }

    /// Timeout in whole seconds, as praktika converts it (`timeout_ms / 1000`), at least 1.
    pub fn timeout_seconds(&self) -> i32 {
        (self.timeout_ms / 1000).max(1) as i32
    }

    /// The environment as plans show it: plain variables as they are, secrets masked.
    pub fn masked_environment(&self) -> BTreeMap<String, String> {
        let mut env = self.environments.clone();
        for (parameter, var) in &self.secrets {
            env.insert(var.clone(), secret_marker(parameter));
        }
        env
    }

    /// The mapping properties by queue name, as plans compare them.
    pub fn desired_event_sources(&self) -> Value {
        let map: serde_json::Map<String, Value> = self
            .event_sources
            .iter()
            .map(|s| {
                let mut v = json!({
                    "BatchSize": s.batch_size,
                    "FunctionResponseTypes": FUNCTION_RESPONSE_TYPES,
                    "Enabled": s.enabled,
                });
                if let Some(w) = s.maximum_batching_window_seconds {
                    v["MaximumBatchingWindowInSeconds"] = json!(w);
                }
                (s.queue.clone(), v)
            })
            .collect();
        Value::Object(map)
    }
}

/// Replace the values of the secret variables in an observed environment by markers: the plan
/// (and its JSON) may be printed, the values never. `ssm` holds the parameters' current values.
pub fn mask_observed_environment(env: &mut BTreeMap<String, String>, secrets: &BTreeMap<String, String>, ssm: &BTreeMap<String, String>) {
    for (parameter, var) in secrets {
        if let Some(have) = env.get_mut(var) {
            *have = if ssm.get(parameter) == Some(have) { secret_marker(parameter) } else { secret_drift_marker(parameter) };
        }
    }
}

#[async_trait]
impl Resource for LambdaSpec {
    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::Lambda, &self.name)
    }

    fn references(&self) -> Vec<ResourceId> {
        let mut refs = vec![ResourceId::new(Kind::IamRole, &self.role)];
        refs.extend(self.event_sources.iter().map(|s| ResourceId::new(Kind::Queue, &s.queue)));
        if let Some(queue) = self.asynchronous.as_ref().and_then(|a| a.on_failure_queue.as_ref()) {
            refs.push(ResourceId::new(Kind::Queue, queue));
        }
        refs
    }

    fn validate(&self) -> std::result::Result<(), String> {
        check_name("function", &self.name, 1..=64, |c| c.is_ascii_alphanumeric() || "-_".contains(c), "A-Z a-z 0-9 - _")?;
        check_name("alias", &self.alias, 1..=128, |c| c.is_ascii_alphanumeric() || "-_".contains(c), "A-Z a-z 0-9 - _")?;
        if self.alias.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("alias {:?} must not be a number (numbers are versions)", self.alias));
        }
        match (&self.path, &self.krate) {
            (Some(_), Some(_)) => return Err("set either path or crate, not both".into()),
            (None, None) => return Err("set path (a zip or a directory) or crate (a workspace binary)".into()),
            (Some(p), None) if p.ends_with(".zip") && !self.include_files.is_empty() => {
                return Err("include_files needs a directory path or a crate (a zip is uploaded as is)".into());
            }
            _ => {}
        }
        if !(1000..=900_000).contains(&self.timeout_ms) {
            return Err(format!("timeout_ms {} is outside 1000..=900000", self.timeout_ms));
        }
        if !(128..=10_240).contains(&self.memory_size_mb) {
            return Err(format!("memory_size_mb {} is outside 128..=10240", self.memory_size_mb));
        }
        let mut seen = std::collections::BTreeSet::new();
        for var in self.secrets.values() {
            if self.environments.contains_key(var) {
                return Err(format!("environment variable {var} is both in environments and in secrets"));
            }
            if !seen.insert(var) {
                return Err(format!("environment variable {var} is set by two secrets"));
            }
        }
        for s in &self.event_sources {
            if !(1..=10_000).contains(&s.batch_size) {
                return Err(format!("event_sources {}: batch_size {} is outside 1..=10000", s.queue, s.batch_size));
            }
            if s.batch_size > 10 && s.maximum_batching_window_seconds.unwrap_or(0) == 0 {
                return Err(format!(
                    "event_sources {}: a batch_size above 10 needs maximum_batching_window_seconds ≥ 1 (SQS rule)",
                    s.queue
                ));
            }
        }
        if let Some(a) = &self.asynchronous {
            a.validate()?;
        }
        Ok(())
    }

    fn desired(&self, cx: &Context) -> Properties {
        let mut p = Properties::new();
        p.insert("Runtime".into(), json!(self.runtime));
        p.insert("Handler".into(), json!(self.handler));
        p.insert("Role".into(), json!(cx.role_arn(&self.role)));
        p.insert("Timeout".into(), json!(self.timeout_seconds()));
        p.insert("MemorySize".into(), json!(self.memory_size_mb));
        p.insert("Architectures".into(), json!([self.architecture.as_str()]));
        p.insert("Environment".into(), json!(self.masked_environment()));
        p.insert("CodeSha256".into(), json!(self.desired_code_sha(cx)));
        p.insert("Alias".into(), json!(self.alias));
        p.insert("EventSources".into(), self.desired_event_sources());
        if let Some(a) = &self.asynchronous {
            p.insert(lambda_async::FIELD.into(), a.desired(cx));
        }
        if let Some(n) = self.reserved_concurrency {
            p.insert(RESERVED_CONCURRENCY.into(), json!(n));
        }
        if let Some(mode) = self.tracing {
            p.insert("Tracing".into(), json!(mode.as_str()));
        }
        p
    }

    async fn observe(&self, clients: &Clients, cx: &Context) -> Result<Option<Properties>> {
        if let Some(region) = &self.region
            && *region != cx.region
        {
            return Err(crate::error::Error::resource(
                &self.id(),
                format!("declared for region {region}, but the deploy runs in {}", cx.region),
            ));
        }
        super::lambda_deploy::observe(self, clients, cx).await
    }

    async fn apply(&self, clients: &Clients, input: ApplyInput<'_>) -> Result<()> {
        super::lambda_deploy::apply(self, clients, input).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Change, diff};

    fn spec(extra: Value) -> LambdaSpec {
        let mut v = json!({"name": "p-notifier", "path": "/nonexistent/x.zip", "role": "p-notifier"});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn praktikas_defaults_hold() {
        let s = spec(json!({}));
        assert_eq!((s.timeout_ms, s.memory_size_mb, s.timeout_seconds()), (3000, 128, 3));
        assert_eq!((s.runtime.as_str(), s.alias.as_str(), s.handler.as_str()), ("provided.al2023", "live", "bootstrap"));
        assert_eq!(s.architecture, Architecture::Arm64);
        s.validate().unwrap();
    }

    #[test]
    fn mistakes_are_named() {
        let both = spec(json!({"crate": "notifier"}));
        assert!(both.validate().unwrap_err().contains("either path or crate"));
        let clash = spec(json!({"environments": {"TOKEN": "x"}, "secrets": {"p_token": "TOKEN"}}));
        assert!(clash.validate().unwrap_err().contains("TOKEN is both"));
        let big = spec(json!({"event_sources": [{"queue": "q", "batch_size": 100}]}));
        assert!(big.validate().unwrap_err().contains("maximum_batching_window_seconds"));
        let zip_include = spec(json!({"include_files": ["a.json"]}));
        assert!(zip_include.validate().unwrap_err().contains("include_files"));
        assert!(spec(json!({"alias": "7"})).validate().is_err());
    }

    #[test]
    fn the_asynchronous_block_is_a_dependency_and_a_planned_property() {
        let s = spec(json!({"asynchronous": {"on_failure_queue": "p-failed", "maximum_retry_attempts": 1}}));
        s.validate().unwrap();
        assert!(s.references().contains(&ResourceId::new(Kind::Queue, "p-failed")));
        let cx = Context::new("aws", "us-east-1", "123456789012");
        let desired = s.desired(&cx);
        assert_eq!(desired["Asynchronous"]["OnFailure"], json!("arn:aws:sqs:us-east-1:123456789012:p-failed"));
        // A function without a configuration (GetFunctionEventInvokeConfig: not found) plans it.
        let mut observed = desired.clone();
        observed.remove("Asynchronous");
        let change = diff(&desired, Some(&observed));
        assert_eq!(change.fields().iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["Asynchronous"]);
        // AWS's answer in another key order and with numbers as it sends them: no change.
        observed.insert(
            "Asynchronous".into(),
            json!({"OnFailure": "arn:aws:sqs:us-east-1:123456789012:p-failed",
            "MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 1}),
        );
        assert_eq!(diff(&desired, Some(&observed)), Change::NoChange);
        // A hand-made on-success destination is drift.
        observed.get_mut("Asynchronous").unwrap()["OnSuccess"] = json!("arn:aws:sqs:us-east-1:123456789012:x");
        assert!(diff(&desired, Some(&observed)).touches("Asynchronous"));
        // Without the block the configuration is not looked at.
        assert!(!spec(json!({})).desired(&cx).contains_key("Asynchronous"));
        let bad = spec(json!({"asynchronous": {"maximum_retry_attempts": 5}}));
        assert!(bad.validate().unwrap_err().contains("asynchronous.maximum_retry_attempts 5"));
    }

    #[test]
    fn reserved_concurrency_and_tracing_are_planned_only_when_declared() {
        let cx = Context::new("aws", "us-east-1", "123456789012");
        // praktika's files declare neither: neither is a planned property.
        let plain = spec(json!({})).desired(&cx);
        assert!(!plain.contains_key(RESERVED_CONCURRENCY) && !plain.contains_key("Tracing"));
        let s = spec(json!({"reserved_concurrency": 5, "tracing": "Active"}));
        s.validate().unwrap();
        let desired = s.desired(&cx);
        assert_eq!((&desired[RESERVED_CONCURRENCY], &desired["Tracing"]), (&json!(5), &json!("Active")));
        // Tracing is configuration (UpdateFunctionConfiguration); the reservation is not.
        assert!(CONFIG_FIELDS.contains(&"Tracing") && !CONFIG_FIELDS.contains(&RESERVED_CONCURRENCY));
        // No reservation yet (GetFunctionConcurrency answers null) and tracing PassThrough.
        let mut observed = desired.clone();
        observed.insert(RESERVED_CONCURRENCY.into(), Value::Null);
        observed.insert("Tracing".into(), json!("PassThrough"));
        let change = diff(&desired, Some(&observed));
        let fields: Vec<_> = change.fields().iter().map(|f| (f.field.as_str(), f.from.clone(), f.to.clone())).collect();
        assert_eq!(fields, [(RESERVED_CONCURRENCY, None, json!(5)), ("Tracing", Some(json!("PassThrough")), json!("Active"))]);
        assert!(serde_json::from_value::<LambdaSpec>(json!({"name": "f", "path": "f.zip", "role": "r", "tracing": "On"})).is_err());
        assert!(
            serde_json::from_value::<LambdaSpec>(json!({"name": "f", "path": "f.zip", "role": "r", "reserved_concurrency": -1})).is_err()
        );
    }

    #[test]
    fn secrets_are_masked_in_desired_and_observed_properties() {
        let s = spec(json!({"environments": {"MODE": "x"}, "secrets": {"/pulse/token": "SLACK_BOT_TOKEN"}}));
        let cx = Context::new("aws", "us-east-1", "123456789012");
        let desired = s.desired(&cx);
        assert_eq!(desired["Environment"], json!({"MODE": "x", "SLACK_BOT_TOKEN": "(secret from SSM /pulse/token)"}));
        assert_eq!(desired["Role"], json!("arn:aws:iam::123456789012:role/p-notifier"));
        assert!(desired["CodeSha256"].as_str().unwrap().starts_with("(unavailable"));

        let ssm = BTreeMap::from([("/pulse/token".to_owned(), "xoxb-real".to_owned())]);
        let mut same = BTreeMap::from([("MODE".to_owned(), "x".to_owned()), ("SLACK_BOT_TOKEN".to_owned(), "xoxb-real".to_owned())]);
        mask_observed_environment(&mut same, &s.secrets, &ssm);
        let mut observed = desired.clone();
        observed.insert("Environment".into(), json!(same));
        assert_eq!(diff(&desired, Some(&observed)), Change::NoChange);

        let mut rotated = BTreeMap::from([("MODE".to_owned(), "x".to_owned()), ("SLACK_BOT_TOKEN".to_owned(), "xoxb-old".to_owned())]);
        mask_observed_environment(&mut rotated, &s.secrets, &ssm);
        observed.insert("Environment".into(), json!(rotated));
        let change = diff(&desired, Some(&observed));
        let text = serde_json::to_string(&change).unwrap();
        assert!(change.touches("Environment") && text.contains("differs from SSM /pulse/token"), "{text}");
        assert!(!text.contains("xoxb"), "{text}");
    }

    #[test]
    fn event_sources_always_report_batch_item_failures() {
        let s = spec(json!({"event_sources": [{"queue": "p-notifier", "batch_size": 5}]}));
        assert_eq!(
            s.desired_event_sources(),
            json!({"p-notifier": {"BatchSize": 5, "FunctionResponseTypes": ["ReportBatchItemFailures"], "Enabled": true}})
        );
        assert_eq!(s.references(), vec![ResourceId::new(Kind::IamRole, "p-notifier"), ResourceId::new(Kind::Queue, "p-notifier")]);
    }
}
