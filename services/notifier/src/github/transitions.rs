//! "main is red" / "main is green again", per channel subscription, on the branch it follows.
//!
//! Rules:
//! - the branch is the subscription's `branch:` when it is a plain name (no `*` or `?`), else
//!   the repository's default branch (from the delivery), else `main`;
//! - only completed runs on that branch that the subscription's filters take count; per
//!   workflow (by name) the latest run is kept, ordered by `(run_number, run_attempt)`: an older
//!   run finishing late never replaces a newer one, so it never flips the state;
//! - a run that passed (`success`, `neutral`) or failed (`failure`, `timed_out`,
//!   `startup_failure`) counts; a cancelled or skipped one says nothing and is left out;
//! - the branch turns **red** when a workflow's latest run fails while every other was passing:
//!   the message names that run (the first failing one) and its commit's author, mentioned when
//!   their e-mail is a Pulse subscriber's; it turns **green again** when every workflow's latest
//!   run passed, with how long it was red (from the first failing run's completion to this
//!   run's). Each is announced once: the ledger key names the red episode by its first failing
//!   run, so redeliveries and concurrent deliveries post it once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use pulse_contracts::{GithubConclusion, GithubState, RepoFilter, WorkflowRun};
use pulse_slack::blocks::{Block, Message};
use serde::{Deserialize, Serialize};

use super::filters;
use crate::dm_text::escape;
use crate::plan::{Chain, Effect, Post, To};

/// The branch `filter`'s transitions follow.
pub fn branch_of(filter: &RepoFilter, default_branch: Option<&str>) -> String {
    match filter.branch.as_deref() {
        Some(b) if !b.contains(['*', '?']) => b.to_owned(),
        _ => default_branch.unwrap_or("main").to_owned(),
    }
}

/// Whether `run` counts for `filter`'s transitions on `branch`.
pub fn counts(filter: &RepoFilter, branch: &str, run: &WorkflowRun) -> bool {
    run.head_branch.as_deref() == Some(branch) && filters::matches(filter, run) && verdict(run.state).is_some()
}

/// Passed (`Some(true)`), failed (`Some(false)`), or says nothing (`None`).
fn verdict(state: GithubState) -> Option<bool> {
    match state.conclusion()? {
        GithubConclusion::Success | GithubConclusion::Neutral => Some(true),
        c if c.is_failure() => Some(false),
        _ => None,
    }
}

/// One workflow's latest completed run on the branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latest {
    pub run_id: u64,
    pub run_number: u64,
    pub run_attempt: u32,
    pub passed: bool,
    pub workflow: String,
    pub html_url: String,
    pub head_sha: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_email: Option<String>,
}

impl Latest {
    pub fn of(run: &WorkflowRun) -> Option<Latest> {
        Some(Latest {
            run_id: run.id,
            run_number: run.run_number,
            run_attempt: run.run_attempt,
            passed: verdict(run.state)?,
            workflow: run.name.clone(),
            html_url: run.html_url.clone(),
            head_sha: run.head_sha.clone(),
            at: run.updated_at,
            author_name: run.head_commit.as_ref().map(|c| c.author_name.clone()),
            author_email: run.head_commit.as_ref().map(|c| c.author_email.clone()),
        })
    }
}

/// One subscription's branch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BranchState {
    /// Per workflow name, its latest completed run.
    #[serde(default)]
    pub latest: BTreeMap<String, Latest>,
    /// Since when, and from which run, the branch is red (`None`: green).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub red: Option<Latest>,
}

/// What a run did to a branch.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// The state changed, nothing to announce (or nothing changed at all: `changed` says).
    Quiet,
    /// Turned red with this first failing run.
    Red(Latest),
    /// Green again; `red` was the first failing run.
    Green { red: Latest, at: DateTime<Utc> },
}

impl BranchState {
    /// Take a completed run; whether the state changed, and the transition.
    pub fn apply(&mut self, run: Latest) -> (bool, Transition) {
        if let Some(held) = self.latest.get(&run.workflow)
            && (held.run_number, held.run_attempt) >= (run.run_number, run.run_attempt)
        {
            return (false, Transition::Quiet);
        }
        self.latest.insert(run.workflow.clone(), run.clone());
        let red_now = self.latest.values().any(|l| !l.passed);
        let transition = match (&self.red, red_now) {
            (None, true) => {
                self.red = Some(run.clone());
                Transition::Red(run)
            }
            (Some(red), false) => {
                let red = red.clone();
                self.red = None;
                Transition::Green { red, at: run.at }
            }
            _ => Transition::Quiet,
        };
        (true, transition)
    }
}

