//! The six Home-tab toggles (seed 000, "Home Tab Controls" and "DM Notifications") and the four
//! that filter the feed, with exactly the seed's semantics:
//!
//! | toggle | when on |
//! |---|---|
//! | `hide_merged_prs` | merged PR *root* entries (`pr_number > 0`, `parent_pr_number == 0`, `pr_status == merged`) are hidden; merge results stay unless `hide_merges` |
//! | `hide_merges` | merge results (`pr_number == 0`) are hidden |
//! | `hide_secondary_prs` | nested PR entries (`parent_pr_number > 0` and `pr_number > 0`) are hidden |
//! | `show_last_7d` | only events of the last 7 days (`timestamp >= now - 7 d`) are shown |
//! | `notify_on_complete` | the notifier DMs when the newest event is `completed` (stored and shown here) |
//! | `notify_on_failure` | the notifier DMs when the newest event has a failing job (stored and shown here) |
//!
//! All default to off ([`Preferences::default`]).

use pulse_contracts::Preferences;
use pulse_contracts::praktika::{FeedEvent, PrStatus};

/// Seven days, in seconds.
pub const LAST_7D_SECS: i64 = 7 * 24 * 60 * 60;

/// One of the six preferences shown as buttons on the Home tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Toggle {
    HideMergedPrs,
    HideMerges,
    HideSecondaryPrs,
    ShowLast7d,
    NotifyOnComplete,
    NotifyOnFailure,
}

impl Toggle {
    /// In the order the buttons appear.
    pub const ALL: [Toggle; 6] = [
        Toggle::HideMergedPrs,
        Toggle::HideMerges,
        Toggle::HideSecondaryPrs,
        Toggle::ShowLast7d,
        Toggle::NotifyOnComplete,
        Toggle::NotifyOnFailure,
    ];

    /// The preference's name (praktika's `user_prefs` key, the contract's field name).
    pub fn name(self) -> &'static str {
        match self {
            Toggle::HideMergedPrs => "hide_merged_prs",
            Toggle::HideMerges => "hide_merges",
            Toggle::HideSecondaryPrs => "hide_secondary_prs",
            Toggle::ShowLast7d => "show_last_7d",
            Toggle::NotifyOnComplete => "notify_on_complete",
            Toggle::NotifyOnFailure => "notify_on_failure",
        }
    }

    /// The Block Kit `action_id` of its button: `toggle_<name>`.
    pub fn action_id(self) -> &'static str {
        match self {
            Toggle::HideMergedPrs => "toggle_hide_merged_prs",
            Toggle::HideMerges => "toggle_hide_merges",
            Toggle::HideSecondaryPrs => "toggle_hide_secondary_prs",
            Toggle::ShowLast7d => "toggle_show_last_7d",
            Toggle::NotifyOnComplete => "toggle_notify_on_complete",
            Toggle::NotifyOnFailure => "toggle_notify_on_failure",
        }
    }

    /// The toggle a button's `action_id` names.
    pub fn from_action_id(action_id: &str) -> Option<Toggle> {
        Toggle::ALL.into_iter().find(|t| t.action_id() == action_id)
    }

    /// What the button says (followed by `: On` / `: Off`).
    pub fn label(self) -> &'static str {
        match self {
            Toggle::HideMergedPrs => "Hide merged PRs",
            Toggle::HideMerges => "Hide merges",
            Toggle::HideSecondaryPrs => "Hide auxiliary PRs",
            Toggle::ShowLast7d => "Last 7 days only",
            Toggle::NotifyOnComplete => "DM when complete",
            Toggle::NotifyOnFailure => "DM on failure",
        }
    }

    pub fn get(self, prefs: &Preferences) -> bool {
        match self {
            Toggle::HideMergedPrs => prefs.hide_merged_prs,
            Toggle::HideMerges => prefs.hide_merges,
            Toggle::HideSecondaryPrs => prefs.hide_secondary_prs,
            Toggle::ShowLast7d => prefs.show_last_7d,
            Toggle::NotifyOnComplete => prefs.notify_on_complete,
            Toggle::NotifyOnFailure => prefs.notify_on_failure,
        }
    }

    pub fn set(self, prefs: &mut Preferences, on: bool) {
        let field = match self {
            Toggle::HideMergedPrs => &mut prefs.hide_merged_prs,
            Toggle::HideMerges => &mut prefs.hide_merges,
            Toggle::HideSecondaryPrs => &mut prefs.hide_secondary_prs,
            Toggle::ShowLast7d => &mut prefs.show_last_7d,
            Toggle::NotifyOnComplete => &mut prefs.notify_on_complete,
            Toggle::NotifyOnFailure => &mut prefs.notify_on_failure,
        };
        *field = on;
    }
}

