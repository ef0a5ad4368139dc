//! Who may act from Slack: the policy in the routing file, and the pure check of one request
//! against it.
//!
//! The rules:
//! - Each action (`deploy`, `rollback`, `approve`, `acknowledge`, `investigate`) has a list of
//!   rules in `policy`. A rule applies to a request when its `services` and `environments` (empty:
//!   any) contain the request's.
//! - An applying rule allows the requester when they are listed in its `users`, are a member of
//!   one of its `groups` (Slack user groups, resolved through Slack's API by the handler and
//!   handed in), or the rule says `everyone`; and, with `not_author`, when they are not the
//!   author of what they act on.
//! - Actions that change production or CI (`deploy`, `rollback`, `approve`, `rerun`: re-running
//!   a GitHub Actions run's failed jobs, whose `services` are repositories, `OWNER/REPO`) are
//!   refused while no rule is written for them; `acknowledge` and `investigate` change nothing and
//!   are open to every member until a rule is written for them.
//! - A `rerun` rule may also ask `github_write`: the requester is allowed only when one of the
//!   GitHub accounts linked to their Pulse subscription (`/praktika github add`) has write access
//!   to the repository, as GitHub answers it (the handler asks and hands the answer in). GitHub
//!   itself asks write access of anyone who re-runs a workflow, so the rule keeps Slack from
//!   lending Pulse's credentials to people GitHub would refuse. A link is the person's own claim
//!   (Pulse has no GitHub sign-in to prove it), so the rule narrows `users` and `groups`; with
//!   `everyone` alone it would trust anyone who links someone else's login.
//! - A refusal says why and who may, in words a person can act on.
//!
//! ```json
//! "policy": {
//!   "deploy":   [{ "services": ["billing"], "users": ["U0ALICE"], "groups": ["S0OPS"] }],
//!   "rollback": [{ "groups": ["S0ONCALL"] }],
//!   "approve":  [{ "groups": ["S0LEADS"], "not_author": true }],
//!   "rerun":    [{ "services": ["octo-org/widgets"], "groups": ["S0DEVS"] },
//!                { "services": ["octo-org/api"], "groups": ["S0ENG"], "github_write": true }]
//! }
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// What someone asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    Deploy,
    Rollback,
    Approve,
    Acknowledge,
    Investigate,
    /// Re-run a GitHub Actions run's failed jobs (the "service" is the repository).
    Rerun,
}

impl Act {
    pub fn as_str(self) -> &'static str {
        match self {
            Act::Deploy => "deploy",
            Act::Rollback => "rollback",
            Act::Approve => "approve",
            Act::Acknowledge => "acknowledge",
            Act::Investigate => "investigate",
            Act::Rerun => "rerun",
        }
    }

    /// Whether it changes production or CI (and so is refused until a rule allows it).
    pub fn needs_a_rule(self) -> bool {
        matches!(self, Act::Deploy | Act::Rollback | Act::Approve | Act::Rerun)
    }

    /// How a refusal names it: "deploys of `billing`".
    fn described(self, service: &str) -> String {
        match self {
            Act::Deploy => format!("deploys of `{service}`"),
            Act::Rollback => format!("rollbacks of `{service}`"),
            Act::Approve => format!("approvals for `{service}`"),
            Act::Acknowledge => format!("acknowledging alerts of `{service}`"),
            Act::Investigate => format!("investigating alerts of `{service}`"),
            Act::Rerun => format!("re-running failed jobs of `{service}`"),
        }
    }
}

/// The `policy` section of the routing file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub deploy: Option<Vec<Rule>>,
    #[serde(default)]
    pub rollback: Option<Vec<Rule>>,
    #[serde(default)]
    pub approve: Option<Vec<Rule>>,
    #[serde(default)]
    pub acknowledge: Option<Vec<Rule>>,
    #[serde(default)]
    pub investigate: Option<Vec<Rule>>,
    #[serde(default)]
    pub rerun: Option<Vec<Rule>>,
}

