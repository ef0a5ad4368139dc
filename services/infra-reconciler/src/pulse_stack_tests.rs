//! `infra/pulse-stack.json` against `pulse_aws::names::StackNames` and the routing the design
//! asks for.

use std::collections::BTreeSet;

use pulse_aws::names::{CONSUMERS, StackNames};
use serde_json::Value;

use crate::config::{LoadOptions, StackConfig};
use crate::kinds::ResourceSpec;
use crate::model::Kind;

const PREFIX: &str = "unit7";

fn stack() -> StackConfig {
    StackConfig::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/pulse-stack.json"), &LoadOptions::new(PREFIX))
        .expect("infra/pulse-stack.json loads")
}

fn set<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> BTreeSet<String> {
    items.into_iter().map(Into::into).collect()
}

/// The tables each service owns, as `(service, purpose)` for `StackNames::table`.
const TABLES: [(&str, &str); 8] = [
    ("ingress", "envelopes"),
    ("feed-projector", "idempotency"),
    ("home-renderer", "idempotency"),
    ("home-renderer", "subscriptions"),
    ("notifier", "idempotency"),
    ("notifier", "messages"),
    ("notifier", "audit"),
    ("infra-reconciler", "idempotency"),
];

/// Each work queue's visibility timeout: 6 × its function's timeout in
/// `infra/examples/pulse-deployment.json` (see [`crate::queue_visibility`]).
const VISIBILITY: [(&str, u32); 4] = [("feed-projector", 180), ("home-renderer", 180), ("notifier", 360), ("infra-reconciler", 360)];

#[test]
fn the_built_in_copy_is_the_file() {
    let on_disk = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/pulse-stack.json")).unwrap();
    assert_eq!(on_disk, crate::PULSE_STACK_JSON);
    StackConfig::pulse(&LoadOptions::new("pulse")).unwrap();
}

#[test]
fn names_match_stack_names() {
    let stack = stack();
    let names = StackNames::new(PREFIX);
    assert_eq!(set(stack.names(Kind::EventBus)), set([names.bus()]));
    let mut queues: BTreeSet<String> = CONSUMERS.iter().flat_map(|c| [names.queue(c), names.dead_letter_queue(c)]).collect();
    queues.insert(names.forget_reports());
    assert_eq!(set(stack.names(Kind::Queue)), queues);
    let mut policies = set(CONSUMERS.map(|c| names.queue(c)));
    policies.insert(names.forget_reports());
    assert_eq!(set(stack.names(Kind::QueuePolicy)), policies);
    assert_eq!(set(stack.names(Kind::Table)), set(TABLES.map(|(s, p)| names.table(s, p))));
    assert_eq!(set(stack.names(Kind::Bucket)), set([names.feed_bucket()]));
}

#[test]
fn each_work_queue_redrives_to_its_own_dlq() {
    let stack = stack();
    let names = StackNames::new(PREFIX);
    for c in CONSUMERS {
        let queue = stack.resources.iter().find_map(|d| match &d.spec {
            ResourceSpec::Queue(q) if q.name == names.queue(c) => Some(q),
            _ => None,
        });
        let queue = queue.unwrap_or_else(|| panic!("queue for {c}"));
        let dl = queue.dead_letter.as_ref().expect("a dead-letter queue");
        assert_eq!(dl.queue, names.dead_letter_queue(c));
        assert_eq!(dl.max_receive_count, 5);
        assert_eq!(queue.visibility_timeout_seconds, Some(VISIBILITY.iter().find(|(s, _)| *s == c).unwrap().1), "{c}");
        assert_eq!(queue.receive_wait_time_seconds, Some(20));
        let dlq = stack.resources.iter().find_map(|d| match &d.spec {
            ResourceSpec::Queue(q) if q.name == names.dead_letter_queue(c) => Some(q),
            _ => None,
        });
        assert_eq!(dlq.unwrap().message_retention_seconds, Some(14 * 24 * 3600));
    }
}

#[test]
fn every_table_has_ttl_and_the_subscriptions_index() {
    let stack = stack();
    for d in &stack.resources {
        if let ResourceSpec::Table(t) = &d.spec {
            assert_eq!(t.ttl_attribute.as_deref(), Some("expires_at"), "{}", t.name);
            assert_eq!(t.partition_key.name, "pk");
        }
    }
    let subs = stack
        .resources
        .iter()
        .find_map(|d| match &d.spec {
            ResourceSpec::Table(t) if t.name.ends_with("-home-renderer-subscriptions") => Some(t),
            _ => None,
        })
        .unwrap();
    assert_eq!(subs.sort_key.as_ref().map(|k| k.name.as_str()), Some("sk"));
    let gsi = &subs.global_secondary_indexes.as_ref().unwrap()[0];
    assert_eq!((gsi.name.as_str(), gsi.partition_key.name.as_str()), ("by-email", "email"));
}