/// Why an event is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hidden {
    MergedPr,
    Merge,
    SecondaryPr,
    Older7d,
}

/// A merge result (or push): praktika marks these with `pr_number == 0`.
pub fn is_merge_result(e: &FeedEvent) -> bool {
    e.ext.pr_number == 0
}

/// A nested PR: a PR event that names a parent PR.
pub fn is_secondary_pr(e: &FeedEvent) -> bool {
    e.ext.parent_pr_number > 0 && e.ext.pr_number > 0
}

/// A root PR entry: a PR event without a parent.
pub fn is_root_pr(e: &FeedEvent) -> bool {
    e.ext.pr_number > 0 && e.ext.parent_pr_number == 0
}

/// Whether `prefs` hide `event` at `now` (Unix seconds), and why. The first matching reason is
/// reported: 7 days, merges, nested PRs, merged PRs.
pub fn hidden_by(prefs: &Preferences, event: &FeedEvent, now: i64) -> Option<Hidden> {
    if prefs.show_last_7d && event.timestamp < now.saturating_sub(LAST_7D_SECS) {
        return Some(Hidden::Older7d);
    }
    if prefs.hide_merges && is_merge_result(event) {
        return Some(Hidden::Merge);
    }
    if prefs.hide_secondary_prs && is_secondary_pr(event) {
        return Some(Hidden::SecondaryPr);
    }
    if prefs.hide_merged_prs && is_root_pr(event) && event.ext.pr_status == Some(PrStatus::Merged) {
        return Some(Hidden::MergedPr);
    }
    None
}

/// How many events each reason hid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HiddenCounts {
    pub merged_prs: usize,
    pub merges: usize,
    pub secondary_prs: usize,
    pub older_7d: usize,
}

impl HiddenCounts {
    pub fn total(&self) -> usize {
        self.merged_prs + self.merges + self.secondary_prs + self.older_7d
    }

    fn add(&mut self, reason: Hidden) {
        match reason {
            Hidden::MergedPr => self.merged_prs += 1,
            Hidden::Merge => self.merges += 1,
            Hidden::SecondaryPr => self.secondary_prs += 1,
            Hidden::Older7d => self.older_7d += 1,
        }
    }
}

