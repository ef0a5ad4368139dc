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

/// The test's own moto (`localstack/moto_server.py` from the `.venv` tests/run installs).
pub struct Moto {
    proc: Proc,
    pub url: String,
}

impl Moto {
    pub async fn start(dir: &Path, logs: &Logs) -> Moto {
        let venv = std::env::var_os("PULSE_VENV").map(PathBuf::from).unwrap_or_else(|| workspace().join(".venv"));
        let python = venv.join("bin/python");
        assert!(
            python.is_file(),
            "{} does not exist: run ./tests/run once (it installs moto into .venv), or set PULSE_VENV",
            python.display()
        );
        let port = free_port();
        let log = dir.join("moto.log");
        logs.add(log.clone());
        let args = vec![
            workspace().join("localstack/moto_server.py").display().to_string(),
            "-H".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ];
        let mut proc = Proc(Some(spawn(&python, &args, &BTreeMap::new(), &log)));
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let up = eventually(Duration::from_secs(60), Duration::from_millis(100), || {
            let request = client.get(format!("{url}/moto-api/")).timeout(Duration::from_secs(2)).send();
            async move { request.await.ok().map(|_| ()) }
        })
        .await;
        if up.is_none() || proc.try_wait().is_some() {
            panic!("moto did not start on port {port}:\n{}", tail(&log, 30));
        }
        Moto { proc, url }
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// SIGSTOP: the emulator stops answering (connections are still accepted by the kernel).
    pub fn freeze(&self) {
        signal(self.pid(), libc::SIGSTOP);
    }

    /// SIGCONT.
    pub fn thaw(&self) {
        signal(self.pid(), libc::SIGCONT);
    }
}

/// The `pulse-fake-slack` binary, and its `/_fake/` control API.
pub struct Slack {
    _proc: Proc,
    /// e.g. `http://127.0.0.1:41234`.
    pub root: String,
    http: reqwest::Client,
}

impl Slack {
    async fn start(bins: &Bins, dir: &Path, logs: &Logs, users: &[(&str, &str, &str)]) -> Slack {
        let log = dir.join("fake-slack.log");
        logs.add(log.clone());
        let mut args = vec!["--addr".to_owned(), "127.0.0.1:0".to_owned(), "--token".to_owned(), BOT_TOKEN.to_owned()];
        for (id, name, email) in users {
            args.push("--user".into());
            args.push(format!("{id}:{name}:{email}"));
        }
        let mut env = BTreeMap::new();
        env.insert("RUST_LOG".to_owned(), "warn".to_owned());
        let mut proc = Proc(Some(spawn(&bins.path("pulse-fake-slack"), &args, &env, &log)));
        let api = eventually(Duration::from_secs(20), Duration::from_millis(50), || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let found = text.lines().find_map(|l| l.strip_prefix("pulse-fake-slack listening on ").map(str::to_owned));
            async move { found }
        })
        .await;
        let Some(api) = api.filter(|_| proc.try_wait().is_none()) else {
            panic!("pulse-fake-slack did not start:\n{}", tail(&log, 30));
        };
        let root = api.trim().trim_end_matches("/api").to_owned();
        Slack { _proc: proc, root, http: reqwest::Client::new() }
    }

    pub fn api_url(&self) -> String {
        format!("{}/api", self.root)
    }

    pub fn response_url(&self, id: &str) -> String {
        format!("{}/response/{id}", self.root)
    }

    async fn get(&self, path: &str) -> Option<Value> {
        let response = self.http.get(format!("{}{path}", self.root)).send().await.expect("the fake Slack answers");
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        Some(response.json().await.expect("JSON from the fake Slack"))
    }

    /// Recorded calls to `method` (every call, faulted ones included), oldest first.
    pub async fn calls(&self, method: &str) -> Vec<Value> {
        let calls = self.get(&format!("/_fake/calls?method={method}")).await.unwrap_or_default();
        calls.as_array().cloned().unwrap_or_default()
    }

    /// Calls to `method` the fake answered with HTTP 200 and `ok: true`: the ones that took effect.
    pub async fn succeeded(&self, method: &str) -> Vec<Value> {
        self.calls(method)
            .await
            .into_iter()
            .filter(|c| c["status"].as_u64() == Some(200) && c["error"].is_null())
            .collect()
    }

