//! A recording fake of the Slack Web API, for tests and the local stack.
//!
//! It answers like Slack (HTTP 200 with `ok:true`/`ok:false`, Block Kit limits, `hash`
//! conflicts, `not_authed`/`invalid_auth`), remembers messages and App Home views so tests can
//! read the state a user would see, records every call, and injects [`Fault`]s on demand.
//! Everything is also reachable over HTTP under `/_fake/` (see `control.rs`), and a person can
//! look at it and use Pulse from a page at `/` (see `ui.rs` and `standin.rs`).

mod chat;
mod control;
mod discord;
mod ephemeral;
mod fault;
mod history;
pub use discord::{DISCORD_METHOD, validate as discord_validate};
mod record;
mod server;
pub mod standin;
mod state;
mod ui;
pub mod validate;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use fault::{Fault, FaultRequest};
pub use record::RecordedCall;
pub use standin::{Refused, StandIn};
pub use state::{METHODS, RESPONSE_URL_USES, dm_channel};
pub use validate::{MAX_MESSAGE_BLOCKS, MAX_VIEW_BLOCKS, MAX_VIEW_BYTES};

use pulse_core::SecretSource;
use pulse_slack::ClientConfig;
use state::{FakeUser, State};

/// The method name under which posts to a [`FakeSlack::response_url`] are recorded and
/// faults for them are injected.
pub const RESPONSE_URL_METHOD: &str = pulse_slack::RESPONSE_URL_METHOD;

/// Whether the page's stand-in signs requests for ingress (`standin.rs`).
enum StandInSetting {
    Off,
    Refused(String),
    On(Arc<StandIn>),
}

/// State shared by the HTTP handlers and the [`FakeSlack`] handle.
struct Shared {
    state: Mutex<State>,
    /// Bumped on every recorded call (and every act of the page) so that waiters and the page
    /// wake without polling.
    recorded: watch::Sender<u64>,
    /// This server's root URL, e.g. `http://127.0.0.1:4599`.
    root: String,
    /// Names this process, so the page notices a restarted fake.
    instance: String,
    stand_in: Mutex<StandInSetting>,
    response_ids: AtomicU64,
}

impl Shared {
    fn stand_in(&self) -> MutexGuard<'_, StandInSetting> {
        self.stand_in.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the page (and waiters) after a change that is not a recorded call.
    fn changed(&self) {
        self.recorded.send_modify(|n| *n += 1);
    }

    /// A fresh response URL id for the stand-in.
    fn next_response_id(&self) -> String {
        format!("ui-{}-{}", self.instance, self.response_ids.fetch_add(1, Ordering::Relaxed))
    }

    /// The state; a panic in another holder does not poison the fake for the rest of a test.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, state: &mut State, call: RecordedCall) {
        tracing::info!(
            method = %call.method,
            channel = call.channel.as_deref().unwrap_or("-"),
            user = call.user.as_deref().unwrap_or("-"),
            status = call.status,
            error = call.error.as_deref().unwrap_or("-"),
            "fake slack call"
        );
        state.calls.push(call);
        self.recorded.send_modify(|n| *n += 1);
    }

    /// Recorded calls to `method` (all calls for `None` or `*`).
    fn calls(&self, method: Option<&str>) -> Vec<RecordedCall> {
        let wanted = method.filter(|m| *m != "*");
        self.lock().calls.iter().filter(|c| wanted.is_none_or(|m| c.method == m)).cloned().collect()
    }

    async fn wait_for_calls(&self, method: Option<&str>, n: usize, timeout: Duration) -> Vec<RecordedCall> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.recorded.subscribe();
        loop {
            // Marking seen before reading means a call recorded in between still wakes us.
            changes.borrow_and_update();
            let calls = self.calls(method);
            if calls.len() >= n {
                return calls;
            }
            if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                return self.calls(method);
            }
        }
    }

    fn add_user(&self, id: &str, name: &str, real_name: Option<&str>, email: Option<&str>) {
        let user = FakeUser {
            id: id.to_owned(),
            name: name.to_owned(),
            real_name: real_name.unwrap_or(name).to_owned(),
            email: email.map(str::to_owned),
        };
        self.lock().users.insert(id.to_owned(), user);
    }
}

/// A running fake Slack Web API. Stops serving when dropped.
pub struct FakeSlack {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for FakeSlack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSlack").field("addr", &self.addr).finish()
    }
}

impl FakeSlack {
    /// Starts the fake on a free loopback port. Panics if it cannot bind, which in a test is
    /// the right outcome.
    pub async fn start() -> FakeSlack {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("binding the fake Slack to a loopback port")
    }

