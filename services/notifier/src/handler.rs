//! The notifier's I/O shell: one event in, Slack messages (through the ledger), DynamoDB items
//! and `deploy.requested` out. The decisions are in the pure modules.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::{CONSUMERS, SERVICES, StackNames};
use pulse_aws::sqs::Queue;
use pulse_contracts::{
    Actor, CommandAction, Container, DeployRequested, DeployStatus, Event, EventDetail, InteractionKind,
    OpsAlert, SlackCommand, SlackInteraction, UserRegistered,
};
use pulse_runtime::{Accept, Attempt, HandlerError, MessageHandler, not_consumed};
use tracing::{info, warn};

use crate::audit::Click;
use crate::config::Config;
use crate::delivery::{Deliverer, DeliveryError, Outgoing};
use crate::ops::{self, AlertContext, OpsAction};
use crate::store::StoreError;
use crate::commands::{self, FunctionHealth, FunctionState, QueueHealth, StatusEntry};
use crate::{announce, jobs};

/// The envelope `source` of events this service publishes.
pub const SOURCE: &str = "pulse.notifier";

pub struct Notifier {
    pub(crate) config: Config,
    pub(crate) deliverer: Deliverer,
    publisher: EventPublisher,
    /// Where feeds are read for digests (`None`: digests are skipped, purges still run).
    pub(crate) feeds: Option<crate::digest_run::Feeds>,
    /// How long soft-deleted subscriptions are kept (30 days).
    pub(crate) retention: chrono::Duration,
    /// For `/pulser health`: where Pulse's functions and queues are.
    health: Option<HealthSources>,
    /// Digest destinations besides Slack.
    pub(crate) sinks: crate::digest_run::ExternalSinks,
    /// When `health#` was last written, to write it at most every 30 s.
    last_ok_written: Mutex<Option<Instant>>,
}

fn retryable_store(err: StoreError) -> HandlerError {
    HandlerError::retryable(err)
}

fn delivery_error(err: DeliveryError) -> HandlerError {
    HandlerError::retryable(err)
}

impl Notifier {
    pub fn new(config: Config, deliverer: Deliverer, publisher: EventPublisher) -> Self {
        Self {
            config,
            deliverer,
            publisher,
            feeds: None,
            retention: chrono::Duration::days(30),
            health: None,
            sinks: crate::digest_run::ExternalSinks::default(),
            last_ok_written: Mutex::new(None),
        }
    }

    /// Read feeds (for digests) from this store, under praktika's `prefix`.
    pub fn with_feeds(mut self, feeds: crate::digest_run::Feeds) -> Self {
        self.feeds = Some(feeds);
        self
    }

