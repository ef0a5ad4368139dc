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

criterion_group!(benches, bench);
criterion_main!(benches);
