//! `pulse dlq`: what a service could not process, and putting it back once fixed.

use std::collections::BTreeMap;

use anyhow::Context;
use pulse_aws::names::CONSUMERS;
use pulse_aws::sqs::{MAX_BATCH, Queue, ReceivedMessage, SqsError};

#[derive(clap::Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(clap::Subcommand)]
enum DlqCommand {
    /// Show up to N dead-lettered messages, each once, with the reason they were rejected (they
    /// stay in the DLQ, visible again as soon as the listing ends).
    List {
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(CONSUMERS))]
        service: String,
        /// At most this many messages (1 to 10,000).
        #[arg(long, default_value_t = 10, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
        max: usize,
        /// Print a JSON array (message id, receive count, reason, the whole body) instead.
        #[arg(long)]
        json: bool,
    },
    /// Move dead-lettered messages back to the service's queue for another attempt.
    Replay {
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(CONSUMERS))]
        service: String,
        /// At most this many messages (1 to 10,000).
        #[arg(long, default_value_t = 100, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
        max: usize,
    },
}

pub async fn run(args: DlqArgs) -> anyhow::Result<()> {
    let config = pulse_aws::config::load().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let names = pulse_cli::settings::stack()?;
    match args.command {
        DlqCommand::List { service, max, json } => {
            let name = names.dead_letter_queue(&service);
            let dlq = Queue::from_name(sqs, &name).await.with_context(|| format!("opening {name}"))?;
            let messages = peek(&dlq, max).await?;
            if json {
                let listed: Vec<serde_json::Value> = messages
                    .iter()
                    .map(|m| {
                        let body = serde_json::from_str::<serde_json::Value>(&m.body).unwrap_or_else(|_| m.body.clone().into());
                        serde_json::json!({
                            "message_id": m.message_id,
                            "receive_count": m.receive_count,
                            "reason": m.attributes.get(pulse_runtime::dead_letter::REASON_ATTRIBUTE),
                            "body": body,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&listed)?);
                return Ok(());
            }
            for message in &messages {
                let reason = message
                    .attributes
                    .get(pulse_runtime::dead_letter::REASON_ATTRIBUTE)
                    .map(String::as_str)
                    .unwrap_or("(no reason attribute: redriven by SQS after repeated failures; see the service log)");
                println!(
                    "{}  received {}x\n  reason: {reason}\n  body: {}\n",
                    message.message_id,
                    message.receive_count,
                    preview(&message.body)
                );
            }
            let more = if messages.len() == max { format!(" (stopped at --max {max}; there may be more)") } else { String::new() };
            println!("{} message(s) shown from {name}{more}", messages.len());
        }
        DlqCommand::Replay { service, max } => {
            let name = names.queue(&service);
            let queue = Queue::from_name(sqs, &name).await.with_context(|| format!("opening {name}"))?;
            let moved = queue.redrive_from_dlq(max).await?;
            println!("{moved} message(s) moved from {} back to {name}", names.dead_letter_queue(&service));
        }
    }
    Ok(())
}

/// How long [`peek`] hides what it received: long enough to page through `--max` messages, so
/// each receive returns messages not seen yet instead of the same ones again.
const HIDDEN_WHILE_LISTING_SECONDS: i32 = 30;

/// Up to `max` messages of the queue, each once, left in the queue: received with a visibility
/// timeout so paging moves on, de-duplicated by message id (a listing that outlasts the timeout
/// meets the first messages again), until a receive brings nothing new; then every received
/// message is made visible again at once, even when a receive failed.
async fn peek(dlq: &Queue, max: usize) -> anyhow::Result<Vec<ReceivedMessage>> {
    let mut seen: Vec<ReceivedMessage> = Vec::new();
    // The newest receipt handle of each message: only that one changes its visibility.
    let mut handles: BTreeMap<String, String> = BTreeMap::new();
    let paged: Result<(), SqsError> = async {
        while seen.len() < max {
            let want = (max - seen.len()).min(MAX_BATCH) as i32;
            // A 1 s long poll asks every SQS server; a short poll may miss a few messages.
            let batch = dlq.receive_hidden_for(want, 1, HIDDEN_WHILE_LISTING_SECONDS).await?;
            let before = seen.len();
            for message in batch {
                if handles.insert(message.message_id.clone(), message.receipt_handle.clone()).is_none() {
                    seen.push(message);
                }
            }
            if seen.len() == before {
                break;
            }
        }
        Ok(())
    }
    .await;
    let handles: Vec<String> = handles.into_values().collect();
    let restored = match dlq.change_visibility_batch(&handles, 0).await {
        // A message whose hiding already ran out is visible again: nothing to undo.
        Err(SqsError::BatchFailures { failed, .. }) if failed.iter().all(|(_, code, _)| code.ends_with("MessageNotInflight")) => Ok(()),
        other => other,
    };
    paged.with_context(|| format!("listing {}", dlq.name()))?;
    restored.with_context(|| format!("making the {} listed message(s) of {} visible again", handles.len(), dlq.name()))?;
    Ok(seen)
}

fn preview(body: &str) -> String {
    const MAX: usize = 300;
    if body.len() <= MAX {
        return body.to_owned();
    }
    let mut end = MAX;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &body[..end], body.len())
}
