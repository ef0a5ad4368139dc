//! A corpus of feeds and events as the praktika CI runs today writes them, generated
//! deterministically from praktika's documented shapes (`Result.to_event`, `EventFeed.add`):
//! upper-case statuses (`OK FAIL ERROR SKIPPED UNKNOWN XFAIL XPASS PENDING RUNNING DROPPED`),
//! compacted results (`{name, status}` jobs, `result.ext = {report_url}`), PR events nested
//! under parent PRs, merge results naming their PRs, runs left `RUNNING`, and the 15 `ext` keys
//! `to_event` writes plus the `pr_status` `add` sets.
//!
//! Shared by path (it is test data, not part of the library): the criterion bench
//! (`benches/merge.rs`), the praktika comparison (`examples/praktika_compare.rs`) and the
//! layout property tests (`src/stored/tests.rs`).

#![allow(dead_code)]

use serde_json::{Value, json};

/// The fixed "now" of the corpus (2026-05-28).
pub const NOW: i64 = 1_780_000_000;

const REPOS: [&str; 3] = ["ClickHouse/ClickHouse", "ClickHouse/clickhouse-private", "ClickHouse/keeper"];

const FAMILIES: [&str; 12] = [
    "Build",
    "Stateless tests",
    "Stateful tests",
    "Integration tests",
    "Stress test",
    "AST fuzzer",
    "BuzzHouse",
    "Performance Comparison",
    "Upgrade check",
    "Compatibility check",
    "Unit tests",
    "Install packages",
];

const CONFIGS: [&str; 8] =
    ["amd_release", "arm_release", "amd_asan", "amd_tsan", "amd_msan", "amd_ubsan", "amd_debug", "arm_asan, distributed plan"];

/// A tiny deterministic generator, so every run sees the same corpus.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The size of a generated feed.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub events: usize,
    pub jobs: usize,
    /// Days the events spread over, newest at [`NOW`].
    pub days: i64,
}

/// Today's typical feed: 500 events of 60 jobs over 30 days.
pub const TODAY: Shape = Shape { events: 500, jobs: 60, days: 29 };

/// The job names of one workflow: the same names recur in every run of it.
pub fn job_names(workflow: u64, jobs: usize) -> Vec<String> {
    (0..jobs)
        .map(|i| {
            let family = FAMILIES[(i + workflow as usize * 5) % FAMILIES.len()];
            let config = CONFIGS[(i / FAMILIES.len() + workflow as usize) % CONFIGS.len()];
            let shard = i % 4 + 1;
            format!("{family} ({config}, {shard}/4)")
        })
        .collect()
}

/// A job status of today's vocabulary, mostly `OK`.
pub fn job_status(rng: &mut Lcg, running: bool) -> &'static str {
    match rng.below(100) {
        _ if running && rng.below(3) == 0 => ["RUNNING", "PENDING"][rng.below(2) as usize],
        0..=2 => "FAIL",
        3 => "ERROR",
        4..=8 => "SKIPPED",
        9 => "XFAIL",
        10 => "XPASS",
        11 => "DROPPED",
        12 => "UNKNOWN",
        _ => "OK",
    }
}

fn sha(rng: &mut Lcg) -> String {
    format!("{:016x}{:016x}{:08x}", rng.next_u64(), rng.next_u64(), rng.next_u64() as u32)
}

/// One event as `Result.to_event` writes it (compacted), for `pr_number` (0: a merge result).
pub fn event(rng: &mut Lcg, pr_number: u64, parent: u64, repo: &str, timestamp: i64, jobs: usize, author: &str) -> Value {
    let sha = sha(rng);
    let run_id = 19_000_000_000 + rng.below(1_000_000_000);
    let running = timestamp > NOW - 2 * 3_600 && rng.below(2) == 0;
    let workflow = if pr_number == 0 { "MasterCI" } else { "PR" };
    let names = job_names(u64::from(pr_number == 0), jobs);
    let results: Vec<Value> = names.iter().map(|n| json!({"name": n, "status": job_status(rng, running)})).collect();
    let failing = results.iter().any(|r| matches!(r["status"].as_str(), Some("FAIL" | "ERROR")));
    let (kind, status) = match (running, failing) {
        (true, _) => ("running", "RUNNING"),
        (false, true) => ("completed", "FAIL"),
        (false, false) => ("completed", "OK"),
    };
    let report_url = format!("https://s3.amazonaws.com/clickhouse-test-reports/json.html?PR={pr_number}&sha={sha}&name_0={workflow}");
    let change_url = if pr_number == 0 {
        format!("https://github.com/{repo}/commit/{sha}")
    } else {
        format!("https://github.com/{repo}/pull/{pr_number}")
    };
    json!({
        "type": kind,
        "timestamp": timestamp,
        "sha": sha,
        "result": {"name": workflow, "status": status, "results": results, "ext": {"report_url": report_url}},
        "ci_status": status,
        "ext": {
            "pr_number": pr_number,
            "pr_title": if pr_number == 0 { String::new() } else { format!("Fix a data race in part {pr_number} when reading parts") },
            "branch": if pr_number == 0 { "master".to_owned() } else { format!("fix-{pr_number}") },
            "commit_message": format!("Merge pull request #{pr_number} from dev/fix-{pr_number}"),
            "linked_pr_number": if pr_number == 0 && parent > 0 { parent + 1 } else { 0 },
            "parent_pr_number": parent,
            "repo_name": repo,
            "report_url": report_url,
            "change_url": change_url,
            "workflow_name": workflow,
            "base_branch": "master",
            "run_id": run_id,
            "run_url": format!("https://github.com/{repo}/actions/runs/{run_id}"),
            "commit_authors": [author],
            "is_cancelled": false,
            "pr_status": if pr_number == 0 { "merged" } else { "open" },
        },
        "linked_events": [],
    })
}

