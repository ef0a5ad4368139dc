//! A deployed copy of Pulse's stack on the emulator, unique to one test, plus the feed-projector
//! wired to it exactly as `main.rs` wires it.

use std::time::Duration;

use aws_config::SdkConfig;
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_aws::s3json::GzipJsonStore;
use pulse_aws::sqs::{Queue, ReceivedMessage};
use pulse_contracts::praktika::{EventFeed, FeedEvent};
use pulse_contracts::{Envelope, Event};
use pulse_core::clock::ManualTime;
use pulse_core::{Clock, Ids};
use pulse_feed_projector::handler::{FeedLocation, FeedProjector};
use pulse_infra_reconciler::{Clients, LoadOptions, PlanOptions, StackConfig, apply, plan};
use pulse_runtime::Worker;
use pulse_runtime::poller::{PollerOptions, RoundStats};

pub struct Stack {
    pub config: SdkConfig,
    pub names: StackNames,
    /// The projectors' clock (the epoch until a test sets it).
    clock: Clock,
    now: ManualTime,
}

impl Stack {
    /// Deploy the whole stack (with the tap queue) under a fresh prefix, then switch the feed
    /// bucket's EventBridge notifications off again: with them on, every feed the projector
    /// writes comes back to its queue as a `feed.written` (ignored: Pulse's own write), which
    /// the tests counting messages do not expect. `praktika_writes` tests that path with
    /// [`Stack::deploy_with_s3_notifications`].
    pub async fn deploy() -> Stack {
        let stack = Self::deploy_with_s3_notifications().await;
        pulse_aws::config::s3_client(&stack.config)
            .put_bucket_notification_configuration()
            .bucket(stack.names.feed_bucket())
            .notification_configuration(aws_sdk_s3::types::NotificationConfiguration::builder().build())
            .send()
            .await
            .expect("turn the feed bucket's notifications off");
        stack
    }

    /// The whole stack as `infra/pulse-stack.json` declares it: S3 notifies EventBridge of every
    /// feed object written.
    pub async fn deploy_with_s3_notifications() -> Stack {
        let config = pulse_tests::emulator_config().await;
        let prefix = pulse_tests::unique("feed");
        let stack = StackConfig::pulse(&LoadOptions::new(prefix.clone()).flag("local_tap", true)).expect("stack file loads");
        let clients = Clients::new(&config);
        let plan = plan(&stack, &clients, &PlanOptions::default()).await.expect("plan");
        apply(&plan, &clients, |_| {}).await.expect("apply");
        let (clock, now) = Clock::manual(chrono::DateTime::UNIX_EPOCH);
        Stack { config, names: StackNames::new(prefix), clock, now }
    }

    pub fn set_now(&self, unix_seconds: i64) {
        self.now.set(chrono::DateTime::from_timestamp(unix_seconds, 0).expect("a time in range"));
    }

    pub fn projector(&self) -> FeedProjector {
        self.projector_with_bucket(self.names.feed_bucket())
    }

    /// A projector whose feed bucket may not exist (to provoke retryable failures).
    pub fn projector_with_bucket(&self, bucket: String) -> FeedProjector {
        self.projector_with_s3(pulse_aws::config::s3_client(&self.config), bucket)
    }

    /// A projector on this S3 client (tests intercept its calls).
    pub fn projector_with_s3(&self, s3: aws_sdk_s3::Client, bucket: String) -> FeedProjector {
        FeedProjector::new(
            GzipJsonStore::new(s3, bucket.clone()),
            FeedLocation::own_bucket(bucket),
            EventPublisher::new(aws_sdk_eventbridge::Client::new(&self.config), self.names.bus()),
            self.clock.clone(),
            Ids::random(),
        )
    }

    pub async fn queue(&self, name: &str) -> Queue {
        Queue::from_name(aws_sdk_sqs::Client::new(&self.config), name).await.expect("queue exists")
    }

    pub async fn work_queue(&self) -> Queue {
        self.queue(&self.names.queue("feed-projector")).await
    }

    pub fn publisher(&self) -> EventPublisher {
        EventPublisher::new(aws_sdk_eventbridge::Client::new(&self.config), self.names.bus())
    }

    /// Publish ci.workflow events on the bus, as `pulse publish` does.
    pub async fn publish(&self, events: &[Envelope<Event>]) {
        let raw: Vec<Envelope> = events.iter().map(Envelope::to_raw).collect();
        self.publisher().publish(&raw).await.expect("publish");
    }

    /// Run the feed-projector's poller until `until_settled` messages are handled or
    /// dead-lettered, or `timeout` passes.
    pub async fn project(&self, projector: &FeedProjector, options: &PollerOptions, until_settled: usize, timeout: Duration) -> RoundStats {
        let queue = self.work_queue().await;
        pulse_tests::poll_until_settled(&self.worker(projector), &queue, options, until_settled, timeout).await
    }

    /// `projector` as the runtime runs it: with its dead-letter queue and claims.
    pub fn worker<'a>(&self, projector: &'a FeedProjector) -> Worker<&'a FeedProjector> {
        pulse_tests::worker(&self.config, &self.names, projector)
    }

    pub async fn feed(&self, email: &str) -> Option<EventFeed> {
        let store = GzipJsonStore::new(pulse_aws::config::s3_client(&self.config), self.names.feed_bucket());
        store.get::<EventFeed>(&FeedLocation::own_bucket(self.names.feed_bucket()).key(email)).await.expect("read feed").map(|v| v.value)
    }

    /// Everything currently in a queue (received and deleted), waiting briefly for stragglers.
    pub async fn drain(&self, queue_name: &str, expect_at_least: usize) -> Vec<ReceivedMessage> {
        pulse_tests::drain(&self.queue(queue_name).await, expect_at_least).await
    }
}

/// The example workflow results in `contracts/examples/ci.workflow.v1`, by file stem.
pub fn example(name: &str) -> Envelope<Event> {
    let path = format!("{}/../contracts/examples/ci.workflow.v1/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    pulse_contracts::parse_str(&text).expect("example parses")
}

/// A fresh ci.workflow envelope for `event` (dedup key from the run's identity, as `pulse publish`).
pub fn envelope(event: FeedEvent) -> Envelope<Event> {
    let key = format!("ci.workflow:{}:{}:{}:{}", event.ext.repo_name, event.ext.pr_number, event.sha, event.timestamp);
    Event::CiWorkflowV1(event).into_envelope("ci", key, uuid::Uuid::new_v4(), chrono::Utc::now())
}

pub fn workflow(envelope: &Envelope<Event>) -> FeedEvent {
    match &envelope.detail {
        Event::CiWorkflowV1(e) => e.clone(),
        other => panic!("not a workflow: {}", other.event_type()),
    }
}

/// The Pulse envelope inside an EventBridge-delivered SQS body.
pub fn delivered_envelope(message: &ReceivedMessage) -> Envelope<Event> {
    pulse_contracts::from_sqs_body(&message.body).expect("a valid Pulse event")
}

/// Poller settings for tests: short polls, retries visible again at once.
pub fn fast_poller() -> PollerOptions {
    PollerOptions { concurrency: 1, batch_size: 10, wait_seconds: 1, ..PollerOptions::default() }
}
