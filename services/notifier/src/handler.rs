//! The notifier's handler: for each event, read the state its decision needs ([`crate::gather`],
//! [`HealthProbe`]), decide ([`crate::decide`], pure), and hand the plan to the [`Executor`].
//! Nothing here posts, writes or publishes by itself.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_contracts::{CommandAction, Event, InteractionKind, SlackCommand, SlackInteraction};
use pulse_core::{Clock, Ids};
use pulse_runtime::{Accept, Attempt, HandlerError, MessageHandler, not_consumed};
use tracing::{info, warn};

use crate::config::Config;
use crate::decide::{self, CommandState, Health};
use crate::delivery::Deliverer;
use crate::dm::DmDecision;
use crate::execute::{Executor, Outcome, Report};
use crate::gather::{self, Feeds};
use crate::github;
use crate::groups::UserGroups;
use crate::health::HealthProbe;
use crate::ops::OpsAction;
use crate::plan::Plan;
use crate::policy::GithubAccess;
use crate::sinks::ExternalSinks;

pub use crate::execute::SOURCE;

pub struct Notifier {
    config: Config,
    executor: Executor,
    /// Where feeds are read for digests (`None`: digests are skipped, purges still run).
    feeds: Option<Feeds>,
    /// How long soft-deleted subscriptions are kept (30 days).
    retention: chrono::Duration,
    /// For `/pulser health`.
    health: Option<HealthProbe>,
    clock: Clock,
    ids: Ids,
    /// When `health#` was last written, to write it at most every 30 s.
    last_ok_written: Mutex<Option<Instant>>,
    /// The policy's user groups, resolved through Slack.
    groups: UserGroups,
}

impl Notifier {
    pub fn new(config: Config, deliverer: Deliverer, publisher: EventPublisher) -> Self {
        let groups = UserGroups::new(deliverer.slack().clone());
        Self {
            groups,
            config,
            executor: Executor::new(deliverer, publisher),
            feeds: None,
            retention: chrono::Duration::days(30),
            health: None,
            clock: Clock::system(),
            ids: Ids::random(),
            last_ok_written: Mutex::new(None),
        }
    }

    /// Read feeds (for digests) from this store, under praktika's `prefix`.
    pub fn with_feeds(mut self, feeds: Feeds) -> Self {
        self.feeds = Some(feeds);
        self
    }

