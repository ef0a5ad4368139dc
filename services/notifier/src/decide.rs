//! The notifier's decisions: for each event, and the state the handler read for it, the
//! [`Plan`] of effects that carries it out. Pure: no I/O and no clock; the time of the event,
//! the current time and fresh ids come in as values, so a test states an event and reads what
//! it would do.
//!
//! | event | state read first | plan |
//! |---|---|---|
//! | `ops.alert` | — | record it on the status board; post the alert (its context kept in the ledger) |
//! | `slack.interaction`, an ops button | the alert's ledger context, its audited clicks | audit the click; re-render the alert with every click; for Approve / Rollback, adopt the alert as the deploy's thread and publish `deploy.requested` |
//! | `slack.interaction`, the deploy modal | the deploy id remembered for this submission | remember the deploy id; publish `deploy.requested` |
//! | `ci.job` | — | the start message; the completion as a reply in its thread |
//! | `user.registered` | — | the registration notice |
//! | `deploy.status` | — | the deploy's thread root (from whichever status comes first); the phase as a reply |
//! | `feed.updated` | the author's subscribers, what the ledger holds of their DMs | per subscriber, [`dm::decide`]'s DM (or the records it owes) |
//! | `digest.tick` | subscribers, the feeds digests cover | purges past retention (daily); one digest per recipient |
//! | `slack.command` | the status board, or Pulse's health | the ephemeral answer, once |
//! | `subscription.changed` | — | project it |
//! | `subscription.imported` | — | praktika's last DMs as ledger entries |
//!
//! A deploy id is chosen once per request: the first attempt's, read back from where it was
//! written (the click's audit item, the modal's remembered id), else the fresh id handed in.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use pulse_contracts::praktika::FeedEvent;
use pulse_contracts::{
    Actor, CiJob, CommandAction, Container, DeployAction, DeployRequested, DeployStatus, DeployTrigger, DigestPeriod, DigestTick, Event,
    InteractionKind, OpsAlert, SlackCommand, SlackInteraction, SubscriptionChanged, SubscriptionImported, UserRegistered,
};
use uuid::Uuid;

use crate::audit::{AuditedClick, Click, Subject};
use crate::commands::{self, FunctionHealth, QueueHealth, StatusEntry};
use crate::config::Config;
use crate::deploy::ConfirmedDeploy;
use crate::dm::{self, DmDecision, DmInput, DmKind, Recorded};
use crate::ops::{self, ActionRecord, AlertContext, OpsAction};
use crate::plan::{Chain, Covering, Effect, Message, Plan, Post, Sink, To};
use crate::policy::{self, Act, Policy, Verdict};
use crate::subscriptions::Subscriber;
use crate::{announce, digest, import, jobs};
use pulse_slack::blocks::ResponseMessage;

/// A post to a channel, not in a thread, with no ledger context.
fn post(key: String, to: To, content: Message) -> Effect {
    Effect::Post(Post { key, to, thread: None, content, context: None })
}

/// A reply in the thread of the post under `parent` earlier in the chain.
fn reply(key: String, to: To, parent: String, content: Message) -> Effect {
    Effect::Post(Post { key, to, thread: Some(parent), content, context: None })
}

/// The dedup key of an event published on behalf of the handled event `dedup_key`.
fn published_key(event_type: &str, dedup_key: &str) -> String {
    format!("{event_type}:{dedup_key}")
}

fn publish(event: impl Into<Event>, dedup_key: &str) -> Effect {
    let event = event.into();
    Effect::Publish { dedup_key: published_key(event.event_type(), dedup_key), event: Box::new(event) }
}

// ---- ops alerts and their buttons ----

