//! Reading effects back: what the fake Slack shows (posts, DMs, Home views) and what the bus
//! carried, per expected item.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::fixtures::{Alert, Run};
use crate::harness::Scene;
use crate::tally::Tally;

/// Messages in `channel` (a user id: the DM with them) whose content contains `text`: what
/// took effect in Slack, as the fake stores it.
pub async fn posts(scene: &Scene, channel: &str, text: &str) -> usize {
    scene.slack.messages(channel).await.iter().filter(|m| m.to_string().contains(text)).count()
}

/// Every alert posted to its channel: one effect item each.
pub async fn count_alerts(scene: &Scene, tally: &mut Tally, alerts: &[Alert]) {
    for alert in alerts {
        let n = posts(scene, crate::fixtures::ALERT_CHANNEL, &alert.title).await;
        tally.effect(format!("post {}", alert.dedup_key), n);
    }
}

/// The failure DM of `run` to `user`: one effect item.
pub async fn count_dm(scene: &Scene, tally: &mut Tally, user: &str, run: &Run) {
    let n = dm_posts(scene, user, run).await;
    tally.effect(format!("dm {user} {}", run.dedup_key), n);
}

/// DMs to `user` that name `run` (its PR number or short sha).
pub async fn dm_posts(scene: &Scene, user: &str, run: &Run) -> usize {
    let pr = run.pr.to_string();
    let short = &run.sha[..7];
    scene
        .slack
        .messages(user)
        .await
        .iter()
        .filter(|m| {
            let text = m.to_string();
            text.contains(&pr) || text.contains(short)
        })
        .count()
}

/// Every DM `user` received.
pub async fn dms(scene: &Scene, user: &str) -> usize {
    scene.slack.messages(user).await.len()
}

/// Each run in each author's feed (S3) and its `feed.updated` per author on the bus.
pub async fn count_feeds(scene: &Scene, tally: &mut Tally, runs: &[Run]) {
    for run in runs {
        for author in &run.authors {
            tally.effect(format!("feed {author} {}", run.sha), scene.feed_holds(author, &run.sha).await);
            let key = run.feed_updated_key(author);
            tally.bus_event(&key, scene.on_bus(&key).await);
        }
    }
}

/// Which of `prs` a view shows.
pub fn prs_shown(view: &Value, prs: &[u64]) -> BTreeSet<u64> {
    let text = view.to_string();
    prs.iter().copied().filter(|pr| text.contains(&format!("#{pr}")) || text.contains(&format!("/pull/{pr}"))).collect()
}

/// The Home views the fake Slack accepted for `user`, in order (the `view` argument of each
/// successful `views.publish`).
pub async fn home_views(scene: &Scene, user: &str) -> Vec<Value> {
    scene
        .slack
        .succeeded("views.publish")
        .await
        .into_iter()
        .filter(|c| c["user"].as_str() == Some(user) || c["body"]["user_id"].as_str() == Some(user))
        .map(|c| c["body"]["view"].clone())
        .collect()
}

/// The Home tab's history for `user` against the runs in order: the views never go back (each
/// shows a superset of the PRs the previous one showed), no state is published twice (same
/// subscription revision and feed version in `private_metadata`), the last one shows every
/// run. With `stepwise` (the runs were published one at a time, each after the previous one's
/// view), each state "runs 1..=k" (k >= 1) is published exactly once (one effect item per k).
pub async fn count_home(scene: &Scene, tally: &mut Tally, user: &str, runs: &[Run], stepwise: bool) {
    let prs: Vec<u64> = runs.iter().map(|r| r.pr).collect();
    let views = home_views(scene, user).await;
    let shown: Vec<BTreeSet<u64>> = views.iter().map(|v| prs_shown(v, &prs)).collect();
    for pair in shown.windows(2) {
        assert!(pair[1].is_superset(&pair[0]), "an older Home view replaced a newer one for {user}: {shown:?}");
    }
    let metas: Vec<String> = views.iter().map(|v| v["private_metadata"].as_str().unwrap_or_default().to_owned()).collect();
    let distinct: BTreeSet<&String> = metas.iter().collect();
    tally.note("home_views", views.len());
    tally.effect(format!("home {user} distinct states"), if distinct.len() == metas.len() { 1 } else { 2 });
    for k in (1..=prs.len()).filter(|_| stepwise) {
        let want: BTreeSet<u64> = prs[..k].iter().copied().collect();
        tally.effect(format!("home {user} shows runs 1..={k}"), shown.iter().filter(|s| **s == want).count());
    }
    let last = scene.slack.home(user).await.map(|v| prs_shown(&v, &prs)).unwrap_or_default();
    assert_eq!(last, prs.iter().copied().collect(), "the Home tab of {user} does not show the newest state");
}

