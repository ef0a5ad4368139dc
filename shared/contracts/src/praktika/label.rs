//! How a reader names the PR of a feed event, so that every surface (the Home tab, DMs,
//! digests) says the same thing.
//!
//! A fork's PR run reaches Pulse without its PR number (GitHub leaves `pull_requests` empty for
//! them), so the feed-projector files it under a stand-in `pr_number` (10¹² + a CRC-32 of the
//! branch) flagged `ext.pr_number_unknown: true` (contracts/README.md, "GitHub runs in
//! praktika's feeds"). That number means nothing to a person: such an event is named "PR from
//! a fork (`branch`)" and linked to its run, never `#1000012345`.

use std::fmt;

use serde_json::Value;

use super::{EventExt, FeedEvent};

/// Most characters of a fork's branch name shown in a label.
const MAX_BRANCH_CHARS: usize = 60;

/// The PR an event is about, as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrLabel<'a> {
    /// A PR by its number.
    Number(u64),
    /// A fork's PR: its number is unknown; `branch` is the fork's branch (may be empty).
    Fork { branch: &'a str },
}

impl<'a> PrLabel<'a> {
    /// The event's PR; `None` for a merge result or a push (`pr_number` 0).
    pub fn of(event: &'a FeedEvent) -> Option<PrLabel<'a>> {
        let ext = &event.ext;
        match ext.pr_number {
            0 => None,
            _ if ext.pr_number_unknown() => Some(PrLabel::Fork { branch: &ext.branch }),
            n => Some(PrLabel::Number(n)),
        }
    }

    /// `#7`, or `PR from a fork (`branch`)`: where a PR is named inline (Home tab, digests).
    pub fn short(&self) -> String {
        match self {
            PrLabel::Number(n) => format!("#{n}"),
            PrLabel::Fork { .. } => self.to_string(),
        }
    }

    /// Where the label should link: the run for a fork's PR (the event's `change_url` is only
    /// its commit), else the change (the PR).
    pub fn url(&self, event: &'a FeedEvent) -> &'a str {
        let ext = &event.ext;
        match self {
            PrLabel::Fork { .. } if !ext.run_url.is_empty() => &ext.run_url,
            _ => &ext.change_url,
        }
    }
}

/// `PR #7`, or `PR from a fork (`branch`)` (backticks in the branch become `'`, long names are
/// cut with `…`). Plain text: a caller escapes it for its markup.
impl fmt::Display for PrLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrLabel::Number(n) => write!(f, "PR #{n}"),
            PrLabel::Fork { branch } if branch.trim().is_empty() => f.write_str("PR from a fork"),
            PrLabel::Fork { branch } => {
                let mut shown: String = branch.chars().take(MAX_BRANCH_CHARS).map(|c| if c == '`' { '\'' } else { c }).collect();
                if branch.chars().nth(MAX_BRANCH_CHARS).is_some() {
                    shown.push('…');
                }
                write!(f, "PR from a fork (`{shown}`)")
            }
        }
    }
}

impl EventExt {
    /// Whether `pr_number` is the feed-projector's stand-in for a fork PR's unknown number
    /// (`ext.pr_number_unknown: true`).
    pub fn pr_number_unknown(&self) -> bool {
        self.extra.get("pr_number_unknown") == Some(&Value::Bool(true))
    }
}

impl FeedEvent {
    /// The event's PR as shown ([`PrLabel::of`]).
    pub fn pr_label(&self) -> Option<PrLabel<'_>> {
        PrLabel::of(self)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(ext: Value) -> FeedEvent {
        let mut e: FeedEvent = serde_json::from_value(json!({
            "type": "completed", "timestamp": 1_780_000_000, "sha": "abc", "ci_status": "success",
            "result": {"name": "CI", "status": "success", "results": [], "ext": {}}, "ext": ext, "linked_events": [],
        }))
        .expect("an event");
        e.ext.run_url = "https://github.com/o/r/actions/runs/9".into();
        e.ext.change_url = "https://github.com/o/r/commit/abc".into();
        e
    }

    #[test]
    fn a_fork_pr_is_named_by_its_branch_and_links_its_run() {
        let e = event(json!({"pr_number": 1_000_003_735_928_559_u64, "branch": "fix-`typo`", "pr_number_unknown": true}));
        let label = e.pr_label().expect("a PR");
        assert_eq!(label, PrLabel::Fork { branch: "fix-`typo`" });
        assert_eq!(label.to_string(), "PR from a fork (`fix-'typo'`)");
        assert_eq!(label.short(), "PR from a fork (`fix-'typo'`)");
        assert_eq!(label.url(&e), "https://github.com/o/r/actions/runs/9");
        assert!(!label.to_string().contains("1000003735928559"));
    }

    #[test]
    fn a_numbered_pr_keeps_its_number_and_a_merge_result_has_no_label() {
        let e = event(json!({"pr_number": 7, "branch": "feature"}));
        let label = e.pr_label().expect("a PR");
        assert_eq!((label.to_string(), label.short()), ("PR #7".to_owned(), "#7".to_owned()));
        assert_eq!(label.url(&e), "https://github.com/o/r/commit/abc");
        assert_eq!(event(json!({"pr_number": 0})).pr_label(), None);
        // The flag only counts when it is `true`.
        assert_eq!(event(json!({"pr_number": 7, "pr_number_unknown": "yes"})).pr_label(), Some(PrLabel::Number(7)));
    }

    #[test]
    fn a_fork_without_a_branch_or_with_a_long_one_still_reads_well() {
        assert_eq!(PrLabel::Fork { branch: "" }.to_string(), "PR from a fork");
        let long = "b".repeat(100);
        assert_eq!(PrLabel::Fork { branch: &long }.to_string(), format!("PR from a fork (`{}…`)", "b".repeat(60)));
    }
}
