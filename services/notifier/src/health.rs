//! The health adapter: reads what `/pulser health` reports about Pulse itself (each service's
//! Lambda function, each consumer's queue and dead-letter depth) from AWS. It only reads, and
//! reports what it could not read as such (unknown, unreadable) instead of failing: a health
//! answer is most needed when something is broken.

use pulse_aws::names::{CONSUMERS, SERVICES, StackNames};
use pulse_aws::sqs::Queue;

use crate::commands::{FunctionHealth, FunctionState, QueueHealth};

/// Where Pulse's functions and queues are, and the clients that read them.
pub struct HealthProbe {
    sqs: aws_sdk_sqs::Client,
    lambda: aws_sdk_lambda::Client,
    names: StackNames,
}

impl HealthProbe {
    pub fn new(sqs: aws_sdk_sqs::Client, lambda: aws_sdk_lambda::Client, names: StackNames) -> Self {
        Self { sqs, lambda, names }
    }

    /// Each service's Lambda function: state and last update (`lambda:GetFunctionConfiguration`).
    pub async fn functions(&self) -> Vec<FunctionHealth> {
        let mut out = Vec::new();
        for service in SERVICES {
            let function = self.names.function(service);
            let state = match self.lambda.get_function_configuration().function_name(&function).send().await {
                Ok(c) => FunctionState::Deployed {
                    state: c.state().map_or_else(|| "Unknown".to_owned(), |s| s.as_str().to_owned()),
                    last_update: c.last_update_status().map(|u| u.as_str().to_owned()),
                    reason: c.last_update_status_reason().or(c.state_reason()).map(str::to_owned),
                },
                Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => FunctionState::NotDeployed,
                Err(e) => FunctionState::Unreadable(aws_sdk_lambda::error::DisplayErrorContext(&e).to_string()),
            };
            out.push(FunctionHealth { service: service.to_owned(), function, state });
        }
        out
    }

    /// Each consumer's queue and dead-letter queue depth (`None`: unreadable).
    pub async fn queues(&self) -> Vec<QueueHealth> {
        let mut out = Vec::new();
        for service in CONSUMERS {
            out.push(QueueHealth {
                service: service.to_owned(),
                depth: self.depth(&self.names.queue(service)).await,
                dead_letters: self.depth(&self.names.dead_letter_queue(service)).await,
            });
        }
        out
    }

    async fn depth(&self, name: &str) -> Option<u64> {
        let queue = Queue::from_name(self.sqs.clone(), name).await.ok()?;
        queue.approximate_depth().await.ok()
    }
}