    /// Starts the fake on `addr` (port 0 picks a free one).
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<FakeSlack> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            recorded: watch::Sender::new(0),
            root: format!("http://{addr}"),
            instance: format!("{:x}{:x}", started.as_millis(), std::process::id()),
            stand_in: Mutex::new(StandInSetting::Off),
            response_ids: AtomicU64::new(0),
        });
        let app = server::router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake Slack server stopped");
            }
        });
        Ok(FakeSlack { shared, addr, server })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server root, e.g. `http://127.0.0.1:4599`; the control API is under `/_fake/`.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The Web API root to give a client, e.g. `http://127.0.0.1:4599/api`.
    pub fn base_url(&self) -> String {
        format!("{}/api", self.root_url())
    }

    /// A response URL on the fake; posts to it are recorded as `response_url` calls with
    /// `response_id == id`, and Slack's limit of 5 uses applies.
    pub fn response_url(&self, id: &str) -> String {
        format!("{}/response/{id}", self.root_url())
    }

    /// A client configuration pointing at the fake with test-friendly retry settings (short
    /// backoff and timeout) so that fault-injection tests stay fast.
    pub fn client_config(&self, token: impl Into<SecretSource>) -> ClientConfig {
        ClientConfig {
            base_url: self.base_url(),
            max_attempts: 5,
            request_timeout: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(2),
            base_backoff: Duration::from_millis(10),
            ..ClientConfig::new(token)
        }
    }

    /// Lets the page act as Slack: sign what a person does with `secret` and post it to the
    /// ingress at `ingress` (its root URL). Refused, and the page told why, for an ingress off
    /// this machine or a secret that looks real or names an SSM parameter.
    pub fn set_stand_in(&self, ingress: &str, secret: &str) -> Result<(), Refused> {
        let (setting, result) = match StandIn::new(ingress, secret) {
            Ok(stand_in) => (StandInSetting::On(Arc::new(stand_in)), Ok(())),
            Err(refused) => (StandInSetting::Refused(refused.to_string()), Err(refused)),
        };
        *self.shared.stand_in() = setting;
        self.shared.changed();
        result
    }

    /// Ephemeral messages (`chat.postEphemeral`, commands' answers, `response_url` posts the
    /// stand-in's URLs received), oldest first.
    pub fn ephemerals(&self) -> Vec<Value> {
        self.shared.lock().ephemerals().to_vec()
    }

    /// Every recorded call, oldest first.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.calls(None)
    }

    /// Recorded calls to `method` (`"*"` for all), oldest first.
    pub fn calls_to(&self, method: &str) -> Vec<RecordedCall> {
        self.shared.calls(Some(method))
    }

    /// Waits until at least `n` calls to `method` (`"*"` for any) are recorded, or `timeout`
    /// passes, and returns the calls recorded by then (check the length).
    pub async fn wait_for_calls(&self, method: &str, n: usize, timeout: Duration) -> Vec<RecordedCall> {
        self.shared.wait_for_calls(Some(method), n, timeout).await
    }

    /// Forgets calls, messages, views, responses and pending faults. Users and the token are
    /// configuration and stay.
    pub fn reset(&self) {
        self.shared.lock().reset();
    }

    /// Adds (or replaces) a user that `users.info` knows.
    pub fn add_user(&self, id: &str, name: &str, email: Option<&str>) {
        self.shared.add_user(id, name, None, email);
    }

    /// Makes `group` (`S…`) a user group of `members`, as `usergroups.users.list` lists it.
    pub fn set_usergroup(&self, group: &str, members: &[&str]) {
        self.shared.lock().usergroups.insert(group.to_owned(), members.iter().map(|m| (*m).to_owned()).collect());
    }

    /// Accepts only `valid_token` from now on (`invalid_auth` for others). Until called, any
    /// token is accepted; a missing one is always `not_authed`.
    pub fn set_token(&self, valid_token: &str) {
        self.shared.lock().token = Some(valid_token.to_owned());
    }

    /// Queues `fault` for the next `times` calls to `method` (a Web API method,
    /// [`RESPONSE_URL_METHOD`], or `"*"` for any; a method's own queue goes first).
    pub fn inject(&self, method: &str, fault: Fault, times: u32) {
        self.shared.lock().inject(method, fault, times);
    }

    /// The current content of the message at (`channel`, `ts`), edits applied. A user id as
    /// channel means the DM with that user.
    pub fn message(&self, channel: &str, ts: &str) -> Option<Value> {
        self.shared.lock().message(channel, ts)
    }

    /// The replies in the thread of (`channel`, `ts`), oldest first, the parent excluded.
    pub fn thread(&self, channel: &str, ts: &str) -> Vec<Value> {
        self.shared.lock().thread(channel, ts)
    }

    /// Every stored message (thread replies included), in post order.
    pub fn messages(&self) -> Vec<Value> {
        self.shared.lock().messages(None)
    }

    /// The stored messages of `channel` (a user id means their DM), in post order.
    pub fn messages_in(&self, channel: &str) -> Vec<Value> {
        self.shared.lock().messages(Some(channel))
    }

    /// A Discord webhook URL on the fake for webhook `id`; what it receives is kept under `id`
    /// ([`FakeSlack::discord_messages`]) and recorded as [`DISCORD_METHOD`] calls.
    pub fn discord_webhook_url(&self, id: &str) -> String {
        format!("{}/api/webhooks/{id}/fake-webhook-token", self.root_url())
    }

    /// Messages Discord webhook `id` created, oldest first.
    pub fn discord_messages(&self, id: &str) -> Vec<Value> {
        self.shared.lock().discord_messages(id)
    }

    /// The App Home view last published for `user`, with its `id` and `hash`.
    pub fn home_view(&self, user: &str) -> Option<Value> {
        self.shared.lock().home_view(user)
    }

    /// Views opened with `views.open`, oldest first.
    pub fn opened_views(&self) -> Vec<Value> {
        self.shared.lock().modals.clone()
    }

    /// Bodies accepted on [`FakeSlack::response_url`]`(id)`, oldest first.
    pub fn responses(&self, id: &str) -> Vec<Value> {
        self.shared.lock().responses.get(id).cloned().unwrap_or_default()
    }
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.server.abort();
    }
}
