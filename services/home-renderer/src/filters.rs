//! The six Home-tab toggles and the four that filter the feed, exactly as praktika's Slack
//! worker of today applies them (`publish_home_view`), before any grouping:
//!
//! | toggle | when on, an event is hidden if |
//! |---|---|
//! | `hide_merged_prs` | it is a PR event (`pr_number > 0`, nested PRs included) whose PR status is `merged` |
//! | `hide_merges` | it is a merge result on a main line: `pr_number == 0` and `branch`, lower-cased, is `master` or `main` or starts with `release` |
//! | `hide_secondary_prs` | it is a nested PR: `parent_pr_number > 0` and `pr_number > 0` |
//! | `show_last_7d` | its `timestamp` is set and older than 7 days (`0 < timestamp < now - 7 d`) |
//! | `notify_on_complete` | never (the notifier's; stored and shown here) |
//! | `notify_on_failure` | never (the notifier's; stored and shown here) |
//!
//! The PR status is the stored `pr_status` when there is one; else it is inferred as praktika
//! infers it for older feed entries ([`PrStatuses`]): a merge result (`pr_number == 0`) is
//! `merged`; a PR named as `parent_pr_number` by a merge result of the same non-empty
//! repository anywhere in the feed is `merged`; any other PR is `open`. A `queued` PR is not
//! merged.
//!
//! So a push to a feature branch (`pr_number == 0`, branch `my-feature`) is not a "merge" and
//! stays when merges are hidden, and a merge result is never hidden by `hide_merged_prs`.
//!
//! All toggles default to off ([`Preferences::default`]). A button's label names what praktika's
//! named, with a state word that cannot be misread ([`Toggle::button_label`]): the three filters
//! say whether those events are `Shown` or `Hidden`, the three opt-ins `On` or `Off`.

use std::collections::HashSet;

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

    /// What the button names: praktika's words (its "Auxilary" spelled right).
    pub fn noun(self) -> &'static str {
        match self {
            Toggle::HideMergedPrs => "Merged PRs",
            Toggle::HideMerges => "Merges",
            Toggle::HideSecondaryPrs => "Auxiliary PRs",
            Toggle::ShowLast7d => "< 7d",
            Toggle::NotifyOnComplete => "Notify complete",
            Toggle::NotifyOnFailure => "Notify failure",
        }
    }

    /// Whether the preference hides events (its noun is what it hides).
    pub fn is_filter(self) -> bool {
        matches!(self, Toggle::HideMergedPrs | Toggle::HideMerges | Toggle::HideSecondaryPrs)
    }

    /// The word after the noun when the preference is `on`: `Hidden`/`Shown` for the three
    /// filters (praktika's `On` meant "shown", the opposite of the preference), `On`/`Off` for
    /// the opt-ins (`< 7d`, the notifications), where praktika's `On` means on.
    pub fn state_word(self, on: bool) -> &'static str {
        match (self.is_filter(), on) {
            (true, true) => "Hidden",
            (true, false) => "Shown",
            (false, true) => "On",
            (false, false) => "Off",
        }
    }

    /// The button's text: `Merged PRs: Shown`, `< 7d: Off`, ...
    pub fn button_label(self, on: bool) -> String {
        format!("{}: {}", self.noun(), self.state_word(on))
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
    Older7d,
    MergedPr,
    Merge,
    SecondaryPr,
}

/// The PR status of every event of one feed: stored, else inferred as praktika infers it.
#[derive(Debug, Clone, Default)]
pub struct PrStatuses<'a> {
    /// (`repo_name`, `parent_pr_number`) of every merge result that names a parent.
    merged_parents: HashSet<(&'a str, u64)>,
}

impl<'a> PrStatuses<'a> {
    /// Collects what the inference needs from the whole feed (before filtering).
    pub fn of_feed(events: &'a [FeedEvent]) -> Self {
        let merged_parents = events
            .iter()
            .filter(|e| e.ext.pr_number == 0 && e.ext.parent_pr_number > 0 && !e.ext.repo_name.is_empty())
            .map(|e| (e.ext.repo_name.as_str(), e.ext.parent_pr_number))
            .collect();
        PrStatuses { merged_parents }
    }

    /// `event`'s PR status: the stored one, else `merged` for a merge result or a PR a merge
    /// result of its repository names as its parent, else `open`.
    pub fn of(&self, event: &FeedEvent) -> PrStatus {
        if let Some(stored) = event.ext.pr_status {
            return stored;
        }
        let ext = &event.ext;
        let merged =
            ext.pr_number == 0 || (!ext.repo_name.is_empty() && self.merged_parents.contains(&(ext.repo_name.as_str(), ext.pr_number)));
        if merged { PrStatus::Merged } else { PrStatus::Open }
    }
}

