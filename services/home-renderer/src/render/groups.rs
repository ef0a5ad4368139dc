//! Grouping the shown events under their root PR, the way praktika's Slack worker does today
//! (`publish_home_view`), with one deliberate difference: PR numbers are per repository.
//!
//! Rules, applied to the events left after filtering, in feed order (newest first):
//!
//! 1. **Lookup.** A PR event (`pr_number > 0`) is found by (`repo_name`, `pr_number`).
//! 2. **Root.** An event's root is found by following `parent_pr_number` to the parent's event
//!    in the same repository, then that event's parent, and so on, until an event has no parent
//!    (`parent_pr_number == 0`) or its parent is not among the shown events (absent from the
//!    feed, or filtered out): that event is the root. An event whose parent is absent is
//!    therefore its own root. A cycle of parents stops at the first PR visited twice, which is
//!    the root (so in a pure cycle every member is its own root); the walk always ends.
//! 3. **Groups.** An event that is its own root heads a group: every merge result or push
//!    (`pr_number == 0`) that is a root heads its own group; of several root events of one PR
//!    only the first (newest) heads a group and the older ones are not shown (the
//!    feed-projector keeps one event per PR and repository, so this only happens in feeds
//!    written elsewhere). Every other event is a child of its root's group.
//! 4. **Order.** Groups in the order of their head event in the feed (newest first); children
//!    by timestamp, newest first (feed order among equal timestamps).
//! 5. **Merged.** A group shows its PR as merged when one of its children is a merge result
//!    (`pr_number == 0`); otherwise the head's PR status (stored or inferred, see
//!    [`crate::filters::PrStatuses`]).
//!
//! **Difference from praktika:** praktika looks parents up by PR number alone, so PR #10 of
//! one repository and PR #10 of another collide (one's backports and merge results land under
//! the other, and only one of the two heads a group). Pulse keys every lookup by repository
//! and PR number, so they are two groups. Feeds with a single repository group identically.

use std::collections::{HashMap, HashSet};

use pulse_contracts::praktika::{FeedEvent, PrStatus};

use crate::filters::PrStatuses;

/// One root and what hangs under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group<'a> {
    /// The root event.
    pub head: &'a FeedEvent,
    /// Nested PRs and merge results whose root is `head`, newest first.
    pub children: Vec<&'a FeedEvent>,
    /// The PR state the group shows: `Merged` when a child is a merge result, else the head's.
    pub pr_status: PrStatus,
}

/// A PR within its repository.
type PrKey<'a> = (&'a str, u64);

fn key(e: &FeedEvent) -> PrKey<'_> {
    (e.ext.repo_name.as_str(), e.ext.pr_number)
}

/// Follows `start`'s parents to its root (rule 2). Returns the root's index in `events`.
fn root_of(events: &[&FeedEvent], lookup: &HashMap<PrKey<'_>, usize>, start: usize) -> usize {
    let mut visited: HashSet<PrKey<'_>> = HashSet::new();
    let mut current = start;
    loop {
        let e = events[current];
        if !visited.insert(key(e)) {
            return current;
        }
        let parent = (e.ext.repo_name.as_str(), e.ext.parent_pr_number);
        match lookup.get(&parent) {
            Some(&next) if parent.1 > 0 => current = next,
            _ => return current,
        }
    }
}

