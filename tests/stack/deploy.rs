//! Plan on an empty account, apply, re-plan, re-apply; `--only`.

use std::collections::BTreeMap;

use pulse_infra_reconciler::{Change, Kind, Outcome, PlanOptions, ResourceId, apply};

use crate::common::{Env, STACK_SIZE, count};

#[tokio::test]
async fn a_fresh_stack_is_created_then_left_alone() {
    let env = Env::new().await;

    let first = env.plan().await;
    assert_eq!(first.entries.len(), STACK_SIZE);
    assert_eq!(count(&first, |c| *c == Change::Create), STACK_SIZE, "{first}");
    assert_eq!(first.api_calls.write, 0, "planning must only read: {:?}", first.api_calls);
    assert!(first.api_calls.read > 0);
    let text = first.to_string();
    assert!(text.contains(&format!("+ create     Queue        {}-notifier\n", env.prefix)), "{text}");

    let mut order: Vec<ResourceId> = Vec::new();
    let report = apply(&first, &env.clients, |p| {
        assert_eq!(p.outcome, Outcome::Created, "{p}");
        order.push(p.id.clone());
    })
    .await
    .expect("apply");
    assert_eq!(report.created.len(), STACK_SIZE);
    assert!(report.updated.is_empty() && report.unchanged.is_empty() && report.not_attempted.is_empty());
    assert!(report.api_calls.write >= STACK_SIZE as u64, "{:?}", report.api_calls);

    // Dependency order: each resource after everything it depends on.
    let position: BTreeMap<&ResourceId, usize> = order.iter().enumerate().map(|(i, id)| (id, i)).collect();
    for entry in &first.entries {
        for dep in &entry.depends_on {
            assert!(position[dep] < position[&entry.id], "{} was applied before {dep}", entry.id);
        }
    }
    let at = |kind, suffix: &str| position[&ResourceId::new(kind, env.name(suffix))];
    assert!(at(Kind::Queue, "notifier-dlq") < at(Kind::Queue, "notifier"));
    assert!(at(Kind::Queue, "notifier") < at(Kind::QueuePolicy, "notifier"));
    assert!(at(Kind::QueuePolicy, "notifier") < at(Kind::Rule, "feed-updated"));
    assert!(at(Kind::QueuePolicy, "home-renderer") < at(Kind::Rule, "feed-updated"));
    assert!(at(Kind::EventBus, "bus") < at(Kind::Rule, "ci-workflow"));
    assert!(at(Kind::QueuePolicy, "notifier") < at(Kind::Schedule, "digest-daily"));

    let second = env.plan().await;
    assert_eq!(count(&second, Change::is_no_change), STACK_SIZE, "{second}");
    assert!(!second.has_changes());
    assert_eq!(second.api_calls.write, 0);
    assert!(second.to_string().contains(&format!("0 to create, 0 to update, {STACK_SIZE} unchanged")));

    let mut unchanged = 0;
    let again = apply(&second, &env.clients, |p| {
        assert_eq!(p.outcome, Outcome::Unchanged);
        unchanged += 1;
    })
    .await
    .expect("no-op apply");
    assert_eq!(unchanged, STACK_SIZE);
    assert_eq!(again.api_calls.write, 0, "a no-op deploy made writes: {:?}", again.api_calls.writes());
    assert_eq!(again.api_calls.total(), 0);
    assert_eq!(again.unchanged.len(), STACK_SIZE);

    // The JSON form carries the same facts.
    let json = second.to_json();
    assert_eq!(json["summary"]["no_change"], STACK_SIZE);
    assert_eq!(json["entries"][0]["action"], "no_change");
    assert_eq!(json["api_calls"]["write"], 0);
}

#[tokio::test]
async fn only_plans_the_selected_kinds() {
    let env = Env::new().await;
    let queues = env.plan_with(&PlanOptions::only([Kind::Queue])).await;
    assert_eq!(queues.entries.len(), 9, "a work queue and a DLQ per consumer, and the forget reports");
    assert!(queues.entries.iter().all(|e| e.id.kind == Kind::Queue && e.change == Change::Create));

    let two = env.plan_with(&PlanOptions::only([Kind::Table, Kind::Bucket])).await;
    assert_eq!(two.entries.len(), 9);
    assert!(two.entries.iter().all(|e| matches!(e.id.kind, Kind::Table | Kind::Bucket)));

    // Apply just the queues: a full plan then creates everything else and leaves them.
    apply(&queues, &env.clients, |_| {}).await.unwrap();
    let all = env.plan().await;
    for e in &all.entries {
        let expected = if e.id.kind == Kind::Queue { Change::NoChange } else { Change::Create };
        assert_eq!(e.change, expected, "{}", e.id);
    }
}
