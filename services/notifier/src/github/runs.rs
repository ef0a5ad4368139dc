//! One message per workflow run attempt per subscribed channel: which channels show the
//! attempt, under which ledger key, in which thread — planned from the merged [`RunState`].
//!
//! Rules:
//! - a channel shows an attempt when one of its subscriptions to the repository takes the run
//!   ([`filters::matches`]) and, for a `failures` subscription, once the attempt is failing (its
//!   first failed job, or a failing conclusion): a passing run is never posted there;
//! - the first delivery that makes a channel show an attempt posts it (the ledger key
//!   [`message_key`] makes that once); every later one updates it in place with the whole
//!   state;
//! - a re-run (`run_attempt > 1`) is posted in the thread of the first attempt's message in that
//!   channel, when there is one (else as a message of its own);
//! - the merged state is saved first, conditional on the version read; after the messages the
//!   version is checked again: a newer state saved meanwhile by a concurrent delivery may have
//!   been shown before this older one, so the event is retried and shows the newest.

use std::collections::BTreeMap;

use pulse_contracts::RepoFilter;

use super::filters::{self, repo_key};
use super::render;
use super::run::RunState;
use crate::plan::{Effect, Plan};

/// Which run: the repository's [`repo_key`] and the run id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub repository: String,
    pub run_id: u64,
}

impl RunRef {
    pub fn new(repository: &str, run_id: u64) -> Self {
        Self { repository: repo_key(repository), run_id }
    }
}

/// The ledger key of an attempt's message in a channel.
pub fn message_key(run: &RunRef, attempt: u32, channel: &str) -> String {
    format!("ghrun:{}:{}:{attempt}:{channel}", run.repository, run.run_id)
}

/// What the handler read and merged for one delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInput<'a> {
    pub run: RunRef,
    /// The attempt the delivery is about.
    pub attempt: u32,
    /// The state with the delivery merged in.
    pub state: &'a RunState,
    /// Whether the merge changed it (only then is it saved).
    pub changed: bool,
    /// The version read before merging (`None`: nothing was stored).
    pub version: Option<u64>,
    /// The channels following the repository, with their filters.
    pub subscriptions: &'a [(String, RepoFilter)],
    /// Per channel, the `ts` of the first attempt's message (re-runs thread under it).
    pub first_attempt_ts: &'a BTreeMap<String, String>,
}

/// Whether `filter`'s channel shows `attempt` of the run as `state` has it.
pub fn shows(filter: &RepoFilter, state: &RunState, attempt: u32) -> bool {
    state.run(attempt).is_some_and(|run| filters::matches(filter, run)) && (!filter.failures || state.failing(attempt))
}

/// Save the merged state, show it in each channel that shows it, then check no newer state was
/// saved meanwhile.
pub fn plan(input: &RunInput<'_>) -> Plan {
    let RunInput { run, attempt, state, changed, version, subscriptions, first_attempt_ts } = input;
    let mut effects = Vec::new();
    if *changed {
        effects.push(Effect::SaveRun { run: run.clone(), state: Box::new((*state).clone()), expected: *version });
    }
    let saved = if *changed { version.unwrap_or(0) + 1 } else { version.unwrap_or(0) };
    let mut channels: Vec<&str> =
        subscriptions.iter().filter(|(_, f)| shows(f, state, *attempt)).map(|(channel, _)| channel.as_str()).collect();
    channels.sort_unstable();
    channels.dedup();
    let Some(content) = render::render(state, *attempt) else {
        return Plan::chain(format!("run {} of {}", run.run_id, run.repository), effects);
    };
    for channel in &channels {
        let thread_ts = if *attempt > 1 { first_attempt_ts.get(*channel).cloned() } else { None };
        effects.push(Effect::ShowRun {
            key: message_key(run, *attempt, channel),
            channel: (*channel).to_owned(),
            thread_ts,
            content: content.clone(),
        });
    }
    if !channels.is_empty() {
        effects.push(Effect::CheckRun { run: run.clone(), version: saved });
    }
    Plan::chain(format!("run {} of {} attempt {attempt}", run.run_id, run.repository), effects)
}

