//! SQS-triggered Lambda transport with partial batch responses.
//!
//! Requires `FunctionResponseTypes: ["ReportBatchItemFailures"]` on the event source mapping (the
//! infra-reconciler sets it): only the ids returned here are redelivered.
//!
//! The queue's visibility timeout is at least six times the function's (AWS's guidance), so a
//! record is first hidden until just after this invocation's deadline: if the invocation dies
//! (timeout, out of memory), the message is back a moment after the deadline, not six timeouts
//! later. The claim's lease is that same deadline, which Lambda makes final.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use lambda_runtime::{LambdaEvent, service_fn};
use pulse_aws::sqs::{Queue, clamp_visibility};
use tracing::warn;

use crate::attempt::Deadline;
use crate::consume::{InboundMessage, Inflight, Worker};
use crate::decide::Disposition;
use crate::handler::MessageHandler;

/// Run `worker` as a Lambda function until the runtime stops it.
pub async fn run<H: MessageHandler + 'static>(worker: Arc<Worker<H>>, sqs: aws_sdk_sqs::Client) -> Result<(), lambda_runtime::Error> {
    let queues = Arc::new(Queues::new(sqs));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (worker, queues) = (worker.clone(), queues.clone());
        let deadline = Deadline::from_unix_ms(event.context.deadline);
        async move { Ok::<_, lambda_runtime::Error>(process_batch(&worker, &queues, event.payload.records, deadline).await) }
    }))
    .await
}

/// A record's source queue and its `maxReceiveCount`.
type Source = (Queue, Option<u32>);

/// The source queues of records, looked up once per ARN (with their redrive limit).
pub struct Queues {
    client: aws_sdk_sqs::Client,
    /// `None`: the ARN did not resolve to a queue.
    known: tokio::sync::Mutex<HashMap<String, Option<Source>>>,
}

impl Queues {
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        Self { client, known: tokio::sync::Mutex::new(HashMap::new()) }
    }

    async fn get(&self, arn: &str) -> Option<Source> {
        let mut known = self.known.lock().await;
        if let Some(found) = known.get(arn) {
            return found.clone();
        }
        let found = match Queue::from_arn(self.client.clone(), arn).await {
            Ok(queue) => match queue.policy().await {
                Ok(policy) => Some((queue, policy.max_receive_count)),
                Err(err) => {
                    warn!(arn, error = %err, "could not read the queue's redrive policy");
                    Some((queue, None))
                }
            },
            Err(err) => {
                warn!(arn, error = %err, "could not find the record's queue; its visibility cannot be managed");
                None
            }
        };
        known.insert(arn.to_owned(), found.clone());
        found
    }
}

/// Handle one Lambda batch: every record concurrently, reporting only the unsettled ones.
pub async fn process_batch<H: MessageHandler>(
    worker: &Worker<H>,
    queues: &Queues,
    records: Vec<SqsMessage>,
    deadline: Deadline,
) -> SqsBatchResponse {
    let outcomes = join_all(records.into_iter().map(|record| process_record(worker, queues, record, deadline))).await;
    let mut response = SqsBatchResponse::default();
    for failed in outcomes.into_iter().flatten() {
        response.add_failure(failed);
    }
    response
}

/// One record; `Some(message id)` when it must be reported as failed.
async fn process_record<H: MessageHandler>(worker: &Worker<H>, queues: &Queues, record: SqsMessage, deadline: Deadline) -> Option<String> {
    let queue = match record.event_source_arn.as_deref() {
        Some(arn) => queues.get(arn).await,
        None => None,
    };
    let inflight = Record { queue: queue.as_ref().map(|(q, _)| q), receipt: record.receipt_handle.clone().unwrap_or_default() };
    if let Err(err) = inflight.hide(deadline.remaining() + Duration::from_secs(2)).await {
        warn!(error = %err, "could not shorten the record's visibility to the invocation's deadline");
    }
    let message = inbound(record, queue.as_ref().and_then(|(_, max)| *max), deadline);
    let disposition = worker.process(&message, &inflight).await;
    let failed = match disposition {
        Disposition::Done | Disposition::DeadLettered { .. } | Disposition::Replaced { .. } => false,
        Disposition::Retry { after, .. } => {
            if let Err(err) = inflight.hide(after).await {
                warn!(message_id = %message.message_id, error = %err, "could not delay the retry; the visibility timeout applies");
            }
            true
        }
        Disposition::Requeue { after, ref reason } => match inflight.replace(&message.body, &attributes(&message), after).await {
            Ok(()) => false,
            Err(err) => {
                warn!(message_id = %message.message_id, error = %err, %reason, "could not replace the message on its last receive");
                true
            }
        },
    };
    if !failed {
        return None;
    }
    if message.message_id.is_empty() {
        // An empty item identifier would fail the whole batch: keep this one in the DLQ instead.
        let reason = "the SQS record has no message id, so it cannot be retried on its own";
        if let Err(err) = worker.dead_letters.send(&message, reason).await {
            warn!(error = %err, "a record without a message id could be neither retried nor dead-lettered");
        }
        return None;
    }
    Some(message.message_id)
}

fn attributes(message: &InboundMessage) -> Vec<(&str, &str)> {
    message.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn inbound(record: SqsMessage, max_receive_count: Option<u32>, deadline: Deadline) -> InboundMessage {
    let receive_count = record.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1);
    let attributes = record.message_attributes.iter().filter_map(|(k, v)| v.string_value.clone().map(|s| (k.clone(), s))).collect();
    InboundMessage {
        message_id: record.message_id.unwrap_or_default(),
        body: record.body.unwrap_or_default(),
        receive_count,
        max_receive_count,
        attributes,
        deadline,
    }
}

/// A record of an invocation; without its queue (an unknown ARN) nothing can be done to it.
struct Record<'a> {
    queue: Option<&'a Queue>,
    receipt: String,
}

impl Record<'_> {
    fn queue(&self) -> Result<&Queue, String> {
        self.queue.filter(|_| !self.receipt.is_empty()).ok_or_else(|| "the record's queue or receipt handle is unknown".to_owned())
    }
}

impl Inflight for Record<'_> {
    fn heartbeat(&self) -> Option<Duration> {
        None
    }

    async fn hide(&self, period: Duration) -> Result<(), String> {
        self.queue()?.change_visibility(&self.receipt, clamp_visibility(period)).await.map_err(|e| e.to_string())
    }

    async fn copy(&self, body: &str, attributes: &[(&str, &str)], after: Duration) -> Result<(), String> {
        self.queue()?.send_delayed(body, attributes, after).await.map(|_| ()).map_err(|e| e.to_string())
    }

    async fn delete(&self) -> Result<(), String> {
        self.queue()?.delete(&self.receipt).await.map_err(|e| e.to_string())
    }
}
