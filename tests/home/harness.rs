//! A deployed copy of Pulse's stack on the emulator, unique to one test, a fake Slack, and the
//! home-renderer wired to both exactly as `main.rs` wires it.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use pulse_aws::eventbridge::EventPublisher;
use pulse_aws::names::StackNames;
use pulse_aws::s3json::{GzipJsonStore, Precondition};
use pulse_aws::sqs::{Queue, ReceivedMessage};
use pulse_contracts::praktika::{EventFeed, FeedEvent};
use pulse_contracts::{
    CommandAction, Container, Email, Envelope, Event, FeedChange, FeedUpdated, HomeTab, InteractionKind, SlackCommand, SlackHomeOpened,
    SlackInteraction, SlashCommand, SubscriptionChanged,
};
use pulse_core::{Clock, Ids};
use pulse_fake_slack::FakeSlack;
use pulse_home_renderer::feed::FeedLocation;
use pulse_home_renderer::filters::Toggle;
use pulse_home_renderer::handler::HomeRenderer;
use pulse_home_renderer::store::Store;
use pulse_home_renderer::views::ViewPublisher;
use pulse_runtime::poller::{PollerOptions, RoundStats};
use pulse_runtime::{Disposition, HandlerError, Worker};
use pulse_slack::SlackClient;
use serde_json::Value;

pub const TEAM: &str = "T1DC2JH3J";

/// A home-renderer as the runtime runs it; derefs to the handler.
pub struct Renderer(pub Worker<HomeRenderer>);

impl std::ops::Deref for Renderer {
    type Target = HomeRenderer;

    fn deref(&self) -> &HomeRenderer {
        &self.0.handler
    }
}

pub struct Home {
    pub config: SdkConfig,
    pub names: StackNames,
    pub slack: FakeSlack,
}

impl Home {
    /// Deploy the whole stack under a fresh prefix and start a fake Slack.
    pub async fn deploy() -> Home {
        let config = pulse_tests::emulator_config().await;
        let names = pulse_tests::deploy_stack(&pulse_tests::unique("home"), false).await;
        let slack = FakeSlack::start().await;
        Home { config, names, slack }
    }

    pub fn store(&self) -> Store {
        Store::new(aws_sdk_dynamodb::Client::new(&self.config), self.names.table("home-renderer", "subscriptions"), Clock::system())
    }

    pub fn feeds(&self) -> GzipJsonStore {
        GzipJsonStore::new(pulse_aws::config::s3_client(&self.config), self.names.feed_bucket())
    }

    pub fn views(&self) -> ViewPublisher {
        let location = FeedLocation::own_bucket(self.names.feed_bucket());
        ViewPublisher::new(self.store(), self.feeds(), location, SlackClient::new(self.slack.client_config("xoxb-test")), Clock::system())
    }

    /// The home-renderer inside its runtime worker (it derefs to the handler).
    pub fn renderer(&self) -> Renderer {
        Renderer(pulse_tests::worker(&self.config, &self.names, self.handler()))
    }

    pub fn handler(&self) -> HomeRenderer {
        HomeRenderer::new(
            self.store(),
            self.views(),
            EventPublisher::new(aws_sdk_eventbridge::Client::new(&self.config), self.names.bus()),
            Clock::system(),
            Ids::random(),
        )
    }

    /// Writes `email`'s feed where the feed-projector would; returns the `feed.updated` it would
    /// announce.
    pub async fn write_feed(&self, email: &str, events: Vec<FeedEvent>) -> Envelope<Event> {
        let key = FeedLocation::own_bucket(self.names.feed_bucket()).key(email);
        let newest = events.first().cloned().expect("a feed with events");
        let count = events.len() as u64;
        self.feeds().put(&key, &EventFeed { events }, Precondition::None).await.expect("write the feed");
        let detail = FeedUpdated {
            email: Email::parse(email).unwrap(),
            bucket: self.names.feed_bucket(),
            key,
            newest_event: newest,
            changes: vec![FeedChange::NewEvent],
            event_count: count,
        };
        Event::FeedUpdatedV1(detail).into_envelope(
            "pulse.feed-projector",
            format!("feed.updated:{email}:{}", uuid::Uuid::new_v4()),
            uuid::Uuid::new_v4(),
            chrono::Utc::now(),
        )
    }

