//! A recording fake of the EC2 Image Builder API, for tests and the local stack.
//!
//! No emulator (moto, LocalStack community) serves Image Builder, so this crate does: it speaks
//! the service's REST-JSON protocol (`PUT /CreateImagePipeline`, `GET /GetImage?...`,
//! `/tags/{arn}`), so `aws-sdk-imagebuilder` works against it unchanged through its endpoint
//! URL. It keeps components, recipes (immutable, versioned), infrastructure and distribution
//! configurations, pipelines and the images their executions produce; answers errors like the
//! service (`ResourceNotFoundException` with HTTP 404, `ResourceAlreadyExistsException`,
//! `InvalidParameterValueException`, `x-amzn-ErrorType`); honours `clientToken`; records every
//! call; and injects faults. Builds finish at once with an AMI id a test may choose.
//!
//! ```no_run
//! # async fn demo() {
//! let fake = pulse_fake_imagebuilder::FakeImageBuilder::start().await;
//! // AWS_ENDPOINT_URL_IMAGEBUILDER=<fake.url()>, or `endpoint_url(fake.url())` on the SDK config.
//! fake.set_next_ami("my-pipeline", "ami-0123456789abcdef0");
//! # }
//! ```
//!
//! Everything is also reachable over HTTP under `/_fake/` (see `control.rs` and the README).

mod arn;
mod control;
mod error;
mod ops;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;
use tokio::task::JoinHandle;

pub use arn::{Account, arn_name};
pub use error::ApiError;
pub use state::{Fault, NextBuild, RecordedCall};

use state::State;

/// State shared by the HTTP handlers and the [`FakeImageBuilder`] handle.
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    /// The state; a panic in another holder does not poison the fake for the rest of a test.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn calls(&self, operation: Option<&str>) -> Vec<RecordedCall> {
        let wanted = operation.filter(|o| *o != "*");
        self.lock().calls.iter().filter(|c| wanted.is_none_or(|o| c.operation == o)).cloned().collect()
    }
}

/// A running fake Image Builder. Stops serving when dropped.
pub struct FakeImageBuilder {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for FakeImageBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeImageBuilder").field("addr", &self.addr).finish()
    }
}

impl FakeImageBuilder {
    /// Starts the fake on a free loopback port, as account `123456789012` in `us-east-1`.
    /// Panics if it cannot bind, which in a test is the right outcome.
    pub async fn start() -> FakeImageBuilder {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), Account::default())
            .await
            .expect("binding the fake Image Builder to a loopback port")
    }

    /// Starts the fake on `addr` (port 0 picks a free one), with ARNs in `account`.
    pub async fn start_on(addr: SocketAddr, account: Account) -> std::io::Result<FakeImageBuilder> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { state: Mutex::new(State::new(account)) });
        let app = server::router(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake Image Builder server stopped");
            }
        });
        Ok(FakeImageBuilder { shared, addr, server })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL to give the SDK, e.g. `http://127.0.0.1:4600`; the control API is
    /// under `/_fake/`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every recorded call, oldest first.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.calls(None)
    }

    /// Recorded calls of `operation` (e.g. `CreateImageRecipe`; `*` for all), oldest first.
    pub fn calls_to(&self, operation: &str) -> Vec<RecordedCall> {
        self.shared.calls(Some(operation))
    }

    /// Forgets resources, calls, client tokens, faults and chosen AMIs.
    pub fn reset(&self) {
        self.shared.lock().reset();
    }

    /// Answers the next `times` calls of `operation` (`*`: any) with `fault` instead.
    pub fn inject(&self, operation: &str, fault: Fault, times: u32) {
        self.shared.lock().inject(operation, fault, times);
    }

    /// The next build of pipeline `pipeline_name` produces `ami_id` (queued: call again for the
    /// build after).
    pub fn set_next_ami(&self, pipeline_name: &str, ami_id: &str) {
        self.push_next_build(pipeline_name, NextBuild { ami_id: ami_id.to_owned(), status: "AVAILABLE".to_owned() });
    }

    /// How the next build of `pipeline_name` ends (a `FAILED` status makes a build without AMI).
    pub fn push_next_build(&self, pipeline_name: &str, build: NextBuild) {
        self.shared.lock().next_builds.entry(pipeline_name.to_owned()).or_default().push_back(build);
    }

    /// The stored resource with this ARN (what `Get*` answers), if any.
    pub fn resource(&self, arn: &str) -> Option<Value> {
        self.shared.lock().resources.find_mut(arn).cloned()
    }
}

impl Drop for FakeImageBuilder {
    fn drop(&mut self) {
        self.server.abort();
    }
}
