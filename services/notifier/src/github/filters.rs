//! Which workflow runs a channel's subscription takes, and how it is described.
//!
//! Rules:
//! - repositories compare ignoring ASCII case (GitHub's names do), so the stored key is the
//!   lower-cased `owner/name`;
//! - `workflow:` is the workflow's exact name (case included: it is what GitHub shows);
//! - `branch:` is a glob over the whole branch name: `*` any run of characters (`/` included),
//!   `?` exactly one; every other character stands for itself. A run on a detached head (no
//!   branch) matches no branch filter;
//! - `event:` is the trigger GitHub names (`push`, `pull_request`, ...), exact;
//! - no filter given: that dimension takes everything.

use pulse_contracts::{RepoFilter, WorkflowRun};

/// The stored key of a repository: `owner/name` lower-cased.
pub fn repo_key(repository: &str) -> String {
    repository.to_ascii_lowercase()
}

/// Whether `filter` takes `run` (the repository is matched by the caller's lookup).
pub fn matches(filter: &RepoFilter, run: &WorkflowRun) -> bool {
    filter.workflow.as_deref().is_none_or(|w| w == run.name)
        && filter.branch.as_deref().is_none_or(|g| run.head_branch.as_deref().is_some_and(|b| glob_matches(g, b)))
        && filter.event.as_deref().is_none_or(|e| e == run.event)
}

/// Whether `text` matches `glob` (`*`, `?`), wholly. Iterative with one backtrack point, so
/// linear-ish whatever the input (no exponential blow-up on `*a*a*a*b`).
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match g.get(gi) {
            Some('*') => {
                star = Some((gi, ti));
                gi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                gi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    gi = sg + 1;
                    ti = st + 1;
                    star = Some((sg, st + 1));
                }
                None => return false,
            },
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

/// One line describing a subscription: the repository and its filters, in Slack mrkdwn.
pub fn describe(filter: &RepoFilter) -> String {
    let mut parts = vec![format!("`{}`", code(&filter.repository))];
    if let Some(w) = &filter.workflow {
        parts.push(format!("workflow `{}`", code(w)));
    }
    if let Some(b) = &filter.branch {
        parts.push(format!("branch `{}`", code(b)));
    }
    if let Some(e) = &filter.event {
        parts.push(format!("event `{}`", code(e)));
    }
    if filter.failures {
        parts.push("failures only".to_owned());
    }
    parts.join(" · ")
}

/// Text safe inside a code span (no backtick to close it early).
fn code(text: &str) -> String {
    text.replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use pulse_contracts::{ActiveStatus, GithubState};

    fn run(name: &str, branch: Option<&str>, event: &str) -> WorkflowRun {
        let at = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        WorkflowRun {
            id: 1,
            name: name.into(),
            workflow_id: None,
            head_branch: branch.map(str::to_owned),
            head_sha: "abc".into(),
            event: event.into(),
            state: GithubState::Active(ActiveStatus::InProgress),
            run_number: 1,
            run_attempt: 1,
            html_url: "https://github.com/o/r/actions/runs/1".into(),
            created_at: at,
            updated_at: at,
            run_started_at: None,
            pull_requests: Vec::new(),
            head_commit: None,
            actor: None,
            triggering_actor: None,
        }
    }

    fn filter(workflow: Option<&str>, branch: Option<&str>, event: Option<&str>) -> RepoFilter {
        RepoFilter {
            repository: "o/r".into(),
            workflow: workflow.map(str::to_owned),
            branch: branch.map(str::to_owned),
            event: event.map(str::to_owned),
            failures: false,
        }
    }

    #[test]
    fn globs() {
        for (glob, text, expected) in [
            ("main", "main", true),
            ("main", "mainline", false),
            ("release/*", "release/1.2", true),
            ("release/*", "release/1.2/hotfix", true),
            ("release/*", "releases/1", false),
            ("v?", "v1", true),
            ("v?", "v10", false),
            ("*", "", true),
            ("*a*a*a*b", &"a".repeat(200), false),
            ("*-rc", "1.0-rc", true),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(glob_matches(glob, text), expected, "{glob} ~ {text}");
        }
    }

    #[test]
    fn each_filter_narrows_one_dimension() {
        let r = run("CI", Some("release/2"), "push");
        assert!(matches(&filter(None, None, None), &r));
        assert!(matches(&filter(Some("CI"), Some("release/*"), Some("push")), &r));
        assert!(!matches(&filter(Some("ci"), None, None), &r), "workflow names are exact");
        assert!(!matches(&filter(None, Some("main"), None), &r));
        assert!(!matches(&filter(None, None, Some("pull_request")), &r));
        assert!(!matches(&filter(None, Some("*"), None), &run("CI", None, "push")), "a detached head has no branch");
    }

    #[test]
    fn descriptions_name_every_filter() {
        let mut f = filter(Some("Build `x`"), Some("main"), Some("push"));
        f.failures = true;
        assert_eq!(describe(&f), "`o/r` · workflow `Build 'x'` · branch `main` · event `push` · failures only");
        assert_eq!(repo_key("Octo-Org/Widgets"), "octo-org/widgets");
    }
}