#[cfg(test)]
mod tests {
    use pulse_contracts::GithubConclusion::{Failure, Success};

    use super::*;
    use crate::github::fixtures::*;

    fn sub(channel: &str, branch: Option<&str>, failures: bool) -> (String, RepoFilter) {
        let filter = RepoFilter { repository: REPO.into(), workflow: None, branch: branch.map(str::to_owned), event: None, failures };
        (channel.to_owned(), filter)
    }

    fn shown_in(plan: &Plan) -> Vec<(String, Option<String>)> {
        plan.effects()
            .filter_map(|e| match e {
                Effect::ShowRun { channel, thread_ts, key, .. } => {
                    assert!(key.ends_with(channel.as_str()));
                    Some((channel.clone(), thread_ts.clone()))
                }
                _ => None,
            })
            .collect()
    }

    fn input<'a>(state: &'a RunState, attempt: u32, subs: &'a [(String, RepoFilter)], ts: &'a BTreeMap<String, String>) -> RunInput<'a> {
        RunInput { run: RunRef::new(REPO, 100), attempt, state, changed: true, version: Some(3), subscriptions: subs, first_attempt_ts: ts }
    }

    #[test]
    fn failures_channels_see_a_run_only_once_it_fails() {
        let subs = [sub("CALL", None, false), sub("CFAIL", None, true), sub("CREL", Some("release/*"), false)];
        let none = BTreeMap::new();
        let mut s = RunState::default();
        s.merge_run(&run(1, running(), 1));
        assert_eq!(shown_in(&plan(&input(&s, 1, &subs, &none))), [("CALL".to_owned(), None)]);
        s.merge_job(&job(1, "test", 1, done(Failure), 2));
        let p = plan(&input(&s, 1, &subs, &none));
        assert_eq!(shown_in(&p).iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(), ["CALL", "CFAIL"]);
        assert!(matches!(p.effects().next(), Some(Effect::SaveRun { expected: Some(3), .. })));
        assert!(matches!(p.effects().last(), Some(Effect::CheckRun { version: 4, .. })));

        let mut passing = RunState::default();
        passing.merge_run(&run(1, running(), 1));
        passing.merge_job(&job(1, "test", 1, done(Success), 2));
        passing.merge_run(&run(1, done(Success), 3));
        assert_eq!(shown_in(&plan(&input(&passing, 1, &subs, &none))).len(), 1, "never in the failures channel");
    }

    #[test]
    fn a_rerun_threads_under_the_first_attempts_message() {
        let subs = [sub("CALL", None, false), sub("CNEW", None, false)];
        let ts = BTreeMap::from([("CALL".to_owned(), "111.222".to_owned())]);
        let mut s = RunState::default();
        s.merge_run(&run(2, running(), 30));
        assert_eq!(
            shown_in(&plan(&input(&s, 2, &subs, &ts))),
            [("CALL".to_owned(), Some("111.222".to_owned())), ("CNEW".to_owned(), None)]
        );
        assert_eq!(message_key(&RunRef::new("Octo-Org/Widgets", 100), 2, "C1"), "ghrun:octo-org/widgets:100:2:C1");
    }

    #[test]
    fn a_job_before_its_run_is_saved_but_not_shown() {
        let subs = [sub("CALL", None, false)];
        let none = BTreeMap::new();
        let mut s = RunState::default();
        s.merge_job(&job(1, "test", 1, running(), 1));
        let p = plan(&RunInput { version: None, ..input(&s, 1, &subs, &none) });
        assert!(matches!(p.effects().collect::<Vec<_>>()[..], [Effect::SaveRun { expected: None, .. }]));
    }
}