/// Who may take an action, for which services and environments.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Slack user ids (`U…`, `W…`).
    #[serde(default)]
    pub users: Vec<String>,
    /// Slack user group ids (`S…`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Every member of the workspace.
    #[serde(default)]
    pub everyone: bool,
    /// The services it applies to (empty: all).
    #[serde(default)]
    pub services: Vec<String>,
    /// The environments it applies to (empty: all).
    #[serde(default)]
    pub environments: Vec<String>,
    /// The requester may not be the author of what they act on.
    #[serde(default)]
    pub not_author: bool,
    /// A linked GitHub account of the requester must have write access to the repository
    /// (`rerun` rules only).
    #[serde(default)]
    pub github_write: bool,
}

/// What GitHub says of the requester's linked accounts on the repository acted on, for rules
/// with `github_write`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GithubAccess {
    /// Not looked up: no rule that names the requester asks for it.
    #[default]
    NotAsked,
    /// The requester's subscription links no GitHub account.
    NoLinkedAccount,
    /// None of these linked logins may write to the repository.
    NoWrite(Vec<String>),
    /// This linked login may write to the repository.
    Write(String),
    /// GitHub could not say (its answer, without credentials).
    Unknown(String),
}

/// One request to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub act: Act,
    pub service: &'a str,
    pub environment: Option<&'a str>,
    pub requester: &'a str,
    /// Who wrote what is acted on, when known (an alert's `metadata.author`).
    pub author: Option<&'a str>,
    /// The requester's write access on GitHub, when a rule asks for it ([`Policy::needs_github`]).
    pub github: GithubAccess,
}

/// The verdict, with what the audit and the refusal say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Refused { reason: String },
}

impl Policy {
    fn rules(&self, act: Act) -> Option<&[Rule]> {
        match act {
            Act::Deploy => self.deploy.as_deref(),
            Act::Rollback => self.rollback.as_deref(),
            Act::Approve => self.approve.as_deref(),
            Act::Acknowledge => self.acknowledge.as_deref(),
            Act::Investigate => self.investigate.as_deref(),
            Act::Rerun => self.rerun.as_deref(),
        }
    }

    /// The user groups whose members the check of `request` needs (the handler resolves them
    /// before deciding): none when the requester is allowed by name, or by `everyone`.
    pub fn groups_for(&self, request: &Request<'_>) -> BTreeSet<String> {
        if self.check(request, &BTreeSet::new()) == Verdict::Allowed {
            return BTreeSet::new();
        }
        self.applying(request).flat_map(|r| r.groups.iter().cloned()).collect()
    }

    /// Whether the check of `request` needs the requester's GitHub access looked up: a rule
    /// that lists them asks `github_write`, and no rule allows them without it.
    pub fn needs_github(&self, request: &Request<'_>, member_of: &BTreeSet<String>) -> bool {
        let unasked = Request { github: GithubAccess::NotAsked, ..request.clone() };
        self.check(&unasked, member_of) != Verdict::Allowed
            && self.applying(request).any(|r| r.github_write && lists(r, request.requester, member_of))
    }

    fn applying<'p>(&'p self, request: &Request<'_>) -> impl Iterator<Item = &'p Rule> {
        let (service, environment) = (request.service.to_owned(), request.environment.map(str::to_owned));
        self.rules(request.act).unwrap_or_default().iter().filter(move |r| {
            (r.services.is_empty() || r.services.contains(&service))
                && (r.environments.is_empty() || environment.as_ref().is_some_and(|e| r.environments.contains(e)))
        })
    }

