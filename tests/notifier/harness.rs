//! A deployed copy of Pulse's stack on the emulator, unique to one test, the fake Slack, and
//! the notifier wired to both exactly as `main.rs` wires it (with fast pacing).

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_aws::sqs::{Queue, ReceivedMessage};
use pulse_contracts::{Envelope, Event};
use pulse_fake_slack::FakeSlack;
use pulse_notifier::config::Config;
use pulse_notifier::delivery::{Deliverer, UncertainPolicy};
use pulse_notifier::handler::Notifier;
use pulse_notifier::store::Store;
use pulse_runtime::poller::{PollerOptions, RoundStats};

pub const ROUTING: &str = r#"{
  "default_channel": "C0DEFAULT",
  "users_channel": "C0USERS",
  "jobs_channel": "C0JOBS",
  "job_channels": {"nightly_backup": "C0BACKUP"},
  "alert_routes": [
    {"kinds": ["error_rate_exceeded"], "min_severity": "critical", "channel": "C0PAGER"},
    {"kinds": ["deploy_started", "deploy_completed", "deploy_failed"], "channel": "C0DEPLOY"},
    {"min_severity": "warning", "channel": "C0ALERTS"}
  ],
  "policy": {
    "deploy": [{"groups": ["S0DEPLOYERS"]}],
    "rerun": [{"services": ["octo-org/widgets"], "groups": ["S0DEPLOYERS"]}],
    "approve": [{"groups": ["S0DEPLOYERS"]}],
    "rollback": [{"users": ["U0DANAOPS1"]}]
  }
}"#;

/// The one user group `ROUTING`'s policy names, and its member.
pub const DEPLOYERS: &str = "S0DEPLOYERS";
pub const DEPLOYER: &str = "U0DANAOPS1";

pub struct Stack {
    pub config: SdkConfig,
    pub names: StackNames,
    pub slack: FakeSlack,
}

impl Stack {
    /// Deploy the whole stack (with the tap queue) under a fresh prefix and start a fake Slack.
    pub async fn deploy() -> Stack {
        let config = pulse_tests::emulator_config().await;
        let prefix = pulse_tests::unique("notif");
        let names = pulse_tests::deploy_stack(&prefix, true).await;
        let slack = FakeSlack::start().await;
        slack.set_usergroup(DEPLOYERS, &[DEPLOYER]);
        Stack { config, names, slack }
    }

    pub fn store(&self) -> Store {
        Store::new(
            aws_sdk_dynamodb::Client::new(&self.config),
            self.names.table("notifier", "messages"),
            self.names.table("notifier", "audit"),
        )
    }

    /// The notifier as `main.rs` builds it, against the fake Slack, pacing 50 ms.
    pub fn notifier(&self) -> Notifier {
        self.notifier_paced(Duration::from_millis(50))
    }

    /// The notifier with this gap between posts to one channel.
    pub fn notifier_paced(&self, pacing: Duration) -> Notifier {
        self.notifier_with(Config::parse(ROUTING, "test").expect("routing parses"), pacing)
    }

    /// The notifier with this configuration.
    pub fn notifier_with(&self, routing: Config, pacing: Duration) -> Notifier {
        let deliverer = Deliverer::new(self.slack.client_config("xoxb-test-token"), self.store(), pacing, UncertainPolicy::AssumeSent);
        Notifier::new(routing, deliverer, self.publisher())
    }

    pub fn publisher(&self) -> EventPublisher {
        EventPublisher::new(aws_sdk_eventbridge::Client::new(&self.config), self.names.bus())
    }

    /// Publish events on the bus, as producers do.
    pub async fn publish(&self, events: &[Envelope<Event>]) {
        let raw: Vec<Envelope> = events.iter().map(Envelope::to_raw).collect();
        self.publisher().publish(&raw).await.expect("publish");
    }

    pub async fn queue(&self, name: &str) -> Queue {
        Queue::from_name(aws_sdk_sqs::Client::new(&self.config), name).await.expect("queue exists")
    }

    /// Run the notifier's poller until `until_settled` messages are done or dead-lettered, or
    /// `timeout` passes.
    pub async fn run(&self, notifier: &Notifier, until_settled: usize, timeout: Duration) -> RoundStats {
        let queue = self.queue(&self.names.queue("notifier")).await;
        pulse_tests::poll_until_settled(&self.worker(notifier), &queue, &fast_poller(), until_settled, timeout).await
    }

    /// `notifier` as the runtime runs it: with its dead-letter queue and claims.
    pub fn worker<'a>(&self, notifier: &'a Notifier) -> pulse_runtime::Worker<&'a Notifier> {
        pulse_tests::worker(&self.config, &self.names, notifier)
    }

    /// Drop the runtime's claim on `dedup_key`, as if the attempt that handled it had died before
    /// recording its completion.
    pub async fn forget_claim(&self, dedup_key: &str) {
        aws_sdk_dynamodb::Client::new(&self.config)
            .delete_item()
            .table_name(self.names.table("notifier", "idempotency"))
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(dedup_key.to_owned()))
            .send()
            .await
            .expect("delete the claim");
    }

    /// Everything currently in a queue (received and deleted), waiting briefly for stragglers.
    pub async fn drain(&self, queue_name: &str, expect_at_least: usize) -> Vec<ReceivedMessage> {
        pulse_tests::drain(&self.queue(queue_name).await, expect_at_least).await
    }

    /// The ledger entry's `status` attribute for a dedup key.
    pub async fn ledger_status(&self, key: &str) -> Option<String> {
        self.store().ledger(key).await.expect("read ledger").map(|e| e.status.as_str().to_owned())
    }

    /// Every audit item of an alert, as raw attribute maps.
    pub async fn audit_items(&self, alert_id: &str) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        aws_sdk_dynamodb::Client::new(&self.config)
            .query()
            .table_name(self.names.table("notifier", "audit"))
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("alert#{alert_id}")))
            .send()
            .await
            .expect("query audit")
            .items
            .unwrap_or_default()
    }
}

/// A contract example as an envelope, with a fresh id.
pub fn example(event_type: &str, name: &str) -> Envelope<Event> {
    example_v(event_type, 1, name)
}

/// An example of version `version` of `event_type`, with a fresh id.
pub fn example_v(event_type: &str, version: u32, name: &str) -> Envelope<Event> {
    let path = format!("{}/../contracts/examples/{event_type}.v{version}/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut envelope = pulse_contracts::parse_str(&text).expect("example parses");
    envelope.id = uuid::Uuid::new_v4();
    envelope
}

/// The same event again, as a redelivery from the producer would carry it (new envelope id).
pub fn again(envelope: &Envelope<Event>) -> Envelope<Event> {
    Envelope { id: uuid::Uuid::new_v4(), ..envelope.clone() }
}

/// The Pulse envelope inside an EventBridge-delivered SQS body.
pub fn delivered_envelope(message: &ReceivedMessage) -> Envelope<Event> {
    pulse_contracts::from_sqs_body(&message.body).expect("a valid Pulse event")
}

/// Poller settings for tests: short polls, retries visible again at once.
pub fn fast_poller() -> PollerOptions {
    PollerOptions { concurrency: 1, batch_size: 10, wait_seconds: 1, ..PollerOptions::default() }
}