    /// Keep soft-deleted subscriptions this long before purging them.
    pub fn with_retention(mut self, retention: chrono::Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Send digests to Discord webhooks and e-mail (see `config.rs`).
    pub fn with_external_sinks(mut self, sinks: crate::digest_run::ExternalSinks) -> Self {
        self.sinks = sinks;
        self
    }

    /// Let `/pulser health` read the stack's functions and queues.
    pub fn with_health(mut self, sqs: aws_sdk_sqs::Client, lambda: aws_sdk_lambda::Client, names: StackNames) -> Self {
        self.health = Some(HealthSources { sqs, lambda, names });
        self
    }

    pub fn deliverer(&self) -> &Deliverer {
        &self.deliverer
    }

    /// The user's DM channel: `conversations.open` once, then the cached id.
    pub(crate) async fn dm_channel(&self, user: &str) -> Result<String, HandlerError> {
        let pk = format!("dm#{user}");
        let store = self.deliverer.store();
        if let Some(channel) = store.get_value(&pk, "channel").await.map_err(retryable_store)? {
            return Ok(channel);
        }
        let channel = self.deliverer.slack().conversations_open(&[user]).await.map_err(HandlerError::retryable)?;
        store.put_value(&pk, "channel", &channel, None).await.map_err(retryable_store)?;
        Ok(channel)
    }

    async fn on_ops_alert(&self, alert: OpsAlert, occurred_at: chrono::DateTime<chrono::Utc>) -> Result<(), HandlerError> {
        let entry = StatusEntry { service: alert.service.clone(), kind: alert.kind, severity: alert.severity, title: alert.title.clone(), at: occurred_at };
        self.deliverer.store().record_status(&entry).await.map_err(retryable_store)?;
        let channel = self.config.alert_channel(alert.kind, alert.severity).to_owned();
        let ctx = AlertContext { alert, occurred_at };
        let (text, blocks) = ops::render(&ctx, &[]);
        let context = serde_json::to_value(&ctx).expect("alert context serializes");
        let key = ops::ledger_key(&ctx.alert.alert_id);
        let message = Outgoing { channel, text, blocks: Some(blocks), thread_ts: None };
        let delivered = self.deliverer.deliver(&key, &message, Some(&context)).await.map_err(delivery_error)?;
        info!(alert_id = %ctx.alert.alert_id, channel = %message.channel, outcome = ?delivered, "ops alert delivered");
        Ok(())
    }

    async fn on_interaction(&self, dedup_key: &str, at: chrono::DateTime<chrono::Utc>, i: SlackInteraction) -> Result<(), HandlerError> {
        let (action_id, value, container) = match &i.kind {
            InteractionKind::BlockActions { action_id, value, container, .. } => (action_id, value, container),
            InteractionKind::ViewSubmission { callback_id, private_metadata, values, .. } => {
                return match crate::deploy::confirmed_deploy(callback_id, private_metadata, values) {
                    None => Ok(()),
                    Some(Err(reason)) => Err(HandlerError::rejected(reason)),
                    Some(Ok(deploy)) => self.on_confirmed_deploy(dedup_key, &i, deploy).await,
                };
            }
        };
        let Some(action) = OpsAction::from_action_id(action_id) else { return Ok(()) };
        let Container::Message { channel_id, message_ts } = container else {
            return Err(HandlerError::rejected(format!("ops button {action_id} clicked outside a message")));
        };
        let alert_id = value.as_deref().filter(|v| !v.is_empty()).ok_or_else(|| HandlerError::rejected(format!("ops button {action_id} carries no alert id")))?;
        let store = self.deliverer.store();
        let entry = store.ledger(&ops::ledger_key(alert_id)).await.map_err(retryable_store)?;
        let ctx: AlertContext = entry
            .and_then(|e| e.context)
            .and_then(|c| serde_json::from_value(c).ok())
            .ok_or_else(|| HandlerError::rejected(format!("no posted alert {alert_id} is known to the notifier")))?;
        let actor = Actor { user_id: i.user_id.clone(), user_name: i.user_name.clone() };
        let click = Click {
            alert_id,
            dedup_key,
            at,
            action,
            actor: &actor,
            channel: channel_id,
            message_ts,
            deploy_id: action.deploy().map(|_| uuid::Uuid::new_v4()),
        };
        let deploy_id = store.audit_click(&click).await.map_err(retryable_store)?;
        info!(alert_id, action = action.action_id(), user = %actor.user_id, "ops action audited");
        let history = store.audit_history(alert_id).await.map_err(retryable_store)?;
        let (text, blocks) = ops::render(&ctx, &history);
        self.deliverer.slack().chat_update(channel_id, message_ts, &text, Some(blocks)).await.map_err(HandlerError::retryable)?;
        if let (Some((deploy_action, trigger)), Some(deploy_id)) = (action.deploy(), deploy_id) {
            // The alert becomes the deploy's thread: its `deploy.status` replies go under it.
            let root = format!("deploy:{deploy_id}:root");
            store.record_existing(&root, channel_id, message_ts, chrono::Utc::now().timestamp_millis()).await.map_err(retryable_store)?;
            let request = DeployRequested {
                deploy_id,
                service: ctx.alert.service.clone(),
                action: deploy_action,
                trigger,
                requested_by: actor,
                alert_id: Some(alert_id.to_owned()),
                channel_id: Some(channel_id.clone()),
                message_ts: Some(message_ts.clone()),
                only: Vec::new(),
            };
            let envelope = request.into_envelope(SOURCE, format!("deploy.requested:{dedup_key}"));
            self.publisher.publish_one(&envelope.to_raw()).await.map_err(HandlerError::retryable)?;
            info!(alert_id, %deploy_id, "deploy.requested published");
        }
        Ok(())
    }
}

impl Notifier {
    async fn on_user_registered(&self, user: &UserRegistered) -> Result<(), HandlerError> {
        let (text, blocks) = announce::render_user(user);
        let message = Outgoing { channel: self.config.users_channel().to_owned(), text, blocks: Some(blocks), thread_ts: None };
        self.deliverer.deliver(&announce::user_key(user), &message, None).await.map_err(delivery_error)?;
        Ok(())
    }