/// Groups `events` (filtered, feed order). See the module docs for the rules.
pub fn group<'a>(events: &[&'a FeedEvent], statuses: &PrStatuses<'_>) -> Vec<Group<'a>> {
    // The first (newest) event of each PR; praktika's lookup only needs the PR's existence.
    let mut lookup: HashMap<PrKey<'a>, usize> = HashMap::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        if e.ext.pr_number > 0 {
            lookup.entry(key(e)).or_insert(i);
        }
    }

    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut group_of_pr: HashMap<PrKey<'a>, usize> = HashMap::new();
    let mut orphans: Vec<(PrKey<'a>, &'a FeedEvent)> = Vec::new();
    for (i, &e) in events.iter().enumerate() {
        let root = events[root_of(events, &lookup, i)];
        let is_own_root = std::ptr::eq(root, e) || (e.ext.pr_number > 0 && key(root) == key(e));
        if !is_own_root {
            orphans.push((key(root), e));
        } else if e.ext.pr_number == 0 {
            groups.push(Group { head: e, children: Vec::new(), pr_status: statuses.of(e) });
        } else if let std::collections::hash_map::Entry::Vacant(slot) = group_of_pr.entry(key(e)) {
            slot.insert(groups.len());
            groups.push(Group { head: e, children: Vec::new(), pr_status: statuses.of(e) });
        }
    }
    // Children are attached once every head is known: a child may come before its root.
    for (root, child) in orphans {
        if let Some(&g) = group_of_pr.get(&root) {
            groups[g].children.push(child);
        }
    }
    for g in &mut groups {
        // Stable: equal timestamps keep feed order.
        g.children.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
        if g.children.iter().any(|c| c.ext.pr_number == 0) {
            g.pr_status = PrStatus::Merged;
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{event, merge_result, nested_pr};

    fn grouped(events: &[FeedEvent]) -> Vec<Group<'_>> {
        let refs: Vec<&FeedEvent> = events.iter().collect();
        group(&refs, &PrStatuses::of_feed(events))
    }

    /// (head PR or sha, [child PR or sha]) per group.
    fn shape(groups: &[Group<'_>]) -> Vec<(String, Vec<String>)> {
        let name = |e: &FeedEvent| if e.ext.pr_number > 0 { format!("#{}", e.ext.pr_number) } else { e.sha.clone() };
        groups.iter().map(|g| (name(g.head), g.children.iter().map(|c| name(c)).collect())).collect()
    }

    fn s(head: &str, children: &[&str]) -> (String, Vec<String>) {
        (head.to_owned(), children.iter().map(|c| (*c).to_owned()).collect())
    }

    #[test]
    fn nested_prs_and_merge_results_hang_under_their_root_newest_first() {
        let events = [
            nested_pr(11, 10, 500),
            merge_result("aaa", 10, 400),
            event(20, 300, Some(PrStatus::Open)),
            event(10, 200, Some(PrStatus::Open)),
            merge_result("bbb", 0, 100),
        ];
        let groups = grouped(&events);
        assert_eq!(shape(&groups), vec![s("#20", &[]), s("#10", &["#11", "aaa"]), s("bbb", &[])], "roots in feed order");
        assert_eq!(groups[1].pr_status, PrStatus::Merged, "a merge-result child makes the root merged");
        assert_eq!(groups[0].pr_status, PrStatus::Open);
    }

    #[test]
    fn a_chain_three_deep_resolves_to_the_ultimate_root() {
        // #13 → #12 → #11 → #10, and a merge result of #12.
        let events = [
            nested_pr(13, 12, 600),
            merge_result("mmm", 12, 550),
            nested_pr(12, 11, 500),
            nested_pr(11, 10, 400),
            event(10, 100, Some(PrStatus::Open)),
        ];
        let groups = grouped(&events);
        assert_eq!(shape(&groups), vec![s("#10", &["#13", "mmm", "#12", "#11"])]);
        assert_eq!(groups[0].pr_status, PrStatus::Merged, "any merge result in the group counts");
    }

    #[test]
    fn an_event_whose_parent_is_absent_is_its_own_root() {
        let events = [merge_result("aaa", 10, 600), nested_pr(11, 10, 500)];
        assert_eq!(shape(&grouped(&events)), vec![s("aaa", &[]), s("#11", &[])]);
    }

    #[test]
    fn a_parent_cycle_ends_and_every_member_of_a_pure_cycle_is_its_own_root() {
        let events = [nested_pr(1, 2, 300), nested_pr(2, 3, 200), nested_pr(3, 1, 100)];
        assert_eq!(shape(&grouped(&events)), vec![s("#1", &[]), s("#2", &[]), s("#3", &[])]);
        // A chain into a cycle hangs under the first PR of the cycle it reaches.
        let events = [nested_pr(4, 1, 400), nested_pr(1, 2, 300), nested_pr(2, 1, 200)];
        assert_eq!(shape(&grouped(&events)), vec![s("#1", &["#4"]), s("#2", &[])]);
        // A PR that is its own parent.
        assert_eq!(shape(&grouped(&[nested_pr(5, 5, 1)])), vec![s("#5", &[])]);
    }

    #[test]
    fn the_same_pr_number_in_two_repositories_is_two_groups() {
        let mut other = event(10, 100, Some(PrStatus::Open));
        other.ext.repo_name = "ClickHouse/other".into();
        let mut other_merge = merge_result("ooo", 10, 150);
        other_merge.ext.repo_name = "ClickHouse/other".into();
        let events = [nested_pr(11, 10, 300), other_merge, event(10, 200, Some(PrStatus::Open)), other];
        let groups = grouped(&events);
        assert_eq!(shape(&groups), vec![s("#10", &["#11"]), s("#10", &["ooo"])]);
        assert_eq!(groups[0].head.ext.repo_name, crate::testing::REPO);
        assert_eq!(groups[0].pr_status, PrStatus::Open, "the other repository's merge does not merge this #10");
        assert_eq!(groups[1].pr_status, PrStatus::Merged);
    }

    #[test]
    fn an_older_root_event_of_the_same_pr_is_not_shown_twice() {
        let events = [event(10, 300, Some(PrStatus::Open)), event(10, 100, Some(PrStatus::Open))];
        let groups = grouped(&events);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].head.timestamp, 300);
    }

    #[test]
    fn a_root_without_children_keeps_its_inferred_status() {
        let mut pr = event(10, 100, None);
        pr.ext.pr_status = None;
        let mut merge = merge_result("aaa", 10, 200);
        merge.ext.branch = "master".into();
        let events = [merge, pr];
        // Filtered as by hide_merges: the merge result is gone, but the inference saw it.
        let statuses = PrStatuses::of_feed(&events);
        let groups = group(&[&events[1]], &statuses);
        assert_eq!(groups[0].pr_status, PrStatus::Merged);
    }
}
