//! The "Re-run failed jobs" button on a failed run's message, as pure functions: the button, the
//! click read from its `slack.interaction`, and the plan for one click.
//!
//! Rules:
//! - The button is on an attempt's message once the attempt completed with a failing conclusion;
//!   its value names the repository, the run and the attempt shown.
//! - Who may press it is the routing file's `policy.rerun` (Slack user ids or user groups, per
//!   repository in `services`); re-runs spend CI, so they are refused until a rule is written.
//!   A rule may also ask that a GitHub account linked to the clicker's subscription has write
//!   access to the repository (`github_write`); the handler asks GitHub and hands the answer in.
//!   Every click is audited, allowed or refused, once per click.
//! - A refused click, or a click while no GitHub credentials are configured, gets an ephemeral
//!   answer saying why, and nothing is asked of GitHub.
//! - An allowed click asks GitHub once per attempt shown, whoever clicks and however often the
//!   click is delivered: the executor claims `rerun#{repo}#{run}#{attempt}` for the click first
//!   ([`Effect::Rerun`]), and only the claim's holder calls GitHub. Later clicks are told who
//!   asked. A call GitHub refuses (no permission, the run gone) releases the claim so a later
//!   click can try again; a failing call is retried with the event.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use pulse_contracts::{Actor, Container, InteractionKind, SlackInteraction};
use pulse_slack::blocks::{Block, Button, Message, ResponseMessage, Style};

use crate::audit::{Click, Subject};
use crate::plan::{Effect, Plan};
use crate::policy::{self, Act, GithubAccess, Policy, Verdict};

/// The button's `action_id`.
pub const ACTION_ID: &str = "github_rerun_failed_jobs";

/// Which attempt of which run a button re-runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `OWNER/REPO`.
    pub repo: String,
    pub run_id: u64,
    pub attempt: u32,
}

impl Target {
    /// The button's value: `OWNER/REPO#RUN#ATTEMPT` (`#` is in no repository name).
    pub fn value(&self) -> String {
        format!("{}#{}#{}", self.repo, self.run_id, self.attempt)
    }

    pub fn parse(value: &str) -> Result<Target, String> {
        let bad = || format!("a re-run button's value must be OWNER/REPO#RUN#ATTEMPT, got {value:?}");
        let mut parts = value.split('#');
        let (Some(repo), Some(run_id), Some(attempt), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let (owner, name) = repo.split_once('/').ok_or_else(bad)?;
        if owner.is_empty() || name.is_empty() || name.contains('/') {
            return Err(bad());
        }
        Ok(Target { repo: repo.to_owned(), run_id: run_id.parse().map_err(|_| bad())?, attempt: attempt.parse().map_err(|_| bad())? })
    }

    /// The claim that makes the call once per attempt.
    pub fn claim_key(&self) -> String {
        format!("rerun#{}#{}#{}", self.repo.to_ascii_lowercase(), self.run_id, self.attempt)
    }

    fn subject(&self) -> Subject {
        Subject::GithubRun { repo: self.repo.clone(), run_id: self.run_id, attempt: self.attempt }
    }
}

/// The actions block under a failed attempt's message.
pub fn button(target: &Target) -> Block {
    Block::actions([Button::new(ACTION_ID, "Re-run failed jobs").value(target.value()).style(Style::Primary)])
}

/// One click on the button.
#[derive(Debug, Clone, PartialEq)]
pub struct RerunClick {
    pub target: Target,
    pub channel: String,
    pub actor: Actor,
    pub response_url: Option<String>,
}

/// The click `i` is, when it is one of this button's (`Err`: it is, but unusable).
pub fn click(i: &SlackInteraction) -> Option<Result<RerunClick, String>> {
    let InteractionKind::BlockActions { action_id, value, container, .. } = &i.kind else { return None };
    if action_id != ACTION_ID {
        return None;
    }
    let Container::Message { channel_id, .. } = container else {
        return Some(Err("the re-run button was clicked outside a message".to_owned()));
    };
    Some(Target::parse(value.as_deref().unwrap_or_default()).map(|target| RerunClick {
        target,
        channel: channel_id.clone(),
        actor: Actor { user_id: i.user_id.clone(), user_name: i.user_name.clone() },
        response_url: i.response_url.clone(),
    }))
}

/// What the policy is asked about `click`, knowing `github` of the clicker.
pub fn policy_request(click: &RerunClick, github: GithubAccess) -> policy::Request<'_> {
    policy::Request {
        act: Act::Rerun,
        service: &click.target.repo,
        environment: None,
        requester: &click.actor.user_id,
        author: None,
        github,
    }
}