    /// Every status of one deploy goes in one thread of the deploy channel.
    async fn on_deploy_status(&self, status: &DeployStatus) -> Result<(), HandlerError> {
        let channel = self.config.deploy_channel().to_owned();
        let (text, blocks) = announce::render_deploy_root(status);
        let root = Outgoing { channel: channel.clone(), text, blocks: Some(blocks), thread_ts: None };
        let root = self.deliverer.deliver(&announce::deploy_root_key(status), &root, None).await.map_err(delivery_error)?;
        let (channel, thread_ts) = match root.message() {
            Some(m) => (m.channel.clone(), Some(m.ts.clone())),
            None => (channel, None),
        };
        let (text, blocks) = announce::render_deploy_phase(status);
        let reply = Outgoing { channel, text, blocks: Some(blocks), thread_ts };
        self.deliverer.deliver(&announce::deploy_phase_key(status), &reply, None).await.map_err(delivery_error)?;
        Ok(())
    }
}

/// The clients and names `/pulser health` reads.
struct HealthSources {
    sqs: aws_sdk_sqs::Client,
    lambda: aws_sdk_lambda::Client,
    names: StackNames,
}

impl Notifier {
    /// `/pulser status` and `/pulser health`, answered ephemerally on the command's
    /// `response_url`. A marker item (`resp#{dedup key}`) is claimed before answering, so a
    /// redelivered or concurrently delivered command is answered once; a failed answer drops the
    /// marker so the retry answers (an answer lost in flight may then repeat — ephemeral,
    /// harmless).
    async fn on_command(&self, dedup_key: &str, command: &SlackCommand) -> Result<(), HandlerError> {
        let store = self.deliverer.store();
        let marker = format!("resp#{dedup_key}");
        let expires = chrono::Utc::now().timestamp() + 86_400;
        if !store.put_value_if_absent(&marker, "answered", "1", expires).await.map_err(retryable_store)? {
            info!("slash command already answered");
            return Ok(());
        }
        let answer = async {
            let answer = match command.action {
                CommandAction::Status => commands::render_status(&store.status_board().await.map_err(retryable_store)?),
                _ => {
                    let (functions, queues) = (self.function_health().await, self.queue_health().await);
                    let last_ok = store.last_ok().await.map_err(retryable_store)?;
                    commands::render_health(&functions, &queues, last_ok, chrono::Utc::now())
                }
            };
            self.deliverer.slack().post_response_url(&command.response_url, &answer).await.map_err(HandlerError::retryable)
        }
        .await;
        if let Err(err) = answer {
            if let Err(e) = store.delete_value(&marker, "answered").await {
                warn!(error = %e, "could not drop the answer marker; the command will not be answered again");
            }
            return Err(err);
        }
        info!(command = command.action.name(), user = %command.user_id, "slash command answered");
        Ok(())
    }

    /// Each service's Lambda function: state and last update (`lambda:GetFunctionConfiguration`).
    async fn function_health(&self) -> Vec<FunctionHealth> {
        let Some(HealthSources { lambda, names, .. }) = &self.health else { return Vec::new() };
        let mut out = Vec::new();
        for service in SERVICES {
            let function = names.function(service);
            let state = match lambda.get_function_configuration().function_name(&function).send().await {
                Ok(c) => FunctionState::Deployed {
                    state: c.state().map_or_else(|| "Unknown".to_owned(), |s| s.as_str().to_owned()),
                    last_update: c.last_update_status().map(|u| u.as_str().to_owned()),
                    reason: c.last_update_status_reason().or(c.state_reason()).map(str::to_owned),
                },
                Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => FunctionState::NotDeployed,
                Err(e) => FunctionState::Unreadable(aws_sdk_lambda::error::DisplayErrorContext(&e).to_string()),
            };
            out.push(FunctionHealth { service: service.to_owned(), function, state });
        }
        out
    }

    async fn queue_health(&self) -> Vec<QueueHealth> {
        let Some(HealthSources { sqs, names, .. }) = &self.health else { return Vec::new() };
        let depth = |name: String| async move {
            match Queue::from_name(sqs.clone(), &name).await {
                Ok(q) => q.approximate_depth().await.ok(),
                Err(_) => None,
            }
        };
        let mut out = Vec::new();
        for service in CONSUMERS {
            out.push(QueueHealth {
                service: service.to_owned(),
                depth: depth(names.queue(service)).await,
                dead_letters: depth(names.dead_letter_queue(service)).await,
            });
        }
        out
    }

    /// Record a successful event for `/pulser health`, at most every 30 s.
    async fn touch(&self) {
        {
            let mut last = self.last_ok_written.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < Duration::from_secs(30)) {
                return;
            }
            *last = Some(Instant::now());
        }
        if let Err(err) = self.deliverer.store().record_last_ok(chrono::Utc::now()).await {
            warn!(error = %err, "could not record the last successful event");
        }
    }

