//! The stack's schedules: the plan shows each one's next run, and the local scheduler fires a
//! deployed one as EventBridge would, so a `digest.tick` envelope reaches the notifier's queue.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pulse_contracts::{DigestPeriod, Event};
use pulse_infra_reconciler::local_scheduler::{deployed, fire};
use pulse_infra_reconciler::schedule::deliver::TargetInput;

use crate::common::Env;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn the_plan_shows_each_schedules_next_run() {
    let env = Env::new().await;
    let mut plan = env.plan().await;
    // Friday 4 December 2026, before 13:00: the daily digest runs today, the weekly on Monday.
    plan.planned_at = at("2026-12-04T10:37:20Z");
    let text = plan.to_string();
    let line = |name: &str| {
        let name = format!(" {} ·", env.name(name));
        text.lines().find(|l| l.contains(&name)).unwrap_or_else(|| panic!("no line with{name} in\n{text}")).to_owned()
    };
    let daily = line("digest-daily");
    assert!(daily.contains(" create ") && daily.contains(" Schedule "), "{daily}");
    assert!(daily.ends_with(&format!("{} · next run 2026-12-04 13:00 UTC", env.name("digest-daily"))), "{daily}");
    let weekly = line("digest-weekly");
    assert!(weekly.ends_with("· next run 2026-12-07 13:00 UTC"), "{weekly}");
    // Other kinds say nothing of runs.
    assert_eq!(text.matches("next run").count(), 2, "{text}");

    let json = plan.to_json();
    let entry = json["entries"].as_array().unwrap().iter().find(|e| e["name"] == env.name("digest-weekly")).unwrap();
    assert_eq!(entry["next_run"], "2026-12-07T13:00:00Z");
}

#[tokio::test]
async fn a_fired_digest_schedule_delivers_a_digest_tick_to_the_notifier() {
    let env = Env::new().await;
    env.deploy().await;

    // What the emulator holds: both digest schedules, each with the notifier's queue as target
    // and the stack's input transformer.
    let schedules = deployed(&env.clients, &env.prefix).await.expect("list the deployed schedules");
    let names: Vec<&str> = schedules.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, [env.name("digest-daily"), env.name("digest-weekly")]);
    let daily = &schedules[0];
    assert_eq!(daily.expression, "cron(0 13 * * ? *)");
    assert!(daily.enabled);
    assert_eq!(daily.targets.len(), 1);
    assert!(daily.targets[0].arn.ends_with(&format!(":{}", env.name("notifier"))), "{:?}", daily.targets[0]);
    assert!(matches!(daily.targets[0].input, TargetInput::Transformer { .. }), "{:?}", daily.targets[0].input);

    let cx = env.clients.context().await.unwrap();
    let time = at("2026-12-04T13:00:00Z");
    let event_id = uuid::Uuid::new_v4();
    let delivered = fire(&env.clients, &cx, daily, time, &event_id.to_string()).await.expect("fire");
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].queue, env.name("notifier"));

    // In the queue: a digest.tick v1 envelope the notifier parses, with the template's dedup key.
    let bodies = env.receive(&env.name("notifier"), 1, Duration::from_secs(10)).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let envelope = pulse_contracts::from_sqs_body_validated(&bodies[0].to_string()).expect("a valid envelope");
    assert_eq!(envelope.id, event_id);
    assert_eq!(envelope.event_type, "digest.tick");
    assert_eq!(envelope.version, 1);
    assert_eq!(envelope.occurred_at, time);
    assert_eq!(envelope.dedup_key, "digest.tick:daily:2026-12-04T13:00:00Z");
    let Event::DigestTickV1(tick) = envelope.detail else { panic!("not a digest tick: {:?}", envelope.detail) };
    assert_eq!(tick.period, DigestPeriod::Daily);
    assert_eq!(tick.scheduled_for, time);
}
