//! Plan (read-only) and apply (in dependency order, stopping at the first failure).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::clients::{ApiCalls, Clients, Context};
use crate::config::{Declared, StackConfig};
use crate::error::{Error, Result};
use crate::kinds::RuleState;
use crate::kinds::{ApplyInput, ResourceSpec};
use crate::model::{Change, Kind, Properties, ResourceId, normalize, show};
use crate::packages::{self, PackageStore};
use crate::schedule::NextRun;

/// How many resources `plan` observes at once.
const OBSERVE_CONCURRENCY: usize = 8;

/// What to plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Only these kinds (all when empty). Dependencies of other kinds are assumed to exist.
    pub only: Vec<Kind>,
    /// Only these resources (all when empty), e.g. one service's function and role for a deploy
    /// requested from Slack. Combines with `only`.
    pub resources: Vec<ResourceId>,
    /// Where `crate` functions' zips are (`pulse infra package`): plans compare with its
    /// manifest and deploys name its S3 keys. None: local zips ([`crate::kinds::lambda_code`]).
    pub packages: Option<PackageStore>,
}

impl PlanOptions {
    pub fn only(kinds: impl IntoIterator<Item = Kind>) -> Self {
        Self { only: kinds.into_iter().collect(), ..Self::default() }
    }

    /// The same, with `crate` functions deployed from `store`.
    pub fn packages(self, store: Option<PackageStore>) -> Self {
        Self { packages: store, ..self }
    }

    fn selects(&self, id: &ResourceId) -> bool {
        (self.only.is_empty() || self.only.contains(&id.kind)) && (self.resources.is_empty() || self.resources.contains(id))
    }
}

/// What deploying would do, resource by resource, in the order `apply` would go.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The stack prefix.
    pub stack: String,
    pub context: Context,
    /// The kinds planned (empty: all).
    pub only: Vec<Kind>,
    pub entries: Vec<PlanEntry>,
    /// The calls planning made (reads only).
    pub api_calls: ApiCalls,
    #[serde(rename = "wall_time_ms", serialize_with = "millis")]
    pub wall_time: Duration,
    /// When the plan was made: the "now" each schedule's next run counts from.
    pub planned_at: DateTime<Utc>,
}

/// One resource of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanEntry {
    #[serde(flatten)]
    pub id: ResourceId,
    pub depends_on: Vec<ResourceId>,
    #[serde(flatten)]
    pub change: Change,
    /// The declared properties (normalised).
    pub desired: Properties,
    /// What the cloud held (`None`: absent).
    pub observed: Option<Properties>,
    #[serde(skip)]
    pub spec: ResourceSpec,
}

/// Counts of a plan's changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    pub create: usize,
    pub update: usize,
    pub no_change: usize,
}

/// Plan `config`: observe every (selected) resource with read calls only and diff it against
/// its declaration.
pub async fn plan(config: &StackConfig, clients: &Clients, options: &PlanOptions) -> Result<Plan> {
    let started = Instant::now();
    let calls_before = clients.api_calls();
    let mut context = clients.context().await?;
    if let Some(store) = &options.packages {
        context.packages = Some(Arc::new(packages::load(clients, store).await?));
    }
    let selected: Vec<_> = config.ordered()?.into_iter().filter(|d| options.selects(&d.id())).collect();

    // The futures are built up front (not in a stream closure) so the plan future stays `Send`.
    let observing: Vec<_> = selected.into_iter().map(|d| observe_one(d, clients, &context)).collect();
    let entries: Vec<PlanEntry> = stream::iter(observing).buffered(OBSERVE_CONCURRENCY).try_collect().await?;

    Ok(Plan {
        stack: config.prefix.clone(),
        context,
        only: options.only.clone(),
        entries,
        api_calls: clients.api_calls().since(&calls_before),
        wall_time: started.elapsed(),
        // This shell reads the clock once; what follows from it (next runs) is computed from
        // the value, so a test can set it.
        planned_at: pulse_core::Clock::system().now(),
    })
}

async fn observe_one(declared: &Declared, clients: &Clients, cx: &Context) -> Result<PlanEntry> {
    let resource = declared.spec.resource();
    let desired: Properties = resource.desired(cx).iter().map(|(k, v)| (k.clone(), normalize(v))).collect();
    let observed = resource.observe(clients, cx).await?.map(|o| o.iter().map(|(k, v)| (k.clone(), normalize(v))).collect::<Properties>());
    let change = resource.diff(&desired, observed.as_ref());
    Ok(PlanEntry { id: declared.id(), depends_on: declared.dependencies(), change, desired, observed, spec: declared.spec.clone() })
}

