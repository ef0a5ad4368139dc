//! `shutdown`: terminate the fleet's instances and release its dedicated hosts (praktika's
//! `--shutdown --only EC2Instance|DedicatedHost`), only those carrying this stack's ownership
//! tags. Like deploy, it is planned first (read calls only) and shown, then carried out resource
//! by resource, stopping at the first failure.

use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::clients::{ApiCalls, Clients};
use crate::config::StackConfig;
use crate::error::{Error, Result};
use crate::kinds::ResourceSpec;
use crate::model::{Kind, ResourceId};

/// What shutting one resource down means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShutdownAction {
    TerminateInstances,
    ReleaseHosts,
}

impl ShutdownAction {
    fn verb(self) -> (&'static str, &'static str) {
        match self {
            ShutdownAction::TerminateInstances => ("terminate", "instance"),
            ShutdownAction::ReleaseHosts => ("release", "host"),
        }
    }
}

/// One resource's part of a shutdown: the cloud ids it owns.
#[derive(Debug, Clone, Serialize)]
pub struct ShutdownTarget {
    #[serde(flatten)]
    pub id: ResourceId,
    pub action: ShutdownAction,
    /// Instance or host ids; empty: nothing to do.
    pub ids: Vec<String>,
    #[serde(skip)]
    spec: ResourceSpec,
}

/// What a shutdown would do, instances before hosts (a host with instances cannot be released).
#[derive(Debug, Clone, Serialize)]
pub struct ShutdownPlan {
    pub stack: String,
    pub only: Vec<Kind>,
    pub targets: Vec<ShutdownTarget>,
    pub api_calls: ApiCalls,
}

/// The error for `--only` naming a kind that cannot be shut down.
pub fn check_kinds(kinds: &[Kind]) -> std::result::Result<(), String> {
    if kinds.is_empty() {
        return Err("shutdown needs --only EC2Instance and/or DedicatedHost".into());
    }
    match kinds.iter().find(|k| !Kind::SHUTDOWN.contains(k)) {
        Some(k) => Err(format!("{k} cannot be shut down; only EC2Instance and DedicatedHost can")),
        None => Ok(()),
    }
}

/// Find what `kinds` of `config` own (read calls only).
pub async fn plan_shutdown(config: &StackConfig, clients: &Clients, kinds: &[Kind]) -> Result<ShutdownPlan> {
    check_kinds(kinds).map_err(|message| Error::InvalidConfig { origin: config.origin.clone(), message })?;
    let before = clients.api_calls();
    let mut targets = Vec::new();
    for kind in Kind::SHUTDOWN.into_iter().filter(|k| kinds.contains(k)) {
        for d in config.resources.iter().filter(|d| d.spec.kind() == kind) {
            let (action, ids) = match &d.spec {
                ResourceSpec::EC2Instance(r) => (ShutdownAction::TerminateInstances, r.shutdown_targets(clients).await?),
                ResourceSpec::DedicatedHost(r) => (ShutdownAction::ReleaseHosts, r.shutdown_targets(clients).await?),
                _ => continue,
            };
            targets.push(ShutdownTarget { id: d.id(), action, ids, spec: d.spec.clone() });
        }
    }
    Ok(ShutdownPlan { stack: config.prefix.clone(), only: kinds.to_vec(), targets, api_calls: clients.api_calls().since(&before) })
}

impl ShutdownPlan {
    pub fn has_work(&self) -> bool {
        self.targets.iter().any(|t| !t.ids.is_empty())
    }
}

impl fmt::Display for ShutdownPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let only: Vec<&str> = self.only.iter().map(|k| k.as_str()).collect();
        writeln!(f, "Shutdown of stack {} · only {} (resources tagged pulse:stack={})", self.stack, only.join(", "), self.stack)?;
        for t in &self.targets {
            let (verb, noun) = t.action.verb();
            if t.ids.is_empty() {
                writeln!(f, "  = nothing     {:<13}  {}", t.id.kind.as_str(), t.id.name)?;
            } else {
                writeln!(f, "  - {verb:<10}  {:<13}  {}: {} {noun}(s): {}", t.id.kind.as_str(), t.id.name, t.ids.len(), t.ids.join(", "))?;
            }
        }
        let count = |a: ShutdownAction| self.targets.iter().filter(|t| t.action == a).map(|t| t.ids.len()).sum::<usize>();
        write!(
            f,
            "Shutdown plan: {} instance(s) to terminate, {} host(s) to release · API calls: {} read",
            count(ShutdownAction::TerminateInstances),
            count(ShutdownAction::ReleaseHosts),
            self.api_calls.read
        )
    }
}

