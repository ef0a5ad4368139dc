//! A deployed copy of Pulse's stack (with the tap queue, which sees every event on the bus), a
//! fake Slack, and ingress wired to them as `config::from_settings` wires it.

use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use pulse_aws::names::StackNames;
use pulse_aws::sqs::Queue;
use pulse_contracts::{Envelope, Event};
use pulse_core::{Clock, Ids};
use pulse_fake_slack::FakeSlack;
use pulse_ingress::decide::LedgerKey;
use pulse_ingress::ledger::{EnvelopeLedger, Record};
use pulse_ingress::{Core, Ingress, RawRequest, Reply, SlackHeaders, Verifier, config};
use pulse_slack_requests::Signed;

pub const SECRET: &str = "itest-signing-secret-5b1f0c2e9a";
pub const BOT_TOKEN: &str = "xoxb-itest-bot-token-77d1e0c4";

pub struct Stack {
    pub config: SdkConfig,
    pub names: StackNames,
    pub slack: FakeSlack,
}

impl Stack {
    pub async fn deploy() -> Stack {
        crate::logs::init();
        let names = pulse_tests::deploy_stack(&pulse_tests::unique("ing"), true).await;
        let config = pulse_tests::emulator_config().await;
        let slack = FakeSlack::start().await;
        slack.set_token(BOT_TOKEN);
        Stack { config, names, slack }
    }

    pub fn ledger(&self) -> EnvelopeLedger {
        EnvelopeLedger::new(aws_sdk_dynamodb::Client::new(&self.config), config::ledger_table(&self.names), Clock::system(), Ids::random())
    }

    /// Ingress publishing to the stack's bus.
    pub fn ingress(&self) -> Ingress {
        self.ingress_on_bus(&self.names.bus())
    }

    /// Ingress publishing to `bus` (one that does not exist, to make publishing fail).
    pub fn ingress_on_bus(&self, bus: &str) -> Ingress {
        Ingress::new(
            Core::new(Verifier::new(SECRET).unwrap(), Ids::random()),
            self.ledger(),
            config::publisher(aws_sdk_eventbridge::Client::new(&self.config), bus),
            Some(config::slack_client(self.slack.base_url(), BOT_TOKEN.into())),
            Clock::system(),
        )
    }

    /// Every event that reached the tap queue (received and deleted). Waits until `expect`
    /// arrived, then one more empty poll, so that an extra (duplicate) event would be seen too.
    pub async fn tap(&self, expect: usize) -> Vec<Envelope<Event>> {
        let queue = Queue::from_name(aws_sdk_sqs::Client::new(&self.config), &format!("{}-tap", self.names.prefix()))
            .await
            .expect("the tap queue exists");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut events = Vec::new();
        loop {
            let batch = queue.receive(10, 1).await.expect("receive from the tap");
            if batch.is_empty() && (events.len() >= expect || Instant::now() > deadline) {
                break;
            }
            let handles: Vec<String> = batch.iter().map(|m| m.receipt_handle.clone()).collect();
            if !handles.is_empty() {
                queue.delete_batch(&handles).await.expect("delete from the tap");
            }
            for message in batch {
                events.push(pulse_contracts::from_sqs_body_validated(&message.body).expect("a valid Pulse event on the bus"));
            }
        }
        events
    }

    pub async fn record(&self, key: &LedgerKey) -> Option<Record> {
        self.ledger().get(key).await.expect("read the ledger")
    }
}

/// A request as Slack would send it: signed now with [`SECRET`], plus `extra` headers.
pub struct SlackPost {
    pub body: String,
    pub signed: Signed,
    pub extra: Vec<(&'static str, String)>,
}

impl SlackPost {
    pub fn form(body: String) -> Self {
        let signed = Signed::form(SECRET, now(), &body);
        Self { body, signed, extra: Vec::new() }
    }

    pub fn json(body: String) -> Self {
        let signed = Signed::json(SECRET, now(), &body);
        Self { body, signed, extra: Vec::new() }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.extra.push((name, value.to_owned()));
        self
    }

    pub fn signed_with(mut self, secret: &str) -> Self {
        self.signed = pulse_slack_requests::Signed::new(secret, now(), self.body.as_bytes(), self.signed.content_type);
        self
    }

    /// Header pairs as Slack spells them.
    pub fn header_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = self.signed.pairs();
        pairs.extend(self.extra.iter().cloned());
        pairs
    }

    /// Through [`Ingress::handle_http`], as both HTTP transports do.
    pub async fn send(&self, ingress: &Ingress) -> Reply {
        self.send_to(ingress, "/slack/events").await
    }

    /// [`send`](Self::send) to another path (ingress routes by content; logs show the path).
    pub async fn send_to(&self, ingress: &Ingress, path: &str) -> Reply {
        let pairs = self.header_pairs();
        let headers = SlackHeaders::from_str_pairs(pairs.iter().map(|(n, v)| (*n, v.as_str())));
        ingress.handle_http(RawRequest { method: "POST", path, headers, body: self.body.as_bytes() }).await
    }
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn ephemeral_text(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = reply.body.as_ref().expect("a JSON body");
    assert_eq!(body["response_type"], "ephemeral", "{body}");
    body["text"].as_str().unwrap().to_owned()
}
