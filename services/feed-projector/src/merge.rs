//! Merging one `ci.workflow` event into a commit author's feed: praktika's `EventFeed.add`
//! (ClickHouse/praktika `praktika/event.py`, as CI runs it today), made deterministic and safe
//! against redelivery and out-of-order delivery.
//!
//! [`merge`] is pure: it takes the feed as read from S3, the incoming event, the current time
//! (Unix seconds) and the [`Rules`] (retention) and edits the feed in place. One call does, in
//! this order:
//!
//! 1. **Stale runs and compaction.** Every stored event whose status is still `RUNNING` or
//!    `PENDING` (any case) and whose timestamp is more than 12 h before `now` (strictly:
//!    `timestamp < now - 12 h`) gets praktika's `FAIL` with `ext.is_cancelled = true`. Every
//!    stored event's `result` is compacted as praktika compacts it (jobs keep `name` and
//!    `status`, `result.ext` keeps `report_url`; see [`RunResult::compact`]). The feed is brought
//!    up to `now` before the incoming event is compared with it, so [`Change::Replaced`] reports
//!    the status the old event has at `now`.
//! 2. **Slot.** The incoming event's slot is (`pr_number`, `repo_name`) for a PR event and
//!    (`sha`, `repo_name`) among merge results (`pr_number == 0`) for a merge result. A stored
//!    event in the slot with a newer timestamp wins (the incoming one is dropped); on equal
//!    timestamps a `completed` event is not replaced by a `running` one.
//! 3. **Normalise the incoming event.** `pr_status` is `merged` for a merge result; for a PR
//!    event an explicit `queued` or `merged` is kept, anything else becomes `open`, and a PR
//!    event that is not newer than a merge result in the feed that names it (as
//!    `parent_pr_number` or `linked_pr_number`, same non-empty repo) is `merged` — the state it
//!    would have had had the two arrived in order. An empty `pr_title` takes the title of the
//!    event it replaces. The incoming event is compacted, and cancelled if stale, as in step 1.
//!    Its status strings are kept exactly as received.
//! 4. **Store.** If the normalised event equals the stored one this is a redelivery and nothing
//!    changes; otherwise it replaces the stored one (or is added).
//! 5. **Mark merged.** A stored merge result marks the PR events named by its
//!    `parent_pr_number` and `linked_pr_number` (non-zero, same non-empty `repo_name`, as
//!    praktika requires) `merged`, unless that PR event is newer than the merge result.
//! 6. **Order.** Newest first; ties are broken by `repo_name`, then `pr_number` (descending),
//!    then `sha`, so the order is a function of the feed's contents alone.
//! 7. **Trim.** Retention is [`Rules::retention_days`] (praktika's `MAX_TIMELINE_DAYS`, 30 by
//!    default). Events are grouped exactly as praktika groups them: by `parent_pr_number`, or
//!    their own `pr_number` when that is 0, across repositories (so every merge result without
//!    a parent is in group 0). A group is dropped only when every member is older than the
//!    cutoff (`timestamp < now - retention`). Pulse therefore keeps exactly the set praktika
//!    keeps (a property test checks it against a transliteration of praktika's loop); its
//!    per-repository view of PR numbers is the Home tab's, not retention's.
//!
//! [`MergeOutcome::changed`] is true exactly when [`MergeOutcome::changes`] is non-empty, i.e.
//! when the feed must be written back. Reordering an unsorted feed is not a change on its own.

use std::cmp::Ordering;
use std::collections::HashSet;

use pulse_contracts::praktika::{EventFeed, EventKind, FeedEvent, PrStatus, Status};

#[cfg(test)]
mod tests;

/// praktika's `MAX_TIMELINE_DAYS`: the default retention.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// The settings a merge follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Events older than this many days (relative to `now`) are dropped, a whole group at a time.
    pub retention_days: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { retention_days: DEFAULT_RETENTION_DAYS }
    }
}

impl Rules {
    pub fn retention_secs(&self) -> i64 {
        i64::from(self.retention_days) * 24 * 60 * 60
    }
}

/// Events still running or pending this long after their timestamp are cancelled.
pub const STALE_AFTER_SECS: i64 = 12 * 60 * 60;

/// One thing a merge changed. [`Change::as_str`] gives the names the `feed.updated` contract
/// uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The incoming event took a slot that was empty.
    NewEvent,
    /// The incoming event replaced an older one in its slot.
    Replaced { previous_ci_status: Status },
    /// The replaced event's `ci_status` differs from the incoming one's.
    StatusChanged { from: Status, to: Status },
    /// The incoming event is failing (`ci_status` failure/error or a failing job, and not
    /// cancelled) and the event it replaced, if any, was not.
    NewFailure,
    /// The incoming event is `completed` and the one it replaced was `running` or absent.
    Completed,
    /// These PRs (of the incoming merge result's repo) were marked `merged`.
    MarkedMerged { pr_numbers: Vec<u64> },
    /// This many events were still running/pending after 12 h and were cancelled.
    CancelledStale { count: usize },
    /// This many events were dropped by the retention.
    Trimmed { count: usize },
    /// This many stored events had results praktika's compaction shrinks, and were compacted.
    Compacted { count: usize },
}