pub fn ops_alert(config: &Config, alert: OpsAlert, occurred_at: DateTime<Utc>) -> Plan {
    let entry = StatusEntry {
        service: alert.service.clone(),
        kind: alert.kind,
        severity: alert.severity,
        title: alert.title.clone(),
        at: occurred_at,
    };
    let channel = config.alert_channel(alert.kind, alert.severity).to_owned();
    let ctx = AlertContext { alert, occurred_at };
    let context = serde_json::to_value(&ctx).ok();
    let message = Post {
        key: ops::ledger_key(&ctx.alert.alert_id),
        to: To::Channel(channel),
        thread: None,
        content: ops::render(&ctx, &[]),
        context,
    };
    Plan::chain(format!("ops alert {}", ctx.alert.alert_id), vec![Effect::RecordStatus(entry), Effect::Post(message)])
}

/// An ops button click, read from the interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ClickRequest {
    pub action: OpsAction,
    pub alert_id: String,
    pub channel: String,
    pub message_ts: String,
    pub actor: Actor,
    /// Where a refusal is answered (only the clicker sees it).
    pub response_url: Option<String>,
}

/// The ops button an interaction clicked: `None` when it is not one of the notifier's buttons,
/// `Err` when it is but cannot be acted on.
pub fn click_request(i: &SlackInteraction) -> Option<Result<ClickRequest, String>> {
    let InteractionKind::BlockActions { action_id, value, container, .. } = &i.kind else { return None };
    let action = OpsAction::from_action_id(action_id)?;
    let Container::Message { channel_id, message_ts } = container else {
        return Some(Err(format!("ops button {action_id} clicked outside a message")));
    };
    let Some(alert_id) = value.as_deref().filter(|v| !v.is_empty()) else {
        return Some(Err(format!("ops button {action_id} carries no alert id")));
    };
    Some(Ok(ClickRequest {
        action,
        alert_id: alert_id.to_owned(),
        channel: channel_id.clone(),
        message_ts: message_ts.clone(),
        actor: Actor { user_id: i.user_id.clone(), user_name: i.user_name.clone() },
        response_url: i.response_url.clone(),
    }))
}

/// What the policy is asked about a click on `alert`.
pub fn click_policy_request<'a>(request: &'a ClickRequest, alert: &'a AlertContext) -> policy::Request<'a> {
    policy::Request {
        act: request.action.act(),
        service: &alert.alert.service,
        environment: alert.alert.environment.as_deref(),
        requester: &request.actor.user_id,
        author: alert.alert.metadata.get("author").map(String::as_str),
        github: Default::default(),
    }
}

/// A refusal, answered only to the person who asked, once per request.
fn refusal(dedup_key: &str, response_url: Option<String>, reason: &str) -> Option<Effect> {
    let response_url = response_url?;
    let body = ResponseMessage::ephemeral(Message::new(format!(":no_entry: {reason}"), [])).replace_original(false);
    Some(Effect::Respond { marker: format!("refused#{dedup_key}"), response_url, body })
}

/// What the handler read for a click.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClickState {
    /// The posted alert, from its ledger entry (`None`: the notifier never posted it).
    pub alert: Option<AlertContext>,
    /// The alert's audited clicks, oldest first.
    pub history: Vec<AuditedClick>,
    /// The policy's user groups (for this click) the clicker is a member of.
    pub member_of: BTreeSet<String>,
}