    /// Messages the fake holds in `channel` (a user id means the DM with them), in post order:
    /// what took effect, whatever Slack answered (a `fail_after_effect` post is stored too).
    pub async fn messages(&self, channel: &str) -> Vec<Value> {
        let messages = self.get(&format!("/_fake/messages?channel={channel}")).await.unwrap_or_default();
        messages.as_array().cloned().unwrap_or_default()
    }

    /// The Home view last published for `user`.
    pub async fn home(&self, user: &str) -> Option<Value> {
        self.get(&format!("/_fake/home/{user}")).await
    }

    /// Queue `times` faults for `method` (`*` for any): `{"kind":"server_error","status":503}`,
    /// `{"kind":"rate_limited","retry_after_secs":1}` ... (see shared/slack/src/fake/fault.rs).
    pub async fn inject(&self, method: &str, fault: Value, times: u32) {
        let body = serde_json::json!({"method": method, "fault": fault, "times": times});
        let response = self.http.post(format!("{}/_fake/faults", self.root)).json(&body).send().await.expect("inject");
        assert!(response.status().is_success(), "the fake Slack refused the fault {body}");
    }
}

/// One service binary running as a local worker.
pub struct Worker {
    pub service: String,
    proc: Proc,
    program: PathBuf,
    env: BTreeMap<String, String>,
    dir: PathBuf,
    logs: Logs,
    /// Every log file this worker wrote, one per start.
    pub log_files: Vec<PathBuf>,
    label: String,
}

impl Worker {
    fn start(
        program: PathBuf,
        service: &str,
        label: &str,
        env: BTreeMap<String, String>,
        dir: &Path,
        logs: &Logs,
    ) -> Worker {
        let mut worker = Worker {
            service: service.to_owned(),
            proc: Proc(None),
            program,
            env,
            dir: dir.to_path_buf(),
            logs: logs.clone(),
            log_files: Vec::new(),
            label: label.to_owned(),
        };
        worker.launch();
        worker
    }

    fn launch(&mut self) {
        let log = self.dir.join(format!("{}-{}.log", self.label, self.log_files.len() + 1));
        self.logs.add(log.clone());
        self.proc = Proc(Some(spawn(&self.program, &[], &self.env, &log)));
        self.log_files.push(log);
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.proc.0.is_some() && self.proc.try_wait().is_none()
    }