impl PlanEntry {
    /// For a `Schedule` (or an Image Builder pipeline with a schedule): when it runs next after
    /// `now`.
    pub fn next_run(&self, now: DateTime<Utc>) -> Option<NextRun> {
        match &self.spec {
            ResourceSpec::Schedule(s) => Some(NextRun::of(&s.schedule, s.state == RuleState::Enabled, now)),
            ResourceSpec::ImageBuilder(ib) => ib.schedule_expression.as_deref().map(|e| NextRun::of(e, true, now)),
            _ => None,
        }
    }
}

impl Plan {
    pub fn summary(&self) -> PlanSummary {
        let mut s = PlanSummary::default();
        for e in &self.entries {
            match e.change {
                Change::Create => s.create += 1,
                Change::Update { .. } => s.update += 1,
                Change::NoChange => s.no_change += 1,
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.entries.iter().any(|e| !e.change.is_no_change())
    }

    pub fn entry(&self, id: &ResourceId) -> Option<&PlanEntry> {
        self.entries.iter().find(|e| e.id == *id)
    }

    /// The plan as a JSON document (the `--json` output).
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(self).expect("a plan always serializes");
        for (i, e) in self.entries.iter().enumerate() {
            if let Some(next) = e.next_run(self.planned_at) {
                v["entries"][i]["next_run"] = serde_json::json!(next.time());
                v["entries"][i]["next_run_text"] = serde_json::json!(next.to_string());
            }
        }
        v["summary"] = serde_json::to_value(self.summary()).expect("a summary always serializes");
        v
    }
}

impl fmt::Display for Plan {
    /// One line per resource (`+ create`, `~ update` with `field: old → new` lines under it,
    /// `= no change`), then a summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let only = if self.only.is_empty() {
            String::new()
        } else {
            format!(" · only {}", self.only.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "))
        };
        writeln!(f, "Stack {} · {} · account {}{only}", self.stack, self.context.region, self.context.account_id)?;
        // Kind names line up whatever kinds the stack has (IAMInstanceProfile is the longest).
        let width = self.entries.iter().map(|e| e.id.kind.as_str().len()).max().unwrap_or(0).max(11);
        for e in &self.entries {
            let (mark, label) = match e.change {
                Change::Create => ('+', "create"),
                Change::Update { .. } => ('~', "update"),
                Change::NoChange => ('=', "no change"),
            };
            let next = e.next_run(self.planned_at).map(|n| format!(" · {n}")).unwrap_or_default();
            writeln!(f, "  {mark} {label:<9}  {:<width$}  {}{next}", e.id.kind.as_str(), e.id.name)?;
            for change in e.change.fields() {
                for line in field_lines(&change.field, change.from.as_ref(), Some(&change.to)) {
                    writeln!(f, "                  {line}")?;
                }
            }
        }
        let s = self.summary();
        write!(
            f,
            "Plan: {} to create, {} to update, {} unchanged · API calls: {} read, {} write · {:.2} s",
            s.create,
            s.update,
            s.no_change,
            self.api_calls.read,
            self.api_calls.write,
            self.wall_time.as_secs_f64()
        )
    }
}

/// `field: old → new`, or one line per differing key when both sides are objects (targets,
/// indexes), so a one-target change does not print every target.
fn field_lines(field: &str, from: Option<&Value>, to: Option<&Value>) -> Vec<String> {
    if let (Some(Value::Object(a)), Some(Value::Object(b))) = (from, to) {
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        let lines: Vec<String> = keys
            .into_iter()
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| format!("{field}.{k}: {} → {}", show(a.get(k)), show(b.get(k))))
            .collect();
        if !lines.is_empty() {
            return lines;
        }
    }
    vec![format!("{field}: {} → {}", show(from), show(to))]
}

/// What happened to one resource during apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Failed => "FAILED",
        }
    }
}

/// Reported to the progress callback as each resource is done.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub id: &'a ResourceId,
    pub change: &'a Change,
    pub outcome: Outcome,
    /// Set when `outcome` is [`Outcome::Failed`].
    pub error: Option<&'a Error>,
    pub elapsed: Duration,
    /// 1-based position in the plan, and the plan's length.
    pub position: usize,
    pub total: usize,
}

impl fmt::Display for Progress<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}/{}] {:<9} {} {} ({} ms)",
            self.position,
            self.total,
            self.outcome.as_str(),
            self.id.kind,
            self.id.name,
            self.elapsed.as_millis()
        )?;
        if let Some(err) = self.error {
            write!(f, ": {err}")?;
        }
        Ok(())
    }
}