/// A click: check it against the policy (refused: audit the attempt and tell the clicker why,
/// nothing else); allowed: audit it, re-render the alert with it, and for Approve / Rollback ask
/// for the deploy in the alert's thread. `Err` when the alert is unknown (nothing to re-render
/// or deploy).
pub fn ops_click(
    policy: &Policy,
    request: ClickRequest,
    dedup_key: &str,
    at: DateTime<Utc>,
    state: ClickState,
    fresh_deploy_id: Uuid,
) -> Result<Plan, String> {
    let ctx = state.alert.as_ref().ok_or_else(|| format!("no posted alert {} is known to the notifier", request.alert_id))?;
    let verdict = policy.check(&click_policy_request(&request, ctx), &state.member_of);
    let ClickRequest { action, alert_id, channel, message_ts, actor, response_url } = request;
    let subject = Subject::Alert { alert_id: alert_id.clone(), service: ctx.alert.service.clone(), message_ts: message_ts.clone() };
    if let Verdict::Refused { reason } = verdict {
        let attempt = Click {
            subject,
            dedup_key: dedup_key.to_owned(),
            at,
            act: action.act(),
            actor: actor.clone(),
            channel,
            deploy_id: None,
            refused: Some(reason.clone()),
        };
        let effects = [Some(Effect::Audit(attempt)), refusal(dedup_key, response_url, &reason)].into_iter().flatten().collect();
        return Ok(Plan::chain(format!("{} on alert {alert_id} refused for {}", action.action_id(), actor.user_id), effects));
    }
    let ctx = state.alert.clone().expect("checked above");
    let earlier = state.history.iter().find(|c| c.dedup_key == dedup_key);
    // A retried click keeps the first attempt's time and deploy id.
    let at = earlier.map_or(at, |c| c.record.at);
    let deploy_id = action.deploy().map(|_| earlier.and_then(|c| c.deploy_id).unwrap_or(fresh_deploy_id));
    let record = ActionRecord { action, user_id: actor.user_id.clone(), user_name: actor.user_name.clone(), at };
    let mut history: Vec<ActionRecord> = state.history.iter().filter(|c| c.dedup_key != dedup_key).map(|c| c.record.clone()).collect();
    history.push(record);
    history.sort_by_key(|r| r.at);
    let click = Click {
        subject,
        dedup_key: dedup_key.to_owned(),
        at,
        act: action.act(),
        actor: actor.clone(),
        channel: channel.clone(),
        deploy_id,
        refused: None,
    };
    let mut effects = vec![
        Effect::Audit(click),
        Effect::Update { channel: channel.clone(), ts: message_ts.clone(), content: ops::render(&ctx, &history) },
    ];
    if let (Some((deploy_action, trigger)), Some(deploy_id)) = (action.deploy(), deploy_id) {
        // The alert becomes the deploy's thread: its `deploy.status` replies go under it.
        effects.push(Effect::Adopt { key: announce::deploy_root_key_of(deploy_id), channel: channel.clone(), ts: message_ts.clone() });
        let request = DeployRequested {
            deploy_id,
            service: ctx.alert.service.clone(),
            action: deploy_action,
            trigger,
            requested_by: actor,
            alert_id: Some(alert_id.clone()),
            channel_id: Some(channel),
            message_ts: Some(message_ts),
            only: Vec::new(),
        };
        effects.push(publish(request, dedup_key));
    }
    Ok(Plan::chain(format!("{} on alert {alert_id}", action.action_id()), effects))
}

/// Where the deploy id chosen for a confirmed deploy modal is remembered.
pub fn deploy_marker(dedup_key: &str) -> String {
    format!("deployreq#{dedup_key}")
}

/// What the policy is asked about a confirmed deploy modal.
pub fn deploy_policy_request<'a>(i: &'a SlackInteraction, deploy: &'a ConfirmedDeploy) -> policy::Request<'a> {
    policy::Request {
        act: Act::Deploy,
        service: &deploy.service,
        environment: None,
        requester: &i.user_id,
        author: None,
        github: Default::default(),
    }
}

/// The deploy id a confirmed modal may be published under: the one remembered for its
/// submission (a redelivery), else the fresh one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeployId {
    pub remembered: Option<Uuid>,
    pub fresh: Uuid,
}

