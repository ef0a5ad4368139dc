//! Feed fixtures for unit tests, integration tests and the benchmark: praktika-shaped events
//! built in code, and a deterministic realistic feed of any size.

use pulse_contracts::praktika::{EventExt, EventKind, FeedEvent, PrStatus, RunId, RunResult, Status};
use serde_json::{Map, Value};

pub const REPO: &str = "ClickHouse/ClickHouse";

/// A job as praktika's compaction stores it: a name and a status string.
fn job(name: &str, status: &str) -> RunResult {
    RunResult::named(name, status)
}

/// A completed, passing (`OK`) PR event for `pr` at `timestamp` with `pr_status`.
pub fn event(pr: u64, timestamp: i64, pr_status: Option<PrStatus>) -> FeedEvent {
    let sha = format!("{:040x}", ((pr as u128) << 64) | (timestamp as u128 & 0xffff_ffff));
    let mut report = Map::new();
    report.insert("report_url".into(), Value::String(format!("https://reports.example.com/{pr}/{sha}")));
    FeedEvent {
        kind: EventKind::Completed,
        timestamp,
        sha,
        ci_status: Status::new("OK"),
        result: RunResult {
            name: "PR".into(),
            status: Status::new("OK"),
            results: Some(vec![job("Style check", "OK"), job("Fast test", "OK")]),
            ext: Some(report),
            extra: Map::new(),
        },
        ext: EventExt {
            pr_number: pr,
            pr_title: format!("Improve thing number {pr}"),
            pr_status,
            branch: format!("branch-{pr}"),
            commit_message: format!("Improve thing number {pr}"),
            repo_name: REPO.into(),
            report_url: format!("https://reports.example.com/{pr}"),
            change_url: format!("https://github.com/{REPO}/pull/{pr}"),
            workflow_name: "PR".into(),
            base_branch: "master".into(),
            run_id: Some(RunId::Number(1_000_000 + pr)),
            run_url: format!("https://github.com/{REPO}/actions/runs/{}", 1_000_000 + pr),
            commit_authors: vec!["alice@clickhouse.com".into()],
            ..EventExt::default()
        },
        linked_events: Vec::new(),
        dropped: Map::new(),
    }
}

/// A merge result (`pr_number == 0`) of `sha`, merging `parent` (0 for a plain push).
pub fn merge_result(sha: &str, parent: u64, timestamp: i64) -> FeedEvent {
    let mut e = event(0, timestamp, Some(PrStatus::Merged));
    e.sha = sha.to_owned();
    e.ext.parent_pr_number = parent;
    e.ext.pr_title = String::new();
    e.ext.commit_message = format!("Merge pull request #{parent} from alice/branch\n\nDetails");
    e.ext.workflow_name = "MasterCI".into();
    e.ext.branch = "master".into();
    e.ext.change_url = format!("https://github.com/{REPO}/commit/{sha}");
    e
}

/// A nested PR `pr` under `parent` (e.g. a backport), open.
pub fn nested_pr(pr: u64, parent: u64, timestamp: i64) -> FeedEvent {
    let mut e = event(pr, timestamp, Some(PrStatus::Open));
    e.ext.parent_pr_number = parent;
    e.ext.pr_title = format!("Backport #{parent} to 25.8");
    e
}

/// `e` with these jobs (name, status string), its `ci_status`/`type` following them: any
/// running or pending → `RUNNING`, else any failing (praktika's rule) → `FAIL`, else `OK`.
pub fn with_jobs(mut e: FeedEvent, jobs: &[(&str, &str)]) -> FeedEvent {
    e.result.results = Some(jobs.iter().map(|(n, s)| job(n, s)).collect());
    let failing = jobs.iter().any(|(_, s)| Status::from(*s).is_failing());
    let running = jobs.iter().any(|(_, s)| Status::from(*s).is_in_flight());
    e.ci_status = Status::new(if running {
        "RUNNING"
    } else if failing {
        Status::FAIL
    } else {
        "OK"
    });
    e.result.status = e.ci_status.clone();
    e.kind = if running { EventKind::Running } else { EventKind::Completed };
    e
}

const JOB_NAMES: [&str; 10] = [
    "Build (amd_release)",
    "Build (arm_release)",
    "Build (amd_asan)",
    "Stateless tests (amd_asan, distributed plan, parallel, 1/2)",
    "Stateless tests (amd_release, old analyzer, s3 storage, parallel)",
    "Integration tests (amd_asan, old analyzer, 3/6)",
    "Stress test (arm_tsan)",
    "AST fuzzer (amd_debug)",
    "Performance Comparison (arm_release, master_head, 2/3)",
    "Style check",
];

/// A deterministic, realistic feed of `len` events, newest first, ending at `now`: root PRs
/// (open, queued, merged), their backports and merge results, running and failing runs, 20 jobs
/// each, spread over 120 days.
pub fn sample_feed(len: usize, now: i64) -> Vec<FeedEvent> {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    let step = (120 * 86_400 / len.max(1) as i64).max(1);
    let mut events = Vec::with_capacity(len);
    let mut root = 90_000u64;
    for i in 0..len {
        let ts = now - i as i64 * step - (next() % 60) as i64;
        let kind = next() % 10;
        let mut e = match kind {
            0..=4 => {
                root += 1;
                let status = [PrStatus::Open, PrStatus::Open, PrStatus::Queued, PrStatus::Merged][(next() % 4) as usize];
                event(root, ts, Some(status))
            }
            5..=6 => nested_pr(root + 50_000 + i as u64, root.max(90_001), ts),
            _ => merge_result(&format!("{:020x}{:020x}", next() ^ 0xabc_def, (next() << 8) | i as u64), root.max(90_001), ts),
        };
        let jobs: Vec<(&str, &str)> = (0..20)
            .map(|j| {
                let roll = next() % 100;
                let status = match roll {
                    0..=3 => "FAIL",
                    4..=6 => "DROPPED",
                    7..=9 if i < 20 => "RUNNING",
                    10..=14 => "SKIPPED",
                    15 => "XFAIL",
                    _ => "OK",
                };
                (JOB_NAMES[j % JOB_NAMES.len()], status)
            })
            .collect();
        e = with_jobs(e, &jobs);
        if i % 37 == 36 {
            e.ext.is_cancelled = true;
            e.ci_status = Status::new(Status::FAIL);
        }
        events.push(e);
    }
    events
}

/// Every `text` string in a view (sections, contexts, buttons), joined by newlines: what a user
/// can read, for assertions.
pub fn view_texts(value: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("text", Value::String(s)) => {
                            out.push_str(s);
                            out.push('\n');
                        }
                        _ => walk(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = String::new();
    walk(value, &mut out);
    out
}
