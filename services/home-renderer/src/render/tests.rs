use crate::filters::PrStatuses;
use pulse_contracts::praktika::{EventKind, PrStatus, Status};
use pulse_fake_slack::FakeSlack;
use pulse_slack::SlackClient;
use pulse_slack::blocks::limits::{TEXT_OBJECT as MAX_TEXT_CHARS, VIEW_BLOCKS as MAX_BLOCKS, VIEW_BYTES as MAX_VIEW_BYTES};
use serde_json::Value;

use super::*;
use crate::testing::{event, merge_result, nested_pr, sample_feed, with_jobs};

const NOW: i64 = 1_763_640_000;
const EMAIL: &str = "alice@clickhouse.com";

fn render_with(events: &[FeedEvent], prefs: &Preferences) -> Rendered {
    home_view(&HomeModel {
        email: EMAIL,
        github: &[],
        preferences: prefs,
        subscribed_at: Some(NOW - 86_400),
        events,
        now: NOW,
        notice: None,
        private_metadata: Some(r#"{"rev":1}"#),
    })
}

fn render(events: &[FeedEvent]) -> Rendered {
    render_with(events, &Preferences::default())
}

fn blocks(view: &Value) -> &Vec<Value> {
    view["blocks"].as_array().expect("blocks")
}

fn all_text(value: &Value) -> String {
    crate::testing::view_texts(value)
}

/// The mrkdwn text of every section, in order.
fn sections(view: &Value) -> Vec<String> {
    blocks(view).iter().filter(|b| b["type"] == "section").map(|b| b["text"]["text"].as_str().unwrap().to_owned()).collect()
}

fn section_about(view: &Value, needle: &str) -> String {
    sections(view).into_iter().find(|s| s.contains(needle)).unwrap_or_else(|| panic!("no section with {needle:?} in {}", all_text(view)))
}

fn controls_block(view: &Value) -> &Value {
    blocks(view).iter().find(|b| b["type"] == "actions").expect("an actions block")
}

fn assert_within_limits(view: &Value) {
    let blocks = blocks(view);
    assert!(blocks.len() <= MAX_BLOCKS, "{} blocks", blocks.len());
    for b in blocks {
        if let Some(t) = b["text"]["text"].as_str() {
            assert!(t.chars().count() <= MAX_TEXT_CHARS, "text of {} chars", t.chars().count());
        }
        for e in b["elements"].as_array().into_iter().flatten() {
            if let Some(t) = e["text"].as_str() {
                assert!(t.chars().count() <= MAX_TEXT_CHARS);
            }
        }
    }
    assert!(view.to_string().len() < MAX_VIEW_BYTES, "{} bytes", view.to_string().len());
}

#[test]
fn the_first_actions_block_holds_the_six_toggles_showing_their_state() {
    for toggle in Toggle::ALL {
        let mut prefs = Preferences::default();
        toggle.set(&mut prefs, true);
        let view = render_with(&[event(1, NOW - 60, Some(PrStatus::Open))], &prefs).view.to_json();
        let controls = controls_block(&view);
        assert_eq!(controls["block_id"], CONTROLS_BLOCK_ID);
        let buttons = controls["elements"].as_array().unwrap();
        assert_eq!(buttons.len(), 6);
        for (button, t) in buttons.iter().zip(Toggle::ALL) {
            assert_eq!(button["action_id"], t.action_id());
            let on = t == toggle;
            let label = button["text"]["text"].as_str().unwrap();
            assert_eq!(label, t.button_label(on));
            assert_eq!(button["value"], if on { "off" } else { "on" }, "the value asks for the other state");
            assert_eq!(button.get("style").and_then(Value::as_str), on.then_some("primary"));
        }
    }
}

#[test]
fn an_open_pr_shows_state_link_title_workflow_repo_summary_and_report() {
    let e =
        with_jobs(event(91234, NOW - 300, Some(PrStatus::Open)), &[("Style check", "OK"), ("Fast test", "success"), ("Docs", "SKIPPED")]);
    let view = render(&[e]).view.to_json();
    let s = section_about(&view, "#91234");
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], "🟢 *<https://github.com/ClickHouse/ClickHouse/pull/91234|#91234>* Improve thing number 91234");
    assert_eq!(lines[1], "*CI passed* · open · `PR` · ClickHouse/ClickHouse · 5 min ago");
    assert!(lines[2].starts_with("2 ok · 1 skipped · <https://reports.example.com/91234/"), "the result's report: {}", lines[2]);
    assert!(lines[2].ends_with("|report> · <https://github.com/ClickHouse/ClickHouse/actions/runs/1091234|run>"), "{}", lines[2]);
    assert_eq!(lines.len(), 3, "no failure or running lines: {s}");
    let summary = all_text(&blocks(&view)[1]);
    assert!(summary.contains("Feed of *alice@clickhouse.com* · 1 PR · 🟢 1 passed"), "{summary}");
}