/// The events `prefs` let through, in feed order, and how many were hidden for each reason.
pub fn apply<'a>(prefs: &Preferences, events: &'a [FeedEvent], now: i64) -> (Vec<&'a FeedEvent>, HiddenCounts) {
    let mut shown = Vec::with_capacity(events.len());
    let mut hidden = HiddenCounts::default();
    for event in events {
        match hidden_by(prefs, event, now) {
            Some(reason) => hidden.add(reason),
            None => shown.push(event),
        }
    }
    (shown, hidden)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{event, merge_result, nested_pr};

    const NOW: i64 = 1_763_640_000;

    fn prefs(toggle: Toggle) -> Preferences {
        let mut p = Preferences::default();
        toggle.set(&mut p, true);
        p
    }

    #[test]
    fn action_ids_round_trip_and_names_match_the_contract() {
        let defaults = serde_json::to_value(Preferences::default()).unwrap();
        for t in Toggle::ALL {
            assert_eq!(Toggle::from_action_id(t.action_id()), Some(t));
            assert_eq!(t.action_id(), format!("toggle_{}", t.name()));
            assert_eq!(defaults[t.name()], false, "{} defaults to off", t.name());
            let mut p = Preferences::default();
            t.set(&mut p, true);
            assert!(t.get(&p));
            assert_eq!(serde_json::to_value(p).unwrap()[t.name()], true);
        }
        assert_eq!(Toggle::from_action_id("approve"), None);
    }

    #[test]
    fn nothing_is_hidden_by_default() {
        let events = vec![
            event(1, NOW - 100, Some(PrStatus::Merged)),
            merge_result("abc", 1, NOW - 90),
            nested_pr(2, 1, NOW - 80),
            event(3, NOW - 30 * 86_400, Some(PrStatus::Open)),
        ];
        let (shown, hidden) = apply(&Preferences::default(), &events, NOW);
        assert_eq!(shown.len(), 4);
        assert_eq!(hidden.total(), 0);
    }

    #[test]
    fn hide_merged_prs_hides_merged_roots_but_keeps_merge_results_and_open_prs() {
        let events = vec![
            event(1, NOW - 100, Some(PrStatus::Merged)),
            event(4, NOW - 100, Some(PrStatus::Open)),
            merge_result("abc", 1, NOW - 90),
            {
                let mut n = nested_pr(2, 1, NOW - 80);
                n.ext.pr_status = Some(PrStatus::Merged);
                n
            },
        ];
        let (shown, hidden) = apply(&prefs(Toggle::HideMergedPrs), &events, NOW);
        let prs: Vec<u64> = shown.iter().map(|e| e.ext.pr_number).collect();
        assert_eq!(prs, vec![4, 0, 2], "merged root #1 hidden; merge result and nested PR stay");
        assert_eq!(hidden.merged_prs, 1);
    }

    #[test]
    fn hide_merges_hides_only_pr_less_events() {
        let events = vec![event(1, NOW, Some(PrStatus::Merged)), merge_result("abc", 1, NOW), merge_result("def", 0, NOW)];
        let (shown, hidden) = apply(&prefs(Toggle::HideMerges), &events, NOW);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].ext.pr_number, 1);
        assert_eq!(hidden.merges, 2);
    }

    #[test]
    fn both_merge_toggles_hide_merged_roots_and_merge_results() {
        let mut p = prefs(Toggle::HideMerges);
        p.hide_merged_prs = true;
        let events = vec![event(1, NOW, Some(PrStatus::Merged)), merge_result("abc", 1, NOW), event(2, NOW, Some(PrStatus::Open))];
        let (shown, _) = apply(&p, &events, NOW);
        assert_eq!(shown.iter().map(|e| e.ext.pr_number).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn hide_secondary_prs_hides_nested_prs_only() {
        let events = vec![event(1, NOW, Some(PrStatus::Open)), nested_pr(2, 1, NOW), merge_result("abc", 1, NOW)];
        let (shown, hidden) = apply(&prefs(Toggle::HideSecondaryPrs), &events, NOW);
        assert_eq!(shown.iter().map(|e| e.ext.pr_number).collect::<Vec<_>>(), vec![1, 0], "a merge result with a parent is not a nested PR");
        assert_eq!(hidden.secondary_prs, 1);
    }

    #[test]
    fn show_last_7d_keeps_the_last_seven_days_inclusive() {
        let events = vec![
            event(1, NOW - LAST_7D_SECS, Some(PrStatus::Open)),
            event(2, NOW - LAST_7D_SECS - 1, Some(PrStatus::Open)),
            merge_result("abc", 0, NOW - 8 * 86_400),
        ];
        let (shown, hidden) = apply(&prefs(Toggle::ShowLast7d), &events, NOW);
        assert_eq!(shown.iter().map(|e| e.ext.pr_number).collect::<Vec<_>>(), vec![1]);
        assert_eq!(hidden.older_7d, 2);
    }

    #[test]
    fn notification_toggles_filter_nothing() {
        let events = vec![event(1, NOW - 30 * 86_400, Some(PrStatus::Merged)), merge_result("abc", 1, NOW), nested_pr(2, 1, NOW)];
        for t in [Toggle::NotifyOnComplete, Toggle::NotifyOnFailure] {
            assert_eq!(apply(&prefs(t), &events, NOW).0.len(), 3, "{t:?}");
        }
    }
}
