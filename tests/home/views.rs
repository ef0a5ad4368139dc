//! The Home view: on feed changes, toggles and opening the tab; several followers; concurrent
//! changes; never going backwards; Slack failing.

use std::time::Duration;

use pulse_contracts::praktika::{FeedEvent, PrStatus, RunResult, Status};
use pulse_fake_slack::Fault;
use pulse_home_renderer::filters::Toggle;
use pulse_home_renderer::views::{Committed, Mode, Published};

use crate::harness::{Home, example, handle, recent, toggle_buttons};

const ALICE: &str = "alice@clickhouse.com";
const BOB: &str = "bob+ci@users.noreply.github.com";

/// `e` with these jobs (name, status string) and this `ci_status`.
fn jobs(mut e: FeedEvent, ci_status: &str, jobs: &[(&str, &str)]) -> FeedEvent {
    e.ci_status = Status::new(ci_status);
    e.result.status = Status::new(ci_status);
    e.result.results = Some(jobs.iter().map(|(n, s)| RunResult::named(*n, s)).collect());
    e
}

/// Alice's feed as praktika writes it today: PR #91301 with every status (FAIL, ERROR, XFAIL,
/// XPASS, DROPPED, SKIPPED, UNKNOWN, ""), its backport #91310 (running), a backport of the
/// backport #91320 (no status at all) and the merge of #91301 into master. No `pr_status` on
/// #91301: praktika infers `merged` from the merge result.
fn todays_feed() -> Vec<FeedEvent> {
    let mut root = example("completed-today-every-status");
    root.ext.pr_status = None;
    let nested = |pr: u64, parent: u64| {
        let mut e = example("running-today");
        e.ext.pr_number = pr;
        e.ext.parent_pr_number = parent;
        e.ext.pr_title = format!("Backport #{parent} to 25.8");
        e.ext.change_url = format!("https://github.com/ClickHouse/ClickHouse/pull/{pr}");
        e
    };
    let backport =
        jobs(nested(91310, 91301), "RUNNING", &[("Fast test", "RUNNING"), ("Stateless tests", "XFAIL"), ("Finish Workflow", "")]);
    let second = jobs(nested(91320, 91310), "", &[("Fast test", "unknown")]);
    let mut merge = example("merge-result");
    merge.ext.parent_pr_number = 91301;
    merge.ext.linked_pr_number = 0;
    let merge = jobs(merge, "ok", &[("Build (amd_release)", "OK"), ("Stress test", "XPASS"), ("Perf", "UNKNOWN")]);
    recent(vec![second, merge, backport, root])
}

