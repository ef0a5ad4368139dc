//! Rendering a subscriber's Home view from a realistic 500-event feed (20 jobs per event, root
//! PRs, backports, merge results, running and failing runs): filter, group, build the Block Kit
//! JSON within Slack's limits. Target: under 1 ms.
//!
//! - `home_view_500_events/default_prefs`: every toggle off (the view is cut at 100 blocks);
//! - `home_view_500_events/all_filters_on`: the four filters on;
//! - `home_view_500_events/render_and_serialize`: plus serializing the view to the JSON sent to
//!   `views.publish`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pulse_contracts::Preferences;
use pulse_home_renderer::render::{HomeModel, home_view};
use pulse_home_renderer::testing::sample_feed;

const NOW: i64 = 1_763_640_000;

fn bench(c: &mut Criterion) {
    let feed = sample_feed(500, NOW);
    let defaults = Preferences::default();
    let filters =
        Preferences { hide_merged_prs: true, hide_merges: true, hide_secondary_prs: true, show_last_7d: true, ..Preferences::default() };
    let model = |prefs| HomeModel {
        email: "alice@clickhouse.com",
        github: &[],
        preferences: prefs,
        subscribed_at: Some(NOW - 86_400),
        events: &feed,
        now: NOW,
        notice: None,
        private_metadata: Some(r#"{"rev":3,"feed":"\"0123456789abcdef\""}"#),
    };
    let mut group = c.benchmark_group("home_view_500_events");
    group.bench_function("default_prefs", |b| b.iter(|| home_view(black_box(&model(&defaults)))));
    group.bench_function("all_filters_on", |b| b.iter(|| home_view(black_box(&model(&filters)))));
    group.bench_function("render_and_serialize", |b| {
        b.iter(|| serde_json::to_vec(&home_view(black_box(&model(&defaults))).view).expect("serializes"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
