//! The operations Pulse calls, typed: re-running a run's failed jobs, a hook's deliveries and
//! redelivering one, a collaborator's permission, and the pull requests of a commit. Each
//! parses its arguments first (`names.rs`), so nothing is sent for a malformed one.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{GithubClient, Scope};
use crate::error::GithubError;
use crate::names::{self, RepoName};

/// At most this many pages of deliveries (100 each) are read: 10,000 deliveries.
pub const MAX_DELIVERY_PAGES: usize = 100;

/// Whose webhook: a repository's, an organisation's, or the GitHub App's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    Repo { repo: RepoName, id: u64 },
    Org { org: String, id: u64 },
    App,
}

impl Hook {
    /// A repository's hook; the error says what is wrong with `repo`.
    pub fn repo(repo: &str, id: u64) -> Result<Self, String> {
        Ok(Self::Repo { repo: RepoName::parse(repo)?, id })
    }

    /// An organisation's hook.
    pub fn org(org: &str, id: u64) -> Result<Self, String> {
        Ok(Self::Org { org: names::login("organisation", org)?, id })
    }

    /// The deliveries path, under the API root.
    fn deliveries_path(&self) -> String {
        match self {
            Hook::Repo { repo, id } => format!("/repos/{repo}/hooks/{id}/deliveries"),
            Hook::Org { org, id } => format!("/orgs/{org}/hooks/{id}/deliveries"),
            Hook::App => "/app/hook/deliveries".to_owned(),
        }
    }

    fn scope(&self) -> Scope<'_> {
        match self {
            Hook::Repo { repo, .. } => Scope::Repo(repo),
            Hook::Org { org, .. } => Scope::Org(org),
            Hook::App => Scope::App,
        }
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hook::Repo { repo, id } => write!(f, "hook {id} of {repo}"),
            Hook::Org { org, id } => write!(f, "hook {id} of organisation {org}"),
            Hook::App => f.write_str("the GitHub App's hook"),
        }
    }
}

/// One delivery attempt of a webhook, as GitHub lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// This attempt's id (what a redelivery is asked for).
    pub id: u64,
    /// `X-GitHub-Delivery`: the same for an event's first attempt and its redeliveries.
    pub guid: String,
    pub delivered_at: DateTime<Utc>,
    #[serde(default)]
    pub redelivery: bool,
    /// GitHub's words for the outcome (`OK`, `Invalid HTTP Response: 503`, …).
    #[serde(default)]
    pub status: String,
    /// The receiver's HTTP status; 0 when it could not be reached.
    #[serde(default)]
    pub status_code: u16,
    #[serde(default)]
    pub event: String,
    #[serde(default)]
    pub action: Option<String>,
}

impl Delivery {
    /// Whether the receiver took it (a 2xx).
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status_code)
    }
}

/// A collaborator's permission on a repository, from the highest role down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl Permission {
    /// Whether the role may re-run workflows (GitHub asks for write access).
    pub fn can_write(self) -> bool {
        self >= Permission::Write
    }

    /// From GitHub's `role_name` (finer) or `permission`; an unknown word is `None`.
    fn parse(word: &str) -> Self {
        match word {
            "admin" => Self::Admin,
            "maintain" => Self::Maintain,
            "write" | "push" => Self::Write,
            "triage" => Self::Triage,
            "read" | "pull" => Self::Read,
            _ => Self::None,
        }
    }
}

/// A pull request a commit belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    pub number: u64,
    /// `open` or `closed`.
    pub state: String,
    pub head_ref: String,
    pub base_ref: String,
    pub html_url: String,
}

impl GithubClient {
    /// Re-runs the failed jobs of run `run_id` of `repo` (`owner/name`); GitHub answers 201.
    pub async fn rerun_failed_jobs(&self, repo: &str, run_id: u64) -> Result<(), GithubError> {
        const OP: &str = "rerun-failed-jobs";
        let repo = parse(OP, RepoName::parse(repo))?;
        let path = format!("/repos/{repo}/actions/runs/{run_id}/rerun-failed-jobs");
        self.call(OP, Method::POST, &path, None, Scope::Repo(&repo)).await.map(|_| ())
    }

