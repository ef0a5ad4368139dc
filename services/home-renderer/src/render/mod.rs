//! The Home view, as a pure function: feed + preferences + now → Slack Block Kit JSON.
//!
//! Layout of a subscriber's view (top to bottom):
//!
//! 1. a header and a one-line summary: whose feed, how many PRs, how many failing / running /
//!    passing, so the state of everything is readable without scrolling;
//! 2. the six toggles, the first `actions` block (`block_id` [`CONTROLS_BLOCK_ID`]), each
//!    button naming what praktika's named with an unambiguous state ([`Toggle::button_label`]:
//!    `Merged PRs: Shown`, `< 7d: Off`, ...; green when the preference is on) and carrying the
//!    state a click asks for;
//! 3. when filters hide anything ([`filters`]), a line saying what and how much, so nothing
//!    vanishes silently;
//! 4. per root ([`groups`]: parents resolved transitively, per repository), in feed order: one
//!    section with the CI state emoji, the link to the PR (`#N`) or the short sha for a merge,
//!    the title; the CI state and PR state in words, the workflow, the repository and how long
//!    ago; the job summary with the report and run links; the failing job names inline; then
//!    the nested PRs and merge results of that root, newest first, as compact lines in a
//!    context block; a divider after each group;
//! 5. a truncation notice when something did not fit, and a footer with the email followed,
//!    since when, when the view was rendered (in the reader's time zone) and an Unsubscribe
//!    button (with a confirmation).
//!
//! Slack's limits: the typed blocks ([`pulse_slack::blocks`]) cut every text to its limit, and a
//! view to 100 blocks and 250 kB, as a backstop. The renderer cuts better before that: groups are
//! added whole, newest first, while they fit in [`limits::VIEW_BLOCKS`] blocks and
//! [`VIEW_BYTE_BUDGET`] bytes; what is left out is counted in the notice.
//!
//! ## Statuses
//!
//! Every status string is read in any letter case ([`pulse_contracts::praktika::StatusClass`]).
//! The run's state ([`CiState`]) comes from `ci_status`: `RUNNING`/`PENDING` → 🟡 running (🔴
//! "failing (still running)" once a job fails, as praktika's failure sign while running);
//! `OK`/`success`/`XFAIL` → 🟢 passed; `FAIL`/`failure`/`ERROR` → 🔴 failed; `XPASS` → 🔴 "failed
//! (XPASS: passed, expected to fail)", because praktika's `Result` counts XPASS as a failure and
//! its view shows the failure sign; `ext.is_cancelled` → ⚪ cancelled whatever the status;
//! `DROPPED` → ⚫, `SKIPPED` → ⚪; `UNKNOWN`, `""` and any other string → ❔ "CI state unknown"
//! followed by what praktika wrote (`UNKNOWN`, "no status", the string), never a pass or a
//! failure. praktika shows its failure sign for all of these but OK/success.
//!
//! The job summary ([`JobCounts`]) is praktika's `N failed · N dropped · N running · N ok · N
//! skipped` (failed = FAIL/failure/ERROR, running = RUNNING/PENDING, ok = OK/success and XFAIL),
//! followed by Pulse's `N xpass` and `N unknown` (UNKNOWN, `""`, any other string), where
//! praktika counted those jobs nowhere. Zero counts are left out.
//!
//! ## Links, now that praktika compacts results
//!
//! Stored results keep only `name`, `status`, the jobs' `name`/`status` and
//! `result.ext.report_url`; `result.links`, `start_time` and `duration` are gone. The PR link is
//! `ext.change_url`, else `ext.run_url` (it was `result.links`); a merge links its sha the same
//! way; the report is [`FeedEvent::report_url`] (`result.ext.report_url`, else
//! `ext.report_url`); times come from the event's `timestamp` only.
//!
//! Compared with praktika's layout (`[workflow][repo]`, a bare summary, quoted children): the
//! CI state is spelled out as well as shown by emoji, failing job names are inline, times are
//! relative, the toggles say what they do, and filtered-out events are accounted for.

pub mod groups;
pub mod text;

use std::fmt::Write as _;

use pulse_contracts::Preferences;
use pulse_contracts::praktika::FeedEvent;
use pulse_slack::blocks::{Block, Button, Confirm, PlainText, Style, Text, View, cut, limits};