/// A stored feed of `shape`, newest first, every event in its own slot, as praktika stores it.
pub fn feed(shape: Shape, seed: u64) -> Value {
    let mut rng = Lcg(seed);
    let step = (shape.days * 86_400) / shape.events.max(1) as i64;
    let mut next_pr = 80_000;
    let events: Vec<Value> = (0..shape.events)
        .map(|i| {
            let timestamp = NOW - i as i64 * step - rng.below(step.max(1) as u64 / 2 + 1) as i64;
            let repo = REPOS[[0, 0, 0, 0, 0, 0, 0, 1, 1, 2][rng.below(10) as usize]];
            next_pr += 2;
            match rng.below(10) {
                0..=1 => {
                    let parent = if rng.below(2) == 0 { next_pr - 3 } else { 0 };
                    event(&mut rng, 0, parent, repo, timestamp, shape.jobs, "dev@clickhouse.com")
                }
                2 => event(&mut rng, next_pr + 1, next_pr - 5, repo, timestamp, shape.jobs, "dev@clickhouse.com"),
                _ => event(&mut rng, next_pr, 0, repo, timestamp, shape.jobs, "dev@clickhouse.com"),
            }
        })
        .collect();
    json!({ "events": events })
}

/// The next run of the first PR event at or after `index` of `feed` (a replacement, the common
/// case), newest.
pub fn next_run_of(feed: &Value, index: usize, seed: u64) -> Value {
    let mut rng = Lcg(seed);
    let events = feed["events"].as_array().map(Vec::as_slice).unwrap_or_default();
    let at = (index..events.len()).find(|&i| events[i]["ext"]["pr_number"].as_u64().unwrap_or(0) > 0).unwrap_or(index);
    let existing = &feed["events"][at]["ext"];
    let pr = existing["pr_number"].as_u64().unwrap_or(0);
    let parent = existing["parent_pr_number"].as_u64().unwrap_or(0);
    let repo = existing["repo_name"].as_str().unwrap_or(REPOS[0]).to_owned();
    let jobs = feed["events"][at]["result"]["results"].as_array().map_or(0, Vec::len);
    let mut e = event(&mut rng, pr, parent, &repo, NOW + 60, jobs, "dev@clickhouse.com");
    // praktika's own events carry no pr_status: `EventFeed.add` sets it.
    e["ext"].as_object_mut().map(|ext| ext.remove("pr_status"));
    e
}

/// The same event before `Result.to_event`'s pruning: every job with times, links, files and
/// nested test results, the workflow result with `info` and `links`.
pub fn uncompacted(event: &Value) -> Value {
    let mut e = event.clone();
    let result = &mut e["result"];
    for (i, job) in result["results"].as_array_mut().into_iter().flatten().enumerate() {
        let name = job["name"].clone();
        job["start_time"] = json!(1_779_990_000.5 + i as f64);
        job["duration"] = json!(30.25 + i as f64);
        job["links"] = json!([format!("https://logs/{i}.txt")]);
        job["files"] = json!([]);
        job["info"] = json!(format!("job {name}"));
        job["ext"] = json!({"labels": ["flaky"], "report_url": "https://job-report"});
        job["results"] = json!([{"name": "00001_select", "status": "OK", "duration": 0.1}]);
    }
    result["start_time"] = json!(1_779_990_000.0);
    result["duration"] = json!(3_600.0);
    result["links"] = json!(["https://github.com/pr", "https://github.com/run"]);
    result["info"] = json!("");
    result["files"] = json!([]);
    result["assets"] = json!({});
    result["ext"]["storage_usage"] = json!({"bytes": 1});
    e
}
