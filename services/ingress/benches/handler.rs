//! The pure ingress handler on a 1 KB signed slash command: verify the v0 signature, parse the
//! form, understand the command and build the `slack.command` envelope — no I/O.
//!
//! - `ingress_handler/slash_command_1kb`: the whole pure path, what every request pays before
//!   the ledger write. Target: above 50,000 requests per second on one core (under 20 µs each).
//!   Criterion's `thrpt` line is that rate.
//! - `ingress_handler/verify_only_1kb` and `/parse_and_decide_1kb`: its two halves.
//! - `ingress_handler/forged_1kb`: a request with a wrong signature (what a flood of forgeries
//!   costs).
//!
//! Run: `cargo bench -p pulse-ingress --bench handler`.

use std::hint::black_box;

use chrono::DateTime;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pulse_core::Ids;
use pulse_ingress::decide::{Fallback, decide};
use pulse_ingress::github::{self, GithubHeaders, GithubRequest, WebhookVerifier};
use pulse_ingress::parse::parse_http_body;
use pulse_ingress::{Core, RawRequest, SlackHeaders, Verifier};
use pulse_slack_requests::{Signed, command_form_of_size};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const NOW: i64 = 1_763_630_300;

fn headers(signed: &Signed) -> SlackHeaders<'_> {
    SlackHeaders::from_str_pairs(signed.header_refs())
}

fn bench(c: &mut Criterion) {
    let body = command_form_of_size(1024);
    assert_eq!(body.len(), 1024);
    let signed = Signed::form(SECRET, NOW, &body);
    let forged = Signed::form("wrong-secret", NOW, &body);
    let now = DateTime::from_timestamp(NOW, 0).unwrap();
    let ids = Ids::sequence(1);
    let core = Core::new(Verifier::new(SECRET).unwrap(), ids.clone());
    let verifier = Verifier::new(SECRET).unwrap();
    let request = RawRequest { method: "POST", path: "/slack/commands", headers: headers(&signed), body: body.as_bytes() };
    let forged_request = RawRequest { headers: headers(&forged), ..request };

    let decision = core.handle(&request, now);
    assert_eq!(decision.outcome, "accepted", "{:?}", decision.reply);

    let mut group = c.benchmark_group("ingress_handler");
    group.throughput(Throughput::Elements(1));
    group.bench_function("slash_command_1kb", |b| b.iter(|| black_box(core.handle(black_box(&request), now))));
    group.bench_function("verify_only_1kb", |b| {
        b.iter(|| black_box(verifier.verify(Some(&signed.timestamp), Some(&signed.signature), black_box(body.as_bytes()), NOW)))
    });
    group.bench_function("parse_and_decide_1kb", |b| {
        b.iter(|| {
            let parsed = parse_http_body(Some(signed.content_type), black_box(body.as_bytes())).unwrap();
            black_box(decide(parsed, Fallback::Body(body.as_bytes()), now, &ids))
        })
    });
    group.bench_function("forged_1kb", |b| b.iter(|| black_box(core.handle(black_box(&forged_request), now))));
    group.finish();
}

/// A GitHub account object as webhooks carry it: a login, an id and a score of API URLs.
fn account(login: &str, id: u64) -> serde_json::Value {
    let mut user = serde_json::json!({"login": login, "id": id, "node_id": "MDQ6VXNlcjE=", "type": "User", "site_admin": false});
    for field in [
        "avatar",
        "gravatar",
        "url",
        "html",
        "followers",
        "following",
        "gists",
        "starred",
        "subscriptions",
        "organizations",
        "repos",
        "events",
        "received_events",
    ] {
        user[format!("{field}_url")] = format!("https://api.github.com/users/{login}/{field}{{/other}}").into();
    }
    user
}

/// A repository object: its names and the four dozen URL templates GitHub sends with each.
fn repository() -> serde_json::Value {
    let mut repo = serde_json::json!({"id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "widgets",
        "full_name": "octo-org/widgets", "private": false, "owner": account("octo-org", 9919), "default_branch": "main",
        "description": "Widgets, built and tested on every push", "fork": false});
    for field in [
        "archive",
        "assignees",
        "blobs",
        "branches",
        "collaborators",
        "comments",
        "commits",
        "compare",
        "contents",
        "contributors",
        "deployments",
        "downloads",
        "events",
        "forks",
        "git_commits",
        "git_refs",
        "git_tags",
        "hooks",
        "issue_comment",
        "issue_events",
        "issues",
        "keys",
        "labels",
        "languages",
        "merges",
        "milestones",
        "notifications",
        "pulls",
        "releases",
        "stargazers",
        "statuses",
        "subscribers",
        "subscription",
        "tags",
        "teams",
        "trees",
        "html",
        "url",
    ] {
        repo[format!("{field}_url")] = format!("https://api.github.com/repos/octo-org/widgets/{field}{{/sha}}").into();
    }
    repo
}

