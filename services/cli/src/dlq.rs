//! `pulse dlq`: what a service could not process, and putting it back once fixed.

use anyhow::Context;
use pulse_aws::names::{CONSUMERS, StackNames};
use pulse_aws::sqs::Queue;

#[derive(clap::Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(clap::Subcommand)]
enum DlqCommand {
    /// Show up to N dead-lettered messages with the reason they were rejected (they stay in the DLQ).
    List {
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(CONSUMERS))]
        service: String,
        #[arg(long, default_value_t = 10)]
        max: usize,
    },
    /// Move dead-lettered messages back to the service's queue for another attempt.
    Replay {
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(CONSUMERS))]
        service: String,
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
}

pub async fn run(args: DlqArgs) -> anyhow::Result<()> {
    let config = pulse_aws::config::load().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let names = StackNames::from_env();
    match args.command {
        DlqCommand::List { service, max } => {
            let name = names.dead_letter_queue(&service);
            let dlq = Queue::from_name(sqs, &name).await.with_context(|| format!("opening {name}"))?;
            let mut shown = 0;
            while shown < max {
                let batch = dlq.receive((max - shown).min(10) as i32, 0).await?;
                if batch.is_empty() {
                    break;
                }
                for message in &batch {
                    let reason = message
                        .attributes
                        .get(pulse_runtime::dead_letter::REASON_ATTRIBUTE)
                        .map(String::as_str)
                        .unwrap_or("(no reason attribute: redriven by SQS after repeated failures; see the service log)");
                    println!("{}  received {}x\n  reason: {reason}\n  body: {}\n", message.message_id, message.receive_count, preview(&message.body));
                    // Leave it in the DLQ, visible again at once.
                    dlq.change_visibility(&message.receipt_handle, 0).await?;
                }
                shown += batch.len();
            }
            println!("{shown} message(s) shown from {name}");
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