    /// Wait until the worker logs that it polls its queue (or at most 10 s). A binary built
    /// without the fault hooks refuses `PULSE_FAULT` and exits: that is reported here.
    pub async fn ready(&mut self) -> &mut Self {
        let log = self.log_files.last().cloned().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.proc.try_wait() {
                let hint = if self.env.contains_key("PULSE_FAULT") {
                    "\n(PULSE_FAULT is set: was the binary built with `--features pulse-runtime/fault-hooks`?)"
                } else {
                    ""
                };
                panic!("{} exited at start ({status}):\n{}{hint}", self.label, tail(&log, 30));
            }
            if std::fs::read_to_string(&log).unwrap_or_default().contains("polling") {
                return self;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!("warning: {} logged no `polling` line within 10 s; going on", self.label);
        self
    }

    /// Wait up to `timeout` for the process to exit on its own (a fault's `kill`).
    pub async fn exited(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.proc.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait for a fault's `kill`: the process must die of SIGKILL within `timeout`.
    pub async fn killed_by_fault(&mut self, timeout: Duration) -> Instant {
        use std::os::unix::process::ExitStatusExt;
        let status = self.exited(timeout).await;
        let Some(status) = status else {
            panic!(
                "{} was not killed by its fault within {timeout:?} (PULSE_FAULT={:?}): are the fault hooks built in?\n{}",
                self.label,
                self.env.get("PULSE_FAULT"),
                tail(self.log_files.last().unwrap(), 30)
            );
        };
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{} exited with {status}, not by SIGKILL", self.label);
        Instant::now()
    }

    /// Start it again, without `PULSE_FAULT` (killing it first if it still runs).
    pub async fn restart(&mut self) {
        self.restart_with(None).await;
    }

    /// Start it again with this `PULSE_FAULT` (or none).
    pub async fn restart_with(&mut self, fault: Option<String>) {
        self.proc.kill();
        match fault {
            Some(fault) => self.env.insert("PULSE_FAULT".into(), fault),
            None => self.env.remove("PULSE_FAULT"),
        };
        self.launch();
        self.ready().await;
    }

    /// Everything it logged, every start.
    pub fn log_text(&self) -> String {
        self.log_files.iter().map(|p| std::fs::read_to_string(p).unwrap_or_default()).collect::<Vec<_>>().join("\n")
    }

    /// Its JSON log lines.
    pub fn log_lines(&self) -> Vec<Value> {
        self.log_text().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

/// One event seen on the stack's tap queue (a copy of everything on the bus).
#[derive(Debug, Clone)]
pub struct Tapped {
    pub detail_type: String,
    pub dedup_key: String,
}

/// A worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub fault: Option<String>,
    pub concurrency: u32,
    pub visibility: u64,
    /// Reach AWS through this endpoint instead of moto (the PutEvents fault proxy).
    pub endpoint: Option<String>,
    pub extra_env: Vec<(String, String)>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self { fault: None, concurrency: 2, visibility: VISIBILITY_SECONDS, endpoint: None, extra_env: Vec::new() }
    }
}

impl WorkerOptions {
    pub fn fault(fault: impl Into<String>) -> Self {
        Self { fault: Some(fault.into()), ..Self::default() }
    }
}

/// Everything one fault test runs on.
pub struct Scene {
    pub name: String,
    pub dir: PathBuf,
    pub bins: Bins,
    pub moto: Moto,
    pub slack: Slack,
    pub prefix: String,
    pub names: StackNames,
    pub sdk: SdkConfig,
    pub started: Instant,
    logs: Logs,
    tapped: Mutex<Vec<Tapped>>,
    workers_started: Mutex<BTreeMap<String, u32>>,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

impl Scene {
    /// Start moto and the fake Slack (knowing `users`: `(id, name, email)`), and deploy Pulse's
    /// stack with its tap queue by `pulse infra deploy`.
    pub async fn start(name: &str, users: &[(&str, &str, &str)]) -> Scene {
        let serial = SERIAL.lock().await;
        let started = Instant::now();
        let bins = Bins::locate();
        for bin in ["pulse", "pulse-fake-slack", "feed-projector", "home-renderer", "notifier", "infra-reconciler"] {
            bins.path(bin);
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = bins.fault_dir().join(format!("{name}-{}", &id[..8]));
        std::fs::create_dir_all(&dir).expect("create the test's log directory");
        let logs = Logs::default();
        let (moto, slack) = tokio::join!(Moto::start(&dir, &logs), Slack::start(&bins, &dir, &logs, users));
        let prefix = format!("f{}", &id[..10]);
        let sdk = sdk_config(&moto.url).await;
        let scene = Scene {
            name: name.to_owned(),
            dir,
            bins,
            moto,
            slack,
            names: StackNames::new(prefix.clone()),
            prefix,
            sdk,
            started,
            logs,
            tapped: Mutex::new(Vec::new()),
            workers_started: Mutex::new(BTreeMap::new()),
            _serial: serial,
        };
        let out = scene.pulse(&["infra", "deploy", "--prefix", &scene.prefix, "--local-tap"]).await;
        let _ = out;
        eprintln!("[{name}] stack {} deployed on {} in {:.1?}", scene.prefix, scene.moto.url, started.elapsed());
        scene
    }

    /// The environment every Pulse process gets (AWS endpoint `endpoint`).
    pub fn env(&self, endpoint: &str) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = AWS_ENV.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let root = workspace();
        for (k, v) in [
            ("AWS_ENDPOINT_URL", endpoint.to_owned()),
            ("PULSE_STACK", self.prefix.clone()),
            ("SLACK_API_URL", self.slack.api_url()),
            ("SLACK_BOT_TOKEN", BOT_TOKEN.to_owned()),
            ("SLACK_SIGNING_SECRET", "pulse-local-signing-secret".to_owned()),
            ("NOTIFIER_CONFIG", root.join("services/notifier/config.example.json").display().to_string()),
            ("NOTIFIER_PACING_MS", "100".to_owned()),
            ("PULSE_DEPLOY_CONFIG", root.join("localstack/demo-deployment.json").display().to_string()),
            ("PULSE_DISCORD_CI_WEBHOOK", format!("{}/api/webhooks/1001/fault", self.slack.root)),
            ("PULSE_LOG_FORMAT", "json".to_owned()),
            ("RUST_LOG", std::env::var("PULSE_FAULT_RUST_LOG").unwrap_or_else(|_| "info".to_owned())),
        ] {
            env.insert(k.to_owned(), v);
        }
        env
    }

    /// Start `service` (a consumer binary) as a worker and wait until it polls.
    pub async fn worker(&self, service: &str, options: WorkerOptions) -> Worker {
        let mut env = self.env(options.endpoint.as_deref().unwrap_or(&self.moto.url));
        env.insert("PULSE_POLLER_CONCURRENCY".into(), options.concurrency.to_string());
        env.insert("PULSE_POLLER_VISIBILITY_SECONDS".into(), options.visibility.to_string());
        if let Some(fault) = &options.fault {
            env.insert("PULSE_FAULT".into(), fault.clone());
        }
        for (k, v) in &options.extra_env {
            env.insert(k.clone(), v.clone());
        }
        let label = {
            let mut started = self.workers_started.lock().unwrap();
            let n = started.entry(service.to_owned()).or_default();
            *n += 1;
            if *n == 1 { service.to_owned() } else { format!("{service}-{n}") }
        };
        let mut worker = Worker::start(self.bins.path(service), service, &label, env, &self.dir, &self.logs);
        worker.ready().await;
        worker
    }

    /// Run the `pulse` CLI against the stack; panics with its output when it fails.
    pub async fn pulse(&self, args: &[&str]) -> String {
        self.pulse_via(&self.moto.url, args).await
    }

    /// [`Self::pulse`] reaching AWS through `endpoint`.
    pub async fn pulse_via(&self, endpoint: &str, args: &[&str]) -> String {
        let mut command = tokio::process::Command::new(self.bins.path("pulse"));
        command.args(args).current_dir(workspace()).env_clear().envs(self.env(endpoint)).stdin(Stdio::null()).kill_on_drop(true);
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        let output = tokio::time::timeout(Duration::from_secs(120), command.output())
            .await
            .unwrap_or_else(|_| panic!("`pulse {}` did not finish within 120 s", args.join(" ")))
            .expect("run pulse");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let log = self.dir.join("cli.log");
        let mut text = std::fs::read_to_string(&log).unwrap_or_default();
        text.push_str(&format!("$ pulse {}\n{stdout}{stderr}\n", args.join(" ")));
        std::fs::write(&log, text).ok();
        assert!(output.status.success(), "`pulse {}` failed ({}):\n{stdout}\n{stderr}", args.join(" "), output.status);
        stdout
    }

    /// Publish envelopes with `pulse publish` (one PutEvents call per 10), in this order.
    pub async fn publish(&self, envelopes: &[Value]) {
        self.publish_via(&self.moto.url, envelopes).await;
    }

    pub async fn publish_via(&self, endpoint: &str, envelopes: &[Value]) {
        let file = self.dir.join(format!("events-{}.json", uuid::Uuid::new_v4().simple()));
        std::fs::write(&file, serde_json::to_vec_pretty(envelopes).unwrap()).unwrap();
        self.pulse_via(endpoint, &["publish", &file.display().to_string()]).await;
    }

    pub async fn queue(&self, name: &str) -> Queue {
        Queue::from_name(aws_sdk_sqs::Client::new(&self.sdk), name).await.unwrap_or_else(|e| panic!("queue {name}: {e}"))
    }

    /// Read everything new on the tap queue (until it has been empty for `idle`), remember it,
    /// and return everything seen so far.
    pub async fn tap(&self, idle: Duration) -> Vec<Tapped> {
        let queue = self.queue(&format!("{}-tap", self.prefix)).await;
        let mut last = Instant::now();
        loop {
            let batch = queue.receive(10, 0).await.expect("receive from the tap");
            if batch.is_empty() {
                if last.elapsed() >= idle {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            last = Instant::now();
            let seen = batch.iter().map(|message| {
                let event: Value = serde_json::from_str(&message.body).unwrap_or_default();
                Tapped {
                    detail_type: event["detail-type"].as_str().unwrap_or_default().to_owned(),
                    dedup_key: event["detail"]["dedup_key"].as_str().unwrap_or_default().to_owned(),
                }
            });
            self.tapped.lock().unwrap().extend(seen);
            let handles: Vec<String> = batch.into_iter().map(|m| m.receipt_handle).collect();
            queue.delete_batch(&handles).await.expect("delete from the tap");
        }
        self.tapped.lock().unwrap().clone()
    }

    /// How many copies of the event with `dedup_key` crossed the bus so far.
    pub async fn on_bus(&self, dedup_key: &str) -> usize {
        self.tap(Duration::ZERO).await.iter().filter(|t| t.dedup_key == dedup_key).count()
    }

    /// Messages in `service`'s queue, visible or in flight.
    pub async fn depth(&self, service: &str) -> u64 {
        self.queue(&self.names.queue(service)).await.approximate_depth().await.expect("queue depth")
    }

    /// `(visible, in flight)` messages of `service`'s queue.
    pub async fn queue_counts(&self, service: &str) -> (u64, u64) {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let queue = self.queue(&self.names.queue(service)).await;
        let attrs = queue
            .client()
            .get_queue_attributes()
            .queue_url(queue.url())
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .unwrap_or_default();
        let count = |name: &A| attrs.get(name).and_then(|v| v.parse().ok()).unwrap_or(0);
        (count(&A::ApproximateNumberOfMessages), count(&A::ApproximateNumberOfMessagesNotVisible))
    }

    /// Wait until the queues of `services` are empty (nothing visible, nothing in flight);
    /// returns when, or `None` on timeout.
    pub async fn drained(&self, services: &[&str], timeout: Duration) -> Option<Instant> {
        eventually(timeout, Duration::from_millis(100), || async {
            for service in services {
                if self.depth(service).await > 0 {
                    return None;
                }
            }
            Some(Instant::now())
        })
        .await
    }

    /// Wait until the queues of `services` are empty (nothing visible, nothing in flight) twice in
    /// a row 500 ms apart, and the tap is quiet for half a second. Returns false on timeout.
    pub async fn settle(&self, services: &[&str], timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut quiet = 0;
        while Instant::now() < deadline {
            let mut total = 0;
            for service in services {
                total += self.depth(service).await;
            }
            quiet = if total == 0 { quiet + 1 } else { 0 };
            if quiet >= 2 {
                self.tap(Duration::from_millis(500)).await;
                return true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        false
    }

    /// Every message in `service`'s dead-letter queue, with its `pulse-rejected-reason` (left in
    /// the DLQ, visible again at once).
    pub async fn dead_letters(&self, service: &str) -> Vec<DeadLetter> {
        let dlq = self.queue(&self.names.dead_letter_queue(service)).await;
        let mut seen: BTreeMap<String, DeadLetter> = BTreeMap::new();
        for _ in 0..5 {
            let batch = dlq.receive(10, 0).await.expect("receive from the DLQ");
            if batch.is_empty() {
                break;
            }
            for message in &batch {
                let envelope = pulse_contracts::from_sqs_body(&message.body).ok();
                seen.entry(message.message_id.clone()).or_insert(DeadLetter {
                    dedup_key: envelope.map(|e| e.dedup_key).unwrap_or_default(),
                    reason: message.attributes.get(pulse_runtime::dead_letter::REASON_ATTRIBUTE).cloned(),
                });
                dlq.change_visibility(&message.receipt_handle, 0).await.expect("leave it in the DLQ");
            }
        }
        seen.into_values().collect()
    }

    /// How many messages each consumer's DLQ holds.
    pub async fn dead_letter_counts(&self) -> BTreeMap<&'static str, u64> {
        let mut counts = BTreeMap::new();
        for service in CONSUMERS {
            let dlq = self.queue(&self.names.dead_letter_queue(service)).await;
            counts.insert(service, dlq.approximate_depth().await.expect("DLQ depth"));
        }
        counts
    }

    /// The feed object of `email` as JSON (praktika's `{"events": [...]}`), if written.
    pub async fn feed(&self, email: &str) -> Option<Value> {
        let location = pulse_contracts::feed_layout::FeedLocation::own_bucket(self.names.feed_bucket());
        let store = pulse_aws::s3json::GzipJsonStore::new(pulse_aws::config::s3_client(&self.sdk), self.names.feed_bucket());
        store.get::<Value>(&location.key(email)).await.expect("read the feed").map(|v| v.value)
    }

    /// How many events of `email`'s feed have this sha.
    pub async fn feed_holds(&self, email: &str, sha: &str) -> usize {
        let Some(feed) = self.feed(email).await else { return 0 };
        feed["events"].as_array().map_or(0, |events| events.iter().filter(|e| e["sha"] == sha).count())
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        self.moto.thaw();
        if std::thread::panicking() {
            eprintln!("[{}] FAILED after {:.1?}; logs in {}", self.name, self.started.elapsed(), self.dir.display());
            self.logs.print_tails();
        } else if std::env::var_os("PULSE_FAULT_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A dead-lettered message.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub dedup_key: String,
    pub reason: Option<String>,
}

/// The test process's own SDK configuration, pointed at the test's moto.
async fn sdk_config(endpoint: &str) -> SdkConfig {
    use aws_config::BehaviorVersion;
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "fault-tests"))
        .load()
        .await
}
