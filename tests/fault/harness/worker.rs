//! A service binary run as a local worker: started, killed, restarted, its log read.

use super::*;

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
    pub(super) fn start(program: PathBuf, service: &str, label: &str, env: BTreeMap<String, String>, dir: &Path, logs: &Logs) -> Worker {
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
