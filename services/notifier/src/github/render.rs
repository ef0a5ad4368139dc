//! A workflow run attempt's channel message, rendered from the whole [`RunState`] each time (so
//! an update shows everything known, whichever delivery triggered it).
//!
//! What it shows: the verdict so far (a run still going with a failed job already reads
//! "failing"), the workflow and run number linked to the run, branch and trigger, the commit
//! (short sha linked, first line of its message, author), the jobs counted by outcome, and each
//! failing job linked with its failing steps; a failed attempt ends with the "Re-run failed
//! jobs" button ([`super::rerun`]). Text from GitHub is escaped for mrkdwn.

use pulse_contracts::{ActiveStatus, GithubConclusion, GithubState};
use pulse_slack::blocks::{Block, Message};

use super::run::RunState;
use crate::dm_text::escape;

/// Most failing jobs listed by name (the rest are counted).
const MAX_FAILING_LISTED: usize = 15;

/// The verdict of an attempt so far, as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Queued,
    Running,
    /// Still running, with a failed job already.
    Failing,
    Passed,
    Failed,
    Cancelled,
    Skipped,
}

impl Verdict {
    pub fn of(state: &RunState, attempt: u32) -> Option<Verdict> {
        let run = state.run(attempt)?;
        Some(match run.state {
            GithubState::Completed(c) if c.is_failure() => Verdict::Failed,
            GithubState::Completed(GithubConclusion::Cancelled | GithubConclusion::Stale) => Verdict::Cancelled,
            GithubState::Completed(GithubConclusion::Skipped) => Verdict::Skipped,
            GithubState::Completed(GithubConclusion::ActionRequired) => Verdict::Queued,
            GithubState::Completed(_) => Verdict::Passed,
            _ if state.failing(attempt) => Verdict::Failing,
            GithubState::Active(ActiveStatus::InProgress) => Verdict::Running,
            GithubState::Active(_) => Verdict::Queued,
        })
    }

    fn shown(self) -> (&'static str, &'static str) {
        match self {
            Verdict::Queued => (":white_circle:", "queued"),
            Verdict::Running => (":large_yellow_circle:", "running"),
            Verdict::Failing => (":red_circle:", "failing"),
            Verdict::Passed => (":large_green_circle:", "passed"),
            Verdict::Failed => (":red_circle:", "failed"),
            Verdict::Cancelled => (":black_circle:", "cancelled"),
            Verdict::Skipped => (":white_circle:", "skipped"),
        }
    }
}

/// The message of `attempt`; `None` until a `workflow_run` delivery described it.
pub fn render(state: &RunState, attempt: u32) -> Option<Message> {
    let run = state.run(attempt)?;
    let verdict = Verdict::of(state, attempt)?;
    let (emoji, word) = verdict.shown();
    let branch = run.head_branch.as_deref().map(|b| format!(" on `{}`", escape(&b.replace('`', "'")))).unwrap_or_default();
    let attempt_note = if attempt > 1 { format!(" (attempt {attempt})") } else { String::new() };
    let title = format!(
        "{emoji} *<{}|{} #{}>*{branch} ({}) {word}{attempt_note}",
        run.html_url,
        escape(&run.name),
        run.run_number,
        escape(&run.event)
    );
    let sha = run.head_sha.get(..7).unwrap_or(&run.head_sha);
    let commit_url = format!("{}/commit/{}", repository_url(&run.html_url, &state.repository), run.head_sha);
    let mut commit = format!("`{}` <{commit_url}|{sha}>", escape(&state.repository));
    if let Some(head) = &run.head_commit {
        let first = head.message.lines().next().unwrap_or_default();
        commit.push_str(&format!(" {} — {}", escape(first), escape(&head.author_name)));
    }
    let jobs = state.jobs(attempt);
    let count = |f: fn(GithubState) -> bool| jobs.iter().filter(|(_, j)| f(j.state)).count();
    let passed = count(
        |s| matches!(s, GithubState::Completed(c) if !c.is_failure() && !matches!(c, GithubConclusion::Cancelled | GithubConclusion::Stale | GithubConclusion::Skipped)),
    );
    let failed = count(|s| s.conclusion().is_some_and(GithubConclusion::is_failure));
    let other_done =
        count(|s| matches!(s, GithubState::Completed(GithubConclusion::Cancelled | GithubConclusion::Stale | GithubConclusion::Skipped)));
    let going = jobs.len() - passed - failed - other_done;
    let mut tally = vec![format!("{passed} passed"), format!("{failed} failed")];
    if other_done > 0 {
        tally.push(format!("{other_done} skipped or cancelled"));
    }
    if going > 0 {
        tally.push(format!("{going} not finished"));
    }
    let mut blocks =
        vec![Block::section(title.clone()), Block::context_text(commit), Block::context_text(format!("Jobs: {}", tally.join(" · ")))];
    let failing: Vec<String> = jobs
        .iter()
        .filter(|(_, j)| j.state.conclusion().is_some_and(GithubConclusion::is_failure))
        .map(|(_, j)| {
            let name = match &j.html_url {
                Some(url) => format!("<{url}|{}>", escape(&j.name)),
                None => escape(&j.name),
            };
            let steps: Vec<String> = j.failed_steps.iter().map(|s| format!("`{}`", escape(&s.replace('`', "'")))).collect();
            if steps.is_empty() { format!("• {name}") } else { format!("• {name} — failed at {}", steps.join(", ")) }
        })
        .collect();
    if !failing.is_empty() {
        let mut lines: Vec<String> = failing.iter().take(MAX_FAILING_LISTED).cloned().collect();
        if failing.len() > MAX_FAILING_LISTED {
            lines.push(format!("…and {} more", failing.len() - MAX_FAILING_LISTED));
        }
        blocks.push(Block::section(format!("*Failing jobs*\n{}", lines.join("\n"))));
    }
    if verdict == Verdict::Failed {
        blocks.push(super::rerun::button(&super::rerun::Target { repo: state.repository.clone(), run_id: run.id, attempt }));
    }
    Some(Message::new(title, blocks))
}

