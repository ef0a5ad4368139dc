//! The I/O shell: carries out a [`Decision`] — ledger, `views.open`, EventBridge — and says what
//! to answer. Both transports (HTTP: axum and Lambda, see `http.rs`; Socket Mode) come through
//! here, so a request is handled the same whichever way it arrived.
//!
//! For an accepted request:
//! 1. [`EnvelopeLedger::begin`]: record it `received` (a duplicate of a `received` or
//!    `processed` record stops here: same acknowledgement, nothing published);
//! 2. for `/pulser deploy`, open the confirmation modal (`views.open`);
//! 3. publish its event(s) to EventBridge, `dedup_key` = the ledger key;
//! 4. mark it `processed`, or `failed` with `last_error` when 2 or 3 failed.
//!
//! Failures: the ledger unreachable → 503 (nothing published; Slack retries what it retries).
//! Publishing failed → `failed`, then 503 for Events API and interactivity so Slack redelivers
//! (and the redelivery takes the record over); for a slash command, which Slack never
//! redelivers, an ephemeral "try again" message instead of Slack's opaque error.
//! `views.open` failed → `failed` and an ephemeral message naming Slack's error.
//!
//! GitHub webhook deliveries ([`Ingress::handle_github`]) take the same path from the decision
//! on: the delivery id is the ledger key, and a failure to record or publish is answered 5xx, so
//! the delivery shows as failed in GitHub and can be redelivered.

use pulse_aws::eventbridge::EventPublisher;
use std::sync::{Mutex, RwLock};

use pulse_core::{Clock, Secret, SecretSource};
use pulse_slack::SlackClient;
use serde_json::Value;
use tracing::{Instrument, error, info, info_span, warn};

use crate::decide::{Accepted, Core, Decision, Fallback, RawRequest, Reply};
use crate::github::{self, GithubRequest, WebhookVerifier};
use crate::ledger::{Begin, EnvelopeLedger};
use crate::parse;
use crate::verify::{Verifier, VerifyError};

/// Why a Socket Mode payload was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngressError {
    /// The payload is malformed or of a kind Pulse does not handle; redelivering it cannot help.
    #[error("rejected ({status}): {reason}")]
    Rejected { status: u16, reason: String },
    /// Recording or publishing failed; nothing was published. Redelivery may succeed.
    #[error("not processed, try again: {reason}")]
    Unavailable { reason: String },
}

/// The ingress service: the pure [`Core`] plus the ledger, the bus and Slack.
pub struct Ingress {
    /// Replaced when the signing secret rotates.
    core: RwLock<Core>,
    /// Where the signing secret comes from, and the value the core verifies with: a request
    /// refused for its signature makes ingress re-read the secret once (see [`Ingress::handle_http`]).
    signing: Option<(SecretSource, Mutex<Secret>)>,
    /// The GitHub webhook's secret (where it comes from, the value and its verifier); without
    /// one, `POST /github/webhook` answers 404.
    github: Option<(SecretSource, RwLock<(Secret, WebhookVerifier)>)>,
    ledger: EnvelopeLedger,
    publisher: EventPublisher,
    slack: Option<SlackClient>,
    /// The instant each request is decided at (signature window, event time).
    clock: Clock,
}

impl std::fmt::Debug for Ingress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingress")
            .field("ledger", &self.ledger.table())
            .field("bus", &self.publisher.bus_name())
            .field("slack", &self.slack.is_some())
            .finish()
    }
}

impl Ingress {
    /// `slack` is the bot client for `views.open`; without one, `/pulser deploy` answers that
    /// it cannot open the confirmation.
    pub fn new(core: Core, ledger: EnvelopeLedger, publisher: EventPublisher, slack: Option<SlackClient>, clock: Clock) -> Self {
        Self { core: RwLock::new(core), signing: None, github: None, ledger, publisher, slack, clock }
    }

    /// Take GitHub webhook deliveries, verified with `current` and, when a signature does not
    /// match, with the secret re-read from `source` (a rotated secret needs no restart).
    pub fn with_github_secret(mut self, source: SecretSource, current: Secret) -> Result<Self, github::verify::EmptySecret> {
        let verifier = WebhookVerifier::new(current.expose())?;
        self.github = Some((source, RwLock::new((current, verifier))));
        Ok(self)
    }

    /// Re-read the signing secret from `source` when a signature does not match under
    /// `current` (the value the core was built with), so a rotated secret needs no restart.
    pub fn with_signing_secret(mut self, source: SecretSource, current: Secret) -> Self {
        self.signing = Some((source, Mutex::new(current)));
        self
    }

