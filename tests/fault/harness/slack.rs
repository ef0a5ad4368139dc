//! The fake Slack as a process, and its control API.

use super::*;

/// The `pulse-fake-slack` binary, and its `/_fake/` control API.
pub struct Slack {
    _proc: Proc,
    /// e.g. `http://127.0.0.1:41234`.
    pub root: String,
    http: reqwest::Client,
}

impl Slack {
    pub(super) async fn start(bins: &Bins, dir: &Path, logs: &Logs, users: &[(&str, &str, &str)]) -> Slack {
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
        self.calls(method).await.into_iter().filter(|c| c["status"].as_u64() == Some(200) && c["error"].is_null()).collect()
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
    /// `{"kind":"rate_limited","retry_after_secs":1}` ... (see shared/fakes/slack/src/fault.rs).
    pub async fn inject(&self, method: &str, fault: Value, times: u32) {
        let body = serde_json::json!({"method": method, "fault": fault, "times": times});
        let response = self.http.post(format!("{}/_fake/faults", self.root)).json(&body).send().await.expect("inject");
        assert!(response.status().is_success(), "the fake Slack refused the fault {body}");
    }
}
