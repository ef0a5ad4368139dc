//! The pure webhook handler: one GitHub delivery → what to answer, what to record and what to
//! publish, as a [`Decision`] (the Slack path's, so the shell carries both out alike). No I/O,
//! no clock, no random source: the caller gives `now` and the [`Ids`].
//!
//! ## Rules, in the order they are applied
//!
//! 1. **Size.** A body over [`MAX_BODY_BYTES`] is answered 413 before anything else, so nobody
//!    can make ingress hash megabytes.
//! 2. **Signature.** `X-Hub-Signature-256` missing, malformed or wrong → 401. Nothing is parsed
//!    and nothing recorded for an unsigned delivery.
//! 3. **Method.** Anything but `POST` → 405.
//! 4. **Names.** No `X-GitHub-Delivery` → 400 (it is the ledger key); no `X-GitHub-Event` → 400.
//! 5. **Content type.** A hook set to `application/x-www-form-urlencoded` → 415 naming the fix
//!    (Pulse reads JSON hooks). Checked before `ping`, so a wrongly set-up hook fails at once,
//!    visibly, when it is created. A missing content type is taken as JSON.
//! 6. **`ping`** (sent when a hook is created) → 200, nothing recorded.
//! 7. **Other event types** (`push`, `check_run`, ...: a hook may send more than Pulse uses) →
//!    200 `ignored`, nothing recorded or published.
//! 8. **`workflow_run` / `workflow_job`**: the body is parsed ([`parse`](super::parse)); a
//!    malformed one → 400 naming the field. An action Pulse does not use → 200 `ignored`.
//!    Otherwise accepted: ledger key `github#{delivery}` and one event, `github.workflow_run` or
//!    `github.workflow_job` v1, source `pulse.ingress`, dedup key `{type}:{delivery}`, dated
//!    `now`. A redelivery keeps its `X-GitHub-Delivery`, so it decides the same key and the
//!    ledger answers it 200 with no second effect.
//!
//! GitHub does not retry a failed delivery by itself, so nothing here relies on a retry.

use chrono::{DateTime, Utc};
use pulse_contracts::{Envelope, Event};
use pulse_core::Ids;
use serde_json::json;

use super::GithubHeaders;
use super::parse::{self, Parsed};
use super::verify::WebhookVerifier;
use crate::decide::{Accepted, Decision, LedgerKey, Reply, SOURCE};
use crate::parse::shorten;

/// The largest body read: 1 MiB. GitHub caps payloads at 25 MB, but the two Pulse uses are
/// small: a `workflow_run` is 20–40 KB (most of it the repository's URLs), a `workflow_job`
/// a few KB plus about 100 bytes per step. 1 MiB leaves a wide margin (a long commit message,
/// many PRs on one head) while bounding the HMAC work an unsigned request can cause, and stays
/// well below what the deployment can carry at all: Lambda's 6 MB synchronous payload, which
/// API Gateway's base64 encoding of a body shrinks to about 4.5 MB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The ledger's "team" for GitHub deliveries: the key is `github#{X-GitHub-Delivery}`, apart
/// from every Slack team id (`T…`).
pub const LEDGER_NAMESPACE: &str = "github";

/// One delivery as a transport hands it over.
#[derive(Debug, Clone, Copy)]
pub struct GithubRequest<'a> {
    pub method: &'a str,
    /// For logs only.
    pub path: &'a str,
    pub headers: GithubHeaders<'a>,
    /// The raw body, exactly as received (the signature covers these bytes).
    pub body: &'a [u8],
}

/// Decide on one delivery at `now`, its event's id drawn from `ids`.
pub fn decide(request: &GithubRequest<'_>, verifier: &WebhookVerifier, now: DateTime<Utc>, ids: &Ids) -> Decision {
    let size = request.body.len();
    if size > MAX_BODY_BYTES {
        return answer(Reply::error(413, format!("the body is {size} bytes, over the {MAX_BODY_BYTES}-byte limit")), "too_large");
    }
    if let Err(err) = verifier.verify(request.headers.signature, request.body) {
        return answer(Reply::error(401, format!("webhook signature verification failed: {err}")), "forged");
    }
    if !request.method.eq_ignore_ascii_case("POST") {
        let reason = format!("method {} is not allowed; GitHub POSTs", shorten(request.method, 16));
        return answer(Reply::error(405, reason), "method_not_allowed");
    }
    let Some(delivery) = request.headers.delivery.filter(|d| !d.is_empty()) else {
        return answer(Reply::error(400, "the X-GitHub-Delivery header is missing"), "rejected");
    };
    let Some(event) = request.headers.event.filter(|e| !e.is_empty()) else {
        return answer(Reply::error(400, "the X-GitHub-Event header is missing"), "rejected");
    };
    if let Some(content_type) = request.headers.content_type.filter(|c| !is_json(c)) {
        let reason =
            format!("content type `{}` is not read: set the webhook's content type to application/json", shorten(content_type, 80));
        return answer(Reply::error(415, reason), "unsupported_media_type");
    }
    match event {
        "ping" => answer(Reply::json(200, json!({"ok": true, "pong": delivery})), "ping"),
        "workflow_run" => accept(parse::workflow_run(request.body, delivery), delivery, now, ids),
        "workflow_job" => accept(parse::workflow_job(request.body, delivery), delivery, now, ids),
        other => answer(Reply::json(200, json!({"ok": true, "ignored": shorten(other, 40)})), "ignored"),
    }
}

fn accept<T: Into<Event>>(parsed: Result<Parsed<T>, parse::ParseError>, delivery: &str, now: DateTime<Utc>, ids: &Ids) -> Decision {
    let detail = match parsed {
        Ok(Parsed::Event(detail)) => detail,
        Ok(Parsed::Ignored { action }) => {
            return answer(Reply::json(200, json!({"ok": true, "ignored": format!("action {}", shorten(&action, 40))})), "ignored");
        }
        Err(err) => return answer(Reply::error(400, format!("malformed payload: {err}")), "rejected"),
    };
    let event: Event = detail.into();
    let event_type = event.event_type();
    let envelope: Envelope<Event> = event.into_envelope(SOURCE, dedup_key(event_type, delivery), ids.uuid(), now);
    let key = LedgerKey { team_id: LEDGER_NAMESPACE.to_owned(), envelope_id: delivery.to_owned() };
    Decision {
        reply: Reply::json(200, json!({"ok": true})),
        accepted: Some(Accepted { key, event_type, events: vec![envelope], modal: None, fail_with_5xx: true }),
        outcome: "accepted",
    }
}

/// `{type}:{X-GitHub-Delivery}`, e.g. `github.workflow_run:72d3162e-cc78-11e3-81ab-4c9367dc0958`.
pub fn dedup_key(event_type: &str, delivery: &str) -> String {
    format!("{event_type}:{delivery}")
}

/// `application/json`, in any letter case, with or without parameters (`; charset=utf-8`).
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

fn answer(reply: Reply, outcome: &'static str) -> Decision {
    Decision { reply, accepted: None, outcome }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