    /// The core requests are decided with now.
    pub fn core(&self) -> Core {
        self.core.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Decide an HTTP request. A signature that does not match may be a rotated signing
    /// secret: re-read it (at most every 10 s, see `pulse_aws::secrets`) and, when it changed,
    /// decide again with the new one and keep it.
    async fn decide_http(&self, request: &RawRequest<'_>) -> Decision {
        let now = self.clock.now();
        let core = self.core();
        let decision = core.handle(request, now);
        if !matches!(core.verify(request, now.timestamp()), Err(VerifyError::Mismatch)) {
            return decision;
        }
        let Some((source, current)) = &self.signing else { return decision };
        let seen = current.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(fresh) = source.refreshed(&seen).await else { return decision };
        let Ok(verifier) = Verifier::new(fresh.expose()) else { return decision };
        let rotated = core.with_verifier(verifier);
        let decision = rotated.handle(request, now);
        if rotated.verify(request, now.timestamp()).is_ok() {
            info!("the signing secret was rotated; requests are verified with the new one");
            *self.core.write().unwrap_or_else(|p| p.into_inner()) = rotated;
            *current.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
        }
        decision
    }

    /// Handle one GitHub webhook delivery (any transport): the reply to send.
    pub async fn handle_github(&self, request: GithubRequest<'_>) -> Reply {
        let span = info_span!(
            "github_delivery",
            delivery = request.headers.delivery.map(|d| parse::shorten(d, 64).into_owned()),
            github_event = request.headers.event.map(|e| parse::shorten(e, 32).into_owned()),
            ledger_key = tracing::field::Empty,
            event_type = tracing::field::Empty,
            event_id = tracing::field::Empty,
        );
        async {
            let Some(decision) = self.decide_github(&request).await else {
                info!(status = 404, "GitHub webhook delivery, but no webhook secret is configured");
                return Reply::error(404, "GitHub webhooks are not configured here: set GITHUB_WEBHOOK_SECRET or its SSM parameter");
            };
            self.execute(decision).await
        }
        .instrument(span)
        .await
    }

    /// Decide a delivery; a signature that does not match is checked once more with the secret
    /// re-read (at most every 10 s), which is kept when it verifies. `None`: no secret.
    async fn decide_github(&self, request: &GithubRequest<'_>) -> Option<Decision> {
        let (source, current) = self.github.as_ref()?;
        let (now, ids) = (self.clock.now(), self.core().ids().clone());
        let (seen, verifier) = current.read().unwrap_or_else(|p| p.into_inner()).clone();
        let decision = github::decide(request, &verifier, now, &ids);
        if !matches!(verifier.verify(request.headers.signature, request.body), Err(github::verify::SignatureError::Mismatch)) {
            return Some(decision);
        }
        let Some(fresh) = source.refreshed(&seen).await else { return Some(decision) };
        let Ok(rotated) = WebhookVerifier::new(fresh.expose()) else { return Some(decision) };
        if rotated.verify(request.headers.signature, request.body).is_err() {
            return Some(decision);
        }
        info!("the GitHub webhook secret was rotated; deliveries are verified with the new one");
        let decision = github::decide(request, &rotated, now, &ids);
        *current.write().unwrap_or_else(|p| p.into_inner()) = (fresh, rotated);
        Some(decision)
    }

    pub fn ledger(&self) -> &EnvelopeLedger {
        &self.ledger
    }

    /// Handle one HTTP request from Slack (any transport): the reply to send.
    pub async fn handle_http(&self, request: RawRequest<'_>) -> Reply {
        let span = info_span!(
            "slack_request",
            transport = "http",
            path = %parse::shorten(request.path, 64),
            retry_num = request.headers.retry_attempt(),
            retry_reason = request.headers.retry_reason.map(|r| parse::shorten(r, 32).into_owned()),
            ledger_key = tracing::field::Empty,
            event_type = tracing::field::Empty,
            event_id = tracing::field::Empty,
        );
        async {
            let decision = self.decide_http(&request).await;
            self.execute(decision).await
        }
        .instrument(span)
        .await
    }

    /// Feed a Socket Mode payload into the same logic as HTTP, without signature verification
    /// (Socket Mode is authenticated by the app-level token on the connection).
    ///
    /// `kind` is the envelope `type` (`slash_commands`, `interactive`, `events_api`), `payload`
    /// its `payload`, `envelope_id` its id (for logs, and as the ledger key only if the payload
    /// has no `trigger_id`/`event_id`). Returns the payload to send back in the acknowledgement
    /// (for a slash command: the ephemeral message), or `None` for a bare acknowledgement.
    /// Duplicates (a redelivered envelope) return the same answer and publish nothing.
    pub async fn accept_socket_payload(&self, kind: &str, payload: Value, envelope_id: &str) -> Result<Option<Value>, IngressError> {
        let span = info_span!(
            "slack_request",
            transport = "socket_mode",
            envelope_kind = %parse::shorten(kind, 32),
            envelope_id = %parse::shorten(envelope_id, 64),
            ledger_key = tracing::field::Empty,
            event_type = tracing::field::Empty,
            event_id = tracing::field::Empty,
        );
        async {
            let decision = match parse::parse_socket(kind, payload) {
                Ok(request) => self.core().decide(request, Fallback::Envelope(envelope_id), self.clock.now()),
                Err(rejection) => {
                    info!(status = rejection.status, reason = %rejection.reason, "rejected");
                    return Err(IngressError::Rejected { status: rejection.status, reason: rejection.reason });
                }
            };
            let reply = self.execute(decision).await;
            if reply.is_success() {
                Ok(reply.body)
            } else {
                let reason = reply.body.as_ref().and_then(|b| b.get("error")).and_then(Value::as_str).unwrap_or("unavailable").to_owned();
                if reply.status >= 500 {
                    Err(IngressError::Unavailable { reason })
                } else {
                    Err(IngressError::Rejected { status: reply.status, reason })
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Carry a decision out; returns the reply.
    async fn execute(&self, decision: Decision) -> Reply {
        let Decision { reply, accepted, outcome } = decision;
        let Some(accepted) = accepted else {
            match reply.status {
                401 => warn!(status = 401, reason = reason(&reply), "refused: bad signature"),
                s if s >= 400 => info!(status = s, reason = reason(&reply), "rejected"),
                _ => info!(outcome, "answered; nothing to record"),
            }
            return reply;
        };
        let span = tracing::Span::current();
        span.record("ledger_key", accepted.key.pk());
        span.record("event_type", accepted.event_type);
        if let Some(first) = accepted.events.first() {
            span.record("event_id", tracing::field::display(first.id));
        }
        self.process(accepted, reply).await
    }

    async fn process(&self, accepted: Accepted, reply: Reply) -> Reply {
        let attempt = match self.ledger.begin(&accepted.key, accepted.event_type).await {
            Ok(Begin::Owned { attempt }) => attempt,
            Ok(Begin::Duplicate { status }) => {
                info!(ledger_status = status.as_str(), "duplicate delivery acknowledged and dropped");
                return reply;
            }
            Err(err) => {
                error!(error = %err, "cannot record the request in the envelope ledger");
                return Reply::error(503, "the envelope ledger is unavailable; nothing was published");
            }
        };
        if attempt > 1 {
            info!(attempt, "taking over a failed or abandoned delivery");
        }
        if let Some(modal) = &accepted.modal
            && let Err(message) = self.open_modal(&modal.trigger_id, modal.view.to_json()).await
        {
            let last_error = format!("views.open: {message}");
            warn!(error = %last_error, "could not open the deploy confirmation");
            self.record_failure(&accepted, attempt, &last_error).await;
            return Reply::ephemeral(format!(
                ":warning: Pulse could not open the deploy confirmation ({message}). Please run the command again."
            ));
        }
        match self.publisher.publish_many(&accepted.events).await {
            Ok(report) => {
                match self.ledger.processed(&accepted.key, attempt).await {
                    Ok(_) => {}
                    // Published: answering 5xx now would only make Slack redeliver a duplicate.
                    Err(err) => error!(error = %err, "published, but could not mark the ledger record processed"),
                }
                info!(events = report.published, "accepted and published");
                reply
            }
            Err(err) => {
                let last_error = format!("publish to {}: {err}", self.publisher.bus_name());
                error!(error = %last_error, "publishing failed");
                self.record_failure(&accepted, attempt, &last_error).await;
                if accepted.fail_with_5xx {
                    Reply::error(503, "publishing failed; retry later")
                } else {
                    Reply::ephemeral(":warning: Pulse could not take this command right now. Please try again in a moment.")
                }
            }
        }
    }

    async fn record_failure(&self, accepted: &Accepted, attempt: u32, last_error: &str) {
        if let Err(err) = self.ledger.failed(&accepted.key, attempt, last_error).await {
            error!(error = %err, "could not mark the ledger record failed; it will be taken over after the in-flight timeout");
        }
    }

    /// `views.open`; the error is Slack's error code or a transport description (no token).
    async fn open_modal(&self, trigger_id: &str, view: Value) -> Result<(), String> {
        let Some(slack) = &self.slack else {
            return Err("no Slack bot token is configured".to_owned());
        };
        match slack.views_open(trigger_id, view).await {
            Ok(_) => Ok(()),
            Err(err) => Err(err.to_string()),
        }
    }
}

fn reason(reply: &Reply) -> &str {
    reply.body.as_ref().and_then(|b| b.get("error")).and_then(Value::as_str).unwrap_or("")
}

/// Socket Mode feeds envelopes into the same logic as HTTP. A rejected payload is acknowledged
/// and dropped (a redelivery cannot help); an unavailable ledger or bus leaves the envelope
/// unacknowledged so that Slack redelivers it.
impl crate::socket_mode::EnvelopeSink for Ingress {
    async fn accept(&self, kind: &str, payload: serde_json::Value, envelope_id: &str) -> Result<Option<serde_json::Value>, String> {
        match self.accept_socket_payload(kind, payload, envelope_id).await {
            Ok(reply) => Ok(reply),
            Err(IngressError::Rejected { status, reason }) => {
                tracing::warn!(envelope_id, status, %reason, "socket mode payload rejected; acknowledged and dropped");
                Ok(None)
            }
            Err(err @ IngressError::Unavailable { .. }) => Err(err.to_string()),
        }
    }
}
