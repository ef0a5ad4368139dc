//! Merging one `ci.workflow` event into a realistic 500-event feed.
//!
//! - `merge_into_500_event_feed/gzip_roundtrip`: what the feed-projector does per feed and
//!   event: gunzip + parse the stored object, merge, serialize + gzip. Target: under 2 ms.
//! - `merge_into_500_event_feed/merge_only`: the merge alone, on an already parsed feed.
//! - `merge_into_500_event_feed/warm_incremental`: what a running projector does when its cached
//!   copy of the feed is current (S3 answered the conditional GET with 304): merge, then write
//!   the feed recompressing only the events the merge touched (`stored.rs`).
//! - `merge_into_500_event_feed/cold_incremental`: a projector that has not seen the feed yet:
//!   gunzip + parse, merge, and compress every event into its own member.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use pulse_contracts::codec::{decode_gzip_json, encode_gzip_json};
use pulse_contracts::praktika::{
    EventExt, EventFeed, EventKind, FeedEvent, PrStatus, RunId, RunResult, Status,
};
use pulse_feed_projector::merge::merge;
use pulse_feed_projector::stored::StoredFeed;
use serde_json::{Map, Value, json};

const NOW: i64 = 1_750_000_000;
const FEED_LEN: usize = 500;
const JOBS_PER_EVENT: usize = 20;
const REPOS: [&str; 3] = [
    "ClickHouse/ClickHouse",
    "ClickHouse/clickhouse-private",
    "ClickHouse/keeper",
];
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

/// A tiny deterministic generator, so every run benchmarks the same feed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn sha(rng: &mut Lcg) -> String {
    format!(
        "{:016x}{:016x}{:08x}",
        rng.next(),
        rng.next(),
        rng.next() as u32
    )
}

fn job(rng: &mut Lcg, i: usize, start: f64, run_url: &str) -> RunResult {
    let status = match rng.below(40) {
        0 => Status::Failure,
        1 => Status::Error,
        2..=4 => Status::Skipped,
        5 => Status::Dropped,
        _ => Status::Success,
    };
    let name = format!("{} #{i}", JOB_NAMES[i % JOB_NAMES.len()]);
    let mut ext = Map::new();
    ext.insert(
        "report_url".into(),
        Value::String(format!("{run_url}/job/{i}/report.html")),
    );
    RunResult {
        links: vec![format!("{run_url}/job/{i}/log.txt")],
        name,
        status,
        start_time: Some(start + (i as f64) * 37.5),
        duration: Some((rng.below(3_600) as f64) + 0.25),
        results: Vec::new(),
        ext,
        extra: Map::new(),
    }
}

fn event(rng: &mut Lcg, pr_number: u64, parent: u64, repo: &str, timestamp: i64) -> FeedEvent {
    let sha = sha(rng);
    let run_id = 15_000_000_000 + rng.below(1_000_000_000);
    let run_url = format!("https://github.com/{repo}/actions/runs/{run_id}");
    let start = (timestamp - 3_600) as f64;
    let results: Vec<RunResult> = (0..JOBS_PER_EVENT)
        .map(|i| job(rng, i, start, &run_url))
        .collect();
    let failing = results.iter().any(|r| r.status.is_failure());
    let running = timestamp > NOW - 2 * 3_600 && rng.below(2) == 0;
    let (kind, ci_status) = match (running, failing) {
        (true, _) => (EventKind::Running, Status::Running),
        (false, true) => (EventKind::Completed, Status::Failure),
        (false, false) => (EventKind::Completed, Status::Success),
    };
    let workflow = if pr_number == 0 { "MasterCI" } else { "PR" };
    let report_url = format!(
        "https://s3.amazonaws.com/clickhouse-test-reports/json.html?PR={pr_number}&sha={sha}&name_0={workflow}"
    );
    let change_url = if pr_number == 0 {
        format!("https://github.com/{repo}/commit/{sha}")
    } else {
        format!("https://github.com/{repo}/pull/{pr_number}")
    };
    let mut result_ext = Map::new();
    result_ext.insert("report_url".into(), Value::String(report_url.clone()));
    let pr_status = match (pr_number, rng.below(6)) {
        (0, _) => Some(PrStatus::Merged),
        (_, 0) => Some(PrStatus::Merged),
        (_, 1) => Some(PrStatus::Queued),
        _ => Some(PrStatus::Open),
    };
    FeedEvent {
        kind,
        timestamp,
        sha: sha.clone(),
        ci_status,
        result: RunResult {
            name: workflow.to_owned(),
            status: ci_status,
            start_time: Some(start),
            duration: Some(3_600.0),
            results,
            links: vec![change_url.clone(), run_url.clone()],
            ext: result_ext,
            extra: Map::new(),
        },
        ext: EventExt {
            pr_number,
            pr_title: if pr_number == 0 {
                String::new()
            } else {
                format!(
                    "Fix a data race in the {} when {} (#{pr_number})",
                    JOB_NAMES[pr_number as usize % 10],
                    "reading parts"
                )
            },
            pr_status,
            branch: if pr_number == 0 {
                "master".into()
            } else {
                format!("fix-{pr_number}")
            },
            commit_message: format!(
                "Merge pull request #{pr_number} from dev/fix-{pr_number}\n\nFix things"
            ),
            linked_pr_number: if pr_number == 0 && parent > 0 {
                parent + 1
            } else {
                0
            },
            parent_pr_number: parent,
            repo_name: repo.to_owned(),
            report_url,
            change_url,
            workflow_name: workflow.to_owned(),
            base_branch: "master".into(),
            run_id: Some(RunId::Number(run_id)),
            run_url,
            commit_authors: vec![
                "dev@clickhouse.com".into(),
                "co-author+ci@clickhouse.com".into(),
            ],
            is_cancelled: false,
            extra: Map::new(),
        },
        linked_events: Vec::new(),
        extra: {
            let mut m = Map::new();
            m.insert(
                "producer".into(),
                json!({"name": "praktika", "version": "1.0"}),
            );
            m
        },
    }
}

