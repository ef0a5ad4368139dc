//! One Pulse binary run as Lambda runs it: a process whose `AWS_LAMBDA_RUNTIME_API` points at a
//! [`FakeRuntime`] of its own, with the rest of Lambda's environment and the scene's settings.

use std::collections::BTreeMap;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use pulse_fake_lambda_runtime::{FakeRuntime, Outcome, ReportedError};
use serde_json::Value;

use crate::harness::{Scene, Worker, tail};

/// How long one invocation may take (also its deadline, as the function sees it).
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a binary may take to start (reach its first `/next`) or fail to.
const INIT_TIMEOUT: Duration = Duration::from_secs(30);

/// A setting for the function's environment on top of the scene's: set, or removed.
pub type EnvChange<'a> = (&'a str, Option<&'a str>);

/// A binary running as a Lambda function.
pub struct Function {
    pub runtime: FakeRuntime,
    pub process: Worker,
}

impl Function {
    /// Start `service`'s binary (e.g. `notifier`) with the scene's environment (AWS at the
    /// scene's moto), Lambda's, and `changes`.
    pub async fn start(scene: &Scene, service: &str, changes: &[EnvChange<'_>]) -> Function {
        Self::start_program(scene, scene.bins.path(service), service, changes).await
    }

    /// [`Self::start`] with another build of `service` (its Lambda zip's `bootstrap`).
    pub async fn start_program(scene: &Scene, program: std::path::PathBuf, service: &str, changes: &[EnvChange<'_>]) -> Function {
        let runtime = FakeRuntime::start(&format!("{}-{service}", scene.prefix)).await.expect("start the fake Runtime API");
        let mut env: BTreeMap<String, String> = scene.env(&scene.moto.url);
        env.extend(runtime.lambda_env());
        for (name, value) in changes {
            match value {
                Some(value) => env.insert((*name).to_owned(), (*value).to_owned()),
                None => env.remove(*name),
            };
        }
        let process = scene.process_program(program, service, env);
        Function { runtime, process }
    }

    fn log_tail(&self) -> String {
        self.process.log_files.last().map(|log| tail(log, 40)).unwrap_or_default()
    }

    /// Wait until the function asked for its first invocation (its init done); panics with its
    /// log if it exits or reports an init error first. Returns how long init took.
    pub async fn ready(&mut self) -> Duration {
        let deadline = Instant::now() + INIT_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(first) = self.runtime.first_next() {
                return first.duration_since(self.runtime.started());
            }
            if let Some(error) = self.runtime.init_errors().first() {
                panic!("{} failed to start: {error:?}\n{}", self.process.service, self.log_tail());
            }
            if let Some(status) = self.process.exited(Duration::ZERO).await {
                panic!("{} exited at start ({status}):\n{}", self.process.service, self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{} did not ask for an invocation within {INIT_TIMEOUT:?}:\n{}", self.process.service, self.log_tail());
    }

    /// Invoke the function with `event` and return its answer; panics (with its log) when it
    /// does not answer within [`INVOCATION_TIMEOUT`].
    pub async fn invoke(&mut self, event: Value) -> Outcome {
        self.invoke_within(event, INVOCATION_TIMEOUT).await
    }

    /// [`Self::invoke`] with the invocation's deadline `timeout` from now.
    pub async fn invoke_within(&mut self, event: Value, timeout: Duration) -> Outcome {
        self.ready().await;
        match self.runtime.invoke(event, timeout).await {
            Ok(outcome) => outcome,
            Err(timed_out) => {
                let status = self.process.exited(Duration::ZERO).await;
                panic!("{}: {timed_out} (process: {status:?}):\n{}", self.process.service, self.log_tail())
            }
        }
    }

    /// Invoke, expecting a response (not an error), as JSON.
    pub async fn respond(&mut self, event: Value) -> Value {
        self.respond_within(event, INVOCATION_TIMEOUT).await
    }

    /// [`Self::respond`] with the invocation's deadline `timeout` from now.
    pub async fn respond_within(&mut self, event: Value, timeout: Duration) -> Value {
        let outcome = self.invoke_within(event, timeout).await;
        if let Outcome::Error(error) = &outcome {
            panic!("{} reported an error: {error:?}\n{}", self.process.service, self.log_tail());
        }
        outcome.json()
    }

    /// The function failed to start: the init error it reported, and how it exited (non-zero,
    /// before asking for any invocation). Panics when it started instead.
    pub async fn init_failure(&mut self) -> (ReportedError, ExitStatus) {
        let Some(status) = self.process.exited(INIT_TIMEOUT).await else {
            panic!("{} did not exit within {INIT_TIMEOUT:?}:\n{}", self.process.service, self.log_tail());
        };
        let Some(error) = self.runtime.init_error(Duration::ZERO).await else {
            panic!("{} exited ({status}) without reporting to /init/error:\n{}", self.process.service, self.log_tail());
        };
        assert!(!status.success(), "{} reported an init error but exited 0", self.process.service);
        assert!(self.runtime.first_next().is_none(), "{} asked for an invocation after failing to start", self.process.service);
        (error, status)
    }
}