/// The queues (by service) a detail-type reaches, evaluating the rules' `detail-type` prefix
/// patterns the way EventBridge does.
fn route(stack: &StackConfig, detail_type: &str) -> BTreeSet<String> {
    let mut reached = BTreeSet::new();
    for d in &stack.resources {
        let ResourceSpec::Rule(rule) = &d.spec else { continue };
        let filters = rule.event_pattern["detail-type"].as_array().cloned().unwrap_or_default();
        let matches = filters.iter().any(|f| match f {
            Value::String(s) => s == detail_type,
            Value::Object(o) => o.get("prefix").and_then(Value::as_str).is_some_and(|p| detail_type.starts_with(p)),
            _ => false,
        });
        if matches {
            for t in &rule.targets {
                reached.insert(t.queue.trim_start_matches(&format!("{PREFIX}-")).to_owned());
            }
        }
    }
    reached
}

#[test]
fn events_reach_the_services_that_consume_them() {
    let stack = stack();
    let cases: [(&str, &[&str]); 23] = [
        ("ci.workflow.v1", &["feed-projector"]),
        ("github.workflow_run.v1", &["feed-projector", "notifier"]),
        ("github.workflow_job.v1", &["feed-projector", "notifier"]),
        ("github.workflow_runner.v1", &[]),
        ("feed.written.v1", &["feed-projector"]),
        ("ci.workflow.v99", &["feed-projector"]),
        ("feed.updated.v1", &["home-renderer", "notifier"]),
        ("slack.home_opened.v1", &["home-renderer"]),
        ("slack.command.v1", &["home-renderer", "notifier"]),
        ("slack.interaction.v1", &["home-renderer", "notifier"]),
        ("subscription.changed.v1", &["notifier"]),
        ("subscription.imported.v1", &["home-renderer", "notifier"]),
        ("ops.alert.v1", &["notifier"]),
        ("ci.job.v1", &["notifier"]),
        ("slack.command.v2", &["home-renderer", "notifier"]),
        ("slack.command.v3", &["home-renderer", "notifier"]),
        ("user.registered.v1", &["notifier"]),
        ("deploy.status.v1", &["notifier"]),
        ("digest.tick.v1", &["notifier"]),
        ("deploy.requested.v1", &["infra-reconciler"]),
        ("person.forget.v1", &pulse_aws::names::KEEPERS),
        ("person.forgotten.v1", &["forget-reports"]),
        ("ci.workflowish.v1", &[]),
    ];
    for (detail_type, want) in cases {
        assert_eq!(route(&stack, detail_type), set(want.iter().copied()), "{detail_type}");
    }
    // The services' own outputs never loop back to their producer by accident.
    assert!(!route(&stack, "feed.updated.v1").contains("feed-projector"));
}

#[test]
fn s3_writes_to_feeds_reach_the_feed_projector_from_the_default_bus() {
    let stack = stack();
    let names = StackNames::new(PREFIX);
    let bucket = stack
        .resources
        .iter()
        .find_map(|d| match &d.spec {
            ResourceSpec::Bucket(b) if b.name == names.feed_bucket() => Some(b),
            _ => None,
        })
        .expect("the feed bucket");
    assert_eq!(bucket.eventbridge_notifications, Some(true), "S3 only notifies EventBridge when asked");
    let rules: Vec<_> = stack
        .resources
        .iter()
        .filter_map(|d| match &d.spec {
            ResourceSpec::Rule(r) if r.event_pattern["source"] == serde_json::json!(["aws.s3"]) => Some(r),
            _ => None,
        })
        .collect();
    let [rule] = rules.as_slice() else { panic!("one S3 rule, found {}", rules.len()) };
    assert_eq!(rule.bus, "default", "S3 notifications only reach the default bus");
    let p = &rule.event_pattern;
    assert_eq!(p["detail-type"], serde_json::json!(["Object Created"]));
    assert_eq!(p["detail"]["bucket"]["name"], serde_json::json!([names.feed_bucket()]));
    assert_eq!(p["detail"]["object"]["key"], serde_json::json!([{"prefix": "events/"}]));
    assert_eq!(rule.targets.iter().map(|t| t.queue.as_str()).collect::<Vec<_>>(), [names.queue("feed-projector")]);
}

