//! The infra-reconciler as a Pulse service: it consumes `deploy.requested` (from `/pulser deploy`
//! and the Approve / Rollback buttons) and answers with `deploy.status` `started`, then
//! `completed` (what changed, from which version to which) or `failed` (why).
//!
//! Exactly once per request: the runtime claims the envelope's `dedup_key` in
//! `<prefix>-infra-reconciler-idempotency` before anything happens, and its heartbeat holds the
//! claim for as long as a deploy takes; a redelivery of a completed request does nothing. The status envelopes carry deterministic dedup keys
//! (`deploy.status:<deploy_id>:<phase>`), so if a crash between publishing and completing makes
//! SQS redeliver, the notifier still posts each phase once.
//!
//! A deploy that fails is a *completed request* (it published `failed`): it is not retried by
//! SQS, because redeploying blindly is worse than telling the requester.

use pulse_aws::eventbridge::EventPublisher;
use pulse_contracts::{ChangeKind, DeployAction, DeployPhase, DeployRequested, DeployStatus, Event, EventDetail, ResourceChange};
use pulse_core::{Clock, Ids};
use pulse_runtime::{Accept, Attempt, HandlerError, MessageHandler, not_consumed};
use tracing::{info, warn};

use crate::clients::Clients;
use crate::config::StackConfig;
use crate::engine::{PlanOptions, apply, plan};
use crate::kinds::ResourceSpec;
use crate::model::{Change, Kind, ResourceId};
use crate::packages::PackageStore;
use crate::rollback::{self, VersionMove};

/// The `source` of the envelopes this service publishes.
pub const SOURCE: &str = "pulse.infra-reconciler";

/// What a request names, resolved against the deployment config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A function: its alias, and the resources that belong to it (the function, its role, the
    /// API routes to it).
    Lambda { function: String, alias: String, resources: Vec<ResourceId> },
    /// Something else the config declares under that name (e.g. a fleet's launch template).
    Resources(Vec<ResourceId>),
}

/// Resolve `service` (e.g. `notifier`) against the config: the `Lambda` named `service` or
/// `<prefix>-<service>`, else every resource so named.
pub fn resolve_target(stack: &StackConfig, service: &str) -> Result<Target, String> {
    let names = [service.to_owned(), format!("{}-{service}", stack.prefix)];
    for d in &stack.resources {
        if let ResourceSpec::Lambda(l) = &d.spec
            && names.contains(&l.name)
        {
            let mut resources = vec![d.id(), ResourceId::new(Kind::IamRole, &l.role)];
            for other in &stack.resources {
                if let ResourceSpec::ApiRoute(r) = &other.spec
                    && r.function == l.name
                {
                    resources.push(other.id());
                }
            }
            return Ok(Target::Lambda { function: l.name.clone(), alias: l.alias.clone(), resources });
        }
    }
    let matching: Vec<ResourceId> = stack.resources.iter().map(|d| d.id()).filter(|id| names.contains(&id.name)).collect();
    if matching.is_empty() {
        return Err(format!("no component named {service:?} (or {:?}) in {}", names[1], stack.origin));
    }
    Ok(Target::Resources(matching))
}

/// `only` as kinds; an unknown kind name is the requester's mistake, reported in `failed`.
pub fn parse_only(only: &[String]) -> Result<Vec<Kind>, String> {
    only.iter().map(|k| k.parse::<Kind>().map_err(|e| e.to_string())).collect()
}

fn change_kind(change: &Change) -> ChangeKind {
    match change {
        Change::Create => ChangeKind::Create,
        Change::Update { .. } => ChangeKind::Update,
        Change::NoChange => ChangeKind::NoChange,
    }
}

/// The service: clients for the resources, the deployment config, its own bus, and the clock
/// and ids its `deploy.status` events get.
pub struct InfraReconciler {
    clients: Clients,
    stack: StackConfig,
    publisher: EventPublisher,
    clock: Clock,
    ids: Ids,
    /// Where `crate` functions' zips are; None: local zips (no use inside Lambda).
    packages: Option<PackageStore>,
}