    /// `login`'s permission on `repo`. GitHub answers 404 for a login it does not know.
    pub async fn collaborator_permission(&self, repo: &str, login: &str) -> Result<Permission, GithubError> {
        const OP: &str = "collaborator-permission";
        let repo = parse(OP, RepoName::parse(repo))?;
        let login = parse(OP, names::login("login", login))?;
        let path = format!("/repos/{repo}/collaborators/{login}/permission");
        let answer = self.call(OP, Method::GET, &path, None, Scope::Repo(&repo)).await?;
        let word = ["role_name", "permission"].iter().find_map(|k| answer.body.get(*k).and_then(Value::as_str)).unwrap_or("");
        Ok(Permission::parse(word))
    }

    /// The pull requests `sha` of `repo` belongs to (for a fork's run, whose payload names none).
    pub async fn pulls_for_commit(&self, repo: &str, sha: &str) -> Result<Vec<PullRequest>, GithubError> {
        const OP: &str = "pulls-for-commit";
        let repo = parse(OP, RepoName::parse(repo))?;
        let sha = parse(OP, names::sha(sha))?;
        let path = format!("/repos/{repo}/commits/{sha}/pulls");
        let answer = self.call(OP, Method::GET, &path, None, Scope::Repo(&repo)).await?;
        let items = answer.body.as_array().ok_or_else(|| decode(OP, "not a list"))?;
        items
            .iter()
            .map(|pr| {
                let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                Ok(PullRequest {
                    number: pr["number"].as_u64().ok_or_else(|| decode(OP, "a pull request without a `number`"))?,
                    state: text(&pr["state"]),
                    head_ref: text(&pr["head"]["ref"]),
                    base_ref: text(&pr["base"]["ref"]),
                    html_url: text(&pr["html_url"]),
                })
            })
            .collect()
    }

    /// `hook`'s deliveries since `since`, newest first, page after page (GitHub lists newest
    /// first, so paging stops at the first page reaching back past `since`), at most
    /// [`MAX_DELIVERY_PAGES`] pages.
    pub async fn deliveries(&self, hook: &Hook, since: DateTime<Utc>) -> Result<Vec<Delivery>, GithubError> {
        const OP: &str = "list-deliveries";
        let mut next = Some(format!("{}?per_page=100", hook.deliveries_path()));
        let mut out = Vec::new();
        for _ in 0..MAX_DELIVERY_PAGES {
            let Some(page) = next.take() else { break };
            let answer = self.call(OP, Method::GET, &page, None, hook.scope()).await?;
            let deliveries: Vec<Delivery> =
                serde_json::from_value(answer.body).map_err(|e| decode(OP, &format!("not a list of deliveries: {e}")))?;
            let reached_back = deliveries.iter().any(|d| d.delivered_at < since);
            out.extend(deliveries.into_iter().filter(|d| d.delivered_at >= since));
            if !reached_back {
                next = answer.next;
            }
        }
        Ok(out)
    }

    /// Asks GitHub to deliver delivery `id` of `hook` again; GitHub answers 202 and sends it
    /// with the same `X-GitHub-Delivery`.
    pub async fn redeliver(&self, hook: &Hook, id: u64) -> Result<(), GithubError> {
        let path = format!("{}/{id}/attempts", hook.deliveries_path());
        self.call("redeliver", Method::POST, &path, None, hook.scope()).await.map(|_| ())
    }
}

fn parse<T>(operation: &str, parsed: Result<T, String>) -> Result<T, GithubError> {
    parsed.map_err(|message| GithubError::Invalid { operation: operation.to_owned(), message })
}

fn decode(operation: &str, message: &str) -> GithubError {
    GithubError::Decode { operation: operation.to_owned(), message: message.to_owned() }
}