#[test]
fn schedules_send_digest_tick_envelopes_to_the_notifier() {
    let stack = stack();
    let mut periods = Vec::new();
    for d in &stack.resources {
        let ResourceSpec::Schedule(s) = &d.spec else { continue };
        let [target] = s.targets.as_slice() else { panic!("one target") };
        assert_eq!(target.queue, StackNames::new(PREFIX).queue("notifier"));
        let it = target.input_transformer.as_ref().expect("an input transformer");
        assert_eq!(it.input_paths.get("id").map(String::as_str), Some("$.id"));
        assert_eq!(it.input_paths.get("time").map(String::as_str), Some("$.time"));
        // What EventBridge delivers: each <var> replaced by the value's text.
        let id = "7bf73129-1428-4cd3-a780-95db273d1602";
        let time = "2024-01-15T13:00:00Z";
        let body = it.input_template.text().replace("<id>", id).replace("<time>", time);
        let envelope: Value = serde_json::from_str(&body).expect("the delivered body is JSON");
        let period = envelope["detail"]["period"].as_str().unwrap().to_owned();
        assert_eq!(envelope["id"], id);
        assert_eq!(envelope["type"], "digest.tick");
        assert_eq!(envelope["version"], 1);
        assert_eq!(envelope["occurred_at"], time);
        assert_eq!(envelope["source"], "pulse.schedule");
        assert_eq!(envelope["dedup_key"], format!("digest.tick:{period}:{time}"));
        assert_eq!(envelope["detail"]["scheduled_for"], time);
        let expected_cron = if period == "daily" { "cron(0 13 * * ? *)" } else { "cron(0 13 ? * MON *)" };
        assert_eq!(s.schedule, expected_cron);
        periods.push(period);
    }
    periods.sort();
    assert_eq!(periods, ["daily", "weekly"]);
}

#[test]
fn the_local_tap_is_off_unless_asked_for() {
    assert!(!stack().names(Kind::Queue).iter().any(|q| q.ends_with("-tap")));
    let tapped = StackConfig::load(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/pulse-stack.json"),
        &LoadOptions::new(PREFIX).flag("local_tap", true),
    )
    .unwrap();
    let tap = format!("{PREFIX}-tap");
    assert!(tapped.names(Kind::Queue).contains(&tap.as_str()));
    assert!(tapped.names(Kind::Rule).contains(&tap.as_str()));
    assert!(tapped.names(Kind::QueuePolicy).contains(&tap.as_str()));
}

/// `infra/examples/pulse-deployment.json`'s feed location: Pulse's own bucket by default (no
/// `EVENT_FEED_S3_PATH`, keys `events/`), praktika's with the variables and the flag.
#[test]
fn the_deployment_example_follows_the_feed_variables() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/examples/pulse-deployment.json");
    let cx = crate::clients::Context::new("aws", "us-east-1", "123");
    let env_of = |stack: &StackConfig, name: &str| -> Option<String> {
        stack.resources.iter().find_map(|d| match &d.spec {
            ResourceSpec::Lambda(l) if l.name == name => l.environments.get("EVENT_FEED_S3_PATH").cloned(),
            _ => None,
        })
    };
    let policies_of = |stack: &StackConfig, name: &str| -> String {
        let d = stack.get(&crate::model::ResourceId::new(Kind::IamRole, name)).unwrap();
        serde_json::to_string(&d.spec.resource().desired(&cx)).unwrap()
    };

    let own = StackConfig::load(path, &LoadOptions::new(PREFIX)).unwrap();
    for svc in ["feed-projector", "home-renderer", "notifier"] {
        assert_eq!(env_of(&own, &format!("{PREFIX}-{svc}")).as_deref(), Some(""), "{svc}: empty = Pulse's own bucket");
        assert!(policies_of(&own, &format!("{PREFIX}-{svc}")).contains(&format!("arn:aws:s3:::{PREFIX}-feeds/events/*")), "{svc}");
    }
    assert!(own.names(Kind::BucketNotifications).is_empty());
    assert!(!own.names(Kind::Rule).contains(&format!("{PREFIX}-praktika-feed-objects").as_str()));

    let praktika =
        LoadOptions::new(PREFIX).var("feed_bucket", "ci-reports").var("feed_prefix", "praktika/feeds").flag("praktika_bucket", true);
    let theirs = StackConfig::load(path, &praktika).unwrap();
    for svc in ["feed-projector", "home-renderer", "notifier"] {
        assert_eq!(env_of(&theirs, &format!("{PREFIX}-{svc}")).as_deref(), Some("ci-reports/praktika/feeds"), "{svc}");
        let policies = policies_of(&theirs, &format!("{PREFIX}-{svc}"));
        assert!(policies.contains("arn:aws:s3:::ci-reports/praktika/feeds/events/*"), "{svc}: {policies}");
        assert!(!policies.contains(&format!("{PREFIX}-feeds")), "{svc}: {policies}");
        assert_eq!(policies.contains("s3:PutObject"), svc == "feed-projector", "{svc}: only the feed-projector writes");
    }
    let projector = policies_of(&theirs, &format!("{PREFIX}-feed-projector"));
    assert!(projector.contains("s3:if-match") && projector.contains("s3:if-none-match"), "{projector}");
    assert_eq!(theirs.names(Kind::BucketNotifications), ["ci-reports"]);
    let rule = theirs.get(&crate::model::ResourceId::new(Kind::Rule, format!("{PREFIX}-praktika-feed-objects"))).unwrap();
    let pattern = &rule.spec.resource().desired(&cx)["EventPattern"];
    let pattern: Value = if let Value::String(s) = pattern { serde_json::from_str(s).unwrap() } else { pattern.clone() };
    assert_eq!(pattern["detail"]["bucket"]["name"][0], "ci-reports");
    assert_eq!(pattern["detail"]["object"]["key"][0]["prefix"], "praktika/feeds/events/");

    // The flag without moving the bucket would claim Pulse's own bucket: refused.
    let err = StackConfig::load(path, &LoadOptions::new(PREFIX).flag("praktika_bucket", true)).unwrap_err().to_string();
    assert!(err.contains("is declared by this file as a Bucket"), "{err}");
}