    async fn dispatch(&self, attempt: &Attempt, event: Event) -> Result<(), HandlerError> {
        let (dedup_key, at) = (attempt.meta.dedup_key.clone(), attempt.meta.occurred_at);
        match event {
            Event::SubscriptionChangedV1(ev) => {
                let applied = self.deliverer.store().apply_subscription(&ev).await.map_err(retryable_store)?;
                info!(user = %ev.slack_user_id, revision = ev.revision, ?applied, "subscription projected");
                Ok(())
            }
            Event::FeedUpdatedV1(update) => self.on_feed_updated(&update).await,
            Event::OpsAlertV1(alert) => self.on_ops_alert(alert, at).await,
            Event::SlackInteractionV1(i) => self.on_interaction(&dedup_key, at, i).await,
            Event::CiJobV1(job) => jobs::handle(&self.config, &self.deliverer, &job).await,
            Event::UserRegisteredV1(user) => self.on_user_registered(&user).await,
            Event::DeployStatusV1(status) => self.on_deploy_status(&status).await,
            Event::SlackCommandV1(c) => self.on_command(&dedup_key, &c).await,
            Event::DigestTickV1(tick) => self.on_digest_tick(&tick).await,
            Event::SubscriptionImportedV1(import) => self.on_subscription_imported(&import).await,
            other => Err(HandlerError::rejected(format!("the notifier accepted `{}` but has no handling for it", other.event_type()))),
        }
    }
}

impl Notifier {
    /// A confirmed `/pulser deploy` modal → `deploy.requested`. The deploy id is stored under the
    /// submission's dedup key first, so a redelivery publishes the same deploy.
    async fn on_confirmed_deploy(&self, dedup_key: &str, i: &SlackInteraction, deploy: crate::deploy::ConfirmedDeploy) -> Result<(), HandlerError> {
        let store = self.deliverer.store();
        let marker = format!("deployreq#{dedup_key}");
        let fresh = uuid::Uuid::new_v4();
        let expires = chrono::Utc::now().timestamp() + 30 * 86_400;
        let deploy_id = if store.put_value_if_absent(&marker, "deploy_id", &fresh.to_string(), expires).await.map_err(retryable_store)? {
            fresh
        } else {
            let stored = store.get_value(&marker, "deploy_id").await.map_err(retryable_store)?;
            stored.and_then(|v| v.parse().ok()).ok_or_else(|| HandlerError::retryable(format!("deploy id for {dedup_key} unreadable")))?
        };
        let request = DeployRequested {
            deploy_id,
            service: deploy.service,
            action: pulse_contracts::DeployAction::Deploy,
            trigger: pulse_contracts::DeployTrigger::SlashCommand,
            requested_by: Actor { user_id: i.user_id.clone(), user_name: i.user_name.clone() },
            alert_id: None,
            channel_id: deploy.channel_id,
            message_ts: None,
            only: deploy.only,
        };
        let envelope = request.into_envelope(SOURCE, format!("deploy.requested:{dedup_key}"));
        self.publisher.publish_one(&envelope.to_raw()).await.map_err(HandlerError::retryable)?;
        info!(%deploy_id, "confirmed deploy requested");
        Ok(())
    }
}

/// Whether a slash command or an interaction is the notifier's: `/pulser status|health`, the ops
/// buttons and the deploy modal's submission. `/praktika` commands and the Home tab's buttons are
/// the home-renderer's; `/pulser deploy`'s modal is opened by ingress (its submission comes back
/// as a `slack.interaction`).
fn is_ours(event: &Event) -> bool {
    match event {
        Event::SlackCommandV1(c) => matches!(c.action, CommandAction::Status | CommandAction::Health),
        Event::SlackInteractionV1(i) => match &i.kind {
            InteractionKind::BlockActions { action_id, .. } => OpsAction::from_action_id(action_id).is_some(),
            InteractionKind::ViewSubmission { callback_id, .. } => callback_id == crate::deploy::DEPLOY_CALLBACK_ID,
        },
        _ => true,
    }
}

impl MessageHandler for Notifier {
    type Input = Event;

    fn service(&self) -> &'static str {
        "notifier"
    }

    fn accept(&self, event: Event) -> Accept<Event> {
        match event {
            Event::SlackCommandV1(_) | Event::SlackInteractionV1(_) if !is_ours(&event) => {
                Accept::Ignore(format!("this `{}` is another service's", event.event_type()))
            }
            Event::SubscriptionChangedV1(_)
            | Event::FeedUpdatedV1(_)
            | Event::OpsAlertV1(_)
            | Event::SlackInteractionV1(_)
            | Event::CiJobV1(_)
            | Event::UserRegisteredV1(_)
            | Event::DeployStatusV1(_)
            | Event::SlackCommandV1(_)
            | Event::DigestTickV1(_)
            | Event::SubscriptionImportedV1(_) => Accept::Consume(event),
            other => not_consumed(self.service(), &other),
        }
    }

    async fn handle(&self, attempt: &Attempt, event: Event) -> Result<(), HandlerError> {
        let result = self.dispatch(attempt, event).await;
        if result.is_ok() {
            self.touch().await;
        }
        result
    }
}