#[test]
fn failures_show_the_failing_job_names_inline() {
    let e = with_jobs(
        event(7, NOW - 60, Some(PrStatus::Open)),
        &[
            ("Stateless tests (amd_debug, parallel)", "FAIL"),
            ("Build (arm_release)", "DROPPED"),
            ("Integration tests", "error"),
            ("Style check", "OK"),
        ],
    );
    let view = render(&[e]).view.to_json();
    let s = section_about(&view, "#7");
    assert!(s.starts_with("🔴 "), "{s}");
    assert!(s.contains("*CI failed* · open"), "{s}");
    assert!(s.contains("*2 failed* · 1 dropped · 1 ok"), "{s}");
    assert!(s.contains(":x: Failing: `Stateless tests (amd_debug, parallel)`, `Integration tests`"), "{s}");
    assert!(!s.contains("`Build (arm_release)`"), "a dropped job is not a failure: {s}");
    assert!(all_text(&view).contains("🔴 1 failing"));
}

#[test]
fn many_failures_are_capped_with_a_count() {
    let jobs: Vec<String> = (0..9).map(|i| format!("job {i}")).collect();
    let jobs: Vec<(&str, &str)> = jobs.iter().map(|n| (n.as_str(), "FAIL")).collect();
    let view = render(&[with_jobs(event(7, NOW, Some(PrStatus::Open)), &jobs)]).view.to_json();
    assert!(section_about(&view, "#7").contains("`job 4` +4 more"));
}

#[test]
fn a_running_pr_shows_what_is_running() {
    let e = with_jobs(event(8, NOW - 30, Some(PrStatus::Open)), &[("Style check", "OK"), ("Fast test", "RUNNING")]);
    assert_eq!(e.kind, EventKind::Running);
    let view = render(&[e]).view.to_json();
    let s = section_about(&view, "#8");
    assert!(s.starts_with("🟡 "), "{s}");
    assert!(s.contains("*CI running* · open"), "{s}");
    assert!(s.contains("1 running · 1 ok"), "{s}");
    assert!(s.contains(":hourglass_flowing_sand: Running: `Fast test`"), "{s}");
    assert!(s.contains("just now"), "{s}");

    let failing = with_jobs(event(9, NOW - 30, Some(PrStatus::Open)), &[("Fast test", "FAIL"), ("Build", "Running")]);
    let s = section_about(&render(&[failing]).view.to_json(), "#9");
    assert!(s.starts_with("🔴 ") && s.contains("*CI failing (still running)*"), "{s}");
}

#[test]
fn a_cancelled_run_says_cancelled_not_failed() {
    let mut e = with_jobs(event(10, NOW - 13 * 3600, Some(PrStatus::Open)), &[("Fast test", "RUNNING")]);
    e.kind = EventKind::Completed;
    e.ci_status = Status::new(Status::FAIL);
    e.ext.is_cancelled = true;
    let s = section_about(&render(&[e]).view.to_json(), "#10");
    assert!(s.starts_with("⚪ "), "{s}");
    assert!(s.contains("*CI cancelled*") && !s.contains("CI failed"), "{s}");
    assert!(s.contains("13 h ago"), "{s}");
}