use crate::actions::{SUBSCRIBE_ACTION_ID, UNSUBSCRIBE_ACTION_ID};
use crate::filters::{self, HiddenCounts, PrStatuses, Toggle};
use groups::Group;
use text::{CiState, JobCounts, push_escaped, push_link};

/// What the renderer allows itself for the serialized view, leaving a margin under Slack's
/// [`limits::VIEW_BYTES`].
pub const VIEW_BYTE_BUDGET: usize = limits::VIEW_BYTES - 10_000;
/// `block_id` of the toggles row.
pub const CONTROLS_BLOCK_ID: &str = "home_controls";
/// `block_id` of the footer's buttons.
pub const FOOTER_BLOCK_ID: &str = "home_footer";
/// `block_id` of the not-subscribed view's Subscribe button row.
pub const SUBSCRIBE_BLOCK_ID: &str = "home_subscribe";

const MAX_TITLE_CHARS: usize = 300;
const MAX_CHILD_TITLE_CHARS: usize = 120;
const MAX_CHILD_LINES: usize = 8;
const MAX_FAILING_NAMES: usize = 5;
const MAX_RUNNING_NAMES: usize = 3;
const MAX_JOB_NAME_CHARS: usize = 80;
/// Bytes kept free for the truncation notice and the view's own fields.
const RESERVED_BYTES: usize = 2_000;

/// Everything a subscriber's view depends on.
#[derive(Debug, Clone)]
pub struct HomeModel<'a> {
    /// The feed followed.
    pub email: &'a str,
    /// Linked GitHub accounts (their feeds are merged into `events`), named in the footer.
    pub github: &'a [pulse_contracts::GithubAccount],
    pub preferences: &'a Preferences,
    /// Unix seconds; shown in the footer when known.
    pub subscribed_at: Option<i64>,
    /// The feed's events, newest first (praktika's order).
    pub events: &'a [FeedEvent],
    /// Unix seconds: relative times and the 7-day filter are computed from it.
    pub now: i64,
    /// A warning shown under the controls (e.g. the feed could not be read).
    pub notice: Option<&'a str>,
    /// Stored in the view's `private_metadata` (truncated to Slack's limit).
    pub private_metadata: Option<&'a str>,
}

/// A rendered view and what it left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The `view` argument of `views.publish`.
    pub view: View,
    /// Root groups after filtering.
    pub groups_total: usize,
    /// Root groups in the view.
    pub groups_shown: usize,
    /// Events the preferences hid.
    pub hidden: HiddenCounts,
}

impl Rendered {
    pub fn truncated(&self) -> bool {
        self.groups_shown < self.groups_total
    }
}

/// The linked accounts, for a reply: `\nYour GitHub accounts: *a*, *b*.`, or nothing.
pub fn github_accounts_text(accounts: &[pulse_contracts::GithubAccount]) -> String {
    if accounts.is_empty() {
        return String::new();
    }
    let names: Vec<String> = accounts.iter().map(|a| format!("*{}*", text::escape(&a.login))).collect();
    format!("\nYour GitHub accounts: {}.", names.join(", "))
}