/// `deploy.status` started and completed of `deploy` on the bus: two effect items.
pub async fn count_deploy(scene: &Scene, tally: &mut Tally, deploy: &crate::fixtures::Deploy) {
    for phase in ["started", "completed"] {
        let key = deploy.status_key(phase);
        tally.bus_event(&key, scene.on_bus(&key).await);
    }
    let failed = scene.on_bus(&deploy.status_key("failed")).await;
    assert_eq!(failed, 0, "the deploy {} failed: see the infra-reconciler's log", deploy.deploy_id);
}

/// `/praktika subscribe <email>` by `user` through the home-renderer, then a click on "Notify
/// failure" (the home-renderer announces both as `subscription.changed`, which the notifier
/// projects); waits until both took effect and the queues of `running` (the consumers this test
/// runs) are drained.
pub async fn subscribe(scene: &Scene, user: &str, email: &str, running: &[&str]) {
    use std::time::Duration;
    let response_id = format!("sub-{user}");
    let command = crate::fixtures::subscribe_command(user, email, &scene.slack.response_url(&response_id));
    scene.publish(std::slice::from_ref(&command)).await;
    let answered = crate::harness::eventually(Duration::from_secs(30), Duration::from_millis(100), || async {
        let replies = scene.slack.calls("response_url").await;
        replies.iter().any(|c| c["response_id"].as_str() == Some(response_id.as_str())).then_some(())
    })
    .await;
    assert!(answered.is_some(), "the home-renderer never answered /praktika subscribe for {user}");
    scene.publish(&[crate::fixtures::home_toggle(user, "toggle_notify_on_failure", "on")]).await;
    let announced = crate::harness::eventually(Duration::from_secs(30), Duration::from_millis(100), || async {
        (subscription_revisions(scene, user).await.len() >= 2).then_some(())
    })
    .await;
    assert!(announced.is_some(), "the home-renderer never announced the toggle of {user}");
    assert!(scene.settle(running, Duration::from_secs(30)).await, "the subscription did not settle");
}

/// The `subscription.changed` events of `user` on the bus: dedup key → copies.
pub async fn subscription_revisions(scene: &Scene, user: &str) -> std::collections::BTreeMap<String, usize> {
    let mut keys = std::collections::BTreeMap::new();
    for t in scene.tap(std::time::Duration::ZERO).await {
        if t.detail_type.starts_with("subscription.changed") && t.dedup_key.contains(user) {
            *keys.entry(t.dedup_key).or_default() += 1;
        }
    }
    keys
}

/// [`subscribe`] took effect once: one reply on its response URL, and the two revisions
/// (subscribed, then the toggle) once each on the bus.
pub async fn count_subscription(scene: &Scene, tally: &mut Tally, user: &str) {
    let response_id = format!("sub-{user}");
    let replies = scene.slack.succeeded("response_url").await;
    tally.effect(format!("reply {user}"), replies.iter().filter(|c| c["response_id"].as_str() == Some(response_id.as_str())).count());
    let revisions = subscription_revisions(scene, user).await;
    assert_eq!(revisions.len(), 2, "subscription.changed of {user}: {revisions:?}");
    for (key, copies) in revisions {
        tally.bus_event(&key, copies);
    }
}
