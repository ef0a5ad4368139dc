//! `digest.tick`: each subscriber whose preference asks for this period gets a DM digest of
//! their feed, each configured channel, Discord webhook and e-mail list one of its feeds; on the
//! daily tick, soft-deleted
//! subscriptions past retention are purged (each purge audited). Every digest is a ledger
//! message keyed by (period, scheduled time, recipient), so a retried tick sends only what is
//! missing. The run logs its counts (processed, sent, failed, purged) and nothing else about
//! recipients' destinations.

use std::collections::BTreeMap;

use pulse_aws::s3json::GzipJsonStore;
use pulse_aws::secrets::{SecretString, Secrets};
use pulse_contracts::praktika::{EventFeed, FeedEvent};
use pulse_contracts::{DigestPeriod, DigestTick};
use pulse_runtime::HandlerError;
use tracing::{info, warn};

use crate::config::SecretRef;
use crate::delivery::{Delivered, Outgoing};
use crate::digest;
use crate::handler::{Notifier, delivery_error};
use crate::sinks::{Discord, Email};

/// The feeds bucket and where in it the feeds are.
pub struct Feeds {
    pub store: GzipJsonStore,
    pub location: pulse_contracts::feed_layout::FeedLocation,
}

/// What digests outside Slack go through.
#[derive(Debug, Clone)]
pub struct ExternalSinks {
    pub discord: Discord,
    /// `None` without `email_from`: e-mail digests fail with that reason.
    pub email: Option<Email>,
    /// Where webhook URLs are read (`url.ssm`).
    pub secrets: Option<Secrets>,
}

impl Default for ExternalSinks {
    fn default() -> Self {
        Self { discord: Discord::new(std::time::Duration::from_secs(10)), email: None, secrets: None }
    }
}