/// A `workflow_run` `completed` delivery of about 30 KB, as GitHub sends one for a failed PR run.
fn workflow_run_30kb() -> Vec<u8> {
    let sha = "3f9c2a7be41d05c6a8e7f1b2d9c04e5a6b7c8d9e";
    let pulls: Vec<serde_json::Value> = (0..4)
        .map(|n| serde_json::json!({"number": 4100 + n, "url": format!("https://api.github.com/repos/octo-org/widgets/pulls/{}", 4100 + n),
            "head": {"ref": format!("feature-{n}"), "sha": sha, "repo": {"id": 1296269, "name": "widgets", "url": "https://api.github.com/repos/octo-org/widgets"}},
            "base": {"ref": "main", "sha": sha, "repo": {"id": 1296269, "name": "widgets", "url": "https://api.github.com/repos/octo-org/widgets"}}}))
        .collect();
    let mut payload = serde_json::json!({
        "action": "completed",
        "workflow_run": {
            "id": 13849305521_u64, "name": "CI", "node_id": "WFR_kwLOA", "head_branch": "feature-0", "head_sha": sha,
            "path": ".github/workflows/ci.yml", "display_title": "Rewrite the parser", "run_number": 1432, "event": "pull_request",
            "status": "completed", "conclusion": "failure", "workflow_id": 84215377, "check_suite_id": 33301255712_u64,
            "url": "https://api.github.com/repos/octo-org/widgets/actions/runs/13849305521",
            "html_url": "https://github.com/octo-org/widgets/actions/runs/13849305521",
            "pull_requests": pulls, "created_at": "2026-03-04T10:05:11Z", "updated_at": "2026-03-04T10:17:40Z",
            "actor": account("ada-okafor", 5120347), "triggering_actor": account("ada-okafor", 5120347), "run_attempt": 1,
            "run_started_at": "2026-03-04T10:05:11Z",
            "head_commit": {"id": sha, "message": "Rewrite the parser", "timestamp": "2026-03-04T10:05:02Z",
                "author": {"name": "Ada Okafor", "email": "ada@octo-org.example"}, "committer": {"name": "GitHub", "email": "noreply@github.com"}},
            "repository": repository(), "head_repository": repository()
        },
        "workflow": {"id": 84215377, "name": "CI", "path": ".github/workflows/ci.yml", "state": "active"},
        "repository": repository(), "organization": account("octo-org", 9919), "sender": account("ada-okafor", 5120347)
    });
    let size = payload.to_string().len();
    let message = format!(
        "Rewrite the parser\n\n{}",
        "Explain the change in the commit body, as people do. ".repeat(30_000usize.saturating_sub(size) / 52)
    );
    payload["workflow_run"]["head_commit"]["message"] = message.into();
    payload.to_string().into_bytes()
}

/// Issue #15's target: the pure webhook path (verify, parse, build the event) on a 30 KB
/// `workflow_run`, above 20,000 per second on one core.
fn bench_github(c: &mut Criterion) {
    let body = workflow_run_30kb();
    assert!((29_000..=31_000).contains(&body.len()), "{} bytes", body.len());
    let secret = "a webhook secret for the benchmark";
    let signature = github::sign(secret, &body);
    let pairs = [
        ("content-type", "application/json"),
        ("x-github-event", "workflow_run"),
        ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let request = GithubRequest { method: "POST", path: "/github/webhook", headers: GithubHeaders::from_str_pairs(pairs), body: &body };
    let verifier = WebhookVerifier::new(secret).unwrap();
    let (now, ids) = (DateTime::from_timestamp(NOW, 0).unwrap(), Ids::sequence(1));
    assert_eq!(github::decide(&request, &verifier, now, &ids).outcome, "accepted");

    let mut group = c.benchmark_group("ingress_github");
    group.throughput(Throughput::Elements(1));
    group.bench_function("workflow_run_30kb", |b| b.iter(|| black_box(github::decide(black_box(&request), &verifier, now, &ids))));
    group.bench_function("verify_only_30kb", |b| b.iter(|| black_box(verifier.verify(Some(&signature), black_box(&body)))));
    group.finish();
}

criterion_group!(benches, bench, bench_github);
criterion_main!(benches);