#[tokio::test]
async fn todays_statuses_and_nested_prs_on_the_home_tab_and_toggles_reshape_them() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "r1")).await.unwrap();
    handle(&renderer, &home.write_feed(ALICE, todays_feed()).await).await.unwrap();

    let view = home.home("U1").unwrap();
    let labels: Vec<String> = toggle_buttons(&view).into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        labels,
        ["Merged PRs: Shown", "Merges: Shown", "Auxiliary PRs: Shown", "< 7d: Off", "Notify complete: Off", "Notify failure: Off"]
    );
    let text = home.home_text("U1");
    // One group: #91301 heads it, merged by its merge result, every job counted.
    assert!(text.contains("Feed of *alice@clickhouse.com* · 1 PR · 🔴 1 failing"), "{text}");
    assert!(text.contains("🔴 *<https://github.com/ClickHouse/ClickHouse/pull/91301|#91301>* Vectorize arrayFold"), "{text}");
    assert!(text.contains("*CI failed* · merged · `PR` · ClickHouse/ClickHouse"), "{text}");
    assert!(text.contains("*2 failed* · 1 dropped · 2 ok · 1 skipped · 1 xpass · 2 unknown · <https://s3.amazonaws.com/"), "{text}");
    assert!(text.contains(":x: Failing: `Fast test`, `Build (amd_debug)`"), "{text}");
    // Its children, the backport of the backport included, newest first.
    let line = |needle: &str| text.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle} in {text}")).to_owned();
    let second = line("|#91320>");
    assert!(
        second.starts_with("↳ ❔ ") && second.contains("Backport #91310 to 25.8 · CI state unknown (no status) · 1 unknown"),
        "{second}"
    );
    let merge = line("merge into `master`");
    assert!(merge.starts_with("↳ 🟢 ") && merge.contains("CI passed · 1 ok · 1 xpass · 1 unknown"), "{merge}");
    let backport = line("|#91310>");
    assert!(backport.starts_with("↳ 🟡 ") && backport.contains("CI running · 1 running · 1 ok · 1 unknown"), "{backport}");
    let at = |needle: &str| text.find(needle).unwrap();
    assert!(at("|#91301>") < at("|#91320>") && at("|#91320>") < at("merge into") && at("merge into") < at("|#91310>"), "{text}");

    // Auxiliary PRs hidden: both backports go, the merge stays under #91301.
    handle(&renderer, &home.toggle("U1", Toggle::HideSecondaryPrs, true)).await.unwrap();
    let text = home.home_text("U1");
    assert!(text.contains("Auxiliary PRs: Hidden"), "{text}");
    assert!(!text.contains("|#91310>") && !text.contains("|#91320>"), "{text}");
    assert!(text.contains("|#91301>") && text.contains("merge into `master`"), "{text}");
    assert!(text.contains("Hidden by your filters: 2 auxiliary PRs"), "{text}");

    // Merged PRs hidden too: #91301 (inferred merged) goes; its merge result is now a root.
    handle(&renderer, &home.toggle("U1", Toggle::HideMergedPrs, true)).await.unwrap();
    let text = home.home_text("U1");
    assert!(text.contains("Merged PRs: Hidden") && !text.contains("|#91301>"), "{text}");
    assert!(text.contains("9b1e44c0") && text.contains("Hidden by your filters: 1 merged PR · 2 auxiliary PRs"), "{text}");

    // Auxiliary PRs shown again: the backports are back, as roots of their own now that #91301
    // is hidden (#91320 under #91310).
    handle(&renderer, &home.toggle("U1", Toggle::HideSecondaryPrs, false)).await.unwrap();
    let text = home.home_text("U1");
    assert!(text.contains("Auxiliary PRs: Shown"), "{text}");
    assert!(text.contains("Backport #91301 to 25.8 _(of #91301)_"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("↳ ❔ ") && l.contains("|#91320>")), "#91320 under #91310: {text}");
}

/// praktika's other rules end to end: *Merges* hides pushes only on master/main/release*, *< 7d*
/// hides what is older than a week, and the same PR number in two repositories is two groups.
#[tokio::test]
async fn merges_only_on_release_branches_the_last_seven_days_and_prs_per_repository() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "r1")).await.unwrap();

    let push = |sha: &str, branch: &str| {
        let mut e = example("merge-result");
        e.sha = sha.repeat(40 / sha.len());
        e.ext.branch = branch.into();
        e.ext.parent_pr_number = 0;
        e.ext.linked_pr_number = 0;
        e.ext.commit_message = format!("push to {branch}");
        e
    };
    let pr_in = |repo: &str, title: &str| {
        let mut e = example("running-today");
        e.ext.repo_name = repo.into();
        e.ext.pr_title = title.into();
        e.ext.change_url = format!("https://github.com/{repo}/pull/{}", e.ext.pr_number);
        e
    };
    let backport = {
        let mut e = pr_in("ClickHouse/keeper", "Backport to keeper 25.8");
        e.ext.pr_number = 91_399;
        e.ext.parent_pr_number = 91_301;
        e.ext.change_url = "https://github.com/ClickHouse/keeper/pull/91399".into();
        e
    };
    let mut events = recent(vec![
        push("a1", "Release-25.8"),
        push("b2", "feature/x"),
        pr_in("ClickHouse/ClickHouse", "Vectorize in ClickHouse"),
        pr_in("ClickHouse/keeper", "Same number in keeper"),
        backport,
        push("c3", "master"),
    ]);
    events[5].timestamp -= 8 * 24 * 3600; // the master push is eight days old
    handle(&renderer, &home.write_feed(ALICE, events).await).await.unwrap();

    let text = home.home_text("U1");
    assert!(text.contains("push to Release-25.8") && text.contains("push to feature/x") && text.contains("push to master"), "{text}");
    // #91301 of each repository heads its own group; the keeper backport sits under keeper's.
    let heads: Vec<&str> = text.lines().filter(|l| l.contains("|#91301>") && !l.starts_with('↳')).collect();
    assert_eq!(heads.len(), 2, "two groups for one PR number in two repositories: {text}");
    let keeper = text.find("Same number in keeper").unwrap();
    let clickhouse = text.find("Vectorize in ClickHouse").unwrap();
    let nested = text.find("Backport to keeper 25.8").unwrap();
    assert!(keeper < nested && (nested < clickhouse || clickhouse < keeper), "the backport is in keeper's group: {text}");

    handle(&renderer, &home.toggle("U1", Toggle::HideMerges, true)).await.unwrap();
    let text = home.home_text("U1");
    assert!(!text.contains("push to Release-25.8") && !text.contains("push to master"), "release and master pushes hidden: {text}");
    assert!(text.contains("push to feature/x"), "a feature-branch push stays: {text}");

    handle(&renderer, &home.toggle("U1", Toggle::HideMerges, false)).await.unwrap();
    handle(&renderer, &home.toggle("U1", Toggle::ShowLast7d, true)).await.unwrap();
    let text = home.home_text("U1");
    assert!(text.contains("< 7d: On") && !text.contains("push to master"), "the 8-day-old push is hidden: {text}");
    assert!(text.contains("push to Release-25.8") && text.contains("push to feature/x"), "{text}");
}