#[test]
fn a_merged_pr_with_its_merge_result_and_backport() {
    let events = [
        nested_pr(91240, 91234, NOW - 100),
        merge_result("9b1e44c07d2a5f6e8d3c1b0a9e8f7d6c5b4a3921", 91234, NOW - 200),
        event(91234, NOW - 3000, Some(PrStatus::Open)),
    ];
    let rendered = render(&events);
    let view = rendered.view.to_json();
    assert_eq!(rendered.groups_total, 1, "one root PR");
    let head = section_about(&view, "#91234");
    assert!(head.contains("*CI passed* · merged"), "its merge-result child makes the root merged: {head}");
    // The children sit right under the root, in a context block, newest first.
    let at = blocks(&view).iter().position(|b| b["type"] == "section" && b["text"]["text"].as_str().unwrap().contains("#91234")).unwrap();
    let children = &blocks(&view)[at + 1];
    assert_eq!(children["type"], "context");
    let lines = children["elements"][0]["text"].as_str().unwrap();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("↳ 🟢 *<https://github.com/ClickHouse/ClickHouse/pull/91240|#91240>* Backport #91234 to 25.8 · CI passed"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("↳ 🟢 *`<https://github.com/ClickHouse/ClickHouse/commit/9b1e44c07d2a5f6e8d3c1b0a9e8f7d6c5b4a3921|9b1e44c0>`* merge into `master` · CI passed"),
        "{}",
        lines[1]
    );
    assert_eq!(blocks(&view)[at + 2]["type"], "divider", "a divider closes the group");
}

#[test]
fn a_lone_merge_result_is_linked_by_short_sha() {
    let view = render(&[merge_result("0123456789abcdef0123456789abcdef01234567", 0, NOW - 7200)]).view.to_json();
    let s = section_about(&view, "01234567");
    assert!(
        s.starts_with("🟢 *`<https://github.com/ClickHouse/ClickHouse/commit/0123456789abcdef0123456789abcdef01234567|01234567>`* Merge pull request #0 from alice/branch"),
        "{s}"
    );
    assert!(s.contains("*CI passed* · merged into `master` · `MasterCI` · ClickHouse/ClickHouse · 2 h ago"), "{s}");
}

#[test]
fn a_nested_pr_without_its_root_heads_its_group_and_names_the_root() {
    let view = render(&[nested_pr(91240, 91234, NOW - 100)]).view.to_json();
    let s = section_about(&view, "#91240");
    assert!(s.contains("Backport #91234 to 25.8 _(of #91234)_"), "{s}");
}

