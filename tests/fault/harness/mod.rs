//! The processes a fault test runs: its own moto, the fake Slack, Pulse's stack deployed by
//! `pulse infra deploy`, the service binaries as workers, and the `pulse` CLI. Everything is a
//! child process of the test, killed when the test ends (pass or fail); every process writes its
//! output to a file under `target/fault/<test>-<id>/`, and a failing test prints their tails.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use pulse_aws::names::{CONSUMERS, StackNames};
use pulse_aws::sqs::Queue;
use serde_json::Value;

/// Dummy credentials: every call goes to the test's own emulator.
pub const AWS_ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// The bot token the fake Slack accepts and the workers present.
pub const BOT_TOKEN: &str = "xoxb-local";

/// The visibility timeout the workers ask for on each receive (`PULSE_POLLER_VISIBILITY_SECONDS`):
/// a crashed worker's message is visible again this soon.
pub const VISIBILITY_SECONDS: u64 = 6;

/// Fault tests run one at a time: under nextest by the `fault` test group
/// (`.config/nextest.toml`), under `cargo test` (one process, a runtime per test) by this lock.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// Where the service binaries are: `PULSE_BIN_DIR` (tests/run exports it), else
/// `<CARGO_TARGET_DIR or workspace/target>/debug`.
#[derive(Debug, Clone)]
pub struct Bins {
    pub dir: PathBuf,
}

impl Bins {
    pub fn locate() -> Bins {
        if let Some(dir) = std::env::var_os("PULSE_BIN_DIR").filter(|d| !d.is_empty()) {
            return Bins { dir: PathBuf::from(dir) };
        }
        let target = match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
            Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
            Some(dir) => workspace().join(dir),
            None => workspace().join("target"),
        };
        Bins { dir: target.join("debug") }
    }

    /// The path of one binary; panics with what to do when it was not built.
    pub fn path(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        assert!(
            path.is_file(),
            "the fault suite runs Pulse's binaries, but {} does not exist.\n\
             Build them first: `cargo build --bins --features pulse-runtime/fault-hooks` \
             (./tests/run does this and exports PULSE_BIN_DIR), or point PULSE_BIN_DIR at the directory holding them.",
            path.display()
        );
        path
    }

    /// `target/fault`: per-test log directories and the summary file.
    pub fn fault_dir(&self) -> PathBuf {
        self.dir.parent().map(Path::to_path_buf).unwrap_or_else(|| self.dir.clone()).join("fault")
    }
}

/// A free TCP port on loopback (bound, then released: the caller binds it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port").local_addr().unwrap().port()
}

/// Poll `check` every `every` until it returns `Some`, or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, every: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}

/// The last `lines` lines of a file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The log files of one test, so that a failure can show them.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<PathBuf>>>);

impl Logs {
    fn add(&self, path: PathBuf) {
        self.0.lock().unwrap().push(path);
    }

    fn print_tails(&self) {
        for path in self.0.lock().unwrap().iter() {
            eprintln!("----- {} (last 40 lines) -----\n{}", path.display(), tail(path, 40));
        }
    }
}

/// Spawn `program` with exactly `env` (plus PATH), stdout and stderr to `log`. The child is
/// killed if the test process dies first (PR_SET_PDEATHSIG), so no worker outlives a test.
fn spawn(program: &Path, args: &[String], env: &BTreeMap<String, String>, log: &Path) -> Child {
    let out = File::create(log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
    let err = out.try_clone().expect("clone the log handle");
    let mut command = Command::new(program);
    command.args(args).current_dir(workspace()).env_clear().envs(env).stdin(Stdio::null()).stdout(out).stderr(err);
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    #[cfg(target_os = "linux")]
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command.spawn().unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()))
}

fn signal(pid: u32, signal: i32) {
    unsafe {
        libc::kill(pid as i32, signal);
    }
}

/// A child process killed (and reaped) on drop.
struct Proc(Option<Child>);

impl Proc {
    fn pid(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    fn try_wait(&mut self) -> Option<ExitStatus> {
        self.0.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            signal(child.id(), libc::SIGCONT);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

mod ingress;
mod moto;
mod scene;
mod slack;
mod worker;

pub use ingress::*;
pub use moto::Moto;
pub use scene::*;
pub use slack::Slack;
pub use worker::*;