/// A confirmed `/pulser deploy` modal, checked against the policy: refused, the attempt is
/// audited and the requester told why in the channel they asked from (only they see it);
/// allowed, it is audited and `deploy.requested` published under the id remembered for this
/// submission (a redelivery publishes the same deploy), else the fresh one.
pub fn confirmed_deploy(
    policy: &Policy,
    i: &SlackInteraction,
    dedup_key: &str,
    at: DateTime<Utc>,
    deploy: ConfirmedDeploy,
    member_of: &BTreeSet<String>,
    id: DeployId,
) -> Plan {
    let actor = Actor { user_id: i.user_id.clone(), user_name: i.user_name.clone() };
    let channel = deploy.channel_id.clone().unwrap_or_default();
    let subject = Subject::Deploy { service: deploy.service.clone() };
    if let Verdict::Refused { reason } = policy.check(&deploy_policy_request(i, &deploy), member_of) {
        let attempt = Click {
            subject,
            dedup_key: dedup_key.to_owned(),
            at,
            act: Act::Deploy,
            actor,
            channel: channel.clone(),
            deploy_id: None,
            refused: Some(reason.clone()),
        };
        let mut effects = vec![Effect::Audit(attempt)];
        if !channel.is_empty() {
            effects.push(Effect::Ephemeral {
                marker: format!("refused#{dedup_key}"),
                channel,
                user: i.user_id.clone(),
                text: format!(":no_entry: {reason}"),
            });
        }
        return Plan::chain(format!("deploy of {} refused for {}", deploy.service, i.user_id), effects);
    }
    let deploy_id = id.remembered.unwrap_or(id.fresh);
    let attempt =
        Click { subject, dedup_key: dedup_key.to_owned(), at, act: Act::Deploy, actor, channel, deploy_id: Some(deploy_id), refused: None };
    let request = DeployRequested {
        deploy_id,
        service: deploy.service,
        action: DeployAction::Deploy,
        trigger: DeployTrigger::SlashCommand,
        requested_by: Actor { user_id: i.user_id.clone(), user_name: i.user_name.clone() },
        alert_id: None,
        channel_id: deploy.channel_id,
        message_ts: None,
        only: deploy.only,
    };
    Plan::chain(
        format!("deploy {deploy_id} confirmed"),
        vec![Effect::RememberDeploy { marker: deploy_marker(dedup_key), deploy_id }, Effect::Audit(attempt), publish(request, dedup_key)],
    )
}

// ---- channel messages ----

/// The start message, and the completion as a reply in its thread (the start is delivered
/// first through its own key: a no-op when it was posted, and right when `started` is late).
pub fn job(config: &Config, job: &CiJob) -> Plan {
    let to = To::Channel(config.job_channel(&job.job, job.channel.as_deref()).to_owned());
    let start_key = jobs::start_key(&job.run_id);
    let mut effects = vec![post(start_key.clone(), to.clone(), jobs::render_start(job))];
    if let Some(completion) = job.completion() {
        effects.push(reply(jobs::completion_key(&job.run_id), to, start_key, jobs::render_completion(job, completion)));
    }
    Plan::chain(format!("job {}", job.run_id), effects)
}

pub fn user_registered(config: &Config, user: &UserRegistered) -> Plan {
    let to = To::Channel(config.users_channel().to_owned());
    Plan::chain(format!("user {}", user.user_id), vec![post(announce::user_key(user), to, announce::render_user(user))])
}

/// Every status of one deploy goes in one thread of the deploy channel.
pub fn deploy_status(config: &Config, status: &DeployStatus) -> Plan {
    let to = To::Channel(config.deploy_channel().to_owned());
    let root = announce::deploy_root_key(status);
    Plan::chain(
        format!("deploy {}", status.deploy_id),
        vec![
            post(root.clone(), to.clone(), announce::render_deploy_root(status)),
            reply(announce::deploy_phase_key(status), to, root, announce::render_deploy_phase(status)),
        ],
    )
}

// ---- personal DMs ----

/// What the handler read about one subscriber of a changed feed.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriberState {
    pub subscriber: Subscriber,
    /// What the ledger holds under each DM kind's key of the event.
    pub recorded: Vec<(DmKind, Recorded)>,
}

/// Whether any DM kind applies to `sub` for `event`: only then is the ledger read.
pub fn dm_wanted(sub: &Subscriber, event: &FeedEvent) -> bool {
    sub.subscribed && DmKind::ALL.iter().any(|k| k.applies(event, &sub.preferences))
}

/// Each subscriber's DM decision about the newest event of a feed they follow. The DM's key
/// names the subscription's email, whichever of its feeds changed, so a run in two of a user's
/// feeds (their email's and a linked GitHub account's) is one DM.
pub fn dm_decisions(event: &FeedEvent, subscribers: &[SubscriberState]) -> Vec<(String, DmDecision)> {
    subscribers
        .iter()
        .filter(|s| s.subscriber.subscribed)
        .map(|s| {
            let user = s.subscriber.slack_user_id.as_str();
            let email = s.subscriber.primary_email.as_str();
            let input = DmInput { slack_user: user, email, event, prefs: &s.subscriber.preferences, recorded: &s.recorded };
            (user.to_owned(), dm::decide(&input))
        })
        .collect()
}