#[test]
fn toggles_filter_the_view_and_say_what_they_hid() {
    let events = [
        nested_pr(91240, 91234, NOW - 100),
        merge_result("9b1e44c07d2a5f6e8d3c1b0a9e8f7d6c5b4a3921", 91234, NOW - 200),
        event(91234, NOW - 3000, Some(PrStatus::Merged)),
        event(5, NOW - 10 * 86_400, Some(PrStatus::Open)),
    ];
    let with = |t: Toggle| {
        let mut p = Preferences::default();
        t.set(&mut p, true);
        render_with(&events, &p).view.to_json()
    };

    let all = all_text(&render(&events).view.to_json());
    for needle in ["#91234", "#91240", "9b1e44c0", "#5"] {
        assert!(all.contains(needle), "{needle} shown by default");
    }
    assert!(!all.contains("Hidden by your filters"));

    let v = all_text(&with(Toggle::HideMergedPrs));
    assert!(!v.contains("|#91234>* Improve"), "the merged root is hidden: {v}");
    assert!(v.contains("9b1e44c0") && v.contains("#91240"), "its merge result and backport stay: {v}");
    assert!(v.contains("Hidden by your filters: 1 merged PR"));

    let v = all_text(&with(Toggle::HideMerges));
    assert!(!v.contains("9b1e44c0") && v.contains("#91234"), "{v}");
    assert!(v.contains("Hidden by your filters: 1 merge"));

    let v = all_text(&with(Toggle::HideSecondaryPrs));
    assert!(!v.contains("|#91240>") && v.contains("#91234"), "{v}");
    assert!(v.contains("1 auxiliary PR"));

    let v = all_text(&with(Toggle::ShowLast7d));
    assert!(!v.contains("|#5>") && v.contains("#91234"), "{v}");
    assert!(v.contains("1 run older than 7 days"));

    for t in [Toggle::NotifyOnComplete, Toggle::NotifyOnFailure] {
        let v = all_text(&with(t));
        assert!(v.contains("|#5>") && v.contains("9b1e44c0") && v.contains("|#91240>"), "{t:?} filters nothing");
        assert!(v.contains(&t.button_label(true)));
    }
}

#[test]
fn everything_filtered_out_says_so() {
    let p = Preferences { hide_merges: true, ..Preferences::default() };
    let v = all_text(&render_with(&[merge_result("abc", 0, NOW)], &p).view.to_json());
    assert!(v.contains("Nothing to show with your filters: 1 event hidden"), "{v}");
}

