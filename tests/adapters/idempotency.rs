//! IdempotencyStore against the emulator's DynamoDB.

use std::time::Duration;

use pulse_aws::idempotency::{Claim, IdempotencyStore, MAX_ERROR_BYTES, Status};
use pulse_tests::{emulator_config, unique};
use serde_json::json;

use crate::common::{create_key_table, init_tracing};

async fn store() -> IdempotencyStore {
    init_tracing();
    let client = aws_sdk_dynamodb::Client::new(&emulator_config().await);
    let table = unique("idem");
    create_key_table(&client, &table).await;
    IdempotencyStore::new(client, table)
}

#[tokio::test]
async fn claim_in_progress_complete() {
    let store = store().await;
    let key = "feed-projector:evt-1";
    assert_eq!(store.get(key).await.unwrap(), None);
    assert_eq!(store.claim(key).await.unwrap(), Claim::Acquired);

    let now_ms = chrono::Utc::now().timestamp_millis();
    match store.claim(key).await.unwrap() {
        Claim::InProgress { until } => {
            // Default in-progress expiry: 5 minutes.
            assert!(until > now_ms + 290_000 && until <= now_ms + 301_000, "until {until}, now {now_ms}");
        }
        other => panic!("expected InProgress, got {other:?}"),
    }

    let result = json!({"published": ["abc"], "n": 3});
    store.complete(key, Some(&result)).await.unwrap();
    assert_eq!(store.claim(key).await.unwrap(), Claim::AlreadyCompleted { result: Some(result.clone()) });
    assert_eq!(store.claim(key).await.unwrap(), Claim::AlreadyCompleted { result: Some(result) });

    let record = store.get(key).await.unwrap().expect("record");
    assert_eq!(record.status, Status::Completed);
    let now = chrono::Utc::now().timestamp();
    assert!((record.expires_at - (now + 7 * 24 * 3600)).abs() <= 5, "expires in 7 days");
    assert!(!record.is_expired(now));

    // Keys are independent; a result is optional.
    assert_eq!(store.claim("other").await.unwrap(), Claim::Acquired);
    store.complete("other", None).await.unwrap();
    assert_eq!(store.claim("other").await.unwrap(), Claim::AlreadyCompleted { result: None });
}

#[tokio::test]
async fn a_stale_in_progress_claim_is_taken_over() {
    let store = store().await.with_expiry(Duration::from_secs(3600), Duration::from_millis(300));
    assert_eq!(store.claim("k").await.unwrap(), Claim::Acquired);
    assert!(matches!(store.claim("k").await.unwrap(), Claim::InProgress { .. }));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(store.claim("k").await.unwrap(), Claim::Acquired, "the crashed attempt's claim expired");
    assert!(matches!(store.claim("k").await.unwrap(), Claim::InProgress { .. }), "and the new one holds");
}

#[tokio::test]
async fn an_expired_completed_record_can_be_claimed_again() {
    // Completed records expire at once; DynamoDB's TTL deletion is lazy, so the claim must
    // compare expires_at itself.
    let store = store().await.with_expiry(Duration::ZERO, Duration::from_secs(60));
    assert_eq!(store.claim("k").await.unwrap(), Claim::Acquired);
    store.complete("k", None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(store.get("k").await.unwrap().is_some(), "the emulator does not delete it");
    assert_eq!(store.claim("k").await.unwrap(), Claim::Acquired);
}

#[tokio::test]
async fn a_failed_key_can_be_claimed_again() {
    let store = store().await;
    assert_eq!(store.claim("k").await.unwrap(), Claim::Acquired);
    let long_error = format!("Slack said: {}", "ratelimited ".repeat(300));
    store.fail("k", &long_error).await.unwrap();
    let record = store.get("k").await.unwrap().expect("record");
    assert_eq!(record.status, Status::Failed);
    let last_error = record.last_error.expect("last error");
    assert_eq!(last_error.len(), MAX_ERROR_BYTES);
    assert!(long_error.starts_with(&last_error));

    assert_eq!(store.claim("k").await.unwrap(), Claim::Acquired);
    store.complete("k", Some(&json!(1))).await.unwrap();
    // A late failure report does not undo a completion.
    store.fail("k", "late").await.unwrap();
    assert_eq!(store.claim("k").await.unwrap(), Claim::AlreadyCompleted { result: Some(json!(1)) });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_have_one_winner() {
    let store = store().await;
    for round in 0..3 {
        let key = format!("race-{round}");
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let store = store.clone();
                let key = key.clone();
                tokio::spawn(async move { store.claim(&key).await.unwrap() })
            })
            .collect();
        let claims = futures::future::join_all(tasks).await;
        let acquired = claims.iter().filter(|c| matches!(c, Ok(Claim::Acquired))).count();
        let in_progress = claims.iter().filter(|c| matches!(c, Ok(Claim::InProgress { .. }))).count();
        assert_eq!((acquired, in_progress), (1, 9), "round {round}: {claims:?}");
    }
}

#[tokio::test]
async fn errors_name_the_table_and_key() {
    init_tracing();
    let client = aws_sdk_dynamodb::Client::new(&emulator_config().await);
    let table = unique("no-such-table");
    let err = IdempotencyStore::new(client, &table).claim("some-key").await.expect_err("no table");
    let text = err.to_string();
    assert!(text.contains(&table) && text.contains("some-key"), "{text}");
}