/// A merge result on a main line, as `hide_merges` means it: `pr_number == 0` and the branch,
/// lower-cased, is `master` or `main` or starts with `release`.
pub fn is_main_line_merge(e: &FeedEvent) -> bool {
    if e.ext.pr_number != 0 {
        return false;
    }
    let branch = e.ext.branch.to_lowercase();
    branch == "master" || branch == "main" || branch.starts_with("release")
}

/// A nested PR: a PR event that names a parent PR.
pub fn is_secondary_pr(e: &FeedEvent) -> bool {
    e.ext.parent_pr_number > 0 && e.ext.pr_number > 0
}

/// Whether `prefs` hide `event` (whose PR status is `status`) at `now` (Unix seconds), and why.
/// The first matching reason is reported, in praktika's order: 7 days, merged PRs, merges,
/// nested PRs.
pub fn hidden_by(prefs: &Preferences, event: &FeedEvent, status: PrStatus, now: i64) -> Option<Hidden> {
    if prefs.show_last_7d && event.timestamp != 0 && event.timestamp < now.saturating_sub(LAST_7D_SECS) {
        return Some(Hidden::Older7d);
    }
    if prefs.hide_merged_prs && event.ext.pr_number > 0 && status == PrStatus::Merged {
        return Some(Hidden::MergedPr);
    }
    if prefs.hide_merges && is_main_line_merge(event) {
        return Some(Hidden::Merge);
    }
    if prefs.hide_secondary_prs && is_secondary_pr(event) {
        return Some(Hidden::SecondaryPr);
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
/// `statuses` must come from the same (unfiltered) feed.
pub fn apply<'a>(prefs: &Preferences, events: &'a [FeedEvent], statuses: &PrStatuses<'_>, now: i64) -> (Vec<&'a FeedEvent>, HiddenCounts) {
    let mut shown = Vec::with_capacity(events.len());
    let mut hidden = HiddenCounts::default();
    for event in events {
        match hidden_by(prefs, event, statuses.of(event), now) {
            Some(reason) => hidden.add(reason),
            None => shown.push(event),
        }
    }
    (shown, hidden)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{REPO, event, merge_result, nested_pr};

    const NOW: i64 = 1_763_640_000;

    fn prefs(toggle: Toggle) -> Preferences {
        let mut p = Preferences::default();
        toggle.set(&mut p, true);
        p
    }

    /// What `toggle` lets through, as `#N` for PRs and the sha for merge results.
    fn shown_with(toggle: Toggle, events: &[FeedEvent]) -> Vec<String> {
        let statuses = PrStatuses::of_feed(events);
        let (shown, _) = apply(&prefs(toggle), events, &statuses, NOW);
        shown.iter().map(|e| if e.ext.pr_number > 0 { format!("#{}", e.ext.pr_number) } else { e.sha.clone() }).collect()
    }

    fn push(sha: &str, branch: &str) -> FeedEvent {
        let mut e = merge_result(sha, 0, NOW);
        e.ext.branch = branch.into();
        e
    }

    fn without_status(mut e: FeedEvent) -> FeedEvent {
        e.ext.pr_status = None;
        e
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
    fn labels_use_praktikas_nouns_with_a_state_that_cannot_be_misread() {
        let labels = |on: bool| Toggle::ALL.map(|t| t.button_label(on));
        assert_eq!(
            labels(false),
            ["Merged PRs: Shown", "Merges: Shown", "Auxiliary PRs: Shown", "< 7d: Off", "Notify complete: Off", "Notify failure: Off"]
        );
        assert_eq!(
            labels(true),
            ["Merged PRs: Hidden", "Merges: Hidden", "Auxiliary PRs: Hidden", "< 7d: On", "Notify complete: On", "Notify failure: On"]
        );
    }

    #[test]
    fn nothing_is_hidden_by_default() {
        let events = vec![
            event(1, NOW - 100, Some(PrStatus::Merged)),
            merge_result("abc", 1, NOW - 90),
            nested_pr(2, 1, NOW - 80),
            event(3, NOW - 30 * 86_400, Some(PrStatus::Open)),
        ];
        let (shown, hidden) = apply(&Preferences::default(), &events, &PrStatuses::of_feed(&events), NOW);
        assert_eq!(shown.len(), 4);
        assert_eq!(hidden.total(), 0);
    }

    #[test]
    fn hide_merges_hides_only_merge_results_on_master_main_and_release_branches_any_case() {
        let events = vec![
            push("on-master", "master"),
            push("on-main-capital", "Main"),
            push("on-release", "release-25.3"),
            push("on-releases", "releases"),
            push("on-release-upper", "RELEASE/25.8"),
            push("on-feature", "my-feature"),
            push("on-prerelease", "prerelease-fix"),
            push("no-branch", ""),
            event(7, NOW, Some(PrStatus::Open)),
        ];
        assert_eq!(shown_with(Toggle::HideMerges, &events), vec!["on-feature", "on-prerelease", "no-branch", "#7"]);
        let mut pr_on_master = event(8, NOW, Some(PrStatus::Open));
        pr_on_master.ext.branch = "master".into();
        assert!(!is_main_line_merge(&pr_on_master), "a PR event is never a merge, whatever its branch");
    }

    #[test]
    fn hide_merged_prs_hides_every_merged_pr_nested_ones_included_but_no_merge_result() {
        let events = vec![
            event(1, NOW - 100, Some(PrStatus::Merged)),
            event(4, NOW - 100, Some(PrStatus::Open)),
            event(5, NOW - 100, Some(PrStatus::Queued)),
            merge_result("abc", 1, NOW - 90),
            {
                let mut n = nested_pr(2, 1, NOW - 80);
                n.ext.pr_status = Some(PrStatus::Merged);
                n
            },
            nested_pr(3, 1, NOW - 70),
        ];
        let statuses = PrStatuses::of_feed(&events);
        let (shown, hidden) = apply(&prefs(Toggle::HideMergedPrs), &events, &statuses, NOW);
        let prs: Vec<u64> = shown.iter().map(|e| e.ext.pr_number).collect();
        assert_eq!(prs, vec![4, 5, 0, 3], "merged #1 and merged nested #2 hidden; queued, open and the merge result stay");
        assert_eq!(hidden.merged_prs, 2);
    }

    #[test]
    fn a_missing_pr_status_is_inferred_as_praktika_infers_it() {
        let mut other_repo_merge = merge_result("other", 30, NOW);
        other_repo_merge.ext.repo_name = "ClickHouse/other".into();
        let mut no_repo_merge = merge_result("norepo", 40, NOW);
        no_repo_merge.ext.repo_name = String::new();
        let mut no_repo_pr = without_status(event(40, NOW, None));
        no_repo_pr.ext.repo_name = String::new();
        let events = vec![
            merge_result("m10", 10, NOW),
            without_status(event(10, NOW, None)),
            without_status(nested_pr(11, 10, NOW)),
            other_repo_merge,
            without_status(event(30, NOW, None)),
            no_repo_merge,
            no_repo_pr,
            without_status(merge_result("lone", 0, NOW)),
        ];
        let statuses = PrStatuses::of_feed(&events);
        let got: Vec<PrStatus> = events.iter().map(|e| statuses.of(e)).collect();
        use PrStatus::{Merged, Open};
        assert_eq!(
            got,
            vec![Merged, Merged, Open, Merged, Open, Merged, Open, Merged],
            "#10 named by a merge result: merged; #11 not named: open; #30 named in another repo: open; no repo: open; pr 0: merged"
        );
        let mut stored = event(10, NOW, Some(PrStatus::Open));
        stored.ext.repo_name = REPO.into();
        assert_eq!(statuses.of(&stored), PrStatus::Open, "a stored status is never overridden");
        assert_eq!(shown_with(Toggle::HideMergedPrs, &events), vec!["m10", "#11", "other", "#30", "norepo", "#40", "lone"]);
    }

    #[test]
    fn hide_secondary_prs_hides_nested_prs_only() {
        let events = vec![event(1, NOW, Some(PrStatus::Open)), nested_pr(2, 1, NOW), merge_result("abc", 1, NOW)];
        let (shown, hidden) = apply(&prefs(Toggle::HideSecondaryPrs), &events, &PrStatuses::of_feed(&events), NOW);
        assert_eq!(
            shown.iter().map(|e| e.ext.pr_number).collect::<Vec<_>>(),
            vec![1, 0],
            "a merge result with a parent is not a nested PR"
        );
        assert_eq!(hidden.secondary_prs, 1);
    }

    #[test]
    fn show_last_7d_keeps_the_last_seven_days_inclusive_and_undated_events() {
        let events = vec![
            event(1, NOW - LAST_7D_SECS, Some(PrStatus::Open)),
            event(2, NOW - LAST_7D_SECS - 1, Some(PrStatus::Open)),
            merge_result("abc", 0, NOW - 8 * 86_400),
            event(3, 0, Some(PrStatus::Open)),
        ];
        let (shown, hidden) = apply(&prefs(Toggle::ShowLast7d), &events, &PrStatuses::of_feed(&events), NOW);
        assert_eq!(shown.iter().map(|e| e.ext.pr_number).collect::<Vec<_>>(), vec![1, 3], "praktika keeps timestamp 0");
        assert_eq!(hidden.older_7d, 2);
    }

    #[test]
    fn notification_toggles_filter_nothing() {
        let events = vec![event(1, NOW - 30 * 86_400, Some(PrStatus::Merged)), merge_result("abc", 1, NOW), nested_pr(2, 1, NOW)];
        for t in [Toggle::NotifyOnComplete, Toggle::NotifyOnFailure] {
            assert_eq!(shown_with(t, &events).len(), 3, "{t:?}");
        }
    }
}
