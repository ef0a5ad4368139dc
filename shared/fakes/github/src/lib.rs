//! A recording fake of the GitHub REST API calls Pulse makes, for tests and the local stack.
//!
//! It checks credentials as GitHub does (`auth.rs`: the App's RS256 JWT against the App's
//! public key, installation tokens it issued and their expiry, a configured fine-grained
//! token), answers the endpoints `pulse_github` calls (`server.rs`), keeps seeded hook
//! deliveries and records redelivery attempts and re-runs (`state.rs`), records every call
//! with the credential it came with, and injects faults (statuses, `Retry-After`, exhausted
//! rate limits, delays) on demand. Everything is also reachable over HTTP under `/_fake/`
//! (`control.rs`).
//!
//! The App's key pair is a test key made for this fake ([`TEST_APP_PRIVATE_KEY`]): it signs
//! nothing anywhere else.

mod auth;
mod control;
mod fault;
mod record;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use control::{Seed, SeedPermission, SeedPulls};
pub use fault::FaultRule;
pub use record::RecordedCall;
pub use state::{Redelivery, Rerun, SeedDelivery};

use state::State;

/// The private key of the fake's GitHub App (PKCS#1 PEM, as GitHub hands them out). A test
/// key: give it to a client as `GITHUB_APP_PRIVATE_KEY` to call the fake as its App.
pub const TEST_APP_PRIVATE_KEY: &str = include_str!("test-app-key.pem");
/// Its public half, which the fake checks JWTs against.
pub const TEST_APP_PUBLIC_KEY: &str = include_str!("test-app-key.pub.pem");
/// The fake App's id, unless [`FakeGithub::start_with`] says otherwise.
pub const TEST_APP_ID: u64 = 4242;

pub(crate) struct Shared {
    state: Mutex<State>,
    key: jsonwebtoken::DecodingKey,
    root_url: String,
    /// Bumped on every recorded call, so waiters wake without polling.
    recorded: watch::Sender<u64>,
}

impl Shared {
    /// The state; a panic in another holder does not poison the fake for the rest of a test.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `seed`; answers the ids given to its deliveries, in order.
    fn seed(&self, seed: Seed) -> Vec<u64> {
        let mut state = self.lock();
        state.installations.extend(seed.installations);
        for p in seed.permissions {
            state.permissions.insert((p.repo, p.login), p.permission);
        }
        for p in seed.pulls {
            state.pulls.insert((p.repo, p.sha.to_ascii_lowercase()), p.numbers);
        }
        if let Some(token) = seed.token {
            state.token = Some(token);
        }
        if let Some(ttl) = seed.token_ttl_secs {
            state.token_ttl_secs = ttl;
        }
        if let Some(status) = seed.redelivery_status {
            state.redelivery_status = status;
        }
        seed.deliveries.into_iter().map(|d| state.add_delivery(d)).collect()
    }
}

/// A running fake GitHub REST API. Stops serving when dropped.
pub struct FakeGithub {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for FakeGithub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGithub").field("addr", &self.addr).finish()
    }
}

impl FakeGithub {
    /// Starts the fake on a free loopback port as App [`TEST_APP_ID`]. Panics if it cannot
    /// bind, which in a test is the right outcome.
    pub async fn start() -> FakeGithub {
        Self::start_with(SocketAddr::from(([127, 0, 0, 1], 0)), TEST_APP_ID).await.expect("binding the fake GitHub to a loopback port")
    }

    /// Starts the fake on `addr` (port 0 picks a free one) as App `app_id`.
    pub async fn start_with(addr: SocketAddr, app_id: u64) -> std::io::Result<FakeGithub> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(TEST_APP_PUBLIC_KEY.as_bytes()).expect("the bundled test public key parses");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(app_id)),
            key,
            root_url: format!("http://{addr}"),
            recorded: watch::Sender::new(0),
        });
        let app = server::router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake GitHub server stopped");
            }
        });
        Ok(FakeGithub { shared, addr, server })
    }

    /// The API root to give a client, e.g. `http://127.0.0.1:4598` (also served under
    /// `/api/v3`, as GitHub Enterprise Server's); the control API is under `/_fake/`.
    pub fn base_url(&self) -> String {
        self.shared.root_url.clone()
    }

    /// Applies a [`Seed`] (installations, deliveries, permissions, pull requests, the
    /// accepted token, the token lifetime); answers the new deliveries' ids.
    pub fn seed(&self, seed: Seed) -> Vec<u64> {
        self.shared.seed(seed)
    }

    /// Installs the App on `scope` (`repos/OWNER/REPO` or `orgs/ORG`) as installation `id`.
    pub fn install(&self, scope: &str, id: u64) {
        self.shared.lock().installations.insert(scope.to_owned(), id);
    }

    /// Accepts `token` as a fine-grained token from now on.
    pub fn accept_token(&self, token: &str) {
        self.shared.lock().token = Some(token.to_owned());
    }

    /// Installation tokens minted from now on live this long.
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.shared.lock().token_ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    }

    /// Adds a delivery to a hook; answers its id.
    pub fn add_delivery(&self, delivery: SeedDelivery) -> u64 {
        self.shared.lock().add_delivery(delivery)
    }

    /// Queues a fault.
    pub fn inject(&self, rule: FaultRule) {
        self.shared.lock().faults.push_back(rule);
    }

    /// Every recorded call, oldest first.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.lock().calls.clone()
    }

    /// Recorded calls whose path contains `part`.
    pub fn calls_to(&self, part: &str) -> Vec<RecordedCall> {
        self.calls().into_iter().filter(|c| c.path.contains(part)).collect()
    }

    /// Re-runs asked for, oldest first.
    pub fn reruns(&self) -> Vec<Rerun> {
        self.shared.lock().reruns.clone()
    }

    /// Redeliveries asked for, oldest first.
    pub fn redeliveries(&self) -> Vec<Redelivery> {
        self.shared.lock().redeliveries.clone()
    }

    /// Waits until at least `n` re-runs are recorded or `timeout` passes; answers them.
    pub async fn wait_for_reruns(&self, n: usize, timeout: Duration) -> Vec<Rerun> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.shared.recorded.subscribe();
        loop {
            changes.borrow_and_update();
            let reruns = self.reruns();
            if reruns.len() >= n || tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                return reruns;
            }
        }
    }

    /// Forgets calls, tokens, attempts and faults; seeds stay.
    pub fn reset(&self) {
        self.shared.lock().reset();
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.server.abort();
    }
}