/// The outcome of one request, before it becomes a `deploy.status`.
struct Outcome {
    versions: VersionMove,
    changes: Vec<ResourceChange>,
    error: Option<String>,
}

impl InfraReconciler {
    pub fn new(clients: Clients, stack: StackConfig, publisher: EventPublisher, clock: Clock, ids: Ids) -> Self {
        Self { clients, stack, publisher, clock, ids, packages: None }
    }

    /// The same, deploying `crate` functions from the package store (`PULSE_LAMBDA_PACKAGES`).
    pub fn with_packages(self, packages: Option<PackageStore>) -> Self {
        Self { packages, ..self }
    }

    async fn publish(&self, req: &DeployRequested, phase: DeployPhase, outcome: Option<&Outcome>) -> Result<(), HandlerError> {
        let status = DeployStatus {
            deploy_id: req.deploy_id,
            service: req.service.clone(),
            action: req.action,
            phase,
            from_version: outcome.and_then(|o| o.versions.from.clone()),
            to_version: outcome.and_then(|o| o.versions.to.clone()),
            changes: outcome.map(|o| o.changes.clone()).unwrap_or_default(),
            error: outcome.and_then(|o| o.error.clone()),
            requested_by: req.requested_by.clone(),
        };
        let phase_name = serde_json::to_value(phase).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let key = format!("deploy.status:{}:{phase_name}", req.deploy_id);
        let envelope = status.into_envelope(SOURCE, key, self.ids.uuid(), self.clock.now());
        self.publisher.publish_one(&envelope).await.map_err(HandlerError::retryable)?;
        info!(deploy_id = %req.deploy_id, phase = %phase_name, "deploy status published");
        Ok(())
    }

    /// Carry out one request. Errors become the `failed` status's text (no secret is ever in
    /// one: the engine's errors name resources and operations, and SSM values never leave the
    /// call that sets them).
    async fn run(&self, req: &DeployRequested) -> Outcome {
        let mut outcome = Outcome { versions: VersionMove::default(), changes: Vec::new(), error: None };
        if let Err(e) = self.run_into(req, &mut outcome).await {
            outcome.error = Some(e);
        }
        outcome
    }

    async fn run_into(&self, req: &DeployRequested, out: &mut Outcome) -> Result<(), String> {
        let only = parse_only(&req.only)?;
        let target = resolve_target(&self.stack, &req.service)?;
        match (req.action, &target) {
            (DeployAction::Rollback, Target::Lambda { function, alias, .. }) => {
                out.versions = rollback::rollback_lambda(&self.clients, function, alias).await.map_err(|e| e.to_string())?;
                out.changes.push(ResourceChange {
                    kind: Kind::Lambda.to_string(),
                    name: function.clone(),
                    change: ChangeKind::Update,
                    fields: vec![format!("alias {alias}")],
                });
                Ok(())
            }
            (DeployAction::Rollback, Target::Resources(ids)) => {
                let Some(template) = ids.iter().find(|id| id.kind.as_str() == "LaunchTemplate") else {
                    return Err(format!(
                        "{} has no Lambda or launch template to roll back (it declares {})",
                        req.service,
                        ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                    ));
                };
                out.versions = rollback::rollback_launch_template(&self.clients, &template.name).await.map_err(|e| e.to_string())?;
                out.changes.push(ResourceChange {
                    kind: "LaunchTemplate".into(),
                    name: template.name.clone(),
                    change: ChangeKind::Update,
                    fields: vec!["DefaultVersion".into()],
                });
                Ok(())
            }
            (DeployAction::Deploy, _) => {
                let (resources, alias) = match &target {
                    Target::Lambda { function, alias, resources } => (resources.clone(), Some((function.clone(), alias.clone()))),
                    Target::Resources(ids) => (ids.clone(), None),
                };
                if let Some((function, alias)) = &alias {
                    out.versions.from = rollback::alias_version(&self.clients, function, alias).await.map_err(|e| e.to_string())?;
                }
                let options = PlanOptions { only, resources, packages: self.packages.clone() };
                let plan = plan(&self.stack, &self.clients, &options).await.map_err(|e| e.to_string())?;
                out.changes = plan
                    .entries
                    .iter()
                    .map(|e| ResourceChange {
                        kind: e.id.kind.to_string(),
                        name: e.id.name.clone(),
                        change: change_kind(&e.change),
                        fields: e.change.fields().iter().map(|f| f.field.clone()).collect(),
                    })
                    .collect();
                let applied = apply(&plan, &self.clients, |p| info!(progress = %p, "deploy progress")).await;
                if let Some((function, alias)) = &alias {
                    out.versions.to = rollback::alias_version(&self.clients, function, alias).await.map_err(|e| e.to_string())?;
                }
                applied.map(|_| ()).map_err(|e| e.to_string())
            }
        }
    }
}