/// One chain per subscriber: the DM under its primary key and the other kinds it covers
/// recorded as it, or only the records a DM posted earlier still owes.
pub fn dms(decisions: &[(String, DmDecision)]) -> Plan {
    let mut plan = Plan::none();
    for (user, decision) in decisions {
        let effects = match decision {
            DmDecision::NotWanted | DmDecision::AlreadySent { .. } => Vec::new(),
            DmDecision::Record { keys, posted, covered_by, covers } => vec![Effect::RecordCovered {
                keys: keys.clone(),
                covered_by: covered_by.clone(),
                covering: Covering::Known(posted.clone()),
                context: dm::covers_context(covers),
            }],
            DmDecision::Send(dm) => {
                let context = dm::covers_context(&dm.covers);
                let content = dm.message.clone();
                let mut effects = vec![Effect::Post(Post {
                    key: dm.key.clone(),
                    to: To::Dm(user.clone()),
                    thread: None,
                    content,
                    context: Some(context.clone()),
                })];
                if !dm.also_record.is_empty() {
                    effects.push(Effect::RecordCovered {
                        keys: dm.also_record.clone(),
                        covered_by: dm.key.clone(),
                        covering: Covering::ThisChain,
                        context,
                    });
                }
                effects
            }
        };
        plan.push(Chain::new(format!("DM to {user}"), effects));
    }
    plan
}

// ---- digests ----

/// The subscribers who get this period's digest, once each: a subscription has a row per
/// address it follows, and the one under its own email stands for it.
fn digest_subscribers(subscribers: &[Subscriber], period: DigestPeriod) -> impl Iterator<Item = &Subscriber> {
    subscribers.iter().filter(move |s| s.subscribed && s.preferences.wants_digest(period) && s.email == s.primary_email)
}

/// Whose feeds a tick's digests cover: the subscribers who want this period's, and the
/// configured channels', webhooks' and e-mails'.
pub fn digest_emails(config: &Config, period: DigestPeriod, subscribers: &[Subscriber]) -> Vec<String> {
    let mut emails: Vec<String> = digest_subscribers(subscribers, period).flat_map(|s| s.follows.iter().cloned()).collect();
    emails.extend(config.digest_channels.iter().filter(|c| c.period == period).flat_map(|c| c.emails.iter().cloned()));
    emails.extend(config.digest_webhooks.iter().filter(|c| c.period == period).flat_map(|c| c.emails.iter().cloned()));
    emails.extend(config.digest_emails.iter().filter(|c| c.period == period).flat_map(|c| c.emails.iter().cloned()));
    emails.sort();
    emails.dedup();
    emails
}