/// Why a click could not be carried out, or what became of it: the ephemeral answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Refused(String),
    /// GitHub accepted the re-run.
    Started,
    /// Someone asked for this attempt before (`user_id`).
    AlreadyAsked(String),
    /// GitHub refused the call (its words).
    GithubRefused(String),
}

impl Reply {
    pub fn message(&self, target: &Target) -> ResponseMessage {
        let run = format!("run {} of `{}`", target.run_id, target.repo);
        let text = match self {
            Reply::Refused(reason) => format!(":no_entry: {reason}"),
            Reply::Started => format!(":repeat: Re-running the failed jobs of {run}: the new attempt will appear in this thread."),
            Reply::AlreadyAsked(user) => format!(":repeat: <@{user}> already asked to re-run the failed jobs of {run}."),
            Reply::GithubRefused(why) => format!(":warning: GitHub did not re-run {run}: {why}"),
        };
        ResponseMessage::ephemeral(Message::new(text, [])).replace_original(false)
    }
}

/// What the executor carries out for an allowed click.
#[derive(Debug, Clone, PartialEq)]
pub struct Rerun {
    pub target: Target,
    /// The click's dedup key: it holds the claim, so its own redelivery calls again only when
    /// no outcome was recorded.
    pub dedup_key: String,
    pub user_id: String,
    /// Where the outcome is answered (Slack sends one with every click).
    pub response_url: Option<String>,
}

