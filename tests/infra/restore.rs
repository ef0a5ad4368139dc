//! Tables that can be restored: the stack declares point-in-time recovery and deletion
//! protection on every table that is not a cache, and versioning with a lifecycle rule on the
//! feed bucket; the reconciler deploys and drift-checks them, and `restore_table` (what
//! `pulse infra restore-table` runs) restores one into a new table.

use aws_sdk_dynamodb::types::{AttributeValue, PointInTimeRecoverySpecification};
use pulse_infra_reconciler::restore::restore_table;
use pulse_infra_reconciler::{Clients, Kind, LoadOptions, PlanOptions, StackConfig, plan};
use pulse_tests::{deploy_stack, emulator_config, unique};

/// The tables that hold state worth restoring; the others are dedup records kept for days.
const PROTECTED: [&str; 3] = ["home-renderer-subscriptions", "notifier-messages", "notifier-audit"];

#[tokio::test]
async fn protected_tables_and_the_versioned_feed_bucket_are_deployed_and_drift_is_seen() {
    let prefix = unique("pitr");
    let names = deploy_stack(&prefix, false).await;
    let config = emulator_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    for table in PROTECTED {
        let name = format!("{prefix}-{table}");
        let described = dynamo.describe_table().table_name(&name).send().await.unwrap();
        assert_eq!(described.table().and_then(|t| t.deletion_protection_enabled()), Some(true), "{name}");
        let backups = dynamo.describe_continuous_backups().table_name(&name).send().await.unwrap();
        let status = backups
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|d| d.point_in_time_recovery_status())
            .cloned();
        assert_eq!(status.map(|s| s.as_str().to_owned()).as_deref(), Some("ENABLED"), "{name}");
    }
    let deleted = dynamo.delete_table().table_name(format!("{prefix}-notifier-audit")).send().await;
    assert!(deleted.is_err(), "deletion protection refuses DeleteTable");

    let s3 = pulse_aws::config::s3_client(&config);
    let versioning = s3.get_bucket_versioning().bucket(names.feed_bucket()).send().await.unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let lifecycle = s3.get_bucket_lifecycle_configuration().bucket(names.feed_bucket()).send().await.unwrap();
    let rule = lifecycle.rules().iter().find(|r| r.id() == Some("pulse-noncurrent-versions")).expect("the rule");
    assert_eq!(rule.noncurrent_version_expiration().and_then(|e| e.noncurrent_days()), Some(30));
    let state = lifecycle.rules().iter().find(|r| r.id() == Some("pulse-expire:pulse-github-state/")).expect("the GitHub state rule");
    assert_eq!(state.filter().and_then(|f| f.prefix()), Some("pulse-github-state/"));
    assert_eq!(state.expiration().and_then(|e| e.days()), Some(30));

    // Someone turns recovery off by hand: the plan shows it, a deploy turns it back on.
    let spec = PointInTimeRecoverySpecification::builder().point_in_time_recovery_enabled(false).build().unwrap();
    dynamo
        .update_continuous_backups()
        .table_name(format!("{prefix}-notifier-audit"))
        .point_in_time_recovery_specification(spec)
        .send()
        .await
        .unwrap();
    let stack = StackConfig::pulse(&LoadOptions::new(&prefix)).unwrap();
    let clients = Clients::new(&config);
    let drift = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    let changed: Vec<String> =
        drift.entries.iter().filter(|e| !e.change.is_no_change()).map(|e| format!("{} {:?}", e.id, e.change)).collect();
    assert_eq!(changed.len(), 1, "{changed:#?}");
    assert!(changed[0].contains("notifier-audit") && changed[0].contains("PointInTimeRecovery"), "{changed:#?}");
    pulse_infra_reconciler::apply(&drift, &clients, |_| {}).await.unwrap();
    let again = plan(&stack, &clients, &PlanOptions::default()).await.unwrap();
    assert!(again.entries.iter().all(|e| e.change.is_no_change()), "a deploy repairs the drift");
}

/// The feed bucket's lifecycle rules (noncurrent versions, GitHub commit states): a second plan
/// changes nothing, and rules removed by hand are seen as drift and written back together.
#[tokio::test]
async fn the_feed_bucket_lifecycle_rules_are_idempotent_and_drift_is_repaired() {
    let prefix = unique("lcy");
    let names = deploy_stack(&prefix, false).await;
    let config = emulator_config().await;
    let s3 = pulse_aws::config::s3_client(&config);
    let stack = StackConfig::pulse(&LoadOptions::new(&prefix)).unwrap();
    let clients = Clients::new(&config);
    let only_bucket = PlanOptions::only([Kind::Bucket]);
    let second = plan(&stack, &clients, &only_bucket).await.unwrap();
    assert!(second.entries.iter().all(|e| e.change.is_no_change()), "a second deploy changes nothing: {:#?}", second.entries);

    s3.delete_bucket_lifecycle().bucket(names.feed_bucket()).send().await.unwrap();
    let drift = plan(&stack, &clients, &only_bucket).await.unwrap();
    let changed: Vec<_> = drift.entries.iter().filter(|e| !e.change.is_no_change()).collect();
    assert_eq!(changed.len(), 1, "{changed:#?}");
    assert!(changed[0].change.touches("ExpirePrefixes") && changed[0].change.touches("NoncurrentVersionExpirationDays"), "{changed:#?}");
    pulse_infra_reconciler::apply(&drift, &clients, |_| {}).await.unwrap();

    let lifecycle = s3.get_bucket_lifecycle_configuration().bucket(names.feed_bucket()).send().await.unwrap();
    let mut ids: Vec<_> = lifecycle.rules().iter().filter_map(|r| r.id()).collect();
    ids.sort();
    assert_eq!(ids, ["pulse-expire:pulse-github-state/", "pulse-noncurrent-versions"]);
    let again = plan(&stack, &clients, &only_bucket).await.unwrap();
    assert!(again.entries.iter().all(|e| e.change.is_no_change()), "a deploy repairs the drift");
}

#[tokio::test]
async fn a_table_is_restored_into_a_new_one_and_a_table_without_recovery_is_refused() {
    let prefix = unique("rst");
    deploy_stack(&prefix, false).await;
    let config = emulator_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let audit = format!("{prefix}-notifier-audit");
    for i in 0..3 {
        dynamo
            .put_item()
            .table_name(&audit)
            .item("pk", AttributeValue::S(format!("alert#a{i}")))
            .item("sk", AttributeValue::S(format!("2026-12-03T10:0{i}:00Z#k{i}")))
            .item("user_id", AttributeValue::S("U0DANAOPS1".into()))
            .send()
            .await
            .unwrap();
    }
    let clients = Clients::new(&config);
    let target = format!("{audit}-restored");
    let restored = restore_table(&clients, &audit, &target, None).await.expect("restored");
    assert_eq!((restored.items, restored.target.as_str()), (3, target.as_str()));
    let item = dynamo
        .get_item()
        .table_name(&target)
        .key("pk", AttributeValue::S("alert#a1".into()))
        .key("sk", AttributeValue::S("2026-12-03T10:01:00Z#k1".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(item.item().and_then(|i| i.get("user_id")).and_then(|v| v.as_s().ok()).map(String::as_str), Some("U0DANAOPS1"));

    let err = restore_table(&clients, &audit, &target, None).await.unwrap_err().to_string();
    assert!(err.contains("exists already"), "{err}");
    let err =
        restore_table(&clients, &format!("{prefix}-notifier-idempotency"), &format!("{prefix}-x"), None).await.unwrap_err().to_string();
    assert!(err.contains("point-in-time recovery is off") && err.contains("notifier-idempotency"), "{err}");
}