/// Alice's feed: the merge of #91234 (newest), then #91234 itself, merged.
fn merged_feed() -> Vec<pulse_contracts::praktika::FeedEvent> {
    let mut pr = example("completed-pr-failed-job");
    pr.ext.pr_status = Some(PrStatus::Merged);
    recent(vec![example("merge-result"), pr])
}

fn metadata_rev(view: &serde_json::Value) -> u64 {
    let meta: serde_json::Value = serde_json::from_str(view["private_metadata"].as_str().unwrap()).unwrap();
    meta["rev"].as_u64().unwrap()
}

#[tokio::test]
async fn a_toggle_is_stored_and_changes_the_view() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "r1")).await.unwrap();
    handle(&renderer, &home.write_feed(ALICE, merged_feed()).await).await.unwrap();
    let text = home.home_text("U1");
    assert!(text.contains("9b1e44c0") && text.contains("|#91234>* Speed up"), "both shown by default: {text}");

    handle(&renderer, &home.toggle("U1", Toggle::HideMerges, true)).await.unwrap();
    let stored = home.store().get("U1").await.unwrap().unwrap();
    assert!(stored.sub.preferences.hide_merges, "stored");
    assert_eq!(stored.sub.revision, 2);
    let view = home.home("U1").unwrap();
    let text = home.home_text("U1");
    assert!(toggle_buttons(&view).contains(&("toggle_hide_merges".into(), "Merges: Hidden".into())));
    assert!(!text.contains("9b1e44c0"), "the merge result is hidden: {text}");
    assert!(text.contains("|#91234>* Speed up") && text.contains("Hidden by your filters: 1 merge"), "{text}");

    handle(&renderer, &home.toggle("U1", Toggle::HideMergedPrs, true)).await.unwrap();
    let text = home.home_text("U1");
    assert!(!text.contains("|#91234>* Speed up"), "the merged PR is hidden too: {text}");
    assert!(text.contains("Nothing to show with your filters: 2 events hidden"), "{text}");

    // Off again: the merge result is back; the merged PR root stays hidden.
    handle(&renderer, &home.toggle("U1", Toggle::HideMerges, false)).await.unwrap();
    let text = home.home_text("U1");
    assert!(text.contains("9b1e44c0") && !text.contains("|#91234>* Speed up"), "{text}");

    // Notification preferences are stored, shown and announced, and filter nothing.
    handle(&renderer, &home.toggle("U1", Toggle::NotifyOnFailure, true)).await.unwrap();
    assert!(home.store().get("U1").await.unwrap().unwrap().sub.preferences.notify_on_failure);
    assert!(home.home_text("U1").contains("Notify failure: On"));
    let announced = home.announcements(5).await;
    let last = announced.last().unwrap();
    assert_eq!(last.revision, 5);
    assert!(last.preferences.notify_on_failure && last.preferences.hide_merged_prs && !last.preferences.hide_merges);
}