/// Operable in AWS: every dead-letter queue, every function and every API of the deployment has
/// its alarm (derived from the file's own resources, so a service added without them fails
/// here), every function is traced and may write traces, and the notifier's concurrency is capped.
#[test]
fn the_deployment_example_alarms_on_every_dlq_function_and_api() {
    use crate::kinds::{AlarmSpec, TracingMode, Watch};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/examples/pulse-deployment.json");
    let stack = StackConfig::load(path, &LoadOptions::new(PREFIX)).unwrap();
    let cx = crate::clients::Context::new("aws", "us-east-1", "123");
    let alarms: Vec<&AlarmSpec> = stack
        .resources
        .iter()
        .filter_map(|d| match &d.spec {
            ResourceSpec::Alarm(a) => Some(a),
            _ => None,
        })
        .collect();
    let above_zero = |watch: Watch, metric: &str| {
        alarms.iter().any(|a| {
            a.watch.as_ref() == Some(&watch)
                && a.metric_name == metric
                && a.threshold == 0.0
                && a.comparison_operator == crate::kinds::alarm::Comparison::GreaterThanThreshold
        })
    };
    let dlqs: BTreeSet<String> = stack
        .resources
        .iter()
        .filter_map(|d| match &d.spec {
            ResourceSpec::Queue(q) => q.dead_letter.as_ref().map(|dl| dl.queue.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(dlqs.len(), CONSUMERS.len());
    for dlq in &dlqs {
        assert!(above_zero(Watch::Queue(dlq.clone()), "ApproximateNumberOfMessagesVisible"), "no depth alarm on {dlq}");
    }
    let functions = stack.names(Kind::Lambda);
    assert_eq!(functions.len(), 5);
    for f in &functions {
        assert!(above_zero(Watch::Function((*f).to_owned()), "Errors"), "no Errors alarm on {f}");
        assert!(above_zero(Watch::Function((*f).to_owned()), "Throttles"), "no Throttles alarm on {f}");
        let ResourceSpec::Lambda(l) = &stack.get(&crate::model::ResourceId::new(Kind::Lambda, *f)).unwrap().spec else { unreachable!() };
        assert_eq!(l.tracing, Some(TracingMode::Active), "{f}");
        let role = stack.get(&crate::model::ResourceId::new(Kind::IamRole, &l.role)).unwrap();
        let policies = serde_json::to_string(&role.spec.resource().desired(&cx)).unwrap();
        assert!(policies.contains("xray:PutTraceSegments") && policies.contains("xray:PutTelemetryRecords"), "{f}");
        assert_eq!(l.reserved_concurrency, (*f == format!("{PREFIX}-notifier")).then_some(5), "{f}");
    }
    for api in stack.names(Kind::ApiRoute) {
        assert!(above_zero(Watch::Api(api.to_owned()), "5xx"), "no 5xx alarm on {api}");
    }
    assert_eq!(alarms.len(), dlqs.len() + 2 * functions.len() + stack.names(Kind::ApiRoute).len(), "an alarm nobody asked for");
    assert!(alarms.iter().all(|a| a.description.len() > 40), "every alarm says what to do when it fires");
    // Deploys from Slack plan the function's reservation, so the reconciler may read and set it.
    let reconciler = stack.get(&crate::model::ResourceId::new(Kind::IamRole, format!("{PREFIX}-infra-reconciler"))).unwrap();
    let policies = serde_json::to_string(&reconciler.spec.resource().desired(&cx)).unwrap();
    assert!(policies.contains("lambda:GetFunctionConcurrency") && policies.contains("lambda:PutFunctionConcurrency"));
}
