//! The one executor: carries a [`Plan`] out, effect by effect, through the message ledger
//! ([`Deliverer`]), the notifier's tables, the bus and the digest sinks. It decides nothing: what
//! to do is in the plan; how each effect is done exactly once is here and in `delivery.rs`.
//!
//! Chains run one after another; a chain stops at its first failure and the next one still
//! runs (see `plan.rs`). Within a chain the executor remembers each post's outcome by key, to
//! reply in its thread or record other keys as it. Clock and ids are injected: they stamp the
//! events it publishes and the records it writes.

use std::collections::HashMap;

use pulse_aws::eventbridge::EventPublisher;
use pulse_contracts::Event;
use pulse_core::{Clock, Ids};
use pulse_runtime::HandlerError;
use tracing::{info, warn};

use crate::delivery::{Delivered, Deliverer, DeliveryError, Outgoing};
use crate::plan::{Chain, Covering, Effect, Message, Plan, Post, Sink, To};
use crate::sinks::ExternalSinks;
use crate::store::StoreError;
use crate::subscriptions::Applied;

/// The envelope `source` of events this service publishes.
pub const SOURCE: &str = "pulse.notifier";

/// How long a command's answered-marker and a remembered deploy id are kept.
const ANSWERED_TTL_SECS: i64 = 86_400;
const REMEMBERED_DEPLOY_TTL_SECS: i64 = 30 * 86_400;

/// What one effect did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A post or external delivery: posted now, earlier, or taken as delivered.
    Delivered(Delivered),
    /// A record, projection, purge or answer: whether it was written now (false: it was
    /// already, or a newer one was).
    Written(bool),
    /// An update or a publish.
    Done,
}

/// One chain's result.
#[derive(Debug)]
pub struct ChainReport {
    pub label: String,
    pub result: Result<Vec<Outcome>, HandlerError>,
}

/// What a plan did.
#[derive(Debug, Default)]
pub struct Report {
    pub chains: Vec<ChainReport>,
}

impl Report {
    /// Every outcome of every chain that succeeded.
    pub fn outcomes(&self) -> impl Iterator<Item = &Outcome> {
        self.chains.iter().filter_map(|c| c.result.as_ref().ok()).flatten()
    }

    /// Ok when every chain succeeded; else every failure, combined (a wait for another
    /// attempt's lease only when nothing else failed).
    pub fn into_result(self) -> Result<(), HandlerError> {
        let failures: Vec<HandlerError> = self.chains.into_iter().filter_map(|c| c.result.err()).collect();
        HandlerError::combine(failures).map_or(Ok(()), Err)
    }
}

fn store_error(err: StoreError) -> HandlerError {
    HandlerError::retryable(err)
}

/// A message another attempt is sending comes back when that attempt's ledger lease ends (the
/// runtime puts the event back until then); any other delivery failure is retried.
pub(crate) fn delivery_error(err: DeliveryError) -> HandlerError {
    match err {
        DeliveryError::InProgress { until_ms, .. } => HandlerError::Wait {
            reason: err.to_string(),
            until: pulse_runtime::Deadline::from_unix_ms(u64::try_from(until_ms).unwrap_or(0)),
        },
        err => HandlerError::retryable(err),
    }
}

pub struct Executor {
    pub(crate) deliverer: Deliverer,
    publisher: EventPublisher,
    pub(crate) sinks: ExternalSinks,
    pub(crate) clock: Clock,
    ids: Ids,
    /// GitHub's REST API, for the re-run button, its credentials looked up on first use.
    github: pulse_github::LazyClient,
}

impl Executor {
    pub fn new(deliverer: Deliverer, publisher: EventPublisher) -> Self {
        Self {
            deliverer,
            publisher,
            sinks: ExternalSinks::default(),
            clock: Clock::system(),
            ids: Ids::random(),
            github: pulse_github::LazyClient::none(),
        }
    }

    pub fn with_github(mut self, github: pulse_github::LazyClient) -> Self {
        self.github = github;
        self
    }