#[tokio::test]
async fn every_follower_of_an_email_gets_the_update() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    for (user, email) in [("U1", ALICE), ("U2", ALICE), ("U3", BOB)] {
        handle(&renderer, &home.subscribe(user, "subscribe", Some(email), user)).await.unwrap();
    }
    assert_eq!(home.store().subscribers(ALICE).await.unwrap().len(), 2);
    let bob_views = home.publishes("U3");

    handle(&renderer, &home.write_feed(ALICE, recent(vec![example("completed-pr-failed-job")])).await).await.unwrap();
    for user in ["U1", "U2"] {
        let text = home.home_text(user);
        assert!(text.contains("|#91234>* Speed up") && text.contains("*CI failed*"), "{user}: {text}");
    }
    assert_eq!(home.publishes("U3"), bob_views, "bob's follower is not bothered");
    assert!(!home.home_text("U3").contains("#91234"));

    // U2 switches to bob's feed: alice's next update reaches only U1.
    handle(&renderer, &home.subscribe("U2", "subscribe", Some(BOB), "switch")).await.unwrap();
    let u2_views = home.publishes("U2");
    handle(&renderer, &home.write_feed(ALICE, recent(vec![example("merge-result"), example("completed-pr-failed-job")])).await)
        .await
        .unwrap();
    assert!(home.home_text("U1").contains("9b1e44c0"));
    assert_eq!(home.publishes("U2"), u2_views);
}

#[tokio::test]
async fn concurrent_toggles_of_different_preferences_all_persist() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "r1")).await.unwrap();
    handle(&renderer, &home.write_feed(ALICE, merged_feed()).await).await.unwrap();

    let clicks: Vec<_> = Toggle::ALL.iter().map(|t| home.toggle("U1", *t, true)).collect();
    let results = futures::future::join_all(clicks.iter().map(|c| handle(&renderer, c))).await;
    for r in &results {
        r.as_ref().expect("every toggle succeeds");
    }

    let stored = home.store().get("U1").await.unwrap().unwrap();
    for t in Toggle::ALL {
        assert!(t.get(&stored.sub.preferences), "{} was lost", t.name());
    }
    assert_eq!(stored.sub.revision, 7, "one revision per toggle, none overwritten");
    // The view on screen shows the final state, not one of the intermediate ones.
    let view = home.home("U1").unwrap();
    assert_eq!(metadata_rev(&view), 7);
    for ((_, label), t) in toggle_buttons(&view).into_iter().zip(Toggle::ALL) {
        assert_eq!(label, t.button_label(true));
    }
    let announced = home.announcements(7).await;
    assert_eq!(announced.last().map(|a| a.revision), Some(7));
}

#[tokio::test]
async fn an_older_feed_updated_handled_after_a_newer_one_does_not_replace_the_view() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "r1")).await.unwrap();

    let older = home.write_feed(ALICE, recent(vec![example("running-pr")])).await;
    let newer = home.write_feed(ALICE, recent(vec![example("completed-pr-failed-job")])).await;
    handle(&renderer, &newer).await.unwrap();
    assert!(home.home_text("U1").contains("*CI failed*"));
    let published = home.publishes("U1");

    handle(&renderer, &older).await.unwrap();
    let text = home.home_text("U1");
    assert!(text.contains("*CI failed*") && !text.contains("CI running"), "{text}");
    assert_eq!(home.publishes("U1"), published, "nothing newer to show: no publish at all");
}

#[tokio::test]
async fn a_render_that_loses_the_race_never_overwrites_the_newer_view() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    let views = home.views();
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "r1")).await.unwrap();

    // A slow worker reads the running feed and renders...
    home.write_feed(ALICE, recent(vec![example("running-pr")])).await;
    let slow = views.prepare("U1", None, None).await.unwrap();
    assert!(crate::harness::texts(&slow.view.to_json()).contains("CI running"));
    // ...meanwhile the run completes and another worker publishes it...
    let newer = home.write_feed(ALICE, recent(vec![example("completed-pr-failed-job")])).await;
    handle(&renderer, &newer).await.unwrap();
    assert!(home.home_text("U1").contains("*CI failed*"));
    // ...then the slow worker tries to publish its older render.
    assert_eq!(views.commit(&slow, Mode::Always, false).await.unwrap(), Committed::Conflict);
    let text = home.home_text("U1");
    assert!(text.contains("*CI failed*") && !text.contains("CI running"), "the newer view stays: {text}");
    // Its retry renders afresh and finds the view already current.
    assert_eq!(views.publish("U1", Mode::IfChanged, None, None).await.unwrap(), Published::Unchanged);
}

