//! The events the fault tests publish, built here (unique ids, shas, emails and titles per test)
//! as complete Pulse envelopes, so the test knows every dedup key it will count.

use serde_json::{Value, json};

/// The Slack team of every fixture.
pub const TEAM: &str = "T0FAULT01";

fn envelope(event_type: &str, source: &str, dedup_key: String, detail: Value) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "type": event_type,
        "version": 1,
        "occurred_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "source": source,
        "dedup_key": dedup_key,
        "detail": detail,
    })
}

pub fn dedup_key(envelope: &Value) -> String {
    envelope["dedup_key"].as_str().unwrap_or_default().to_owned()
}

/// An email unique to this test.
pub fn email(tag: &str, who: &str) -> String {
    format!("{who}-{tag}@fault.example")
}

/// One CI workflow run (`ci.workflow` v1, praktika's Event) and what the test counts about it.
#[derive(Debug, Clone)]
pub struct Run {
    pub envelope: Value,
    pub dedup_key: String,
    pub sha: String,
    pub pr: u64,
    pub authors: Vec<String>,
}

impl Run {
    /// The dedup key of the `feed.updated` the feed-projector announces for `email`'s feed.
    pub fn feed_updated_key(&self, email: &str) -> String {
        format!("feed.updated:{email}:{}", self.dedup_key)
    }
}

/// A completed PR run by `authors`, failed or passed. `n` makes the sha, PR number and
/// timestamp distinct (a later `n` is newer).
pub fn workflow(tag: &str, n: u64, authors: &[String], failed: bool) -> Run {
    let sha = format!("{:0>32}{n:08x}", tag.chars().filter(char::is_ascii_hexdigit).collect::<String>());
    let sha = sha[sha.len() - 40..].to_owned();
    let pr = 70_000 + n;
    let now = chrono::Utc::now().timestamp();
    let timestamp = now - 600 + n as i64;
    let status = if failed { "failure" } else { "success" };
    let run_id = 900_000_000 + n;
    let repo = "fault/pulse";
    let detail = json!({
        "type": "completed",
        "timestamp": timestamp,
        "sha": sha,
        "ci_status": status,
        "result": {
            "name": "PR",
            "status": status,
            "start_time": (timestamp - 300) as f64,
            "duration": 290.5,
            "results": [
                {"name": "Style check", "status": "success", "start_time": (timestamp - 300) as f64, "duration": 20.0, "results": [], "links": [], "ext": {}},
                {"name": format!("Fault suite job {n}"), "status": status, "start_time": (timestamp - 280) as f64, "duration": 270.0, "results": [], "links": [], "ext": {}}
            ],
            "links": [format!("https://github.com/{repo}/pull/{pr}")],
            "ext": {}
        },
        "ext": {
            "pr_number": pr,
            "pr_title": format!("Fault run {n} of {tag}"),
            "branch": format!("fault-{n}"),
            "commit_message": format!("Fault run {n}"),
            "linked_pr_number": 0,
            "parent_pr_number": 0,
            "repo_name": repo,
            "report_url": format!("https://ci.example/{tag}/{n}"),
            "change_url": format!("https://github.com/{repo}/pull/{pr}"),
            "workflow_name": "PR",
            "base_branch": "master",
            "run_id": run_id,
            "run_url": format!("https://github.com/{repo}/actions/runs/{run_id}"),
            "commit_authors": authors,
            "is_cancelled": false
        },
        "linked_events": []
    });
    let dedup_key = format!("ci.workflow:{repo}:{run_id}:{sha}:{timestamp}:{tag}");
    let envelope = envelope("ci.workflow", "ci", dedup_key.clone(), detail);
    Run { envelope, dedup_key, sha, pr, authors: authors.to_vec() }
}

/// An ops alert the example routing (services/notifier/config.example.json) posts to
/// `C0ALERTS`; its title is unique to the test.
#[derive(Debug, Clone)]
pub struct Alert {
    pub envelope: Value,
    pub dedup_key: String,
    pub title: String,
}

pub const ALERT_CHANNEL: &str = "C0ALERTS";

pub fn alert(tag: &str, n: u64) -> Alert {
    let alert_id = format!("fault-{tag}-{n}");
    let title = format!("fault suite {tag}: queue backlog {n}");
    let detail = json!({
        "alert_id": alert_id,
        "kind": "scheduled_task_completed",
        "service": "fault-suite",
        "severity": "warning",
        "title": title,
        "text": format!("Alert {n} of a fault test."),
        "environment": "test",
    });
    let dedup_key = format!("ops.alert:{alert_id}");
    Alert { envelope: envelope("ops.alert", "monitoring", dedup_key.clone(), detail), dedup_key, title }
}

/// A Slack user subscribed (as the home-renderer announces it) to `email`, with failure DMs on.
pub fn subscription_changed(user: &str, email: &str, revision: u64) -> Value {
    let detail = json!({
        "team_id": TEAM,
        "slack_user_id": user,
        "email": email,
        "state": "subscribed",
        "subscribed_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "preferences": {
            "hide_merged_prs": false, "hide_merges": false, "hide_secondary_prs": false,
            "show_last_7d": false, "notify_on_complete": false, "notify_on_failure": true, "digest": "none"
        },
        "revision": revision,
    });
    envelope("subscription.changed", "pulse.home-renderer", format!("subscription.changed:{user}:{revision}"), detail)
}