/// What apply did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub created: Vec<ResourceId>,
    pub updated: Vec<ResourceId>,
    pub unchanged: Vec<ResourceId>,
    /// Resources after a failure, never attempted.
    pub not_attempted: Vec<ResourceId>,
    pub api_calls: ApiCalls,
    #[serde(rename = "wall_time_ms", serialize_with = "millis")]
    pub wall_time: Duration,
}

impl ApplyReport {
    /// The resources this apply created or updated (created first, then updated).
    pub fn changed(&self) -> Vec<&ResourceId> {
        self.created.iter().chain(&self.updated).collect()
    }
}

/// Apply stopped at a failure. Resources before it were applied (see `report`); none after it
/// were attempted.
#[derive(Debug, thiserror::Error)]
#[error("deploy stopped: {error}. Already changed ({n}): {list}", n = report.changed().len(), list = changed_list(report))]
pub struct ApplyError {
    pub failed: ResourceId,
    /// The failure (its text is part of this error's text, so it is not a `source`).
    pub error: Error,
    pub report: ApplyReport,
}

fn changed_list(report: &ApplyReport) -> String {
    let changed = report.changed();
    if changed.is_empty() { "none".to_owned() } else { changed.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ") }
}

/// Apply a plan in its (dependency) order. Resources with no change are skipped without any
/// call. `progress` hears about each resource when it is done.
pub async fn apply<F>(plan: &Plan, clients: &Clients, mut progress: F) -> std::result::Result<ApplyReport, ApplyError>
where
    F: FnMut(&Progress<'_>) + Send,
{
    let started = Instant::now();
    let calls_before = clients.api_calls();
    let mut report = ApplyReport::default();
    let total = plan.entries.len();

    for (i, entry) in plan.entries.iter().enumerate() {
        let t0 = Instant::now();
        let outcome = match entry.change {
            Change::NoChange => Ok(Outcome::Unchanged),
            Change::Create | Change::Update { .. } => {
                let input =
                    ApplyInput { change: &entry.change, desired: &entry.desired, observed: entry.observed.as_ref(), cx: &plan.context };
                tracing::info!(resource = %entry.id, change = ?entry.change, "applying");
                entry.spec.resource().apply(clients, input).await.map(|()| match entry.change {
                    Change::Create => Outcome::Created,
                    _ => Outcome::Updated,
                })
            }
        };
        let mut event = Progress {
            id: &entry.id,
            change: &entry.change,
            outcome: Outcome::Failed,
            error: None,
            elapsed: t0.elapsed(),
            position: i + 1,
            total,
        };
        match outcome {
            Ok(outcome) => {
                event.outcome = outcome;
                progress(&event);
                match outcome {
                    Outcome::Created => report.created.push(entry.id.clone()),
                    Outcome::Updated => report.updated.push(entry.id.clone()),
                    _ => report.unchanged.push(entry.id.clone()),
                }
            }
            Err(error) => {
                event.error = Some(&error);
                progress(&event);
                report.not_attempted = plan.entries[i + 1..].iter().map(|e| e.id.clone()).collect();
                report.api_calls = clients.api_calls().since(&calls_before);
                report.wall_time = started.elapsed();
                return Err(ApplyError { failed: entry.id.clone(), error, report });
            }
        }
    }
    report.api_calls = clients.api_calls().since(&calls_before);
    report.wall_time = started.elapsed();
    Ok(report)
}

fn millis<S: Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The service runs deploys inside spawned tasks: the futures must be `Send`.
    #[allow(dead_code, clippy::let_underscore_future)]
    fn futures_are_send(config: &StackConfig, clients: &Clients, plan: &Plan) {
        fn is_send<T: Send>(_: &T) {}
        let options = PlanOptions::default();
        let planning = super::plan(config, clients, &options);
        is_send(&planning);
        let applying = super::apply(plan, clients, |_| {});
        is_send(&applying);
    }

    #[test]
    fn object_fields_show_only_the_keys_that_differ() {
        let from = json!({"a": {"Arn": "x"}, "b": {"Arn": "y"}});
        let to = json!({"a": {"Arn": "x"}, "b": {"Arn": "z"}, "c": {"Arn": "w"}});
        assert_eq!(
            field_lines("Targets", Some(&from), Some(&to)),
            vec![r#"Targets.b: {"Arn":"y"} → {"Arn":"z"}"#.to_owned(), r#"Targets.c: (absent) → {"Arn":"w"}"#.to_owned(),]
        );
        assert_eq!(field_lines("VisibilityTimeout", Some(&json!(30)), Some(&json!(60))), vec!["VisibilityTimeout: 30 → 60"]);
        assert_eq!(field_lines("Policy", None, Some(&json!("x"))), vec!["Policy: (absent) → x"]);
    }
}