/// The repository's page on the server the run is on (github.com or a GitHub Enterprise Server):
/// the run's `html_url` up to `/{repository}/actions/`, else github.com's.
fn repository_url(run_url: &str, repository: &str) -> String {
    let marker = format!("/{}/actions/", repository.to_ascii_lowercase());
    match run_url.to_ascii_lowercase().find(&marker) {
        Some(at) => format!("{}/{repository}", &run_url[..at]),
        None => format!("https://github.com/{repository}"),
    }
}

#[cfg(test)]
mod tests {
    use pulse_contracts::GithubConclusion::{Failure, Success};

    use super::*;
    use crate::github::fixtures::*;

    fn shown(state: &RunState, attempt: u32) -> String {
        render(state, attempt).map(|m| serde_json::to_string(&m.into_parts()).unwrap()).unwrap_or_default()
    }

    #[test]
    fn the_commit_is_linked_on_the_runs_server() {
        assert_eq!(
            repository_url("https://ghe.example.com/Octo-Org/Widgets/actions/runs/5", "octo-org/widgets"),
            "https://ghe.example.com/octo-org/widgets"
        );
        assert_eq!(repository_url("not a url", "o/r"), "https://github.com/o/r");
    }

    #[test]
    fn nothing_until_the_run_is_known() {
        let mut s = RunState::default();
        s.merge_job(&job(1, "test", 1, done(Failure), 3));
        assert!(render(&s, 1).is_none());
    }

    #[test]
    fn a_failing_run_names_its_failing_jobs_steps_and_links() {
        let mut s = RunState::default();
        s.merge_run(&run(1, running(), 1));
        s.merge_job(&job(1, "build", 1, done(Success), 2));
        s.merge_job(&job(2, "test <unit>", 1, done(Failure), 3));
        s.merge_job(&job(3, "lint", 1, running(), 3));
        let text = shown(&s, 1);
        assert!(
            text.contains(
                ":red_circle: *<https://github.com/octo-org/widgets/actions/runs/100/attempts/1|CI #7>* on `main` (push) failing"
            ),
            "{text}"
        );
        assert!(
            text.contains("<https://github.com/octo-org/widgets/actions/runs/100/job/2|test &lt;unit&gt;> — failed at `Run tests`"),
            "{text}"
        );
        assert!(text.contains("1 passed · 1 failed · 1 not finished"), "{text}");
        assert!(text.contains("Fix the widget — Ada Lovelace") && !text.contains("Longer text"), "{text}");
        assert!(text.contains("/commit/0123456789abcdef0123456789abcdef01234567|0123456>"), "{text}");
        assert!(!text.contains(super::super::rerun::ACTION_ID), "no re-run while the run is going: {text}");
        s.merge_run(&run(1, done(Failure), 5));
        assert!(shown(&s, 1).contains("failed"));
        let done = shown(&s, 1);
        assert!(
            done.contains(r#""action_id":"github_rerun_failed_jobs""#) && done.contains(r#""value":"octo-org/widgets#100#1""#),
            "{done}"
        );
    }

    #[test]
    fn verdicts() {
        let mut s = RunState::default();
        s.merge_run(&run(1, queued(), 0));
        assert_eq!(Verdict::of(&s, 1), Some(Verdict::Queued));
        s.merge_run(&run(1, running(), 1));
        assert_eq!(Verdict::of(&s, 1), Some(Verdict::Running));
        s.merge_run(&run(1, done(Success), 2));
        assert_eq!(Verdict::of(&s, 1), Some(Verdict::Passed));
        s.merge_run(&run(2, done(pulse_contracts::GithubConclusion::Cancelled), 9));
        assert_eq!(Verdict::of(&s, 2), Some(Verdict::Cancelled));
        assert!(shown(&s, 2).contains("(attempt 2)"));
    }
}
