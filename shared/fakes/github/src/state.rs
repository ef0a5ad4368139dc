//! What the fake remembers and how it answers each endpoint, given a request already
//! authenticated (`auth.rs`): installations, issued tokens, hook deliveries and their
//! redelivery attempts, re-runs, permissions and a commit's pull requests.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::fault::FaultRule;
use crate::record::RecordedCall;

/// One seeded or recorded delivery of a hook, in GitHub's listing shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedDelivery {
    /// `repos/OWNER/REPO/hooks/ID`, `orgs/ORG/hooks/ID` or `app/hook`.
    pub hook: String,
    pub guid: String,
    #[serde(default = "workflow_run")]
    pub event: String,
    #[serde(default)]
    pub action: Option<String>,
    /// The receiver's status; 0 for "could not connect".
    pub status_code: u16,
    pub delivered_at: DateTime<Utc>,
}

fn workflow_run() -> String {
    "workflow_run".to_owned()
}

/// A redelivery GitHub was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redelivery {
    pub hook: String,
    /// The attempt redelivered.
    pub delivery_id: u64,
    pub guid: String,
}

/// A re-run GitHub was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rerun {
    pub repo: String,
    pub run_id: u64,
    /// Who asked: `installation:ID` or `token`.
    pub credential: String,
}

#[derive(Debug, Clone)]
pub(crate) struct StoredDelivery {
    pub id: u64,
    pub redelivery: bool,
    pub seed: SeedDelivery,
}

impl StoredDelivery {
    fn wire(&self) -> Value {
        let ok = (200..300).contains(&self.seed.status_code);
        json!({
            "id": self.id,
            "guid": self.seed.guid,
            "delivered_at": self.seed.delivered_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "redelivery": self.redelivery,
            "duration": 0.27,
            "status": if ok { "OK".to_owned() } else if self.seed.status_code == 0 { "failed to connect".to_owned() } else { format!("Invalid HTTP Response: {}", self.seed.status_code) },
            "status_code": self.seed.status_code,
            "event": self.seed.event,
            "action": self.seed.action,
            "installation_id": null,
            "repository_id": null,
        })
    }
}

#[derive(Debug)]
pub(crate) struct State {
    pub app_id: u64,
    /// A fine-grained token accepted as it is, if any.
    pub token: Option<String>,
    /// How long an installation token lives.
    pub token_ttl_secs: i64,
    /// What a redelivery's receiver answers, as recorded in the new attempt.
    pub redelivery_status: u16,
    /// Installation id per `repos/OWNER/REPO` or `orgs/ORG`.
    pub installations: HashMap<String, u64>,
    /// Issued installation tokens: installation id and expiry.
    pub issued: HashMap<String, (u64, DateTime<Utc>)>,
    pub deliveries: Vec<StoredDelivery>,
    pub redeliveries: Vec<Redelivery>,
    pub reruns: Vec<Rerun>,
    /// Permission per (`OWNER/REPO`, login).
    pub permissions: HashMap<(String, String), String>,
    /// Pull request numbers per (`OWNER/REPO`, sha).
    pub pulls: HashMap<(String, String), Vec<u64>>,
    pub faults: VecDeque<FaultRule>,
    pub calls: Vec<RecordedCall>,
    next_id: u64,
}

impl State {
    pub fn new(app_id: u64) -> Self {
        Self {
            app_id,
            token: None,
            token_ttl_secs: 3600,
            redelivery_status: 200,
            installations: HashMap::new(),
            issued: HashMap::new(),
            deliveries: Vec::new(),
            redeliveries: Vec::new(),
            reruns: Vec::new(),
            permissions: HashMap::new(),
            pulls: HashMap::new(),
            faults: VecDeque::new(),
            calls: Vec::new(),
            next_id: 1000,
        }
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Forgets what happened (calls, tokens, attempts, faults); seeds and configuration stay.
    pub fn reset(&mut self) {
        self.issued.clear();
        self.redeliveries.clear();
        self.reruns.clear();
        self.faults.clear();
        self.calls.clear();
        self.deliveries.retain(|d| !d.redelivery);
    }

    pub fn add_delivery(&mut self, seed: SeedDelivery) -> u64 {
        let id = self.next_id();
        self.deliveries.push(StoredDelivery { id, redelivery: false, seed });
        id
    }

    /// A new installation token for `installation`, valid for the configured time.
    pub fn issue_token(&mut self, installation: u64, now: DateTime<Utc>) -> Value {
        let n = self.next_id();
        let token = format!("ghs_fake{installation}x{n}");
        let expires_at = now + chrono::Duration::seconds(self.token_ttl_secs);
        self.issued.insert(token.clone(), (installation, expires_at));
        json!({
            "token": token,
            "expires_at": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "permissions": {"actions": "write", "metadata": "read"},
            "repository_selection": "selected",
        })
    }

    /// A hook's deliveries, newest first.
    pub fn deliveries_of(&self, hook: &str) -> Vec<Value> {
        let mut of: Vec<&StoredDelivery> = self.deliveries.iter().filter(|d| d.seed.hook == hook).collect();
        of.sort_by_key(|d| std::cmp::Reverse((d.seed.delivered_at, d.id)));
        of.into_iter().map(StoredDelivery::wire).collect()
    }

    /// Records a redelivery of `id` and adds the new attempt, answered with
    /// `redelivery_status`; `None` when the hook has no such delivery.
    pub fn redeliver(&mut self, hook: &str, id: u64, now: DateTime<Utc>) -> Option<()> {
        let original = self.deliveries.iter().find(|d| d.id == id && d.seed.hook == hook)?.seed.clone();
        self.redeliveries.push(Redelivery { hook: hook.to_owned(), delivery_id: id, guid: original.guid.clone() });
        let new_id = self.next_id();
        let seed = SeedDelivery { delivered_at: now, status_code: self.redelivery_status, ..original };
        self.deliveries.push(StoredDelivery { id: new_id, redelivery: true, seed });
        Some(())
    }
}