    /// Publishes envelopes on the bus, so the stack's rules route them.
    pub async fn publish(&self, events: &[Envelope<Event>]) {
        let raw: Vec<Envelope> = events.iter().map(Envelope::to_raw).collect();
        EventPublisher::new(aws_sdk_eventbridge::Client::new(&self.config), self.names.bus()).publish(&raw).await.expect("publish");
    }

    pub async fn queue(&self, name: &str) -> Queue {
        Queue::from_name(aws_sdk_sqs::Client::new(&self.config), name).await.expect("queue exists")
    }

    /// Runs the home-renderer's poller on its queue until `until_settled` messages were handled
    /// or dead-lettered, or `timeout` passes.
    pub async fn process(&self, renderer: &Renderer, until_settled: usize, timeout: Duration) -> RoundStats {
        let queue = self.queue(&self.names.queue("home-renderer")).await;
        let options = PollerOptions { concurrency: 1, batch_size: 10, wait_seconds: 1, ..PollerOptions::default() };
        pulse_tests::poll_until_settled(&renderer.0, &queue, &options, until_settled, timeout).await
    }

    /// Everything currently in a queue (received and deleted), waiting briefly for stragglers.
    pub async fn drain(&self, queue_name: &str, expect_at_least: usize) -> Vec<ReceivedMessage> {
        pulse_tests::drain(&self.queue(queue_name).await, expect_at_least).await
    }

    /// The `subscription.changed` events that reached the notifier's queue, oldest revision first.
    pub async fn announcements(&self, expect_at_least: usize) -> Vec<SubscriptionChanged> {
        let mut out: Vec<SubscriptionChanged> = self
            .drain(&self.names.queue("notifier"), expect_at_least)
            .await
            .iter()
            .filter_map(|m| match pulse_contracts::from_sqs_body(&m.body).expect("a Pulse event").detail {
                Event::SubscriptionChangedV1(c) => Some(c),
                _ => None,
            })
            .collect();
        out.sort_by_key(|c| (c.slack_user_id.clone(), c.revision));
        out
    }

    /// The raw subscription item of `user`.
    pub async fn item(&self, user: &str) -> Option<std::collections::HashMap<String, AttributeValue>> {
        aws_sdk_dynamodb::Client::new(&self.config)
            .get_item()
            .table_name(self.names.table("home-renderer", "subscriptions"))
            .key("pk", AttributeValue::S(format!("user#{user}")))
            .key("sk", AttributeValue::S("sub".into()))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
    }

    /// The Home view the fake Slack holds for `user`.
    pub fn home(&self, user: &str) -> Option<Value> {
        self.slack.home_view(user)
    }

    /// Every text of `user`'s Home view, joined by newlines ("" when none).
    pub fn home_text(&self, user: &str) -> String {
        self.home(user).map(|v| texts(&v)).unwrap_or_default()
    }

    /// Successful `views.publish` calls for `user`.
    pub fn publishes(&self, user: &str) -> usize {
        self.slack.calls_to("views.publish").iter().filter(|c| c.user.as_deref() == Some(user) && c.succeeded()).count()
    }

    /// Texts posted to the response URL `id`.
    pub fn replies(&self, id: &str) -> Vec<String> {
        self.slack.responses(id).iter().map(|r| r["text"].as_str().unwrap_or_default().to_owned()).collect()
    }

    pub fn subscribe(&self, user: &str, text: &str, email: Option<&str>, response_id: &str) -> Envelope<Event> {
        self.command(user, text, CommandAction::Subscribe { email: email.map(|e| Email::parse(e).unwrap()) }, response_id)
    }

    pub fn unsubscribe(&self, user: &str, response_id: &str) -> Envelope<Event> {
        self.command(user, "unsubscribe", CommandAction::Unsubscribe, response_id)
    }

    pub fn command(&self, user: &str, text: &str, action: CommandAction, response_id: &str) -> Envelope<Event> {
        let trigger = uuid::Uuid::new_v4().simple().to_string();
        let praktika = matches!(
            action,
            CommandAction::Subscribe { .. }
                | CommandAction::Unsubscribe
                | CommandAction::GithubLink { .. }
                | CommandAction::GithubUnlink { .. }
        );
        // The version ingress would publish it under.
        SlackCommand {
            team_id: TEAM.into(),
            user_id: user.into(),
            user_name: user.to_lowercase(),
            channel_id: "D0123DMCHAN".into(),
            command: if praktika { SlashCommand::Praktika } else { SlashCommand::Pulser },
            text: text.into(),
            action,
            response_url: self.slack.response_url(response_id),
            trigger_id: trigger.clone(),
        }
        .into_event()
        .into_envelope("pulse.ingress", format!("slack.command:{TEAM}:{trigger}"), uuid::Uuid::new_v4(), chrono::Utc::now())
    }