    /// GitHub's client, or `None` when no credentials are configured. A configuration error (a
    /// key without an id, say) is logged on every use and read as none: the button then
    /// answers that re-runs are not set up rather than failing the click.
    pub(crate) async fn github(&self) -> Option<&pulse_github::GithubClient> {
        match self.github.get().await {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(error = %err, "the GitHub credentials are misconfigured; re-runs are off");
                None
            }
        }
    }

    pub fn with_sinks(mut self, sinks: ExternalSinks) -> Self {
        self.sinks = sinks;
        self
    }

    pub fn with_clock(mut self, clock: Clock, ids: Ids) -> Self {
        self.deliverer = self.deliverer.with_clock(clock.clone(), ids.clone());
        self.clock = clock;
        self.ids = ids;
        self
    }

    /// Every chain, in order; a failed chain does not stop the next.
    pub async fn run(&self, plan: Plan) -> Report {
        let mut report = Report::default();
        for chain in plan.chains {
            let Chain { label, effects } = chain;
            let result = self.run_chain(&label, effects).await;
            if let Err(err) = &result {
                warn!(chain = %label, error = %err, "effects stopped at a failure; the event is retried");
            }
            report.chains.push(ChainReport { label, result });
        }
        report
    }

    async fn run_chain(&self, label: &str, effects: Vec<Effect>) -> Result<Vec<Outcome>, HandlerError> {
        let mut posted: HashMap<String, Delivered> = HashMap::new();
        let mut outcomes = Vec::with_capacity(effects.len());
        for effect in effects {
            let post_key = match &effect {
                Effect::Post(post) => Some(post.key.clone()),
                _ => None,
            };
            // Boxed: each effect's future is large, and a plan's chain awaits many of them.
            let outcome = Box::pin(self.apply(label, effect, &posted)).await?;
            if let (Some(key), Outcome::Delivered(delivered)) = (post_key, &outcome) {
                posted.insert(key, delivered.clone());
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// One effect.
    async fn apply(&self, label: &str, effect: Effect, posted: &HashMap<String, Delivered>) -> Result<Outcome, HandlerError> {
        Ok(match effect {
            Effect::Post(post) => {
                let key = post.key.clone();
                let delivered = self.post(post, posted).await?;
                info!(chain = label, dedup_key = %key, outcome = ?delivered, "message delivered");
                Outcome::Delivered(delivered)
            }
            Effect::RecordCovered { keys, covered_by, covering, context } => {
                let message = match covering {
                    Covering::Known(posted) => posted.map(|p| (p.channel, p.ts)),
                    Covering::ThisChain => {
                        let delivered = posted
                            .get(&covered_by)
                            .ok_or_else(|| HandlerError::retryable(format!("{covered_by} was not delivered in this chain")))?;
                        delivered.message().map(|m| (m.channel.clone(), m.ts.clone()))
                    }
                };
                let now = self.clock.now_ms();
                for key in &keys {
                    let message = message.as_ref().map(|(c, t)| (c.as_str(), t.as_str()));
                    self.store().record_covered(key, &covered_by, message, &context, now).await.map_err(store_error)?;
                }
                info!(chain = label, ?keys, %covered_by, "keys recorded as the message that covers them");
                Outcome::Written(true)
            }
            Effect::Update { channel, ts, content } => {
                let (text, blocks) = content.into_parts();
                self.deliverer.slack().chat_update(&channel, &ts, &text, Some(blocks)).await.map_err(HandlerError::retryable)?;
                Outcome::Done
            }
            Effect::Adopt { key, channel, ts } => {
                self.store().record_existing(&key, &channel, &ts, self.clock.now_ms()).await.map_err(store_error)?;
                Outcome::Written(true)
            }
            Effect::Audit(click) => {
                let written = self.store().audit_click(&click).await.map_err(store_error)?;
                let outcome = if click.refused.is_some() { "refused" } else { "allowed" };
                info!(service = click.subject.service(), action = click.act.as_str(), user = %click.actor.user_id, outcome, written, "attempt to act audited");
                Outcome::Written(written)
            }
            Effect::RememberDeploy { marker, deploy_id } => Outcome::Written(self.remember_deploy(&marker, deploy_id).await?),
            Effect::Publish { event, dedup_key } => {
                self.publish(*event, dedup_key).await?;
                Outcome::Done
            }
            Effect::Respond { marker, response_url, body } => {
                let body = body.to_json();
                Outcome::Written(self.answer_once(&marker, self.deliverer.slack().post_response_url(&response_url, &body)).await?)
            }
            Effect::Ephemeral { marker, channel, user, text } => {
                Outcome::Written(self.answer_once(&marker, self.deliverer.slack().chat_post_ephemeral(&channel, &user, &text, None)).await?)
            }
            Effect::RecordStatus(entry) => {
                self.store().record_status(&entry).await.map_err(store_error)?;
                Outcome::Written(true)
            }
            Effect::ApplySubscription(ev) => {
                let applied = self.store().apply_subscription(&ev).await.map_err(store_error)?;
                info!(user = %ev.slack_user_id, revision = ev.revision, ?applied, "subscription projected");
                Outcome::Written(applied == Applied::Applied)
            }
            Effect::Purge(sub) => Outcome::Written(self.store().purge_subscription(&sub, self.clock.now()).await.map_err(store_error)?),
            Effect::RecordImported { key, context } => {
                let recorded = self.store().record_imported(&key, &context, self.clock.now_ms()).await.map_err(store_error)?;
                info!(dedup_key = %key, recorded, "praktika's last DM recorded as sent");
                Outcome::Written(recorded)
            }
            Effect::Deliver { key, destination, sink } => Outcome::Delivered(self.deliver_external(&key, &destination, &sink).await?),
            Effect::Forget(step) => Outcome::Written(self.store().forget_step(&step).await.map_err(store_error)?),
            Effect::RepoSubscription(change) => {
                let written = self.store().apply_repo_subscription(&change).await.map_err(store_error)?;
                let subscribed = change.filter.is_some();
                info!(channel = %change.channel, repository = %change.repository, subscribed, written, "repository subscription stored");
                Outcome::Written(written)
            }
            Effect::SaveRun { run, state, expected } => {
                self.store().save_run(&run, &state, expected, self.clock.now_secs()).await.map_err(HandlerError::retryable)?;
                Outcome::Written(true)
            }
            Effect::SaveBranch { at, state, expected } => {
                self.store().save_branch(&at, &state, expected).await.map_err(HandlerError::retryable)?;
                Outcome::Written(true)
            }
            Effect::ShowRun { key, channel, thread_ts, content } => self.show_run(&key, channel, thread_ts, content).await?,
            Effect::Rerun(rerun) => Outcome::Written(self.rerun(rerun).await?),
            Effect::CheckRun { run, version } => {
                let stored = self.store().run_version(&run).await.map_err(store_error)?;
                if stored > version {
                    return Err(HandlerError::retryable(format!(
                        "run {} of {} moved to version {stored} while version {version} was shown; showing the newest",
                        run.run_id, run.repository
                    )));
                }
                Outcome::Done
            }
        })
    }

    /// A run attempt's message: posted once through the ledger, else updated in place.
    async fn show_run(&self, key: &str, channel: String, thread_ts: Option<String>, content: Message) -> Result<Outcome, HandlerError> {
        let (text, blocks) = content.into_parts();
        let message = Outgoing { channel, text, blocks: Some(blocks), thread_ts };
        let delivered = self.deliverer.deliver(key, &message, None).await.map_err(delivery_error)?;
        if let Delivered::AlreadySent(posted) = &delivered {
            self.deliverer.pacer.wait(&posted.channel).await;
            self.deliverer
                .slack()
                .chat_update(&posted.channel, &posted.ts, &message.text, message.blocks.clone())
                .await
                .map_err(HandlerError::retryable)?;
            info!(dedup_key = %key, channel = %posted.channel, ts = %posted.ts, "run message updated in place");
        }
        Ok(Outcome::Delivered(delivered))
    }

    pub(crate) fn store(&self) -> &crate::store::Store {
        self.deliverer.store()
    }

    /// A post through the ledger, to its channel or the user's DM, in the thread of an earlier
    /// post of the chain when it is a reply.
    async fn post(&self, post: Post, posted: &HashMap<String, Delivered>) -> Result<Delivered, HandlerError> {
        let Post { key, to, thread, content, context } = post;
        let mut channel = match to {
            To::Channel(channel) => channel,
            To::Dm(user) => self.dm_channel(&user).await?,
        };
        let mut thread_ts = None;
        if let Some(parent) = thread {
            let parent = posted
                .get(&parent)
                .ok_or_else(|| HandlerError::retryable(format!("{key} replies to {parent}, not delivered in this chain")))?;
            // Without a confirmed parent ts (UNCONFIRMED), the reply goes to the channel itself.
            if let Some(m) = parent.message() {
                channel = m.channel.clone();
                thread_ts = Some(m.ts.clone());
            }
        }
        let (text, blocks) = content.into_parts();
        let message = Outgoing { channel, text, blocks: Some(blocks), thread_ts };
        self.deliverer.deliver(&key, &message, context.as_ref()).await.map_err(delivery_error)
    }

    /// The user's DM channel: `conversations.open` once, then the cached id.
    async fn dm_channel(&self, user: &str) -> Result<String, HandlerError> {
        let pk = format!("dm#{user}");
        if let Some(channel) = self.store().get_value(&pk, "channel").await.map_err(store_error)? {
            return Ok(channel);
        }
        let channel = self.deliverer.slack().conversations_open(&[user]).await.map_err(HandlerError::retryable)?;
        self.store().put_value(&pk, "channel", &channel, None).await.map_err(store_error)?;
        Ok(channel)
    }

    async fn publish(&self, event: Event, dedup_key: String) -> Result<(), HandlerError> {
        let envelope = event.into_envelope(SOURCE, dedup_key, self.ids.uuid(), self.clock.now());
        self.publisher.publish_one(&envelope.to_raw()).await.map_err(HandlerError::retryable)?;
        info!(event_type = %envelope.event_type, dedup_key = %envelope.dedup_key, "event published");
        Ok(())
    }

    /// Remember `deploy_id` under `marker` unless an id is remembered there; a different id
    /// remembered meanwhile means another attempt decided first: retry, and decide again.
    async fn remember_deploy(&self, marker: &str, deploy_id: uuid::Uuid) -> Result<bool, HandlerError> {
        let expires = self.clock.now_secs() + REMEMBERED_DEPLOY_TTL_SECS;
        if self.store().put_value_if_absent(marker, "deploy_id", &deploy_id.to_string(), expires).await.map_err(store_error)? {
            return Ok(true);
        }
        let stored = self.store().get_value(marker, "deploy_id").await.map_err(store_error)?;
        match stored.and_then(|v| v.parse::<uuid::Uuid>().ok()) {
            Some(id) if id == deploy_id => Ok(false),
            _ => Err(HandlerError::retryable(format!("another attempt chose the deploy id under {marker}"))),
        }
    }

    /// An ephemeral answer, once per `marker`: the marker is claimed before answering, so a
    /// redelivered or concurrently delivered request is answered once; a failed answer drops
    /// the marker so the retry answers (an answer lost in flight may then repeat: ephemeral,
    /// harmless).
    pub(crate) async fn answer_once<T>(
        &self,
        marker: &str,
        answer: impl Future<Output = Result<T, pulse_slack::SlackError>>,
    ) -> Result<bool, HandlerError> {
        let expires = self.clock.now_secs() + ANSWERED_TTL_SECS;
        if !self.store().put_value_if_absent(marker, "answered", "1", expires).await.map_err(store_error)? {
            info!(marker, "already answered");
            return Ok(false);
        }
        if let Err(err) = answer.await {
            if let Err(e) = self.store().delete_value(marker, "answered").await {
                warn!(error = %e, "could not drop the answer marker; the request will not be answered again");
            }
            return Err(HandlerError::retryable(err));
        }
        info!(marker, "answered");
        Ok(true)
    }

    async fn deliver_external(&self, key: &str, destination: &str, sink: &Sink) -> Result<Delivered, HandlerError> {
        match sink {
            Sink::Discord { url, body } => {
                let secret = self
                    .sinks
                    .secret(url)
                    .await
                    .map_err(|why| HandlerError::retryable(format!("{destination}: webhook URL unavailable: {why}")))?;
                let send = || self.sinks.discord.send(&secret, body);
                let delivered = self.deliverer.deliver_external(key, destination, send).await;
                if delivered.is_err() {
                    self.sinks.forget(url);
                }
                delivered.map_err(delivery_error)
            }
            Sink::Email { to, mail } => {
                let Some(email) = &self.sinks.email else {
                    return Err(HandlerError::retryable(format!("{destination}: no e-mail sender (set `email_from`)")));
                };
                let send = || email.send(to, mail);
                self.deliverer.deliver_external(key, destination, send).await.map_err(delivery_error)
            }
        }
    }
}