#[test]
fn an_empty_feed_explains_itself_and_the_footer_names_the_email() {
    let view = render(&[]).view.to_json();
    let v = all_text(&view);
    assert!(v.contains("No CI runs for *alice@clickhouse.com* yet"), "{v}");
    let last = blocks(&view).last().unwrap();
    assert_eq!(last["block_id"], FOOTER_BLOCK_ID);
    assert_eq!(last["elements"][0]["action_id"], UNSUBSCRIBE_ACTION_ID);
    assert!(last["elements"][0]["confirm"].is_object());
    let footer = all_text(&blocks(&view)[blocks(&view).len() - 2]);
    assert!(footer.contains("Following *alice@clickhouse.com* since 19 Nov 2025"), "{footer}");
    assert_eq!(view["private_metadata"], r#"{"rev":1}"#);
}

#[test]
fn user_text_is_escaped() {
    let mut e = event(3, NOW, Some(PrStatus::Open));
    e.ext.pr_title = "Fix <script> & <@U123> mentions".into();
    let s = section_about(&render(&[e]).view.to_json(), "#3");
    assert!(s.contains("Fix &lt;script&gt; &amp; &lt;@U123&gt; mentions"), "{s}");
}

#[test]
fn five_hundred_events_fit_in_100_blocks_with_a_truncation_notice() {
    let feed = sample_feed(500, NOW);
    let rendered = render(&feed);
    let view = &rendered.view.to_json();
    assert_within_limits(view);
    assert!(rendered.truncated(), "{} of {}", rendered.groups_shown, rendered.groups_total);
    assert!(rendered.groups_shown >= 25, "a useful number of PRs is shown: {}", rendered.groups_shown);
    let notice = all_text(view);
    assert!(notice.contains(&format!("Showing the newest {} of {} PRs", rendered.groups_shown, rendered.groups_total)), "{notice}");
    // The newest group comes first, right after the controls.
    let refs: Vec<&FeedEvent> = feed.iter().collect();
    let newest = groups::group(&refs, &PrStatuses::of_feed(&feed))[0].head;
    let mut link = String::new();
    push_event_link(&mut link, newest);
    let first_group = blocks(view).iter().skip_while(|b| b["type"] != "divider").nth(1).unwrap();
    assert!(first_group["text"]["text"].as_str().unwrap().contains(&link), "{first_group}");
}

#[test]
fn a_title_over_3000_characters_keeps_the_section_within_3000() {
    let mut e = event(4, NOW, Some(PrStatus::Open));
    e.ext.pr_title = "ü".repeat(5000);
    let mut child = nested_pr(41, 4, NOW);
    child.ext.pr_title = "x".repeat(5000);
    let view = render(&[e, child]).view.to_json();
    assert_within_limits(&view);
    let s = section_about(&view, "#4");
    assert!(s.chars().count() <= MAX_TEXT_CHARS);
    assert!(s.contains('…'), "the title is cut with an ellipsis");
}

#[test]
fn the_view_stays_under_slacks_size_limit_whatever_the_feed() {
    // Huge titles, long job names and many children in every group: bytes, not blocks, limit.
    let mut feed = Vec::new();
    for g in 0..60u64 {
        let mut root = with_jobs(event(1000 + g, NOW - g as i64 * 60, Some(PrStatus::Open)), &[("x".repeat(400).as_str(), "FAIL"); 6]);
        root.ext.pr_title = "Ω".repeat(3000);
        root.ext.repo_name = "r".repeat(500);
        feed.push(root);
        for c in 0..12u64 {
            let mut child = nested_pr(100_000 + g * 100 + c, 1000 + g, NOW - g as i64 * 60 - 1);
            child.ext.pr_title = "é".repeat(3000);
            feed.push(child);
        }
    }
    let rendered = render(&feed);
    assert_within_limits(&rendered.view.to_json());
    assert!(rendered.view.to_json().to_string().len() <= VIEW_BYTE_BUDGET);
    assert!(rendered.truncated());
}

#[test]
fn the_not_subscribed_view_explains_how_to_subscribe() {
    let view = not_subscribed_view(Some("Your Slack profile has no email."), None).to_json();
    let text = all_text(&view);
    assert!(text.contains("/praktika subscribe you@example.com"), "{text}");
    assert!(text.contains("Your Slack profile has no email."), "{text}");
    let actions = controls_block(&view);
    assert_eq!(actions["elements"][0]["action_id"], SUBSCRIBE_ACTION_ID);
    assert_eq!(actions["elements"][0]["text"]["text"], "Subscribe");
    assert!(!text.contains("Merged PRs:"), "no toggles without a subscription");
    assert_within_limits(&view);
}

#[test]
fn rendering_is_deterministic() {
    let feed = sample_feed(200, NOW);
    assert_eq!(render(&feed), render(&feed));
}

/// Every view shape goes through the fake Slack's own `views.publish` validation.
#[tokio::test]
async fn the_fake_slack_accepts_every_rendered_view() {
    let slack = FakeSlack::start().await;
    let client = SlackClient::new(slack.client_config("xoxb-test"));
    let mut big_titles = vec![event(4, NOW, Some(PrStatus::Open))];
    big_titles[0].ext.pr_title = "t".repeat(4000);
    let mut all_on = Preferences::default();
    for t in Toggle::ALL {
        t.set(&mut all_on, true);
    }
    let views = [
        render(&[]).view.to_json(),
        render(&sample_feed(500, NOW)).view.to_json(),
        render(&sample_feed(40, NOW)).view.to_json(),
        render_with(&sample_feed(500, NOW), &all_on).view.to_json(),
        render(&big_titles).view.to_json(),
        not_subscribed_view(None, Some("{}")).to_json(),
        not_subscribed_view(Some("x"), None).to_json(),
    ];
    for (i, view) in views.into_iter().enumerate() {
        client.views_publish("U1", view, None).await.unwrap_or_else(|e| panic!("view {i} rejected: {e}"));
    }
}

#[test]
fn the_default_view_shows_praktikas_toggle_names_with_unambiguous_states() {
    let view = render(&[event(1, NOW, Some(PrStatus::Open))]).view.to_json();
    let labels: Vec<&str> =
        controls_block(&view)["elements"].as_array().unwrap().iter().map(|b| b["text"]["text"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        ["Merged PRs: Shown", "Merges: Shown", "Auxiliary PRs: Shown", "< 7d: Off", "Notify complete: Off", "Notify failure: Off"]
    );
}

#[test]
fn every_job_status_in_any_case_is_counted_and_none_vanishes() {
    let statuses = [
        "OK", "ok", "Success", "XFAIL", "xfail", // ok
        "FAIL", "failure", "Error", // failed
        "DROPPED", "dropped", // dropped
        "RUNNING", "pending", // running
        "SKIPPED", "Skipped", // skipped
        "XPASS", "xPass", // xpass
        "UNKNOWN", "", "weird", // unknown
    ];
    let names: Vec<String> = (0..statuses.len()).map(|i| format!("job {i}")).collect();
    let jobs: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(statuses).collect();
    let mut e = with_jobs(event(12, NOW - 60, Some(PrStatus::Open)), &jobs);
    e.ci_status = Status::new("fail");
    let s = section_about(&render(&[e.clone()]).view.to_json(), "#12");
    assert!(s.contains("*3 failed* · 2 dropped · 2 running · 5 ok · 2 skipped · 2 xpass · 3 unknown · <"), "{s}");
    assert_eq!(text::JobCounts::of(&e.result).total(), statuses.len(), "every job is in one bucket");
    assert!(s.contains(":x: Failing: `job 5`, `job 6`, `job 7`"), "FAIL, failure and Error are failing; XPASS is not: {s}");
}

#[test]
fn the_run_state_follows_ci_status_in_any_case() {
    let cases = [
        ("OK", "🟢", "*CI passed*"),
        ("success", "🟢", "*CI passed*"),
        ("XFail", "🟢", "*CI passed*"),
        ("FAIL", "🔴", "*CI failed*"),
        ("failure", "🔴", "*CI failed*"),
        ("ERROR", "🔴", "*CI failed*"),
        ("XPASS", "🔴", "*CI failed (XPASS: passed, expected to fail)*"),
        ("running", "🟡", "*CI running*"),
        ("PENDING", "🟡", "*CI pending*"),
        ("Dropped", "⚫", "*CI dropped*"),
        ("SKIPPED", "⚪", "*CI skipped*"),
        ("UNKNOWN", "❔", "*CI state unknown (`UNKNOWN`)*"),
        ("", "❔", "*CI state unknown (no status)*"),
        ("stale", "❔", "*CI state unknown (`stale`)*"),
    ];
    for (status, emoji, words) in cases {
        let mut e = event(13, NOW - 60, Some(PrStatus::Open));
        e.ci_status = Status::new(status);
        let s = section_about(&render(&[e]).view.to_json(), "#13");
        assert!(s.starts_with(&format!("{emoji} ")), "{status:?}: {s}");
        assert!(s.contains(&format!("\n{words} · open")), "{status:?}: {s}");
    }
}

#[test]
fn links_use_change_url_then_run_url_and_the_report_falls_back_to_ext() {
    let mut e = event(14, NOW, Some(PrStatus::Open));
    e.ext.change_url = String::new();
    e.result.ext = None;
    let s = section_about(&render(&[e]).view.to_json(), "#14");
    assert!(s.contains("*<https://github.com/ClickHouse/ClickHouse/actions/runs/1000014|#14>*"), "run_url links the PR: {s}");
    assert!(s.contains("<https://reports.example.com/14|report>"), "ext.report_url: {s}");

    let mut bare = merge_result("", 0, NOW);
    bare.ext.change_url = String::new();
    bare.ext.run_url = String::new();
    let s =
        sections(&render(&[bare]).view.to_json()).into_iter().find(|s| s.contains("`commit`")).expect("a merge without sha says commit");
    assert!(s.starts_with("🟢 *`commit`*"), "{s}");
}

#[test]
fn a_nested_chain_renders_under_its_ultimate_root_and_a_toggle_reshapes_it() {
    // #3 → #2 → #1, a merge result of #2 on master.
    let events = [nested_pr(3, 2, NOW - 10), merge_result("aaaaaaaa11", 2, NOW - 20), nested_pr(2, 1, NOW - 30), event(1, NOW - 40, None)];
    let view = render(&events).view.to_json();
    let head = section_about(&view, "|#1>");
    assert!(head.contains("· merged"), "merged by the merge result two levels down: {head}");
    let children = all_text(&view);
    let at = |needle: &str| children.find(needle).unwrap_or_else(|| panic!("{needle} in {children}"));
    assert!(at("|#1>") < at("|#3>") && at("|#3>") < at("aaaaaaaa") && at("aaaaaaaa") < at("|#2>"), "children newest first: {children}");
    assert_eq!(render(&events).groups_total, 1);

    // Hiding auxiliary PRs removes #2 and #3: the merge result's parent is gone, so it is a root.
    let p = Preferences { hide_secondary_prs: true, ..Preferences::default() };
    let rendered = render_with(&events, &p);
    assert_eq!(rendered.groups_total, 2);
    let v = all_text(&rendered.view.to_json());
    assert!(!v.contains("|#2>") && !v.contains("|#3>") && v.contains("2 auxiliary PRs"), "{v}");
}

#[test]
fn the_contract_example_with_every_status_of_today_renders_as_a_user_reads_it() {
    let doc: Value =
        serde_json::from_str(include_str!("../../../../contracts/examples/ci.workflow.v1/completed-today-every-status.json")).unwrap();
    let e: FeedEvent = serde_json::from_value(doc["detail"].clone()).unwrap();
    let now = e.timestamp + 600;
    let events = [e];
    let view = home_view(&HomeModel {
        email: EMAIL,
        github: &[],
        preferences: &Preferences::default(),
        subscribed_at: None,
        events: &events,
        now,
        notice: None,
        private_metadata: None,
    })
    .view
    .to_json();
    let s = section_about(&view, "#91301");
    assert!(s.starts_with("🔴 *<https://github.com/ClickHouse/ClickHouse/pull/91301|#91301>* Vectorize arrayFold"), "{s}");
    assert!(s.contains("*CI failed* · open · `PR` · ClickHouse/ClickHouse · 10 min ago"), "{s}");
    assert!(s.contains("*2 failed* · 1 dropped · 2 ok · 1 skipped · 1 xpass · 2 unknown · <https://s3.amazonaws.com/clickhouse-test-reports/json.html?PR=91301&amp;sha="), "{s}");
    assert!(s.contains(":x: Failing: `Fast test`, `Build (amd_debug)`"), "{s}");
}

#[test]
fn a_fork_pr_is_shown_as_a_pr_from_a_fork_linked_to_its_run_never_by_its_stand_in_number() {
    let mut fork = event(1_003_735_928_559, NOW - 600, Some(PrStatus::Open));
    fork.ext.extra.insert("pr_number_unknown".into(), Value::Bool(true));
    fork.ext.branch = "patch-1".into();
    // The fixture names everything after the PR number: a fork's run knows none of it.
    fork.ext.pr_title = String::new();
    fork.ext.commit_message = "Fix a typo".into();
    fork.ext.report_url = String::new();
    fork.result.ext = None;
    fork.ext.run_url = "https://github.com/ClickHouse/ClickHouse/actions/runs/777".into();
    fork.ext.change_url = format!("https://github.com/{}/commit/{}", fork.ext.repo_name, fork.sha);
    let view = render(&[fork.clone()]).view.to_json();
    let s = section_about(&view, "PR from a fork");
    let run = &fork.ext.run_url;
    assert!(s.contains(&format!("*<{run}|PR from a fork (`patch-1`)>*")), "{s}");
    assert!(!all_text(&view).contains("1003735928559"), "{}", all_text(&view));
}