/// The plan for one click: audit it, then refuse it or ask GitHub once.
pub fn decide(
    policy: &Policy,
    click: RerunClick,
    dedup_key: &str,
    at: DateTime<Utc>,
    member_of: &BTreeSet<String>,
    github: GithubAccess,
    configured: bool,
) -> Plan {
    let refused = match policy.check(&policy_request(&click, github), member_of) {
        Verdict::Refused { reason } => Some(reason),
        Verdict::Allowed if !configured => {
            Some("Re-runs from Slack are not set up: Pulse has no GitHub credentials (an admin sets `GITHUB_TOKEN` or a GitHub App, see the README).".to_owned())
        }
        Verdict::Allowed => None,
    };
    let label = format!("re-run of {} run {} for {}", click.target.repo, click.target.run_id, click.actor.user_id);
    let audit = Effect::Audit(Click {
        subject: click.target.subject(),
        dedup_key: dedup_key.to_owned(),
        at,
        act: Act::Rerun,
        actor: click.actor.clone(),
        channel: click.channel.clone(),
        deploy_id: None,
        refused: refused.clone(),
    });
    let mut effects = vec![audit];
    match refused {
        Some(reason) => {
            if let Some(response_url) = click.response_url {
                let body = Reply::Refused(reason).message(&click.target);
                effects.push(Effect::Respond { marker: format!("refused#{dedup_key}"), response_url, body });
            }
        }
        None => effects.push(Effect::Rerun(Rerun {
            target: click.target,
            dedup_key: dedup_key.to_owned(),
            user_id: click.actor.user_id,
            response_url: click.response_url,
        })),
    }
    Plan::chain(label, effects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target { repo: "octo-org/widgets".into(), run_id: 100, attempt: 1 }
    }

    fn interaction(action_id: &str, value: &str) -> SlackInteraction {
        serde_json::from_value(serde_json::json!({
            "team_id": "T1", "user_id": "U0BOB", "user_name": "bob",
            "response_url": "https://hooks.slack.com/actions/1",
            "kind": {"type": "block_actions", "action_id": action_id, "value": value,
                     "container": {"type": "message", "channel_id": "C0CI", "message_ts": "1.1"}}
        }))
        .unwrap()
    }

    fn policy(json: &str) -> Policy {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_value_round_trips_and_bad_values_are_named() {
        assert_eq!(Target::parse(&target().value()), Ok(target()));
        for bad in ["", "octo-org/widgets#100", "widgets#100#1", "octo-org/widgets#x#1", "a/b/c#1#1", "o/r#1#1#1"] {
            assert!(Target::parse(bad).unwrap_err().contains("OWNER/REPO#RUN#ATTEMPT"), "{bad}");
        }
    }

    #[test]
    fn only_this_buttons_clicks_are_read() {
        assert!(click(&interaction("ops_ack", "x")).is_none());
        let c = click(&interaction(ACTION_ID, "octo-org/widgets#100#1")).unwrap().unwrap();
        assert_eq!((c.target, c.channel.as_str(), c.actor.user_id.as_str()), (target(), "C0CI", "U0BOB"));
        assert!(click(&interaction(ACTION_ID, "nonsense")).unwrap().is_err());
    }

    #[test]
    fn without_a_rule_the_click_is_refused_audited_and_answered() {
        let c = click(&interaction(ACTION_ID, "octo-org/widgets#100#1")).unwrap().unwrap();
        let plan = decide(&Policy::default(), c, "k1", Utc::now(), &BTreeSet::new(), GithubAccess::NotAsked, true);
        let effects: Vec<&Effect> = plan.effects().collect();
        assert!(matches!(effects[0], Effect::Audit(Click { refused: Some(r), act: Act::Rerun, .. }) if r.contains("policy.rerun")));
        assert!(matches!(effects[1], Effect::Respond { marker, .. } if marker == "refused#k1"));
        assert!(!effects.iter().any(|e| matches!(e, Effect::Rerun(_))));
    }

    #[test]
    fn an_allowed_click_is_audited_then_asks_github_and_unconfigured_github_is_a_refusal() {
        let p = policy(r#"{"rerun": [{"users": ["U0BOB"]}]}"#);
        let c = click(&interaction(ACTION_ID, "octo-org/widgets#100#1")).unwrap().unwrap();
        let plan = decide(&p, c.clone(), "k1", Utc::now(), &BTreeSet::new(), GithubAccess::NotAsked, true);
        let effects: Vec<&Effect> = plan.effects().collect();
        assert!(matches!(effects[0], Effect::Audit(Click { refused: None, .. })));
        assert!(matches!(effects[1], Effect::Rerun(r) if r.target == target() && r.dedup_key == "k1"));
        let plan = decide(&p, c, "k1", Utc::now(), &BTreeSet::new(), GithubAccess::NotAsked, false);
        assert!(plan.effects().any(|e| matches!(e, Effect::Audit(Click { refused: Some(r), .. }) if r.contains("GITHUB_TOKEN"))));
        assert!(!plan.effects().any(|e| matches!(e, Effect::Rerun(_))));
    }

    #[test]
    fn a_github_write_rule_allows_only_a_clicker_whose_linked_login_may_write() {
        let p = policy(r#"{"rerun": [{"everyone": true, "github_write": true}]}"#);
        let c = click(&interaction(ACTION_ID, "octo-org/widgets#100#1")).unwrap().unwrap();
        assert!(p.needs_github(&policy_request(&c, GithubAccess::NotAsked), &BTreeSet::new()));
        let refusal = |github: GithubAccess| {
            let plan = decide(&p, c.clone(), "k1", Utc::now(), &BTreeSet::new(), github, true);
            assert!(!plan.effects().any(|e| matches!(e, Effect::Rerun(_))));
            plan.effects()
                .find_map(|e| match e {
                    Effect::Audit(Click { refused: Some(r), .. }) => Some(r.clone()),
                    _ => None,
                })
                .expect("refused")
        };
        assert!(refusal(GithubAccess::NoLinkedAccount).contains("/praktika github add"));
        let one = refusal(GithubAccess::NoWrite(vec!["mona".into()]));
        assert!(one.contains("write access") && one.contains("`mona` does not have it"), "{one}");
        assert!(refusal(GithubAccess::NoWrite(vec!["a".into(), "b".into()])).contains("none of your linked GitHub accounts (`a`, `b`)"));
        assert!(refusal(GithubAccess::Unknown("HTTP 403".into())).contains("could not say"));
        let plan = decide(&p, c, "k1", Utc::now(), &BTreeSet::new(), GithubAccess::Write("mona".into()), true);
        assert!(plan.effects().any(|e| matches!(e, Effect::Rerun(_))));
    }

    #[test]
    fn replies_name_the_run_and_who_asked_first() {
        let text = |r: Reply| r.message(&target()).to_json().to_string();
        assert!(text(Reply::Started).contains("run 100 of `octo-org/widgets`"));
        assert!(text(Reply::AlreadyAsked("U0ANN".into())).contains("<@U0ANN> already asked"));
        assert!(text(Reply::GithubRefused("no permission".into())).contains("no permission"));
    }
}
