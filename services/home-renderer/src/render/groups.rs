//! Grouping a feed's events the way praktika does: per repository, by root PR.
//!
//! An event's root is its `parent_pr_number` when set, else its own `pr_number`; a merge result
//! or push with neither is a group of its own (keyed by sha). The group's *head* is the root PR's
//! own event (`pr_number == root`, no parent); nested PRs and merge results of the root are its
//! *children*. When the root's own event is not shown (filtered out, trimmed, or authored by
//! someone else), the newest member heads the group. Groups are ordered by their newest member,
//! newest first; members keep the feed's order (newest first).

use std::collections::HashMap;

use pulse_contracts::praktika::FeedEvent;

/// One root PR (or lone merge result) and what hangs under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group<'a> {
    pub head: &'a FeedEvent,
    /// Whether `head` is the root PR's own event (false when the root is not in the view).
    pub head_is_root: bool,
    /// The root PR number (0 for a lone merge result).
    pub root_pr: u64,
    pub children: Vec<&'a FeedEvent>,
    /// The newest timestamp among head and children.
    pub newest: i64,
}

#[derive(PartialEq, Eq, Hash)]
struct Key<'a> {
    repo: &'a str,
    pr: u64,
    sha: &'a str,
}

fn root_of(e: &FeedEvent) -> u64 {
    if e.ext.parent_pr_number > 0 { e.ext.parent_pr_number } else { e.ext.pr_number }
}

/// Groups `events` (already filtered). See the module docs for the rules.
pub fn group<'a>(events: &[&'a FeedEvent]) -> Vec<Group<'a>> {
    let mut index: HashMap<Key<'a>, usize> = HashMap::with_capacity(events.len());
    let mut members: Vec<(u64, Vec<&'a FeedEvent>)> = Vec::new();
    for &e in events {
        let pr = root_of(e);
        let key = Key { repo: &e.ext.repo_name, pr, sha: if pr == 0 { &e.sha } else { "" } };
        let slot = *index.entry(key).or_insert_with(|| {
            members.push((pr, Vec::new()));
            members.len() - 1
        });
        members[slot].1.push(e);
    }
    let mut groups: Vec<Group<'a>> = members
        .into_iter()
        .map(|(root_pr, mut list)| {
            let newest = list.iter().map(|e| e.timestamp).max().unwrap_or(i64::MIN);
            // Newest first inside the group, stable for equal timestamps (feed order).
            list.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
            let root_at = list
                .iter()
                .position(|e| root_pr > 0 && e.ext.pr_number == root_pr && e.ext.parent_pr_number == 0);
            let (head, head_is_root) = match root_at {
                Some(i) => (list.remove(i), true),
                None => (list.remove(0), false),
            };
            Group { head, head_is_root, root_pr, children: list, newest }
        })
        .collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.newest));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{event, merge_result, nested_pr};
    use pulse_contracts::praktika::PrStatus;

    #[test]
    fn nested_prs_and_merge_results_hang_under_their_root() {
        let events = [
            nested_pr(11, 10, 500),
            merge_result("aaa", 10, 400),
            event(20, 300, Some(PrStatus::Open)),
            event(10, 200, Some(PrStatus::Merged)),
            merge_result("bbb", 0, 100),
        ];
        let refs: Vec<&FeedEvent> = events.iter().collect();
        let groups = group(&refs);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].head.ext.pr_number, 10);
        assert!(groups[0].head_is_root);
        assert_eq!(groups[0].newest, 500);
        assert_eq!(groups[0].children.iter().map(|e| e.ext.pr_number).collect::<Vec<_>>(), vec![11, 0]);
        assert_eq!(groups[1].head.ext.pr_number, 20);
        assert_eq!((groups[2].head.sha.as_str(), groups[2].root_pr), ("bbb", 0));
    }

    #[test]
    fn without_its_root_the_newest_member_heads_the_group() {
        let events = [nested_pr(11, 10, 500), merge_result("aaa", 10, 600)];
        let refs: Vec<&FeedEvent> = events.iter().collect();
        let groups = group(&refs);
        assert_eq!(groups.len(), 1);
        assert!(!groups[0].head_is_root);
        assert_eq!(groups[0].head.sha, "aaa");
        assert_eq!(groups[0].children.len(), 1);
    }

    #[test]
    fn same_pr_number_in_two_repos_is_two_groups() {
        let mut other = event(10, 100, Some(PrStatus::Open));
        other.ext.repo_name = "ClickHouse/other".into();
        let events = [event(10, 200, Some(PrStatus::Open)), other];
        let refs: Vec<&FeedEvent> = events.iter().collect();
        assert_eq!(group(&refs).len(), 2);
    }
}
