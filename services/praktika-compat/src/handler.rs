//! The I/O shell: decide, then publish on Pulse's bus. A refused payload or a failed publish is
//! returned as an error, so the Lambda invocation fails and AWS retries it (same request id, same
//! dedup keys) and finally sends it to the on-failure destination.

use pulse_aws::eventbridge::{EventPublisher, PublishError};
use pulse_core::{Clock, Ids};
use serde_json::{Value, json};
use tracing::{Instrument, error, info, info_span};

use crate::decide::{self, Config, Refusal};

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum CompatError {
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    #[error("publishing to EventBridge failed: {0}")]
    Publish(#[from] PublishError),
}

/// The worker stand-in: configuration, a publisher, and the clock and ids its events get.
#[derive(Debug, Clone)]
pub struct Compat {
    config: Config,
    publisher: EventPublisher,
    clock: Clock,
    ids: Ids,
}

impl Compat {
    pub fn new(config: Config, publisher: EventPublisher, clock: Clock, ids: Ids) -> Self {
        Self { config, publisher, clock, ids }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handle one invocation: `payload` as praktika sent it, `request_id` the Lambda context's.
    /// Returns what praktika's worker returns (`statusCode`, `body`), which asynchronous
    /// invocations ignore.
    pub async fn handle(&self, payload: &Value, request_id: &str) -> Result<Value, CompatError> {
        let action = payload.get("action").and_then(Value::as_str).unwrap_or_default().to_owned();
        let span = info_span!("invocation", request_id, action = %action);
        async {
            let events = decide::decide(payload, request_id, &self.config, self.clock.now(), &self.ids).inspect_err(|refusal| {
                error!(reason = %refusal, "payload refused; failing the invocation so AWS retries it and keeps it");
            })?;
            let raw: Vec<_> = events.iter().map(|e| e.to_raw()).collect();
            self.publisher.publish(&raw).await.inspect_err(|err| error!(error = %err, "publish failed; failing the invocation"))?;
            for e in &events {
                info!(event_id = %e.id, event_type = %e.detail_type(), dedup_key = %e.dedup_key, "published");
            }
            Ok(json!({"statusCode": 200, "body": format!("{action}: {} event(s) published", events.len())}))
        }
        .instrument(span)
        .await
    }
}
