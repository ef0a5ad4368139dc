//! What happens to one envelope: dedup, the sink (bounded concurrency), the ack.
//!
//! The ack is sent when the sink returns, so that a slash command's response payload rides on
//! it and so that an envelope the sink could not record is *not* acked and Slack redelivers it.
//! A sink slower than `ack_timeout` (2.5 s by default, inside Slack's 3 s) does not hold the ack
//! back: the envelope is acked without a payload at the timeout and the sink goes on. The cost
//! of that choice is that a crash or a sink failure after such an early ack loses the envelope
//! (it is logged at error level); Pulse's sink only writes the ledger and publishes, so this is
//! rare. Each envelope runs in its own task: a slow one never delays the others or the socket.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinError;
use tokio::time::{Instant, timeout};
use tracing::{Instrument, debug, error, info, info_span, warn};

use super::EnvelopeSink;
use super::client::Shared;
use super::connection::Link;
use super::protocol::{ENVELOPE_KINDS, Envelope};
use super::recent::{Seen, Status};

/// Handles one envelope received on `link`. Never blocks the read loop.
pub(crate) fn dispatch<S: EnvelopeSink>(shared: &Arc<Shared<S>>, link: &Link, envelope: Envelope) {
    let span = info_span!(
        "envelope",
        conn = link.conn(),
        envelope_id = %envelope.envelope_id,
        kind = %envelope.kind,
        retry_attempt = envelope.retry_attempt,
    );
    let _entered = span.enter();
    if envelope.retry_attempt > 0 {
        info!(retry_reason = %envelope.retry_reason, "redelivered envelope");
    } else {
        debug!("envelope received");
    }
    let guard = link.enter();
    let link = link.clone();

    if !ENVELOPE_KINDS.contains(&envelope.kind.as_str()) {
        warn!("envelope of an unknown type; acknowledged without processing");
        tokio::spawn(
            async move {
                link.ack(&envelope.envelope_id, None).await;
                drop(guard);
            }
            .in_current_span(),
        );
        return;
    }

    let seen = shared.lock_recent().begin(&envelope.envelope_id);
    let accepts = envelope.accepts_response_payload;
    match seen {
        Seen::Done(payload) => {
            info!("already processed; acknowledged without processing again");
            tokio::spawn(
                async move {
                    link.ack(&envelope.envelope_id, payload.as_ref().filter(|_| accepts)).await;
                    drop(guard);
                }
                .in_current_span(),
            );
        }
        Seen::InFlight(mut status) => {
            info!("already being processed; acknowledged when that completes");
            let ack_timeout = shared.config.ack_timeout;
            tokio::spawn(
                async move {
                    // Clone out of the watch before awaiting anything: its guard blocks writers.
                    let settled = match timeout(ack_timeout, status.wait_for(|s| *s != Status::InFlight)).await {
                        Ok(Ok(status)) => Some(status.clone()),
                        Ok(Err(_)) => Some(Status::Failed),
                        Err(_) => None,
                    };
                    match settled {
                        Some(Status::Done(payload)) => {
                            link.ack(&envelope.envelope_id, payload.as_ref().filter(|_| accepts)).await;
                        }
                        Some(_) => {
                            debug!("the first delivery failed; not acknowledged, Slack retries it");
                        }
                        None => {
                            link.ack(&envelope.envelope_id, None).await;
                        }
                    }
                    drop(guard);
                }
                .in_current_span(),
            );
        }
        Seen::New => {
            tokio::spawn(process(Arc::clone(shared), link, envelope, guard).in_current_span());
        }
    }
}

async fn process<S: EnvelopeSink>(shared: Arc<Shared<S>>, link: Link, envelope: Envelope, guard: super::connection::InFlightGuard) {
    let Envelope { envelope_id, kind, payload, accepts_response_payload: accepts, .. } = envelope;
    let started = Instant::now();
    let mut work = {
        let shared = Arc::clone(&shared);
        let envelope_id = envelope_id.clone();
        tokio::spawn(
            async move {
                // The semaphore is never closed.
                let _permit = shared.permits.acquire().await;
                shared.sink.accept(&kind, payload, &envelope_id).await
            }
            .in_current_span(),
        )
    };

    match timeout(shared.config.ack_timeout, &mut work).await {
        Ok(joined) => {
            if let Some(response) = settle(&shared, &envelope_id, joined) {
                if response.is_some() && !accepts {
                    debug!("sink returned a payload but this envelope takes none; dropped");
                }
                let payload = response.as_ref().filter(|_| accepts);
                if link.ack(&envelope_id, payload).await {
                    info!(ack_ms = millis(started.elapsed()), "envelope processed and acknowledged");
                }
            }
            drop(guard);
        }
        Err(_) => {
            warn!(
                ack_timeout_ms = millis(shared.config.ack_timeout),
                "sink slower than the ack timeout; acknowledged without a response payload, the sink goes on"
            );
            link.ack(&envelope_id, None).await;
            drop(guard);
            let joined = work.await;
            if settle(&shared, &envelope_id, joined).is_none() {
                error!("envelope was acknowledged at the ack timeout but the sink then failed: Slack will not redeliver it");
            } else {
                info!(total_ms = millis(started.elapsed()), "slow envelope processed");
            }
        }
    }
}

/// Records the sink's outcome in the dedup set and logs failures. `Some(response)` on success.
fn settle<S: EnvelopeSink>(
    shared: &Shared<S>,
    envelope_id: &str,
    joined: Result<Result<Option<Value>, String>, JoinError>,
) -> Option<Option<Value>> {
    let outcome = match joined {
        Ok(Ok(response)) => Some(response),
        Ok(Err(e)) => {
            warn!(error = %e, "sink failed; not acknowledged, so Slack redelivers the envelope");
            None
        }
        Err(e) => {
            error!(panicked = e.is_panic(), "sink task died; not acknowledged, so Slack redelivers the envelope");
            None
        }
    };
    shared.lock_recent().finish(envelope_id, outcome.clone());
    outcome
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