/// A tick: on the daily one, purge soft-deleted subscriptions past `retention`; then, when the
/// feeds could be read (`feeds`: email → events), one digest per subscriber who wants this
/// period's, per configured channel, Discord webhook and e-mail list, each once per tick.
pub fn digest(
    config: &Config,
    tick: &DigestTick,
    now: DateTime<Utc>,
    retention: chrono::Duration,
    subscribers: &[Subscriber],
    feeds: Option<&BTreeMap<String, Vec<FeedEvent>>>,
) -> Plan {
    let mut plan = Plan::none();
    if tick.period == DigestPeriod::Daily {
        for sub in subscribers.iter().filter(|s| !s.subscribed && digest::purge_due(s.deleted_at, now, retention)) {
            plan.push(Chain::new(format!("purge {}/{}", sub.team_id, sub.slack_user_id), vec![Effect::Purge(sub.clone())]));
        }
    }
    let Some(feeds) = feeds else { return plan };
    let window = digest::window(tick);
    let summary = |emails: &[String]| {
        let events: Vec<FeedEvent> = emails.iter().flat_map(|e| feeds.get(e).into_iter().flatten().cloned()).collect();
        digest::summarize(&events, window)
    };
    let key = |recipient: &str| digest::ledger_key(tick, recipient);
    for sub in digest_subscribers(subscribers, tick.period) {
        let user = &sub.slack_user_id;
        let content = digest::render(&sub.email, tick.period, &summary(&sub.follows));
        plan.push(Chain::new(format!("digest to {user}"), vec![post(key(user), To::Dm(user.clone()), content)]));
    }
    for dc in config.digest_channels.iter().filter(|c| c.period == tick.period) {
        let content = digest::render(&dc.emails.join(", "), tick.period, &summary(&dc.emails));
        plan.push(Chain::new(format!("digest to {}", dc.channel), vec![post(key(&dc.channel), To::Channel(dc.channel.clone()), content)]));
    }
    for hook in config.digest_webhooks.iter().filter(|w| w.period == tick.period) {
        let destination = format!("discord:{}", hook.name);
        let body = digest::render_discord(&hook.emails.join(", "), tick.period, &summary(&hook.emails));
        let sink = Sink::Discord { url: hook.url.clone(), body };
        plan.push(Chain::new(format!("digest to {destination}"), vec![Effect::Deliver { key: key(&destination), destination, sink }]));
    }
    for mail in config.digest_emails.iter().filter(|m| m.period == tick.period) {
        let destination = format!("email:{}", mail.name);
        let content = digest::render_email(&mail.emails.join(", "), tick.period, &summary(&mail.emails));
        let sink = Sink::Email { to: mail.to.clone(), mail: content };
        plan.push(Chain::new(format!("digest to {destination}"), vec![Effect::Deliver { key: key(&destination), destination, sink }]));
    }
    plan
}

// ---- slash commands ----

/// What `/pulser health` reports, as the health adapter read it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Health {
    pub functions: Vec<FunctionHealth>,
    pub queues: Vec<QueueHealth>,
    pub notifier_last_ok: Option<DateTime<Utc>>,
}

/// What the handler read for a command.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandState {
    Status(Vec<StatusEntry>),
    Health(Health),
}

/// Which state a command needs: `None` for a command that is not the notifier's.
pub fn command_needs(command: &SlackCommand) -> Option<CommandAction> {
    match command.action {
        CommandAction::Status => Some(CommandAction::Status),
        CommandAction::Health => Some(CommandAction::Health),
        _ => None,
    }
}

/// `/pulser status` and `/pulser health`: the ephemeral answer on the command's
/// `response_url`, once per command (a marker per dedup key).
pub fn command(command: &SlackCommand, dedup_key: &str, state: CommandState, now: DateTime<Utc>) -> Plan {
    let body = match state {
        CommandState::Status(board) => commands::render_status(&board),
        CommandState::Health(h) => commands::render_health(&h.functions, &h.queues, h.notifier_last_ok, now),
    };
    let respond = Effect::Respond { marker: format!("resp#{dedup_key}"), response_url: command.response_url.clone(), body };
    Plan::chain(format!("/pulser {} by {}", command.action.name(), command.user_id), vec![respond])
}

// ---- subscriptions ----

/// Project a subscription change (the store applies it only when its revision is newer).
pub fn subscription_changed(ev: SubscriptionChanged) -> Plan {
    Plan::chain(format!("subscription of {}", ev.slack_user_id), vec![Effect::ApplySubscription(ev)])
}

/// praktika's last-notified keys as ledger entries, and the keys that name no kind.
pub fn imported(import: &SubscriptionImported) -> (Plan, Vec<String>) {
    let (entries, refused) = import::ledger_entries(import);
    let source = format!("s3://{}/{}", import.source.bucket, import.source.key);
    let context = serde_json::json!({ "imported_from": source, "source_etag": import.source.etag });
    let effects = entries.into_iter().map(|e| Effect::RecordImported { key: e.ledger_key, context: context.clone() }).collect();
    (Plan::chain(format!("import of {}", import.slack_user_id), effects), refused)
}

#[cfg(test)]
mod tests;