/// What a shutdown did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ShutdownReport {
    /// Resources whose instances were terminated or hosts released, with the ids.
    pub done: Vec<(ResourceId, Vec<String>)>,
    /// Resources that owned nothing.
    pub nothing: Vec<ResourceId>,
    pub not_attempted: Vec<ResourceId>,
    pub api_calls: ApiCalls,
    #[serde(rename = "wall_time_ms", serialize_with = "millis")]
    pub wall_time: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Shutdown stopped at a failure; `report.done` lists what was already shut down.
#[derive(Debug, thiserror::Error)]
#[error("shutdown stopped: {error}. Already shut down ({n}): {list}", n = report.done.len(), list = done_list(report))]
pub struct ShutdownError {
    pub failed: ResourceId,
    pub error: Error,
    pub report: ShutdownReport,
}

fn done_list(report: &ShutdownReport) -> String {
    if report.done.is_empty() {
        return "none".into();
    }
    report.done.iter().map(|(id, ids)| format!("{id} ({})", ids.join(", "))).collect::<Vec<_>>().join("; ")
}

/// One progress line per resource as it is done.
#[derive(Debug, Clone, Copy)]
pub struct ShutdownProgress<'a> {
    pub target: &'a ShutdownTarget,
    pub error: Option<&'a Error>,
    pub position: usize,
    pub total: usize,
    pub elapsed: Duration,
}

impl fmt::Display for ShutdownProgress<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, noun) = self.target.action.verb();
        let outcome = match (self.error, self.target.ids.is_empty()) {
            (Some(_), _) => "FAILED".to_owned(),
            (None, true) => "nothing".to_owned(),
            (None, false) => format!("{verb}d {} {noun}(s)", self.target.ids.len()),
        };
        write!(
            f,
            "[{}/{}] {} {}: {outcome} ({} ms)",
            self.position,
            self.total,
            self.target.id.kind,
            self.target.id.name,
            self.elapsed.as_millis()
        )?;
        if let Some(err) = self.error {
            write!(f, ": {err}")?;
        }
        Ok(())
    }
}

/// Carry out a shutdown plan.
pub async fn shutdown<F>(plan: &ShutdownPlan, clients: &Clients, mut progress: F) -> std::result::Result<ShutdownReport, ShutdownError>
where
    F: FnMut(&ShutdownProgress<'_>) + Send,
{
    let started = Instant::now();
    let before = clients.api_calls();
    let mut report = ShutdownReport::default();
    let total = plan.targets.len();
    for (i, t) in plan.targets.iter().enumerate() {
        let t0 = Instant::now();
        let result = match &t.spec {
            _ if t.ids.is_empty() => Ok(()),
            ResourceSpec::EC2Instance(r) => r.terminate(clients, &t.ids).await,
            ResourceSpec::DedicatedHost(r) => r.release(clients, &t.ids).await,
            _ => Ok(()),
        };
        let event = ShutdownProgress { target: t, error: result.as_ref().err(), position: i + 1, total, elapsed: t0.elapsed() };
        progress(&event);
        match result {
            Ok(()) if t.ids.is_empty() => report.nothing.push(t.id.clone()),
            Ok(()) => report.done.push((t.id.clone(), t.ids.clone())),
            Err(error) => {
                report.not_attempted = plan.targets[i + 1..].iter().map(|t| t.id.clone()).collect();
                report.api_calls = clients.api_calls().since(&before);
                report.wall_time = started.elapsed();
                return Err(ShutdownError { failed: t.id.clone(), error, report });
            }
        }
    }
    report.api_calls = clients.api_calls().since(&before);
    report.wall_time = started.elapsed();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_instances_and_hosts_can_be_shut_down() {
        assert!(check_kinds(&[Kind::EC2Instance, Kind::DedicatedHost]).is_ok());
        assert_eq!(
            check_kinds(&[Kind::AutoScalingGroup]).unwrap_err(),
            "AutoScalingGroup cannot be shut down; only EC2Instance and DedicatedHost can"
        );
        assert!(check_kinds(&[]).unwrap_err().contains("--only"));
    }
}
