//! Shared setup: clients, a fresh prefix, deploying the stack, reading queues.

use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use pulse_infra_reconciler::{ApplyReport, Change, Clients, LoadOptions, Plan, PlanOptions, StackConfig, apply, plan};

pub struct Env {
    pub prefix: String,
    pub config: SdkConfig,
    /// The engine's clients (their calls are counted).
    pub clients: Clients,
    pub stack: StackConfig,
}

impl Env {
    /// A unique prefix and Pulse's stack loaded for it (nothing deployed yet).
    pub async fn new() -> Env {
        let config = pulse_tests::emulator_config().await;
        let prefix = pulse_tests::unique("t");
        let stack = StackConfig::pulse(&LoadOptions::new(&prefix)).expect("the stack file loads");
        Env { clients: Clients::new(&config), config, prefix, stack }
    }

    pub async fn plan(&self) -> Plan {
        self.plan_with(&PlanOptions::default()).await
    }

    pub async fn plan_with(&self, options: &PlanOptions) -> Plan {
        plan(&self.stack, &self.clients, options).await.expect("plan")
    }

    /// Plan and apply everything; returns the plan and the report.
    pub async fn deploy(&self) -> (Plan, ApplyReport) {
        let plan = self.plan().await;
        let report = apply(&plan, &self.clients, |_| {}).await.expect("apply");
        (plan, report)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    pub fn events(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.config)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }

    pub fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.prefix)
    }

    pub async fn queue_url(&self, queue: &str) -> String {
        self.sqs().get_queue_url().queue_name(queue).send().await.expect("queue exists").queue_url().unwrap().to_owned()
    }

    /// Receive until `want` messages arrived or `timeout` passed; deletes what it receives.
    pub async fn receive(&self, queue: &str, want: usize, timeout: Duration) -> Vec<serde_json::Value> {
        let sqs = self.sqs();
        let url = self.queue_url(queue).await;
        let deadline = Instant::now() + timeout;
        let mut bodies = Vec::new();
        while bodies.len() < want && Instant::now() < deadline {
            let out = sqs.receive_message().queue_url(&url).max_number_of_messages(10).wait_time_seconds(1).send().await.expect("receive");
            for m in out.messages() {
                bodies.push(serde_json::from_str(m.body().unwrap_or_default()).expect("JSON body"));
                sqs.delete_message().queue_url(&url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
            }
        }
        bodies
    }
}

pub fn count(plan: &Plan, pred: impl Fn(&Change) -> bool) -> usize {
    plan.entries.iter().filter(|e| pred(&e.change)).count()
}

/// Resources in Pulse's stack without the local tap: 1 bus, 9 queues, 5 queue policies, 19
/// rules, 2 schedules, 8 tables, 1 bucket.
pub const STACK_SIZE: usize = 45;