/// The ledger key of a transition's announcement: one per red episode and channel.
pub fn announcement_key(channel: &str, repository: &str, branch: &str, red: &Latest, green: bool) -> String {
    let kind = if green { "green" } else { "red" };
    format!("ghbranch:{kind}:{channel}:{}:{branch}:{}:{}", filters::repo_key(repository), red.run_id, red.run_attempt)
}

/// "`main` is red", naming the run and its author (`author_user`: their Slack id when they
/// subscribe to Pulse).
pub fn render_red(repository: &str, branch: &str, red: &Latest, author_user: Option<&str>) -> Message {
    let who = match (author_user, &red.author_name) {
        (Some(user), _) => format!(" by <@{user}>"),
        (None, Some(name)) => format!(" by {}", escape(name)),
        (None, None) => String::new(),
    };
    let sha = red.head_sha.get(..7).unwrap_or(&red.head_sha);
    let text = format!(
        ":red_circle: `{}` of `{}` is red: <{}|{} #{}> failed on `{sha}`{who}.",
        escape(branch),
        escape(repository),
        red.html_url,
        escape(&red.workflow),
        red.run_number
    );
    Message::new(text.clone(), [Block::section(text)])
}

/// "`main` is green again", with how long it was red.
pub fn render_green(repository: &str, branch: &str, red: &Latest, at: DateTime<Utc>) -> Message {
    let ms = u64::try_from((at - red.at).num_milliseconds()).unwrap_or(0);
    let text = format!(
        ":large_green_circle: `{}` of `{}` is green again after {} (red since <{}|{} #{}>).",
        escape(branch),
        escape(repository),
        crate::jobs::human_duration(ms),
        red.html_url,
        escape(&red.workflow),
        red.run_number
    );
    Message::new(text.clone(), [Block::section(text)])
}

/// Which branch state: one per channel, repository ([`filters::repo_key`]) and branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchRef {
    pub channel: String,
    pub repository: String,
    pub branch: String,
}

/// One subscription a completed run counts for, with its branch's stored state.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchInput {
    pub at: BranchRef,
    pub state: BranchState,
    /// `None`: nothing stored yet.
    pub version: Option<u64>,
}

/// Per subscription the run counts for: announce the transition (once, through the ledger),
/// then save the branch state conditionally on the version read (a concurrent save fails the
/// chain; the retry applies the run again, and the announcement's key keeps it single).
/// `author_user`: the Slack id of the run's commit author when they subscribe to Pulse.
pub fn plan(repository: &str, run: &WorkflowRun, branches: &[BranchInput], author_user: Option<&str>) -> Vec<Chain> {
    let Some(latest) = Latest::of(run) else { return Vec::new() };
    let mut chains = Vec::new();
    for input in branches {
        let mut state = input.state.clone();
        let (changed, transition) = state.apply(latest.clone());
        if !changed {
            continue;
        }
        let BranchRef { channel, branch, .. } = &input.at;
        let announce = |key: String, content: Message| {
            Effect::Post(Post { key, to: To::Channel(channel.clone()), thread: None, content, context: None })
        };
        let mut effects = match transition {
            Transition::Quiet => Vec::new(),
            Transition::Red(red) => {
                let user = author_user.filter(|_| red.author_email.is_some());
                vec![announce(announcement_key(channel, repository, branch, &red, false), render_red(repository, branch, &red, user))]
            }
            Transition::Green { red, at } => {
                vec![announce(announcement_key(channel, repository, branch, &red, true), render_green(repository, branch, &red, at))]
            }
        };
        effects.push(Effect::SaveBranch { at: input.at.clone(), state: Box::new(state), expected: input.version });
        chains.push(Chain::new(format!("`{branch}` of {repository} in {channel}"), effects));
    }
    chains
}

#[cfg(test)]
mod tests {
    use pulse_contracts::GithubConclusion::{Cancelled, Failure, Success};

    use super::*;
    use crate::github::fixtures::*;

    fn completed(workflow: &str, number: u64, attempt: u32, c: GithubConclusion, minute: u32) -> Latest {
        let mut r = run(attempt, done(c), minute).run;
        r.name = workflow.into();
        r.run_number = number;
        r.id = number * 10;
        Latest::of(&r).unwrap()
    }