/// Renders a subscriber's Home view. Pure and deterministic for a given model.
pub fn home_view(model: &HomeModel<'_>) -> Rendered {
    let statuses = PrStatuses::of_feed(model.events);
    let (shown, hidden) = filters::apply(model.preferences, model.events, &statuses, model.now);
    let groups = groups::group(&shown, &statuses);

    let mut top = Vec::with_capacity(6);
    top.push(Block::header("Your CI feed"));
    top.push(Block::context_text(summary_line(model.email, &groups)));
    top.push(controls(model.preferences));
    if hidden.total() > 0 {
        top.push(Block::context_text(hidden_line(&hidden)));
    }
    if let Some(notice) = model.notice {
        top.push(Block::section(format!(":warning: {}", text::escape(notice))));
    }
    top.push(Block::divider());

    let footer = footer(model);
    // + room for the truncation notice and the divider above the footer
    let mut used_blocks = top.len() + footer.len() + 2;
    let mut used_bytes = sizes(&top) + sizes(&footer) + RESERVED_BYTES + model.private_metadata.map_or(0, str::len);

    let mut body = Vec::new();
    let mut groups_shown = 0;
    if groups.is_empty() {
        let text = if model.events.is_empty() {
            format!(
                "No CI runs for *{}* yet. They appear here as soon as a workflow of a commit you authored starts, fails or finishes.",
                text::escape(model.email)
            )
        } else {
            format!("Nothing to show with your filters: {} hidden. Turn a filter off above to see them.", hidden_total(&hidden))
        };
        body.push(Block::section(text));
    }
    for group in &groups {
        let blocks = group_blocks(group, model.now);
        let bytes = sizes(&blocks);
        if used_blocks + blocks.len() > limits::VIEW_BLOCKS || used_bytes + bytes > VIEW_BYTE_BUDGET {
            break;
        }
        used_blocks += blocks.len();
        used_bytes += bytes;
        body.extend(blocks);
        groups_shown += 1;
    }
    if groups_shown < groups.len() {
        body.push(Block::context_text(format!(
            ":scissors: Showing the newest {groups_shown} of {} PRs: Slack fits no more on one Home tab. Click *{}* or *{}* above to shorten the list.",
            groups.len(),
            Toggle::ShowLast7d.button_label(false),
            Toggle::HideMergedPrs.button_label(false),
        )));
    }

    let mut blocks = top;
    blocks.extend(body);
    if blocks.last().is_some_and(|b| !matches!(b, Block::Divider(_))) {
        blocks.push(Block::divider());
    }
    blocks.extend(footer);
    Rendered { view: View::home(blocks, model.private_metadata), groups_total: groups.len(), groups_shown, hidden }
}

/// The view of a user who follows no feed: what the tab shows, how to subscribe, and a
/// Subscribe button ([`SUBSCRIBE_ACTION_ID`]). `notice` explains a recent outcome (for example
/// why subscribing did not work, or that they unsubscribed).
pub fn not_subscribed_view(notice: Option<&str>, private_metadata: Option<&str>) -> View {
    let mut blocks = vec![
        Block::header("Your CI feed"),
        Block::section(
            "*Every PR and merge of yours, and how CI is doing on each, right here.*\n\
             Follow the CI feed of your commit email and this tab lists your PRs with their CI state, \
             failing jobs and report links, updated as runs start and finish.",
        ),
    ];
    if let Some(notice) = notice {
        blocks.push(Block::section(format!(":information_source: {}", text::escape(notice))));
    }
    blocks.push(Block::section(
        "*How to subscribe*\n\
         • Click *Subscribe* to follow the email on your Slack profile\n\
         • or type `/praktika subscribe you@example.com` to follow another address (your Git commit email)\n\
         • `/praktika unsubscribe` stops it at any time",
    ));
    blocks.push(Block::actions([button(SUBSCRIBE_ACTION_ID, "Subscribe", "profile", Some(Style::Primary))]).block_id(SUBSCRIBE_BLOCK_ID));
    View::home(blocks, private_metadata)
}

fn hidden_total(hidden: &HiddenCounts) -> String {
    let n = hidden.total();
    if n == 1 { "1 event".to_owned() } else { format!("{n} events") }
}