impl ExternalSinks {
    /// A webhook URL: the environment variable when set and non-empty, else the SSM parameter.
    /// Errors name where it looked, never a value.
    async fn secret(&self, r: &SecretRef) -> Result<SecretString, String> {
        if let Some(value) = r.env.as_deref().and_then(|v| std::env::var(v).ok()).filter(|v| !v.is_empty()) {
            return Ok(SecretString::new(value));
        }
        match (&r.ssm, &self.secrets) {
            (Some(parameter), Some(secrets)) => secrets.get(parameter).await.map_err(|e| e.to_string()),
            (Some(parameter), None) => Err(format!("no SSM client to read parameter {parameter}")),
            (None, _) => Err(format!("environment variable {} is not set", r.env.as_deref().unwrap_or("?"))),
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    processed: usize,
    sent: usize,
    failed: usize,
    purged: usize,
}

impl Notifier {
    async fn feed_events(&self, feeds: &Feeds, email: &str) -> Result<Vec<FeedEvent>, HandlerError> {
        let key = feeds.location.key(email);
        let feed = feeds.store.get::<EventFeed>(&key).await.map_err(|e| HandlerError::retryable(format!("reading feed {key}: {e}")))?;
        Ok(feed.map(|v| v.value.events).unwrap_or_default())
    }

    /// The events of several feeds together.
    async fn feeds_of(&self, feeds: &Feeds, emails: &[String]) -> Result<Vec<FeedEvent>, HandlerError> {
        let mut events = Vec::new();
        for email in emails {
            events.extend(self.feed_events(feeds, email).await?);
        }
        Ok(events)
    }

    pub(crate) async fn on_digest_tick(&self, tick: &DigestTick) -> Result<(), HandlerError> {
        let now = chrono::Utc::now();
        let subscribers = self.deliverer.store().all_subscribers().await.map_err(HandlerError::retryable)?;
        let mut counts = Counts::default();
        let mut errors = Vec::new();

        if tick.period == DigestPeriod::Daily {
            for sub in subscribers.iter().filter(|s| !s.subscribed && digest::purge_due(s.deleted_at, now, self.retention)) {
                match self.deliverer.store().purge_subscription(sub, now).await {
                    Ok(true) => counts.purged += 1,
                    Ok(false) => {}
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }

        let window = digest::window(tick);
        match &self.feeds {
            None => warn!("no feed location configured; digests skipped"),
            Some(feeds) => {
                let mut by_email: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
                for sub in subscribers.iter().filter(|s| s.subscribed && s.preferences.wants_digest(tick.period)) {
                    by_email.entry(sub.email.as_str()).or_default().push(sub.slack_user_id.as_str());
                }
                for (email, users) in by_email {
                    let events = self.feed_events(feeds, email).await?;
                    let summary = digest::summarize(&events, window);
                    for user in users {
                        counts.processed += 1;
                        let result = async {
                            let channel = self.dm_channel(user).await?;
                            self.send_digest(tick, user, channel, email, &summary).await
                        }
                        .await;
                        tally(&mut counts, &mut errors, result);
                    }
                }
                for dc in self.config.digest_channels.iter().filter(|c| c.period == tick.period) {
                    counts.processed += 1;
                    let summary = digest::summarize(&self.feeds_of(feeds, &dc.emails).await?, window);
                    let result = self.send_digest(tick, &dc.channel, dc.channel.clone(), &dc.emails.join(", "), &summary).await;
                    tally(&mut counts, &mut errors, result);
                }
                for hook in self.config.digest_webhooks.iter().filter(|w| w.period == tick.period) {
                    counts.processed += 1;
                    let summary = digest::summarize(&self.feeds_of(feeds, &hook.emails).await?, window);
                    let body = digest::render_discord(&hook.emails.join(", "), tick.period, &summary);
                    let destination = format!("discord:{}", hook.name);
                    let result = match self.sinks.secret(&hook.url).await {
                        Err(why) => Err(HandlerError::retryable(format!("{destination}: webhook URL unavailable: {why}"))),
                        Ok(url) => {
                            let send = || self.sinks.discord.send(&url, &body);
                            self.deliverer.deliver_external(&digest::ledger_key(tick, &destination), &destination, send).await.map_err(delivery_error)
                        }
                    };
                    tally(&mut counts, &mut errors, result);
                }
                for mail in self.config.digest_emails.iter().filter(|m| m.period == tick.period) {
                    counts.processed += 1;
                    let summary = digest::summarize(&self.feeds_of(feeds, &mail.emails).await?, window);
                    let content = digest::render_email(&mail.emails.join(", "), tick.period, &summary);
                    let destination = format!("email:{}", mail.name);
                    let result = match &self.sinks.email {
                        None => Err(HandlerError::retryable(format!("{destination}: no e-mail sender (set `email_from`)"))),
                        Some(email) => {
                            let send = || email.send(&mail.to, &content);
                            self.deliverer.deliver_external(&digest::ledger_key(tick, &destination), &destination, send).await.map_err(delivery_error)
                        }
                    };
                    tally(&mut counts, &mut errors, result);
                }
            }
        }
        info!(period = tick.period.as_str(), processed = counts.processed, sent = counts.sent, failed = counts.failed, purged = counts.purged, "digest run");
        if errors.is_empty() { Ok(()) } else { Err(HandlerError::retryable(errors.join("; "))) }
    }

    async fn send_digest(&self, tick: &DigestTick, recipient: &str, channel: String, subject: &str, summary: &digest::Digest) -> Result<Delivered, HandlerError> {
        let (text, blocks) = digest::render(subject, tick.period, summary);
        let message = Outgoing { channel, text, blocks: Some(blocks), thread_ts: None };
        self.deliverer.deliver(&digest::ledger_key(tick, recipient), &message, None).await.map_err(delivery_error)
    }
}

fn tally(counts: &mut Counts, errors: &mut Vec<String>, result: Result<Delivered, HandlerError>) {
    match result {
        Ok(Delivered::Posted(_)) => counts.sent += 1,
        Ok(_) => {}
        Err(e) => {
            counts.failed += 1;
            errors.push(e.to_string());
        }
    }
}