    #[test]
    fn red_once_then_green_once_with_the_duration() {
        let mut s = BranchState::default();
        assert_eq!(s.apply(completed("CI", 1, 1, Success, 0)), (true, Transition::Quiet));
        let (_, t) = s.apply(completed("CI", 2, 1, Failure, 10));
        let Transition::Red(first) = t else { panic!("{t:?}") };
        assert_eq!(first.run_number, 2);
        assert_eq!(s.apply(completed("CI", 3, 1, Failure, 20)), (true, Transition::Quiet), "still red: not again");
        let (_, t) = s.apply(completed("CI", 4, 1, Success, 40));
        assert_eq!(t, Transition::Green { red: first.clone(), at: t_at(40) });
        let shown = serde_json::to_string(&render_green("o/r", "main", &first, t_at(40)).into_parts()).unwrap();
        assert!(shown.contains("is green again after 30m 00s") && shown.contains("CI #2"), "{shown}");
    }

    fn t_at(minute: u32) -> DateTime<Utc> {
        t(minute)
    }

    #[test]
    fn an_older_run_finishing_late_never_flips_the_state() {
        let mut s = BranchState::default();
        s.apply(completed("CI", 5, 1, Success, 10));
        assert_eq!(s.apply(completed("CI", 4, 1, Failure, 12)), (false, Transition::Quiet));
        assert!(s.red.is_none());
        // A re-run of the same number is newer.
        assert!(matches!(s.apply(completed("CI", 5, 2, Failure, 15)).1, Transition::Red(_)));
    }

    #[test]
    fn green_needs_every_workflows_latest_run_to_pass() {
        let mut s = BranchState::default();
        s.apply(completed("CI", 1, 1, Success, 0));
        assert!(matches!(s.apply(completed("Lint", 1, 1, Failure, 1)).1, Transition::Red(_)));
        assert!(matches!(s.apply(completed("CI", 2, 1, Failure, 2)).1, Transition::Quiet));
        assert!(matches!(s.apply(completed("Lint", 2, 1, Success, 3)).1, Transition::Quiet), "CI still fails");
        assert!(matches!(s.apply(completed("CI", 3, 1, Success, 4)).1, Transition::Green { .. }));
    }

    #[test]
    fn branches_and_what_counts() {
        let f = |branch: Option<&str>| RepoFilter {
            repository: REPO.into(),
            workflow: None,
            branch: branch.map(str::to_owned),
            event: None,
            failures: false,
        };
        assert_eq!(branch_of(&f(None), Some("trunk")), "trunk");
        assert_eq!(branch_of(&f(None), None), "main");
        assert_eq!(branch_of(&f(Some("release/2")), Some("main")), "release/2");
        assert_eq!(branch_of(&f(Some("release/*")), Some("main")), "main");
        assert!(counts(&f(None), "main", &run(1, done(Failure), 3).run));
        assert!(!counts(&f(None), "main", &run(1, done(Cancelled), 3).run), "a cancelled run says nothing");
        assert!(!counts(&f(None), "main", &run(1, running(), 3).run));
        assert!(!counts(&f(None), "dev", &run(1, done(Failure), 3).run));
        let red = completed("CI", 2, 1, Failure, 10);
        let shown = serde_json::to_string(&render_red("o/r", "main", &red, Some("U0ADA")).into_parts()).unwrap();
        assert!(shown.contains("`main` of `o/r` is red") && shown.contains("<@U0ADA>"), "{shown}");
        let shown = serde_json::to_string(&render_red("o/r", "main", &red, None).into_parts()).unwrap();
        assert!(shown.contains("by Ada Lovelace"), "{shown}");
    }

    #[test]
    fn the_plan_announces_before_saving_and_skips_unchanged_branches() {
        let at = |channel: &str| BranchRef { channel: channel.into(), repository: REPO.into(), branch: "main".into() };
        let mut newer = BranchState::default();
        newer.apply(completed("CI", 9, 1, Success, 30));
        let inputs = [
            BranchInput { at: at("C1"), state: BranchState::default(), version: None },
            BranchInput { at: at("C2"), state: newer, version: Some(4) },
        ];
        let failed = run(1, done(Failure), 5).run;
        let chains = plan(REPO, &failed, &inputs, Some("U0ADA"));
        assert_eq!(chains.len(), 1, "C2 has a newer run: {chains:#?}");
        match &chains[0].effects[..] {
            [Effect::Post(p), Effect::SaveBranch { expected: None, state, .. }] => {
                assert_eq!(p.key, "ghbranch:red:C1:octo-org/widgets:main:100:1");
                assert!(state.red.is_some());
            }
            other => panic!("{other:#?}"),
        }
    }
}
