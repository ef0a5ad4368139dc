//! Everything one test runs on, and what it reads back (the tap, the dead letters, the feeds).

use super::*;

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
        let mut worker = self.process(service, env);
        worker.ready().await;
        worker
    }

    /// Start `service`'s binary with exactly `env` (plus PATH), without waiting for anything:
    /// the Lambda tests (`crate::lambda`) run binaries that never poll.
    pub fn process(&self, service: &str, env: BTreeMap<String, String>) -> Worker {
        self.process_program(self.bins.path(service), service, env)
    }

    /// [`Self::process`] of another build of `service`: e.g. the `bootstrap` of its Lambda zip.
    pub fn process_program(&self, program: PathBuf, service: &str, env: BTreeMap<String, String>) -> Worker {
        let label = {
            let mut started = self.workers_started.lock().unwrap();
            let n = started.entry(service.to_owned()).or_default();
            *n += 1;
            if *n == 1 { service.to_owned() } else { format!("{service}-{n}") }
        };
        Worker::start(program, service, &label, env, &self.dir, &self.logs)
    }

    /// Run the `pulse` CLI against the stack; panics with its output when it fails.
    pub async fn pulse(&self, args: &[&str]) -> String {
        self.pulse_via(&self.moto.url, args).await
    }

    /// [`Self::pulse`] reaching AWS through `endpoint`.
    pub async fn pulse_via(&self, endpoint: &str, args: &[&str]) -> String {
        self.run_pulse(endpoint, &[], args).await
    }

    /// [`Self::pulse`] with these variables added to its environment.
    pub async fn pulse_with(&self, extra_env: &[(&str, &str)], args: &[&str]) -> String {
        self.run_pulse(&self.moto.url, extra_env, args).await
    }

    async fn run_pulse(&self, endpoint: &str, extra_env: &[(&str, &str)], args: &[&str]) -> String {
        let (status, stdout, stderr) = self.run_pulse_status(endpoint, extra_env, args).await;
        assert!(status == Some(0), "`pulse {}` failed ({status:?}):\n{stdout}\n{stderr}", args.join(" "));
        stdout
    }

    /// Run the `pulse` CLI and return its exit code (`None`: killed by a signal), stdout and
    /// stderr, whatever they are.
    pub async fn pulse_status(&self, args: &[&str]) -> (Option<i32>, String, String) {
        self.run_pulse_status(&self.moto.url, &[], args).await
    }

    /// [`Self::pulse_status`] with these variables added to its environment.
    pub async fn pulse_status_with(&self, extra_env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String, String) {
        self.run_pulse_status(&self.moto.url, extra_env, args).await
    }

    /// The slim publisher `pulse-publish`, as [`Self::pulse_status`] runs `pulse`.
    pub async fn publisher_status(&self, args: &[&str]) -> (Option<i32>, String, String) {
        self.run_program("pulse-publish", &self.moto.url, &[], args).await
    }

    async fn run_pulse_status(&self, endpoint: &str, extra_env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String, String) {
        self.run_program("pulse", endpoint, extra_env, args).await
    }

    async fn run_program(&self, program: &str, endpoint: &str, extra_env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String, String) {
        let mut command = tokio::process::Command::new(self.bins.path(program));
        command.args(args).current_dir(workspace()).env_clear().envs(self.env(endpoint)).stdin(Stdio::null()).kill_on_drop(true);
        command.envs(extra_env.iter().copied());
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        let output = tokio::time::timeout(Duration::from_secs(120), command.output())
            .await
            .unwrap_or_else(|_| panic!("`{program} {}` did not finish within 120 s", args.join(" ")))
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let log = self.dir.join("cli.log");
        let mut text = std::fs::read_to_string(&log).unwrap_or_default();
        text.push_str(&format!("$ {program} {}\n{stdout}{stderr}\n", args.join(" ")));
        std::fs::write(&log, text).ok();
        (output.status.code(), stdout, stderr)
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

/// The test process's own SDK configuration, pointed at `endpoint` (the test's moto, or a proxy
/// in front of it).
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    use aws_config::BehaviorVersion;
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "fault-tests"))
        .load()
        .await
}