impl Change {
    /// The change's name in the `feed.updated` event.
    pub fn as_str(&self) -> &'static str {
        match self {
            Change::NewEvent => "new_event",
            Change::Replaced { .. } => "replaced",
            Change::StatusChanged { .. } => "status_changed",
            Change::NewFailure => "new_failure",
            Change::Completed => "completed",
            Change::MarkedMerged { .. } => "marked_merged",
            Change::CancelledStale { .. } => "cancelled_stale",
            Change::Trimmed { .. } => "trimmed",
            Change::Compacted { .. } => "compacted",
        }
    }
}

/// What [`merge`] did to the feed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergeOutcome {
    /// The feed differs from what it was and must be written back (`!changes.is_empty()`).
    pub changed: bool,
    /// What changed, in this order: new_event or replaced, status_changed, new_failure,
    /// completed, marked_merged, cancelled_stale, trimmed, compacted.
    pub changes: Vec<Change>,
}

impl MergeOutcome {
    /// The names of the changes, in order (see [`Change::as_str`]).
    pub fn change_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.changes.iter().map(Change::as_str)
    }

    /// Whether a change with this name (see [`Change::as_str`]) happened.
    pub fn has(&self, name: &str) -> bool {
        self.change_names().any(|n| n == name)
    }
}

/// Merges `incoming` into `feed` as of `now` (Unix seconds) with the default [`Rules`].
pub fn merge(feed: &mut EventFeed, incoming: FeedEvent, now: i64) -> MergeOutcome {
    merge_with(feed, incoming, now, Rules::default())
}

/// Merges `incoming` into `feed` as of `now` (Unix seconds). See the module docs for the rules.
pub fn merge_with(feed: &mut EventFeed, mut incoming: FeedEvent, now: i64, rules: Rules) -> MergeOutcome {
    let mut changes = Vec::new();
    let events = &mut feed.events;

    // 1. Bring the stored feed up to `now`, compacted.
    let mut cancelled = events.iter_mut().map(|e| cancel_if_stale(e, now)).filter(|&c| c).count();
    let compacted = events.iter_mut().map(|e| e.result.compact()).filter(|&c| c).count();

    // 2. Find the incoming event's slot; a newer stored event wins.
    let slot = events.iter().position(|e| FeedEvent::same_slot(e, &incoming));
    let accepted = slot.is_none_or(|i| !supersedes(&events[i], &incoming));

    if accepted {
        // 3. Normalise.
        incoming.ext.pr_status = Some(incoming_pr_status(events, &incoming));
        if let Some(i) = slot.filter(|_| incoming.ext.pr_title.is_empty()) {
            incoming.ext.pr_title.clone_from(&events[i].ext.pr_title);
        }
        incoming.result.compact();
        let incoming_cancelled = cancel_if_stale(&mut incoming, now);

        // 4. Store, unless it is a redelivery of what is stored.
        let stored = match slot {
            Some(i) if events[i] == incoming => None,
            Some(i) => {
                let previous = std::mem::replace(&mut events[i], incoming);
                record_replacement(&mut changes, Some(&previous), &events[i]);
                Some(i)
            }
            None => {
                record_replacement(&mut changes, None, &incoming);
                events.push(incoming);
                Some(events.len() - 1)
            }
        };

        if let Some(i) = stored {
            cancelled += usize::from(incoming_cancelled);
            // 5. A merge result marks the PRs it names as merged.
            let marked = mark_merged_by(events, i);
            if !marked.is_empty() {
                changes.push(Change::MarkedMerged { pr_numbers: marked });
            }
        }
    }

    if cancelled > 0 {
        changes.push(Change::CancelledStale { count: cancelled });
    }

    // 6. Newest first, deterministic.
    events.sort_by(newest_first);

    // 7. Retention.
    let trimmed = trim(events, now, rules);
    if trimmed > 0 {
        changes.push(Change::Trimmed { count: trimmed });
    }
    if compacted > 0 {
        changes.push(Change::Compacted { count: compacted });
    }

    MergeOutcome { changed: !changes.is_empty(), changes }
}

/// Cancels `e` (praktika's `FAIL` and `is_cancelled`) if it is still in flight more than 12 h
/// after its timestamp. Returns whether it did.
fn cancel_if_stale(e: &mut FeedEvent, now: i64) -> bool {
    if e.ci_status.is_in_flight() && e.timestamp < now.saturating_sub(STALE_AFTER_SECS) {
        e.ci_status = Status::new(Status::FAIL);
        e.ext.is_cancelled = true;
        true
    } else {
        false
    }
}