#[tokio::test]
async fn a_stale_recorded_hash_is_recovered_from() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "r1")).await.unwrap();
    // Slack forgets the view (the recorded hash no longer matches anything).
    home.slack.reset();
    handle(&renderer, &home.home_opened("U1")).await.unwrap();
    assert!(home.home_text("U1").contains("Feed of *alice@clickhouse.com*"));
    assert!(home.slack.calls_to("views.publish").iter().any(|c| c.error.as_deref() == Some("hash_conflict")));
}

#[tokio::test]
async fn opening_the_home_tab_publishes_the_current_view() {
    let home = Home::deploy().await;
    let renderer = home.renderer();

    // Not subscribed: how to subscribe, and a Subscribe button that uses the profile email.
    handle(&renderer, &home.home_opened("U1")).await.unwrap();
    let view = home.home("U1").unwrap();
    assert!(home.home_text("U1").contains("/praktika subscribe you@example.com"));
    let actions = view["blocks"].as_array().unwrap().iter().find(|b| b["type"] == "actions").unwrap();
    assert_eq!(actions["elements"][0]["action_id"], "home_subscribe");

    // The button, without an email on the profile: the view says why.
    home.slack.add_user("U1", "u1", None);
    handle(&renderer, &home.click("U1", "home_subscribe", Some("profile"))).await.unwrap();
    assert!(home.home_text("U1").contains("Slack profile has no email"), "{}", home.home_text("U1"));

    home.slack.add_user("U1", "u1", Some(ALICE));
    home.write_feed(ALICE, recent(vec![example("completed-pr-failed-job")])).await;
    handle(&renderer, &home.click("U1", "home_subscribe", Some("profile"))).await.unwrap();
    assert!(home.home_text("U1").contains("|#91234>* Speed up"));

    // Opening the tab again republishes (fresh relative times) even with nothing new.
    let before = home.publishes("U1");
    handle(&renderer, &home.home_opened("U1")).await.unwrap();
    assert_eq!(home.publishes("U1"), before + 1);

    // The footer's Unsubscribe button.
    handle(&renderer, &home.click("U1", "home_unsubscribe", Some("unsubscribe"))).await.unwrap();
    assert!(home.home_text("U1").contains("You unsubscribed from the CI feed of alice@clickhouse.com"));
}

#[tokio::test]
async fn views_publish_rate_limited_then_accepted() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "r1")).await.unwrap();
    home.slack.inject("views.publish", Fault::RateLimited { retry_after_secs: 1 }, 1);
    handle(&renderer, &home.write_feed(ALICE, recent(vec![example("completed-pr-failed-job")])).await).await.unwrap();
    let calls = home.slack.calls_to("views.publish");
    let statuses: Vec<u16> = calls.iter().map(|c| c.status).collect();
    assert_eq!(&statuses[statuses.len() - 2..], &[429, 200], "{statuses:?}");
    assert!(home.home_text("U1").contains("|#91234>"));
}

#[tokio::test]
async fn views_publish_failing_past_the_clients_retries_is_retried_through_sqs() {
    let home = Home::deploy().await;
    let renderer = home.renderer();
    handle(&renderer, &home.subscribe("U1", "subscribe", Some(ALICE), "r1")).await.unwrap();
    // Five 503s use up the client's five attempts: the message goes back to the queue.
    home.slack.inject("views.publish", Fault::ServerError(503), 5);
    let update = home.write_feed(ALICE, recent(vec![example("completed-pr-failed-job")])).await;
    home.publish(&[update]).await;
    let stats = home.process(&renderer, 1, Duration::from_secs(60)).await;
    assert_eq!((stats.done, stats.dead_lettered), (1, 0), "{stats:?}");
    assert!(stats.retried >= 1, "the first delivery failed and was retried: {stats:?}");
    assert!(home.home_text("U1").contains("|#91234>"));
}