    /// A click on a Home-tab button.
    pub fn click(&self, user: &str, action_id: &str, value: Option<&str>) -> Envelope<Event> {
        let trigger = uuid::Uuid::new_v4().simple().to_string();
        Event::SlackInteractionV1(SlackInteraction {
            team_id: TEAM.into(),
            user_id: user.into(),
            user_name: user.to_lowercase(),
            kind: InteractionKind::BlockActions {
                action_id: action_id.into(),
                value: value.map(str::to_owned),
                block_id: Some("home_controls".into()),
                container: Container::View { view_id: "V0HOME".into() },
            },
            response_url: None,
            trigger_id: Some(trigger.clone()),
        })
        .into_envelope("pulse.ingress", format!("slack.interaction:{TEAM}:{trigger}"), uuid::Uuid::new_v4(), chrono::Utc::now())
    }

    pub fn toggle(&self, user: &str, toggle: Toggle, on: bool) -> Envelope<Event> {
        self.click(user, toggle.action_id(), Some(if on { "on" } else { "off" }))
    }

    pub fn home_opened(&self, user: &str) -> Envelope<Event> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Event::SlackHomeOpenedV1(SlackHomeOpened {
            team_id: TEAM.into(),
            user_id: user.into(),
            tab: HomeTab::Home,
            event_ts: "1763630282.000300".into(),
        })
        .into_envelope("pulse.ingress", format!("slack.home_opened:{TEAM}:{id}"), uuid::Uuid::new_v4(), chrono::Utc::now())
    }
}

/// Handles `envelope` through the runtime (accept, claim, run) with no queue: `Ok` when done,
/// the reason when it was dead-lettered (`Rejected`) or would be retried (`Retryable`).
pub async fn handle(renderer: &Renderer, envelope: &Envelope<Event>) -> Result<(), HandlerError> {
    // Boxed: the handler's future is large in a debug build, and a test awaiting several of
    // them inline would overflow the test thread's stack.
    match Box::pin(pulse_tests::process_envelope(&renderer.0, envelope)).await {
        Disposition::Done | Disposition::Replaced { dead_lettered: None } => Ok(()),
        Disposition::DeadLettered { reason } | Disposition::Replaced { dead_lettered: Some(reason) } => Err(HandlerError::Rejected(reason)),
        Disposition::Retry { reason, .. } | Disposition::Requeue { reason, .. } => Err(HandlerError::Retryable(reason)),
    }
}

/// Every `text` string in a view, joined by newlines.
pub use pulse_home_renderer::testing::view_texts as texts;

/// The toggle buttons of a view: (action_id, label).
pub fn toggle_buttons(view: &Value) -> Vec<(String, String)> {
    view["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["type"] == "actions")
        .and_then(|b| b["elements"].as_array())
        .into_iter()
        .flatten()
        .map(|e| (e["action_id"].as_str().unwrap_or_default().to_owned(), e["text"]["text"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// The example workflow results in `contracts/examples/ci.workflow.v1`, by file stem, as the
/// feed-projector stores them (`pr_status` set).
pub fn example(name: &str) -> FeedEvent {
    let path = format!("{}/../contracts/examples/ci.workflow.v1/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match pulse_contracts::parse_str(&text).expect("example parses").detail {
        Event::CiWorkflowV1(mut e) => {
            e.ext.pr_status.get_or_insert(if e.ext.pr_number == 0 {
                pulse_contracts::praktika::PrStatus::Merged
            } else {
                pulse_contracts::praktika::PrStatus::Open
            });
            e
        }
        other => panic!("not a workflow: {}", other.event_type()),
    }
}

/// A feed for `email` as of now: the examples re-stamped to the last hour, newest first.
pub fn recent(mut events: Vec<FeedEvent>) -> Vec<FeedEvent> {
    let now = chrono::Utc::now().timestamp();
    for (i, e) in events.iter_mut().enumerate() {
        e.timestamp = now - 60 * (i as i64 + 1);
    }
    events
}
