//! GitHub Actions runs folded into praktika-shaped feed events: `github.workflow_run` and
//! `github.workflow_job` deliveries in, one [`FeedEvent`](pulse_contracts::praktika::FeedEvent) per (repository, PR number or head
//! sha) out, whose jobs cover every workflow of that commit. Pure: the shell
//! ([`crate::handler`]) reads and writes the state and merges the events into the feeds.
//!
//! GitHub sends a run's facts as many deliveries (requested, in progress, completed; each job
//! queued, in progress, completed), in any order, some again. praktika's feed holds one event
//! per slot (a PR, or a commit's merge result), so each delivery is first folded into the
//! commit's [`CommitState`] (kept by the shell, one object per repository and head sha), and the
//! feed events are then read from the whole state ([`commit_events`]). The rules:
//!
//! 1. **State per commit.** Runs are keyed by run id, jobs by job id under their run. A job may
//!    arrive before its run's first delivery (which alone carries the author e-mail and the
//!    PRs): it is kept, and shows once its run is known. A run nobody has described yet is in
//!    no feed event.
//! 2. **Newest wins, whatever the order.** A run's delivery replaces the stored one only when
//!    it is newer: a later `run_attempt` first, then progress (`completed` beats `in_progress`
//!    beats `waiting` beats `pending`/`queued` beats `requested`; `action_required` counts just
//!    above `requested`, since approving the run goes on under the same id), then `updated_at`;
//!    a job likewise by attempt, progress, `completed_at`, `started_at`. Equal on all of these,
//!    the delivery whose JSON sorts last wins, so the stored state is a function of the set of
//!    deliveries, never of their order. A delivery that changes nothing changes nothing.
//! 3. **Attempts.** Every job id is kept; a run shows, per job name, the jobs of the latest
//!    attempt that has that name. "Re-run all jobs" thus replaces every job, "re-run failed
//!    jobs" replaces the failed ones and keeps the passing ones of the earlier attempt, as
//!    GitHub shows them.
//! 4. **Slots.** A run listing PRs belongs to each of them (`pr_number` = the PR). A run
//!    triggered by a `pull_request*` event with no PR listed is a PR from a fork (GitHub does
//!    not name it): never a merge result, it is a PR of unknown number, see
//!    [`unknown_pr_number`]. Every other run (push, schedule, dispatch, ...) is the commit's
//!    merge result (`pr_number` 0).
//! 5. **The event.** Its jobs are `{workflow} / {job}` for every job of every run of the slot,
//!    sorted; a run with no job known yet shows as one entry named after its workflow, with the
//!    run's status. Statuses come from [`GithubState::praktika_status`](pulse_contracts::GithubState::praktika_status) only. The overall
//!    status is praktika's (`Result._update_status`) over the jobs and the runs' own statuses:
//!    any `RUNNING` → `RUNNING`, else any `PENDING` → `PENDING`, else any `ERROR`, `DROPPED`,
//!    `FAIL`, `UNKNOWN` or `XPASS` → `FAIL`, else `OK`. A job still in flight in a run GitHub
//!    reports completed is listed as last heard but not counted (its completion was lost; the
//!    run's own conclusion covers it). `type` is `completed` unless `PENDING` or `RUNNING`.
//!    `ext.is_cancelled` is set when the event fails only through cancelled or stale runs and
//!    jobs (`DROPPED`), so a superseded run is never a new failure. The timestamp is the latest
//!    GitHub time in the slot (a run's `updated_at`, a job's start or end), so a later state
//!    of the same slot never has an older timestamp and praktika's slot rule keeps it.
//! 6. **Feeds.** The event goes to the feed of each run's `head_commit.author_email`
//!    (`commit_authors`, as praktika does). It also goes to the feed of the triggering actor's
//!    noreply address `{id}+{login}@users.noreply.github.com` when that is not an author
//!    ([`SlotEvent::followers`]): a Slack user who follows a login sees the runs it triggered.
//!    `commit_authors` stays the authors only.

mod state;
mod view;

#[cfg(test)]
mod tests;

pub use state::{Applied, CommitKey, CommitState, Delivery, InvalidCommit, RunState};
pub use view::{Slot, SlotEvent, UNKNOWN_PR_BASE, commit_events, unknown_pr_number};