impl MessageHandler for InfraReconciler {
    type Input = DeployRequested;

    fn service(&self) -> &'static str {
        "infra-reconciler"
    }

    fn accept(&self, event: Event) -> Accept<DeployRequested> {
        match event {
            Event::DeployRequestedV1(req) => Accept::Consume(req),
            other => not_consumed(self.service(), &other),
        }
    }

    async fn handle(&self, attempt: &Attempt, req: DeployRequested) -> Result<(), HandlerError> {
        check_origin(&req, &attempt.meta.source).map_err(HandlerError::rejected)?;
        info!(deploy_id = %req.deploy_id, service = %req.service, action = req.action.as_str(), "deploy requested");
        self.publish(&req, DeployPhase::Started, None).await?;
        let outcome = self.run(&req).await;
        let phase = if outcome.error.is_some() { DeployPhase::Failed } else { DeployPhase::Completed };
        if let Some(error) = &outcome.error {
            warn!(deploy_id = %req.deploy_id, %error, "deploy failed");
        }
        self.publish(&req, phase, Some(&outcome)).await?;
        info!(deploy_id = %req.deploy_id, phase = ?phase, from_version = ?outcome.versions.from, to_version = ?outcome.versions.to, "deploy finished");
        Ok(())
    }
}

/// The one producer of Slack-triggered deploys: the notifier, which checks its policy of who may
/// act before it publishes.
pub const SLACK_DEPLOYS_FROM: &str = "pulse.notifier";