fn summary_line(email: &str, groups: &[Group<'_>]) -> String {
    let (mut failing, mut running, mut passed) = (0, 0, 0);
    for g in groups {
        let state = CiState::of(g.head);
        if state.is_bad() {
            failing += 1;
        } else if state.is_in_flight() {
            running += 1;
        } else if state == CiState::Passed {
            passed += 1;
        }
    }
    let mut out = String::with_capacity(160);
    out.push_str("Feed of *");
    push_escaped(&mut out, email);
    let _ = write!(out, "* · {} {}", groups.len(), if groups.len() == 1 { "PR" } else { "PRs" });
    if failing > 0 {
        let _ = write!(out, " · 🔴 {failing} failing");
    }
    if running > 0 {
        let _ = write!(out, " · 🟡 {running} running");
    }
    if passed > 0 {
        let _ = write!(out, " · 🟢 {passed} passed");
    }
    out
}

fn hidden_line(hidden: &HiddenCounts) -> String {
    let mut parts = Vec::with_capacity(4);
    let plural = |n: usize, one: &str, many: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {many}") };
    if hidden.merged_prs > 0 {
        parts.push(plural(hidden.merged_prs, "merged PR", "merged PRs"));
    }
    if hidden.merges > 0 {
        parts.push(plural(hidden.merges, "merge", "merges"));
    }
    if hidden.secondary_prs > 0 {
        parts.push(plural(hidden.secondary_prs, "auxiliary PR", "auxiliary PRs"));
    }
    if hidden.older_7d > 0 {
        parts.push(plural(hidden.older_7d, "run older than 7 days", "runs older than 7 days"));
    }
    format!("Hidden by your filters: {}", parts.join(" · "))
}

fn controls(prefs: &Preferences) -> Block {
    let elements = Toggle::ALL.iter().map(|&t| {
        let on = t.get(prefs);
        // The value is the state the click asks for, so a repeated click is idempotent.
        button(t.action_id(), t.button_label(on), if on { "off" } else { "on" }, on.then_some(Style::Primary))
    });
    Block::actions(elements).block_id(CONTROLS_BLOCK_ID)
}

fn footer(model: &HomeModel<'_>) -> Vec<Block> {
    let mut line = String::with_capacity(200);
    line.push_str("Following *");
    push_escaped(&mut line, model.email);
    line.push('*');
    for account in model.github {
        line.push_str(" and GitHub *");
        push_escaped(&mut line, &account.login);
        line.push('*');
    }
    if let Some(since) = model.subscribed_at {
        let _ = write!(line, " since {}", text::date(since));
    }
    let _ = write!(
        line,
        " · updated {} · `/praktika subscribe other@example.com` switches feeds",
        text::slack_date(model.now, &text::date(model.now))
    );
    // The email is cut first so that the question stays whole within the confirmation's limit.
    let question =
        format!("Stop following the CI feed of *{}*? Your toggles are kept if you come back.", text::escape(&cut(model.email, 150)));
    let confirm = Confirm::new("Unsubscribe?", Text::mrkdwn(question), "Unsubscribe", "Cancel").style(Style::Danger);
    let unsubscribe = button(UNSUBSCRIBE_ACTION_ID, "Unsubscribe", "unsubscribe", Some(Style::Danger)).confirm(confirm);
    vec![Block::context_text(line), Block::actions([unsubscribe]).block_id(FOOTER_BLOCK_ID)]
}

/// The blocks of one group: the head section, the children (if any) as a context block, a
/// divider.
fn group_blocks(group: &Group<'_>, now: i64) -> Vec<Block> {
    let mut blocks = Vec::with_capacity(3);
    blocks.push(Block::section(head_text(group, now)));
    if !group.children.is_empty() {
        blocks.push(Block::context_text(children_text(group, now)));
    }
    blocks.push(Block::divider());
    blocks
}

/// `#N` for a PR ("PR from a fork (`branch`)" for a fork's, whose number is unknown: see
/// [`PrLabel`](pulse_contracts::praktika::PrLabel)), or the short sha (`commit` without one) for a merge result, linked to
/// `ext.change_url` (a fork PR's run first), else `ext.run_url` (praktika's compaction dropped
/// `result.links`).
fn push_event_link(out: &mut String, e: &FeedEvent) {
    let label = e.pr_label();
    let first = label.map_or(e.ext.change_url.as_str(), |l| l.url(e));
    let url = [first, e.ext.change_url.as_str(), e.ext.run_url.as_str()].into_iter().find(|u| text::linkable(u).is_some()).unwrap_or("");
    if let Some(label) = label {
        push_link(out, url, &label.short());
    } else {
        let sha = text::short_sha(&e.sha);
        out.push('`');
        push_link(out, url, if sha.is_empty() { "commit" } else { sha });
        out.push('`');
    }
}

fn title_of(e: &FeedEvent) -> &str {
    let title = if e.ext.pr_number > 0 { e.ext.pr_title.trim() } else { "" };
    if !title.is_empty() {
        return title;
    }
    let message = text::first_line(&e.ext.commit_message);
    if !message.is_empty() {
        return message;
    }
    if !e.ext.branch.is_empty() { &e.ext.branch } else { "(no title)" }
}

fn head_text(group: &Group<'_>, now: i64) -> String {
    let e = group.head;
    let state = CiState::of(e);
    let mut t = String::with_capacity(640);
    t.push_str(state.emoji());
    t.push_str(" *");
    push_event_link(&mut t, e);
    t.push_str("* ");
    push_escaped(&mut t, &cut(title_of(e), MAX_TITLE_CHARS));
    if text::is_orphan_pr(e) {
        let _ = write!(t, " _(of #{})_", e.ext.parent_pr_number);
    }
    t.push('\n');

    t.push('*');
    text::push_ci_state(&mut t, state, &e.ci_status);
    let _ = write!(t, "* · {}", text::pr_state(e, group.pr_status));
    if e.ext.pr_number == 0 && !e.ext.branch.is_empty() {
        t.push_str(" into `");
        push_escaped(&mut t, &cut(&e.ext.branch, 60));
        t.push('`');
    }
    if !e.ext.workflow_name.is_empty() {
        t.push_str(" · `");
        push_escaped(&mut t, &cut(&e.ext.workflow_name.replace('`', "'"), 60));
        t.push('`');
    }
    if !e.ext.repo_name.is_empty() {
        t.push_str(" · ");
        push_escaped(&mut t, &cut(&e.ext.repo_name, 100));
    }
    t.push_str(" · ");
    t.push_str(&text::ago(now, e.timestamp));
    t.push('\n');

    JobCounts::of(&e.result).push_summary(&mut t);
    if let Some(report) = text::report_url(e) {
        t.push_str(" · ");
        push_link(&mut t, report, "report");
    }
    if text::linkable(&e.ext.run_url).is_some() {
        t.push_str(" · ");
        push_link(&mut t, &e.ext.run_url, "run");
    }

    let failing = e.jobs().iter().filter(|j| j.status.is_failing());
    if failing.clone().next().is_some() {
        t.push_str("\n:x: Failing: ");
        text::push_names(&mut t, failing.map(|j| j.name.as_str()), MAX_FAILING_NAMES, MAX_JOB_NAME_CHARS);
    }
    if state.is_in_flight() {
        let running = e.jobs().iter().filter(|j| j.status.is_in_flight());
        if running.clone().next().is_some() {
            t.push_str("\n:hourglass_flowing_sand: Running: ");
            text::push_names(&mut t, running.map(|j| j.name.as_str()), MAX_RUNNING_NAMES, MAX_JOB_NAME_CHARS);
        }
    }
    if e.ext.linked_pr_number > 0 && e.ext.linked_pr_number != e.ext.pr_number && e.ext.linked_pr_number != e.ext.parent_pr_number {
        let _ = write!(t, "\n:link: Related: #{}", e.ext.linked_pr_number);
    }
    t
}

fn children_text(group: &Group<'_>, now: i64) -> String {
    let mut t = String::with_capacity(200 * group.children.len().min(MAX_CHILD_LINES));
    for (i, e) in group.children.iter().take(MAX_CHILD_LINES).enumerate() {
        if i > 0 {
            t.push('\n');
        }
        let state = CiState::of(e);
        t.push_str("↳ ");
        t.push_str(state.emoji());
        t.push_str(" *");
        push_event_link(&mut t, e);
        t.push_str("* ");
        if e.ext.pr_number == 0 {
            t.push_str("merge");
            if !e.ext.branch.is_empty() {
                t.push_str(" into `");
                push_escaped(&mut t, &cut(&e.ext.branch, 60));
                t.push('`');
            }
        } else {
            push_escaped(&mut t, &cut(title_of(e), MAX_CHILD_TITLE_CHARS));
        }
        t.push_str(" · ");
        text::push_ci_state(&mut t, state, &e.ci_status);
        t.push_str(" · ");
        JobCounts::of(&e.result).push_summary(&mut t);
        if let Some(report) = text::report_url(e) {
            t.push_str(" · ");
            push_link(&mut t, report, "report");
        }
        t.push_str(" · ");
        t.push_str(&text::ago(now, e.timestamp));
        let failing = e.jobs().iter().filter(|j| j.status.is_failing());
        if failing.clone().next().is_some() {
            t.push_str(" · failing: ");
            text::push_names(&mut t, failing.map(|j| j.name.as_str()), 3, 60);
        }
    }
    if group.children.len() > MAX_CHILD_LINES {
        let _ = write!(t, "\n↳ +{} more related runs", group.children.len() - MAX_CHILD_LINES);
    }
    t
}

/// A button whose label shows `:emoji:` shortcodes.
fn button(action_id: &str, label: impl Into<String>, value: &str, style: Option<Style>) -> Button {
    Button::new(action_id, PlainText::with_emoji(label)).value(value).style(style)
}

/// Serialized size of `blocks` as they appear in the view (with separating commas).
fn sizes(blocks: &[Block]) -> usize {
    blocks.iter().map(|b| limits::json_len(b) + 1).sum()
}

#[cfg(test)]
mod tests;
