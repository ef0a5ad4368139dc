//! The test's own emulator.

use super::*;

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