/// 500 events over the last ~100 days: PR events (some nested under a parent PR) and merge
/// results (some naming their PR), already merged and sorted as a stored feed would be.
fn realistic_feed() -> EventFeed {
    let mut rng = Lcg(0x5eed);
    let mut feed = EventFeed::default();
    let mut next_pr = 80_000;
    for i in 0..FEED_LEN {
        let timestamp = NOW - (i as i64) * 17_000 - rng.below(1_000) as i64;
        let repo = match rng.below(10) {
            0..=6 => REPOS[0],
            7..=8 => REPOS[1],
            _ => REPOS[2],
        };
        let e = match rng.below(10) {
            0..=1 => {
                let parent = if rng.below(2) == 0 { next_pr - 3 } else { 0 };
                event(&mut rng, 0, parent, repo, timestamp)
            }
            2 => event(&mut rng, next_pr + 1, next_pr - 5, repo, timestamp),
            _ => event(&mut rng, next_pr, 0, repo, timestamp),
        };
        next_pr += 2;
        merge(&mut feed, e, NOW);
    }
    assert_eq!(
        feed.events.len(),
        FEED_LEN,
        "the generator makes distinct slots"
    );
    feed
}

fn bench(c: &mut Criterion) {
    let feed = realistic_feed();
    let stored = encode_gzip_json(&feed).expect("encode");
    // The next event of a PR already in the feed (a replacement, the common case), and newest.
    let mut rng = Lcg(0xbeef);
    let existing = &feed.events[FEED_LEN / 3];
    let mut incoming = event(
        &mut rng,
        existing.ext.pr_number,
        existing.ext.parent_pr_number,
        &existing.ext.repo_name,
        NOW + 60,
    );
    incoming.ext.pr_title.clear();

    let mut group = c.benchmark_group("merge_into_500_event_feed");
    group.bench_function("gzip_roundtrip", |b| {
        b.iter_batched(
            || incoming.clone(),
            |incoming| {
                let mut feed: EventFeed = decode_gzip_json(black_box(&stored)).expect("decode");
                let outcome = merge(&mut feed, incoming, NOW);
                let bytes = encode_gzip_json(&feed).expect("encode");
                (outcome, bytes)
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("merge_only", |b| {
        b.iter_batched(
            || (feed.clone(), incoming.clone()),
            |(mut feed, incoming)| {
                let outcome = merge(black_box(&mut feed), incoming, NOW);
                (outcome, feed)
            },
            BatchSize::PerIteration,
        )
    });
    let mut warm = StoredFeed::decode(&stored).expect("decode");
    warm.encode().expect("encode");
    group.bench_function("warm_incremental", |b| {
        b.iter_batched(
            || (warm.clone(), incoming.clone()),
            |(mut feed, incoming)| {
                let outcome = feed.merge(incoming, NOW);
                let bytes = feed.encode().expect("encode");
                (outcome, bytes, feed)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("cold_incremental", |b| {
        b.iter_batched(
            || incoming.clone(),
            |incoming| {
                let mut feed = StoredFeed::decode(black_box(&stored)).expect("decode");
                let outcome = feed.merge(incoming, NOW);
                let bytes = feed.encode().expect("encode");
                (outcome, bytes)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