    /// Keep soft-deleted subscriptions this long before purging them.
    pub fn with_retention(mut self, retention: chrono::Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Send digests to Discord webhooks and e-mail (see `config.rs`).
    pub fn with_external_sinks(mut self, sinks: ExternalSinks) -> Self {
        self.executor = self.executor.with_sinks(sinks);
        self
    }

    /// Let `/pulser health` read the stack's functions and queues.
    pub fn with_health(mut self, sqs: aws_sdk_sqs::Client, lambda: aws_sdk_lambda::Client, names: StackNames) -> Self {
        self.health = Some(HealthProbe::new(sqs, lambda, names));
        self
    }

    /// Re-run failed GitHub Actions jobs through this client, its credentials looked up on
    /// first use (the button refuses without any).
    pub fn with_github(mut self, github: pulse_github::LazyClient) -> Self {
        self.executor = self.executor.with_github(github);
        self
    }

    /// Take the time and fresh ids from these (the system clock and random ids otherwise).
    pub fn with_clock(mut self, clock: Clock, ids: Ids) -> Self {
        self.executor = self.executor.with_clock(clock.clone(), ids.clone());
        self.clock = clock;
        self.ids = ids;
        self
    }

    pub fn deliverer(&self) -> &Deliverer {
        &self.executor.deliverer
    }

    fn store(&self) -> &crate::store::Store {
        self.executor.deliverer.store()
    }

    /// Read, decide, carry out.
    async fn dispatch(&self, attempt: &Attempt, event: Event) -> Result<(), HandlerError> {
        let (dedup_key, at) = (attempt.meta.dedup_key.as_str(), attempt.meta.occurred_at);
        let plan = match event {
            Event::SubscriptionChangedV1(ev) => decide::subscription_changed(ev),
            Event::OpsAlertV1(alert) => decide::ops_alert(&self.config, alert, at),
            Event::CiJobV1(job) | Event::CiJobV2(pulse_contracts::CiJobV2(job)) => decide::job(&self.config, &job),
            Event::UserRegisteredV1(user) => decide::user_registered(&self.config, &user),
            Event::DeployStatusV1(status) => decide::deploy_status(&self.config, &status),
            Event::SlackInteractionV1(i) => self.interaction_plan(&i, dedup_key, at).await?,
            Event::SlackCommandV1(c)
            | Event::SlackCommandV2(pulse_contracts::SlackCommandV2(c))
            | Event::SlackCommandV3(pulse_contracts::SlackCommandV3(c)) => self.command_plan(&c, dedup_key, at).await?,
            Event::GithubWorkflowRunV1(ev) => {
                let attempt = ev.run.run_attempt;
                let mut plan = self.run_plan(&ev.repository, ev.run.id, attempt, |state| state.merge_run(&ev)).await?;
                let (branches, author) = gather::github_branches(self.store(), &ev).await?;
                for chain in github::transitions::plan(&ev.repository, &ev.run, &branches, author.as_deref()) {
                    plan.push(chain);
                }
                plan
            }
            Event::GithubWorkflowJobV1(ev) => {
                let (run_id, attempt) = (ev.job.run_id, ev.job.run_attempt);
                self.run_plan(&ev.repository, run_id, attempt, |state| state.merge_job(&ev)).await?
            }
            Event::FeedUpdatedV1(update) => {
                let email = update.email.as_str();
                let subscribers = gather::subscribers(self.store(), email, &update.newest_event).await?;
                let decisions = decide::dm_decisions(&update.newest_event, &subscribers);
                log_dm_decisions(&decisions);
                decide::dms(&decisions)
            }
            Event::DigestTickV1(tick) => {
                let subscribers = self.store().all_subscribers().await.map_err(HandlerError::retryable)?;
                let feeds = match &self.feeds {
                    None => {
                        warn!("no feed location configured; digests skipped");
                        None
                    }
                    Some(feeds) => Some(feeds.read(&decide::digest_emails(&self.config, tick.period, &subscribers)).await?),
                };
                let plan = decide::digest(&self.config, &tick, self.clock.now(), self.retention, &subscribers, feeds.as_ref());
                let report = self.executor.run(plan).await;
                log_digest_run(tick.period.as_str(), &report);
                return report.into_result();
            }
            Event::SubscriptionImportedV1(import) => {
                let (plan, refused) = decide::imported(&import);
                if !refused.is_empty() {
                    warn!(user = %import.slack_user_id, ?refused, "imported last-notified keys that name no kind; not recorded");
                }
                if let Some(channel) = &import.dm_channel_id {
                    info!(user = %import.slack_user_id, praktika_dm_channel = %channel, "praktika's cached DM channel not used: the notifier opens its own (conversations.open)");
                }
                plan
            }
            Event::PersonForgetV1(request) => {
                let (user, email) =
                    (request.slack_user_id.as_deref().filter(|u| !u.is_empty()), request.email.as_ref().map(|e| e.as_str()));
                let found = self.store().forget_candidates(user, email).await.map_err(HandlerError::retryable)?;
                info!(request_id = %request.request_id, dry_run = request.dry_run, items = found.len(), "forgetting a person");
                let store = self.store();
                crate::forget::plan(&request, &found, store.messages_table(), store.audit_table(), at)
            }
            other => {
                return Err(HandlerError::rejected(format!("the notifier accepted `{}` but has no handling for it", other.event_type())));
            }
        };
        self.executor.run(plan).await.into_result()
    }

    /// An ops button click, or the deploy modal's submission.
    async fn interaction_plan(
        &self,
        i: &SlackInteraction,
        dedup_key: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Plan, HandlerError> {
        if let InteractionKind::ViewSubmission { callback_id, private_metadata, values, .. } = &i.kind {
            return match crate::deploy::confirmed_deploy(callback_id, private_metadata, values) {
                None => Ok(Plan::none()),
                Some(Err(reason)) => Err(HandlerError::rejected(reason)),
                Some(Ok(deploy)) => {
                    let groups = self.config.policy.groups_for(&decide::deploy_policy_request(i, &deploy));
                    let member_of = self.member_of(&i.user_id, &groups).await?;
                    let remembered = gather::remembered_deploy(self.store(), dedup_key).await?;
                    Ok(decide::confirmed_deploy(
                        &self.config.policy,
                        i,
                        dedup_key,
                        at,
                        deploy,
                        &member_of,
                        decide::DeployId { remembered, fresh: self.ids.uuid() },
                    ))
                }
            };
        }
        if let Some(click) = crate::github::rerun::click(i) {
            let click = click.map_err(HandlerError::rejected)?;
            let unasked = crate::github::rerun::policy_request(&click, GithubAccess::NotAsked);
            let member_of = self.member_of(&click.actor.user_id, &self.config.policy.groups_for(&unasked)).await?;
            let client = self.executor.github().await;
            let github = match client {
                Some(client) if self.config.policy.needs_github(&unasked, &member_of) => {
                    gather::github_access(self.store(), client, &i.team_id, &click.actor.user_id, &click.target.repo).await?
                }
                _ => GithubAccess::NotAsked,
            };
            let configured = client.is_some();
            return Ok(crate::github::rerun::decide(&self.config.policy, click, dedup_key, at, &member_of, github, configured));
        }
        let request = match decide::click_request(i) {
            None => return Ok(Plan::none()),
            Some(request) => request.map_err(HandlerError::rejected)?,
        };
        let mut state = gather::click_state(self.store(), &request.alert_id).await?;
        if let Some(alert) = &state.alert {
            let groups = self.config.policy.groups_for(&decide::click_policy_request(&request, alert));
            state.member_of = self.member_of(&request.actor.user_id, &groups).await?;
        }
        decide::ops_click(&self.config.policy, request, dedup_key, at, state, self.ids.uuid()).map_err(HandlerError::rejected)
    }

    /// A GitHub run or job delivery: merge it into the run's stored state, then plan its
    /// channel messages.
    async fn run_plan(
        &self,
        repository: &str,
        run_id: u64,
        attempt: u32,
        merge: impl FnOnce(&mut github::run::RunState) -> bool,
    ) -> Result<Plan, HandlerError> {
        let read = gather::github_run(self.store(), github::runs::RunRef::new(repository, run_id), attempt).await?;
        let mut state = read.state;
        let changed = merge(&mut state);
        Ok(github::runs::plan(&github::runs::RunInput {
            run: read.run,
            attempt,
            state: &state,
            changed,
            version: read.version,
            subscriptions: &read.subscriptions,
            first_attempt_ts: &read.first_attempt_ts,
        }))
    }

    /// Which of the policy's `groups` `user` is in (no Slack call when there are none).
    async fn member_of(&self, user: &str, groups: &BTreeSet<String>) -> Result<BTreeSet<String>, HandlerError> {
        if groups.is_empty() {
            return Ok(BTreeSet::new());
        }
        self.groups.member_of(user, groups).await.map_err(|e| HandlerError::retryable(format!("resolving the policy's user groups: {e}")))
    }

    /// `/pulser status` and `/pulser health`; a channel's repository subscriptions.
    async fn command_plan(&self, command: &SlackCommand, dedup_key: &str, at: chrono::DateTime<chrono::Utc>) -> Result<Plan, HandlerError> {
        if github::commands::is_repo_command(&command.action) {
            let current = match command.channel_id.as_str() {
                "" => Vec::new(),
                channel => self.store().channel_repo_subscriptions(channel).await.map_err(HandlerError::retryable)?,
            };
            return Ok(github::commands::plan(command, dedup_key, at, &current).unwrap_or_default());
        }
        let state = match decide::command_needs(command) {
            None => return Ok(Plan::none()),
            Some(CommandAction::Status) => CommandState::Status(self.store().status_board().await.map_err(HandlerError::retryable)?),
            Some(_) => {
                let (functions, queues) = match &self.health {
                    Some(probe) => (probe.functions().await, probe.queues().await),
                    None => (Vec::new(), Vec::new()),
                };
                let notifier_last_ok = self.store().last_ok().await.map_err(HandlerError::retryable)?;
                CommandState::Health(Health { functions, queues, notifier_last_ok })
            }
        };
        Ok(decide::command(command, dedup_key, state, self.clock.now()))
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
        if let Err(err) = self.store().record_last_ok(self.clock.now()).await {
            warn!(error = %err, "could not record the last successful event");
        }
    }
}

fn log_dm_decisions(decisions: &[(String, DmDecision)]) {
    for (user, decision) in decisions {
        match decision {
            DmDecision::NotWanted => {}
            DmDecision::AlreadySent { kinds } => info!(user, ?kinds, "DM already sent"),
            DmDecision::Record { keys, covered_by, .. } => info!(user, ?keys, %covered_by, "DM already sent; its other keys recorded"),
            DmDecision::Send(dm) => info!(user, dedup_key = %dm.key, covers = ?dm.covers, "DM to send"),
        }
    }
}

/// The digest run's counts (processed, sent, failed, purged), and nothing about recipients'
/// destinations.
fn log_digest_run(period: &str, report: &Report) {
    let digests = report.chains.iter().filter(|c| c.label.starts_with("digest to "));
    let (mut processed, mut failed, mut sent) = (0, 0, 0);
    for chain in digests {
        processed += 1;
        match &chain.result {
            Err(_) => failed += 1,
            Ok(outcomes) => {
                sent += outcomes.iter().filter(|o| matches!(o, Outcome::Delivered(crate::delivery::Delivered::Posted(_)))).count()
            }
        }
    }
    let purged = report
        .chains
        .iter()
        .filter(|c| c.label.starts_with("purge "))
        .filter(|c| matches!(c.result.as_deref(), Ok([Outcome::Written(true)])))
        .count();
    info!(period, processed, sent, failed, purged, "digest run");
}

/// Whether a slash command or an interaction is the notifier's: `/pulser status|health`, the
/// repository subscription commands, the ops
/// buttons and the deploy modal's submission. `/praktika` commands and the Home tab's buttons are
/// the home-renderer's; `/pulser deploy`'s modal is opened by ingress (its submission comes back
/// as a `slack.interaction`).
fn is_ours(event: &Event) -> bool {
    match event {
        Event::SlackCommandV1(c)
        | Event::SlackCommandV2(pulse_contracts::SlackCommandV2(c))
        | Event::SlackCommandV3(pulse_contracts::SlackCommandV3(c)) => {
            decide::command_needs(c).is_some() || github::commands::is_repo_command(&c.action)
        }
        Event::SlackInteractionV1(i) => match &i.kind {
            InteractionKind::BlockActions { action_id, .. } => {
                OpsAction::from_action_id(action_id).is_some() || action_id == crate::github::rerun::ACTION_ID
            }
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
            Event::SlackCommandV1(_) | Event::SlackCommandV2(_) | Event::SlackCommandV3(_) | Event::SlackInteractionV1(_)
                if !is_ours(&event) =>
            {
                Accept::Ignore(format!("this `{}` is another service's", event.event_type()))
            }
            Event::SubscriptionChangedV1(_)
            | Event::FeedUpdatedV1(_)
            | Event::OpsAlertV1(_)
            | Event::SlackInteractionV1(_)
            | Event::CiJobV1(_)
            | Event::CiJobV2(_)
            | Event::UserRegisteredV1(_)
            | Event::DeployStatusV1(_)
            | Event::SlackCommandV1(_)
            | Event::SlackCommandV2(_)
            | Event::SlackCommandV3(_)
            | Event::DigestTickV1(_)
            | Event::SubscriptionImportedV1(_)
            | Event::PersonForgetV1(_)
            | Event::GithubWorkflowRunV1(_)
            | Event::GithubWorkflowJobV1(_) => Accept::Consume(event),
            other => not_consumed(self.service(), &other),
        }
    }

    async fn handle(&self, attempt: &Attempt, event: Event) -> Result<(), HandlerError> {
        // Boxed: the plans' futures are large, and the runtime's own future holds this one.
        let result = Box::pin(self.dispatch(attempt, event)).await;
        if result.is_ok() {
            self.touch().await;
        }
        result
    }
}