/// Whether the stored event must be kept over the incoming one for the same slot.
fn supersedes(stored: &FeedEvent, incoming: &FeedEvent) -> bool {
    match stored.timestamp.cmp(&incoming.timestamp) {
        Ordering::Greater => true,
        Ordering::Equal => stored.kind.is_completed() && incoming.kind == EventKind::Running,
        Ordering::Less => false,
    }
}

/// The `pr_status` the incoming event is stored with.
fn incoming_pr_status(events: &[FeedEvent], incoming: &FeedEvent) -> PrStatus {
    if incoming.is_merge_result() {
        return PrStatus::Merged;
    }
    let merged_later = events.iter().any(|mr| names_as_merged(mr, incoming) && incoming.timestamp <= mr.timestamp);
    match incoming.ext.pr_status {
        _ if merged_later => PrStatus::Merged,
        Some(status @ (PrStatus::Queued | PrStatus::Merged)) => status,
        Some(PrStatus::Open) | None => PrStatus::Open,
    }
}

/// Whether `mr` is a merge result naming the PR event `pr` as its parent or linked PR
/// (same non-empty repo).
fn names_as_merged(mr: &FeedEvent, pr: &FeedEvent) -> bool {
    let n = pr.ext.pr_number;
    mr.is_merge_result()
        && n != 0
        && !mr.ext.repo_name.is_empty()
        && mr.ext.repo_name == pr.ext.repo_name
        && (mr.ext.parent_pr_number == n || mr.ext.linked_pr_number == n)
}

/// If `events[mr]` is a merge result, marks the PR events it names (not newer than it)
/// `merged`. Returns the PR numbers whose status changed, ascending.
fn mark_merged_by(events: &mut [FeedEvent], mr: usize) -> Vec<u64> {
    if !events[mr].is_merge_result() {
        return Vec::new();
    }
    let (before, rest) = events.split_at_mut(mr);
    let (mr, after) = rest.split_first_mut().expect("index is in bounds");
    let mut marked: Vec<u64> = before
        .iter_mut()
        .chain(after.iter_mut())
        .filter(|pr| names_as_merged(mr, pr) && pr.timestamp <= mr.timestamp && pr.ext.pr_status != Some(PrStatus::Merged))
        .map(|pr| {
            pr.ext.pr_status = Some(PrStatus::Merged);
            pr.ext.pr_number
        })
        .collect();
    marked.sort_unstable();
    marked
}

/// A failure worth telling someone about: a failing verdict or job, not a cancellation.
fn is_failing(e: &FeedEvent) -> bool {
    !e.ext.is_cancelled && (e.ci_status.is_failing() || e.has_failing_job())
}

fn record_replacement(changes: &mut Vec<Change>, previous: Option<&FeedEvent>, new: &FeedEvent) {
    match previous {
        None => changes.push(Change::NewEvent),
        Some(prev) => {
            changes.push(Change::Replaced { previous_ci_status: prev.ci_status.clone() });
            if prev.ci_status != new.ci_status {
                changes.push(Change::StatusChanged { from: prev.ci_status.clone(), to: new.ci_status.clone() });
            }
        }
    }
    if is_failing(new) && !previous.is_some_and(is_failing) {
        changes.push(Change::NewFailure);
    }
    if new.kind.is_completed() && previous.is_none_or(|prev| prev.kind == EventKind::Running) {
        changes.push(Change::Completed);
    }
}

/// Newest first; ties by repo, then PR number (descending), then sha.
fn newest_first(a: &FeedEvent, b: &FeedEvent) -> Ordering {
    b.timestamp
        .cmp(&a.timestamp)
        .then_with(|| a.ext.repo_name.cmp(&b.ext.repo_name))
        .then_with(|| b.ext.pr_number.cmp(&a.ext.pr_number))
        .then_with(|| a.sha.cmp(&b.sha))
}

/// praktika's retention group: the parent PR, else the event's own PR number (0 for every
/// merge result without a parent), whatever the repository.
fn group_key(e: &FeedEvent) -> u64 {
    if e.ext.parent_pr_number > 0 { e.ext.parent_pr_number } else { e.ext.pr_number }
}

/// Drops every group whose members are all older than the retention cutoff. Returns how many
/// events it dropped.
fn trim(events: &mut Vec<FeedEvent>, now: i64, rules: Rules) -> usize {
    let cutoff = now.saturating_sub(rules.retention_secs());
    let recent = |e: &FeedEvent| e.timestamp >= cutoff;
    if events.iter().all(recent) {
        return 0;
    }
    let live: HashSet<u64> = events.iter().filter(|e| recent(e)).map(group_key).collect();
    let before = events.len();
    events.retain(|e| recent(e) || live.contains(&group_key(e)));
    before - events.len()
}
