//! `pulse forget` on the real binaries: a person with a feed, a co-authored run in someone
//! else's feed, a follower, DMs and an audit entry is asked about (dry run), forgotten, and
//! forgotten again. What the reports name is checked against what is left in S3 and DynamoDB.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::fixtures::{self, ALERT_CHANNEL, alert, email, workflow};
use crate::harness::{Scene, WorkerOptions, eventually};
use crate::seen;

const ANN: &str = "U0FORGETANN";
const BOB: &str = "U0FORGETBOB";
const KEEPERS: [&str; 3] = pulse_aws::names::KEEPERS;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_person_is_gone_from_every_service_and_a_pseudonym_in_the_audit() {
    let scene = Scene::start("forget", &[]).await;
    let tag = scene.prefix.clone();
    let (ann, bob) = (email(&tag, "ann"), email(&tag, "bob"));
    let _workers = tokio::join!(
        scene.worker("feed-projector", WorkerOptions::default()),
        scene.worker("home-renderer", WorkerOptions::default()),
        scene.worker("notifier", WorkerOptions::default()),
    );
    // Ann follows her own feed; Bob follows Ann's too (a follower of the e-mail, not the person).
    seen::subscribe(&scene, ANN, &ann, &KEEPERS).await;
    seen::subscribe(&scene, BOB, &ann, &KEEPERS).await;
    // Two runs: one Ann co-authored with Bob, which lands in Bob's feed too, naming her; then her
    // own, failed, and the newest, so her failure DM is certain whatever order the merges land in
    // (a `feed.updated` announces the feed's newest event).
    let runs = [workflow(&tag, 1, &[ann.clone(), bob.clone()], false), workflow(&tag, 2, std::slice::from_ref(&ann), true)];
    let alert = alert(&tag, 1);
    let mut batch: Vec<Value> = runs.iter().map(|r| r.envelope.clone()).collect();
    batch.push(alert.envelope.clone());
    scene.publish(&batch).await;
    assert!(scene.settle(&KEEPERS, Duration::from_secs(60)).await, "the runs did not settle");
    let dm = eventually(Duration::from_secs(30), Duration::from_millis(200), || async {
        (seen::dm_posts(&scene, ANN, &runs[1]).await >= 1).then_some(())
    })
    .await;
    assert!(dm.is_some(), "Ann got her failure DM");
    assert_eq!(scene.feed_holds(&bob, &runs[0].sha).await, 1);
    // Ann acknowledges the alert: an audit entry under her Slack id.
    let ts = eventually(Duration::from_secs(30), Duration::from_millis(200), || async {
        let posts = scene.slack.messages(ALERT_CHANNEL).await;
        posts.iter().find(|m| m.to_string().contains(&alert.title)).and_then(|m| m["ts"].as_str().map(str::to_owned))
    })
    .await
    .expect("the alert was posted");
    let alert_id = format!("fault-{tag}-1");
    scene.publish(&[fixtures::ops_click(ANN, "ops_ack", &alert_id, ALERT_CHANNEL, &ts)]).await;
    let audited = eventually(Duration::from_secs(30), Duration::from_millis(200), || async {
        (audit_users(&scene).await.contains_key(ANN)).then_some(())
    })
    .await;
    assert!(audited.is_some(), "Ann's click was audited under her id");
    assert!(scene.settle(&KEEPERS, Duration::from_secs(30)).await);
    assert!(names_anywhere(&scene, ANN, &ann).await > 0, "before: Pulse keeps Ann");
    let ann_versions = versions(&scene, &ann).await;
    assert!(ann_versions >= 2, "Ann's feed was written twice: {ann_versions} versions");

    // A dry run lists and removes nothing.
    let args = ["forget", "--email", ann.as_str(), "--slack-user", ANN, "--by", "privacy-desk"];
    let dry = scene.pulse(&[&args[..], &["--dry-run"]].concat()).await;
    assert!(dry.starts_with(&format!("Would forget {ann}, Slack user {ANN}")), "{dry}");
    assert!(
        dry.contains(&format!("feed-projector  would be deleted         {ann_versions:>5}  the person's feed (every stored version)")),
        "{dry}"
    );
    assert!(dry.contains("would be rewritten           1  co-authors' feeds naming the person"), "{dry}");
    assert!(dry.contains("home-renderer   would be deleted             1  the person's subscription and preferences"), "{dry}");
    assert!(dry.contains("would be deleted             1  subscriptions following the e-mail"), "{dry}");
    assert!(dry.contains("would be pseudonymised       1  audit entries naming the person"), "{dry}");
    assert_eq!(versions(&scene, &ann).await, ann_versions, "a dry run deletes nothing");
    assert!(names_anywhere(&scene, ANN, &ann).await > 0);

    // For real: every line of the report holds in storage.
    let report = scene.pulse(&args).await;
    assert!(report.starts_with(&format!("Forgot {ann}, Slack user {ANN}")), "{report}");
    let pseudonym = report
        .split("(now ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("the audit line names the pseudonym: {report}"))
        .to_owned();
    assert_eq!(versions(&scene, &ann).await, 0, "every version of Ann's feed is gone");
    assert!(scene.feed(&ann).await.is_none());
    let bob_feed = scene.feed(&bob).await.expect("Bob's feed stays");
    assert_eq!(bob_feed["events"][0]["ext"]["commit_authors"], serde_json::json!([bob]), "Ann left Bob's co-authored run");
    assert_eq!(versions(&scene, &bob).await, 1, "Bob's older versions, which named Ann, are gone");
    assert_eq!(names_anywhere(&scene, ANN, &ann).await, 0, "nothing in the services' tables names Ann");
    let home = table_items(&scene, &scene.names.table("home-renderer", "subscriptions")).await;
    assert!(!home.iter().any(|i| s(i, "pk") == format!("user#{BOB}") && s(i, "sk") == "sub"), "Bob follows Ann no more");
    let users = audit_users(&scene).await;
    assert!(!users.contains_key(ANN));
    assert_eq!(users.get(&pseudonym), Some(&2), "her click and the forget request itself, under one pseudonym: {users:?}");
    let audit = scene.pulse(&["audit", "list", "--json"]).await;
    assert!(audit.contains("forgotten at the request of privacy-desk"), "{audit}");

    // Again: nothing is left, and each service says so.
    let again = scene.pulse(&args).await;
    for service in KEEPERS {
        assert!(again.contains(&format!("{service:<15} nothing kept")), "{again}");
    }
    assert!(scene.dead_letter_counts().await.values().all(|n| *n == 0), "nothing dead-lettered");
}

/// How many items of the services' own tables name Ann (her Slack id or e-mail anywhere in an
/// item), the audit log's pseudonymised entries excepted.
async fn names_anywhere(scene: &Scene, user: &str, email: &str) -> usize {
    let mut n = 0;
    for (service, purpose) in [("home-renderer", "subscriptions"), ("notifier", "messages"), ("notifier", "audit")] {
        for item in table_items(scene, &scene.names.table(service, purpose)).await {
            let text = format!("{item:?}");
            if text.contains(user) || text.contains(email) {
                n += 1;
            }
        }
    }
    n
}

/// The audit log's entries per `user_id`.
async fn audit_users(scene: &Scene) -> BTreeMap<String, usize> {
    let mut users = BTreeMap::new();
    for item in table_items(scene, &scene.names.table("notifier", "audit")).await {
        *users.entry(s(&item, "user_id")).or_default() += 1;
    }
    users
}

async fn table_items(scene: &Scene, table: &str) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let client = aws_sdk_dynamodb::Client::new(&scene.sdk);
    client.scan().table_name(table).send().await.expect("scan").items.unwrap_or_default()
}

fn s(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

/// Stored versions (and delete markers) of `email`'s feed object.
async fn versions(scene: &Scene, email: &str) -> usize {
    let location = pulse_contracts::feed_layout::FeedLocation::own_bucket(scene.names.feed_bucket());
    let store = pulse_aws::s3json::GzipJsonStore::new(pulse_aws::config::s3_client(&scene.sdk), scene.names.feed_bucket());
    store.versions(&location.key(email)).await.expect("list versions").len()
}
