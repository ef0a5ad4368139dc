//! SQS-triggered Lambda transport with partial batch responses.
//!
//! Requires `FunctionResponseTypes: ["ReportBatchItemFailures"]` on the event source mapping (the
//! infra-reconciler sets it): only the ids returned here are redelivered.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use lambda_runtime::{LambdaEvent, service_fn};

use crate::consume::{InboundMessage, process};
use crate::dead_letter::DeadLetters;
use crate::handler::MessageHandler;

/// Run `handler` as a Lambda function until the runtime stops it.
pub async fn run<H: MessageHandler>(handler: Arc<H>, dead_letters: Arc<DeadLetters>) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = handler.clone();
        let dead_letters = dead_letters.clone();
        async move { Ok::<_, lambda_runtime::Error>(process_batch(&*handler, &dead_letters, event.payload.records).await) }
    }))
    .await
}

/// Handle one Lambda batch: every record concurrently, reporting only the unsettled ones.
pub async fn process_batch<H: MessageHandler>(
    handler: &H,
    dead_letters: &DeadLetters,
    records: Vec<SqsMessage>,
) -> SqsBatchResponse {
    let messages: Vec<InboundMessage> = records.into_iter().map(inbound).collect();
    let dispositions = join_all(messages.iter().map(|m| process(handler, dead_letters, m))).await;
    let mut response = SqsBatchResponse::default();
    for (message, disposition) in messages.iter().zip(dispositions) {
        if !disposition.is_settled() {
            response.add_failure(message.message_id.clone());
        }
    }
    response
}

fn inbound(record: SqsMessage) -> InboundMessage {
    let receive_count = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    InboundMessage {
        message_id: record.message_id.unwrap_or_default(),
        body: record.body.unwrap_or_default(),
        receive_count,
    }
}
