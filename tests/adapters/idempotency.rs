//! IdempotencyStore (claims with attempts and leases) against the emulator's DynamoDB.

use std::time::Duration;

use pulse_aws::idempotency::{Claim, IdempotencyStore, MAX_ERROR_BYTES, Status};
use pulse_core::Clock;
use pulse_tests::{emulator_config, unique};
use serde_json::json;

use crate::common::{create_key_table, init_tracing};

async fn store() -> IdempotencyStore {
    init_tracing();
    let client = aws_sdk_dynamodb::Client::new(&emulator_config().await);
    let table = unique("idem");
    create_key_table(&client, &table).await;
    IdempotencyStore::new(client, table, Clock::system())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn in_secs(secs: i64) -> i64 {
    now_ms() + secs * 1000
}

#[tokio::test]
async fn a_live_lease_holds_and_completion_is_final() {
    let store = store().await;
    assert_eq!(store.claim("k", "a1", in_secs(60)).await.unwrap(), Claim::Acquired { died: 0, previous: None });
    match store.claim("k", "a2", in_secs(60)).await.unwrap() {
        Claim::Held { attempt, until_ms } => {
            assert_eq!(attempt.as_deref(), Some("a1"));
            assert!(until_ms > now_ms() + 50_000);
        }
        other => panic!("expected the key held, got {other:?}"),
    }
    let result = json!({"phase": "completed"});
    store.complete("k", "a1", Some(&result)).await.unwrap();
    assert_eq!(store.claim("k", "a3", in_secs(60)).await.unwrap(), Claim::Completed { result: Some(result) });
    let record = store.get("k").await.unwrap().expect("record");
    assert_eq!((record.status, record.attempt.as_deref()), (Status::Completed, Some("a1")));
}

#[tokio::test]
async fn an_ended_lease_is_taken_over_and_counted_as_a_death() {
    let store = store().await;
    assert_eq!(store.claim("k", "a1", now_ms() + 300).await.unwrap(), Claim::Acquired { died: 0, previous: None });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        store.claim("k", "a2", now_ms() + 300).await.unwrap(),
        Claim::Acquired { died: 1, previous: Some("a1".into()) },
        "a1 died holding it"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(store.claim("k", "a3", in_secs(60)).await.unwrap(), Claim::Acquired { died: 2, previous: Some("a2".into()) });
    // The dead attempt's late settling changes nothing: a3 holds the key.
    store.fail("k", "a1", "too late").await.unwrap();
    assert!(matches!(store.claim("k", "a4", in_secs(60)).await.unwrap(), Claim::Held { .. }));
    store.complete("k", "a3", None).await.unwrap();
    assert_eq!(store.get("k").await.unwrap().unwrap().died, 0, "a completion forgets the deaths");
}

#[tokio::test]
async fn a_heartbeat_extends_only_its_own_lease() {
    let store = store().await;
    store.claim("k", "a1", now_ms() + 500).await.unwrap();
    assert!(store.extend("k", "a1", in_secs(60)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(matches!(store.claim("k", "a2", in_secs(60)).await.unwrap(), Claim::Held { .. }), "the extended lease still holds");
    assert!(!store.extend("k", "a2", in_secs(60)).await.unwrap(), "a2 does not hold the key");
}

#[tokio::test]
async fn a_failed_key_is_taken_at_once_and_a_dead_lettered_one_starts_afresh() {
    let store = store().await;
    store.claim("k", "a1", now_ms() + 100).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(store.claim("k", "a2", in_secs(60)).await.unwrap(), Claim::Acquired { died: 1, previous: Some("a1".into()) });
    let long_error = "x".repeat(5000);
    store.fail("k", "a2", &long_error).await.unwrap();
    let record = store.get("k").await.unwrap().unwrap();
    assert_eq!(record.status, Status::Failed);
    assert_eq!(record.last_error.unwrap().len(), MAX_ERROR_BYTES);
    assert_eq!(store.claim("k", "a3", in_secs(60)).await.unwrap(), Claim::Acquired { died: 1, previous: None }, "a failure is not a death");
    store.dead_lettered("k", "a3", "attempt did not finish 5 times").await.unwrap();
    assert_eq!(store.get("k").await.unwrap().unwrap().status, Status::DeadLettered);
    assert_eq!(store.claim("k", "a4", in_secs(60)).await.unwrap(), Claim::Acquired { died: 0, previous: None }, "a replay is a fresh try");
}

#[tokio::test]
async fn an_expired_completed_record_can_be_claimed_again() {
    // Records expire at once; DynamoDB's TTL deletion is lazy, so the claim must compare
    // expires_at itself.
    let store = store().await.with_retention(Duration::ZERO);
    store.claim("k", "a1", in_secs(60)).await.unwrap();
    store.complete("k", "a1", None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(store.claim("k", "a2", in_secs(60)).await.unwrap(), Claim::Acquired { died: 0, previous: None });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_and_takeovers_have_one_winner() {
    let store = store().await;
    for round in 0..3 {
        let key = format!("race-{round}");
        if round == 2 {
            // A dead attempt's key: ten takers race for it.
            store.claim(&key, "dead", now_ms() + 50).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let (store, key) = (store.clone(), key.clone());
                tokio::spawn(async move { store.claim(&key, &format!("a{i}"), in_secs(60)).await.unwrap() })
            })
            .collect();
        let claims = futures::future::join_all(tasks).await;
        let acquired = claims.iter().filter(|c| matches!(c, Ok(Claim::Acquired { .. }))).count();
        let held = claims.iter().filter(|c| matches!(c, Ok(Claim::Held { .. }))).count();
        assert_eq!((acquired, held), (1, 9), "round {round}: {claims:?}");
    }
}

#[tokio::test]
async fn errors_name_the_table_and_key() {
    init_tracing();
    let client = aws_sdk_dynamodb::Client::new(&emulator_config().await);
    let table = unique("no-such-table");
    let err = IdempotencyStore::new(client, &table, Clock::system()).claim("some-key", "a1", in_secs(60)).await.expect_err("no table");
    let text = err.to_string();
    assert!(text.contains(&table) && text.contains("some-key"), "{text}");
}