/// The `feed.updated` the feed-projector would announce for `run` in `email`'s feed in `bucket`
/// (the notifier needs nothing else to decide a DM).
pub fn feed_updated(run: &Run, email: &str, bucket: &str) -> Value {
    let newest = run.envelope["detail"].clone();
    let detail = json!({
        "email": email,
        "bucket": bucket,
        "key": pulse_contracts::feed_layout::FeedLocation::own_bucket(bucket).key(email),
        "newest_event": newest,
        "changes": ["new_event", "new_failure", "completed"],
        "event_count": 1,
    });
    envelope("feed.updated", "pulse.feed-projector", run.feed_updated_key(email), detail)
}

/// `/praktika subscribe <email>` typed by `user`, as ingress publishes it; the home-renderer
/// answers on `response_url`.
pub fn subscribe_command(user: &str, email: &str, response_url: &str) -> Value {
    let trigger = uuid::Uuid::new_v4().simple().to_string();
    let detail = json!({
        "team_id": TEAM,
        "user_id": user,
        "user_name": user.to_lowercase(),
        "channel_id": format!("D{user}"),
        "command": "/praktika",
        "text": format!("subscribe {email}"),
        "action": {"name": "subscribe", "email": email},
        "response_url": response_url,
        "trigger_id": trigger,
    });
    envelope("slack.command", "pulse.ingress", format!("slack.command:{TEAM}:{trigger}"), detail)
}

/// A click on one of the Home tab's toggles (`toggle_notify_on_failure` ...), as ingress
/// publishes it.
pub fn home_toggle(user: &str, action_id: &str, value: &str) -> Value {
    let container = json!({"type": "view", "view_id": format!("V{user}")});
    block_action(user, json!({"action_id": action_id, "value": value, "block_id": "home_controls", "container": container}))
}

/// A `block_actions` interaction by `user` whose `kind` carries `action` (action id, value,
/// block and container), as ingress publishes it.
fn block_action(user: &str, mut action: Value) -> Value {
    let trigger = uuid::Uuid::new_v4().simple().to_string();
    action["type"] = json!("block_actions");
    let detail = json!({
        "team_id": TEAM,
        "user_id": user,
        "user_name": user.to_lowercase(),
        "kind": action,
        "trigger_id": trigger,
    });
    envelope("slack.interaction", "pulse.ingress", format!("slack.interaction:{TEAM}:{trigger}"), detail)
}

/// A click on an ops alert's button (`ops_ack`, `ops_approve` ...) on the message at
/// `channel` / `ts`, as ingress publishes it.
pub fn ops_click(user: &str, action_id: &str, alert_id: &str, channel: &str, ts: &str) -> Value {
    let container = json!({"type": "message", "channel_id": channel, "message_ts": ts});
    block_action(user, json!({"action_id": action_id, "value": alert_id, "block_id": "ops_actions", "container": container}))
}

/// `deploy.requested` for `service` (the demo deployment's `demo-runner` launch template).
#[derive(Debug, Clone)]
pub struct Deploy {
    pub envelope: Value,
    pub deploy_id: String,
}

impl Deploy {
    pub fn status_key(&self, phase: &str) -> String {
        format!("deploy.status:{}:{phase}", self.deploy_id)
    }
}

pub fn deploy_requested(service: &str) -> Deploy {
    let deploy_id = uuid::Uuid::new_v4().to_string();
    let detail = json!({
        "deploy_id": deploy_id,
        "service": service,
        "action": "deploy",
        "trigger": "slash_command",
        "requested_by": {"user_id": "U0FAULTOPS", "user_name": "ops"},
        "channel_id": "C0DEPLOY",
    });
    let dedup_key = format!("deploy.requested:{deploy_id}");
    Deploy { envelope: envelope("deploy.requested", "pulse.notifier", dedup_key, detail), deploy_id }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(envelope: &Value) {
        let event_type = envelope["type"].as_str().unwrap();
        pulse_contracts::schema::validate(event_type, 1, envelope).unwrap_or_else(|e| panic!("{event_type}: {e}"));
        pulse_contracts::parse_envelope(envelope.clone()).unwrap_or_else(|e| panic!("{event_type}: {e}"));
    }

    #[test]
    fn every_fixture_is_a_valid_envelope() {
        let run = workflow("abc123", 1, &[email("abc123", "dev")], true);
        assert_eq!(run.sha.len(), 40);
        valid(&run.envelope);
        valid(&alert("abc123", 1).envelope);
        valid(&subscription_changed("U0FAULT01", "dev@fault.example", 1));
        valid(&feed_updated(&run, "dev@fault.example", "b"));
        valid(&subscribe_command("U0FAULT01", "dev@fault.example", "http://127.0.0.1:1/response/x"));
        valid(&deploy_requested("demo-runner").envelope);
        valid(&home_toggle("U0FAULT01", "toggle_notify_on_failure", "on"));
    }
}