    /// Check `request`; `member_of` are the groups (of [`Policy::groups_for`]) the requester
    /// is in.
    pub fn check(&self, request: &Request<'_>, member_of: &BTreeSet<String>) -> Verdict {
        let what = request.act.described(request.service);
        let Some(_) = self.rules(request.act) else {
            if !request.act.needs_a_rule() {
                return Verdict::Allowed;
            }
            return Verdict::Refused {
                reason: format!(
                    "No policy allows {what} from Slack yet: an admin adds a `policy.{}` rule to the notifier's routing file.",
                    request.act.as_str()
                ),
            };
        };
        let applying: Vec<&Rule> = self.applying(request).collect();
        if applying.is_empty() {
            return Verdict::Refused { reason: format!("No policy rule covers {what}{}.", in_environment(request.environment)) };
        }
        let (mut authored, mut without_github) = (false, false);
        for rule in &applying {
            if !lists(rule, request.requester, member_of) {
                continue;
            }
            if rule.not_author && request.author == Some(request.requester) {
                authored = true;
                continue;
            }
            if rule.github_write && !matches!(request.github, GithubAccess::Write(_)) {
                without_github = true;
                continue;
            }
            return Verdict::Allowed;
        }
        if authored {
            return Verdict::Refused { reason: format!("You are the author of this change, and {what} must come from someone else.") };
        }
        if without_github {
            return Verdict::Refused { reason: github_refusal(&request.github, &what) };
        }
        Verdict::Refused { reason: format!("Only {} may take {what}{}.", who_may(&applying), in_environment(request.environment)) }
    }
}

/// Whether `rule` names `requester` (by id, by group, or everyone).
fn lists(rule: &Rule, requester: &str, member_of: &BTreeSet<String>) -> bool {
    rule.everyone || rule.users.iter().any(|u| u == requester) || rule.groups.iter().any(|g| member_of.contains(g))
}

/// Why a `github_write` rule did not allow the requester.
fn github_refusal(access: &GithubAccess, what: &str) -> String {
    let needs = format!("{} needs write access to the repository on GitHub", capitalised(what));
    match access {
        GithubAccess::NotAsked | GithubAccess::NoLinkedAccount => format!(
            "{needs}, and your Pulse subscription links no GitHub account: `/praktika github add ID+login` links yours, then click again."
        ),
        GithubAccess::NoWrite(logins) if logins.len() == 1 => {
            format!("{needs}, and your linked GitHub account `{}` does not have it.", logins[0])
        }
        GithubAccess::NoWrite(logins) => {
            let logins: Vec<String> = logins.iter().map(|l| format!("`{l}`")).collect();
            format!("{needs}, and none of your linked GitHub accounts ({}) has it.", logins.join(", "))
        }
        GithubAccess::Write(_) => needs,
        GithubAccess::Unknown(why) => format!("{needs}, and GitHub could not say whether you have it ({why}); try again later."),
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn in_environment(environment: Option<&str>) -> String {
    environment.map(|e| format!(" in `{e}`")).unwrap_or_default()
}

/// "<@U1>, members of <!subteam^S1>": Slack renders both as names.
fn who_may(rules: &[&Rule]) -> String {
    let mut names: Vec<String> = Vec::new();
    for rule in rules {
        names.extend(rule.users.iter().map(|u| format!("<@{u}>")));
        names.extend(rule.groups.iter().map(|g| format!("members of <!subteam^{g}>")));
    }
    names.dedup();
    if names.is_empty() { "nobody".to_owned() } else { names.join(", ") }
}

/// Why a policy cannot be used: it names the action and the id.
pub fn validate(policy: &Policy) -> Result<(), String> {
    for act in [Act::Deploy, Act::Rollback, Act::Approve, Act::Acknowledge, Act::Investigate, Act::Rerun] {
        for rule in policy.rules(act).unwrap_or_default() {
            if let Some(u) = rule.users.iter().find(|u| !(u.starts_with('U') || u.starts_with('W'))) {
                return Err(format!("policy.{}: {u:?} is not a Slack user id (U… or W…)", act.as_str()));
            }
            if let Some(g) = rule.groups.iter().find(|g| !g.starts_with('S')) {
                return Err(format!("policy.{}: {g:?} is not a Slack user group id (S…)", act.as_str()));
            }
            if !rule.everyone && rule.users.is_empty() && rule.groups.is_empty() {
                return Err(format!("policy.{}: a rule names no users, no groups and not `everyone`", act.as_str()));
            }
            if rule.github_write && act != Act::Rerun {
                return Err(format!(
                    "policy.{}: `github_write` applies to `rerun` rules only (their services are GitHub repositories)",
                    act.as_str()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