/// A deploy asked for from Slack (a button, `/pulser deploy`) is carried out only when it came
/// through the notifier, which checked who asked: one with a Slack trigger from any other source
/// would bypass that check, so it is refused (and dead-lettered with this reason).
pub fn check_origin(req: &DeployRequested, source: &str) -> Result<(), String> {
    if source == SLACK_DEPLOYS_FROM {
        return Ok(());
    }
    Err(format!(
        "deploy {} of {} was requested from Slack ({:?} by {}) but published by {source:?}, not by {SLACK_DEPLOYS_FROM:?}, which checks who may deploy: refused",
        req.deploy_id, req.service, req.trigger, req.requested_by.user_id
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LoadOptions;

    #[test]
    fn a_slack_deploy_is_taken_only_from_the_notifier() {
        let req = DeployRequested {
            deploy_id: uuid::Uuid::nil(),
            service: "billing".into(),
            action: pulse_contracts::DeployAction::Deploy,
            trigger: pulse_contracts::DeployTrigger::ApproveButton,
            requested_by: pulse_contracts::Actor { user_id: "U1".into(), user_name: "dana".into() },
            alert_id: None,
            channel_id: None,
            message_ts: None,
            only: vec![],
        };
        assert_eq!(check_origin(&req, "pulse.notifier"), Ok(()));
        let err = check_origin(&req, "ci").unwrap_err();
        assert!(err.contains("published by \"ci\"") && err.contains("refused"), "{err}");
    }
    use serde_json::json;

    fn stack() -> StackConfig {
        let text = json!({"resources": [
            {"kind": "Queue", "name": "${prefix}-notifier"},
            {"kind": "IamRole", "name": "${prefix}-notifier-role"},
            {"kind": "Lambda", "name": "${prefix}-notifier", "path": "x.zip", "role": "${prefix}-notifier-role",
             "event_sources": [{"queue": "${prefix}-notifier"}]},
            {"kind": "IamRole", "name": "${prefix}-ingress"},
            {"kind": "Lambda", "name": "${prefix}-ingress", "path": "y.zip", "role": "${prefix}-ingress", "alias": "prod"},
            {"kind": "ApiRoute", "name": "${prefix}-slack", "function": "${prefix}-ingress", "alias": "prod"}
        ]});
        StackConfig::parse(&text.to_string(), "test", &LoadOptions::new("p")).unwrap()
    }

    #[test]
    fn a_service_is_its_function_role_and_routes() {
        let s = stack();
        assert_eq!(
            resolve_target(&s, "ingress").unwrap(),
            Target::Lambda {
                function: "p-ingress".into(),
                alias: "prod".into(),
                resources: vec![
                    ResourceId::new(Kind::Lambda, "p-ingress"),
                    ResourceId::new(Kind::IamRole, "p-ingress"),
                    ResourceId::new(Kind::ApiRoute, "p-slack"),
                ]
            }
        );
        let Target::Lambda { resources, .. } = resolve_target(&s, "p-notifier").unwrap() else { panic!() };
        assert_eq!(resources[1], ResourceId::new(Kind::IamRole, "p-notifier-role"));
        assert_eq!(
            resolve_target(&s, "notifier-role").unwrap(),
            Target::Resources(vec![ResourceId::new(Kind::IamRole, "p-notifier-role")])
        );
        assert!(resolve_target(&s, "billing").unwrap_err().contains("no component named \"billing\""));
        assert!(parse_only(&["Lambda".into(), "iamrole".into()]).is_ok());
        assert!(parse_only(&["Lamda".into()]).unwrap_err().contains("unknown resource kind"));
    }

    #[test]
    fn the_built_in_deployment_declares_all_five_functions_on_the_stack() {
        let s =
            StackConfig::parse(crate::config::PULSE_DEPLOYMENT_JSON, "infra/examples/pulse-deployment.json", &LoadOptions::new("pulse"))
                .unwrap();
        for svc in ["feed-projector", "home-renderer", "notifier", "ingress", "infra-reconciler"] {
            let Target::Lambda { resources, .. } = resolve_target(&s, svc).unwrap() else { panic!("{svc}") };
            assert_eq!(resources[1], ResourceId::new(Kind::IamRole, format!("pulse-{svc}")));
            let ResourceSpec::Lambda(l) = &s.get(&resources[0]).unwrap().spec else { panic!() };
            assert_eq!(l.krate.as_deref(), Some(svc));
            let queues: Vec<&str> = l.event_sources.iter().map(|e| e.queue.as_str()).collect();
            // Every consumer is fed by its own queue; ingress is fed by the API route.
            if svc == "ingress" {
                assert!(queues.is_empty());
                assert_eq!(resources[2], ResourceId::new(Kind::ApiRoute, "pulse-slack"));
            } else {
                assert_eq!(queues, [format!("pulse-{svc}")]);
            }
        }
        // The stack came in through `include`.
        assert!(s.get(&ResourceId::new(Kind::Table, "pulse-infra-reconciler-idempotency")).is_some());
        assert!(s.get(&ResourceId::new(Kind::Rule, "pulse-deploy-requested")).is_some());
        let ResourceSpec::Lambda(ingress) = &s.get(&ResourceId::new(Kind::Lambda, "pulse-ingress")).unwrap().spec else { panic!() };
        assert_eq!(ingress.secrets.get("/pulse/slack/signing-secret").map(String::as_str), Some("SLACK_SIGNING_SECRET"));
    }
}
