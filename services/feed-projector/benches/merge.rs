//! Merging one `ci.workflow` event into today's feed: 500 compacted events of 60 jobs
//! (`corpus::TODAY`), as the praktika CI runs today writes them.
//!
//! - `merge_only`: the merge alone, on a parsed feed (a warm worker's merge).
//! - `warm_write`: merge, then write the object recompressing only the segments the merge
//!   touched (`layout.rs`): what a warm worker does when S3 answers 304.
//! - `cold_pulse_object`: a worker that has not seen the feed: gunzip + parse Pulse's object
//!   (recovering its segment index), merge, write.
//! - `cold_praktika_object`: the same on an object praktika wrote (level 9, no index): every
//!   segment is compressed.
//!
//! `cargo bench -p pulse-feed-projector --no-default-features --bench merge`; the size
//! comparison with praktika's own writer is `benches/praktika-compare` (BENCHMARKS.md).

use std::hint::black_box;
use std::io::Write;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use pulse_contracts::praktika::{EventFeed, FeedEvent};
use pulse_feed_projector::merge::{Rules, merge};
use pulse_feed_projector::stored::StoredFeed;

#[path = "../testdata/corpus.rs"]
mod corpus;

/// praktika's writer: `gzip.compress(json.dumps(feed))` is level 9 (spaces after separators
/// aside, which Python adds and serde does not).
fn praktika_object(feed: &serde_json::Value) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&serde_json::to_vec(feed).unwrap()).unwrap();
    e.finish().unwrap()
}

fn bench(c: &mut Criterion) {
    let feed_json = corpus::feed(corpus::TODAY, 0x5eed);
    let feed: EventFeed = serde_json::from_value(feed_json.clone()).expect("corpus parses");
    let incoming: FeedEvent = serde_json::from_value(corpus::next_run_of(&feed_json, 160, 0xbeef)).unwrap();
    let now = corpus::NOW + 120;
    let rules = Rules::default();

    let praktika = praktika_object(&feed_json);
    let mut written = StoredFeed::decode(&praktika).unwrap();
    let pulse = written.encode().unwrap();
    let mut warm = StoredFeed::decode(&pulse).unwrap();
    warm.encode().unwrap();

    let mut group = c.benchmark_group("merge_into_todays_feed");
    group.bench_function("merge_only", |b| {
        b.iter_batched(
            || (feed.clone(), incoming.clone()),
            |(mut feed, incoming)| (merge(black_box(&mut feed), incoming, now), feed),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("warm_write", |b| {
        b.iter_batched(
            || (warm.clone(), incoming.clone()),
            |(mut stored, incoming)| {
                stored.merge(incoming, now, rules);
                stored.encode().unwrap()
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("cold_pulse_object", |b| {
        b.iter_batched(
            || incoming.clone(),
            |incoming| {
                let mut stored = StoredFeed::decode(black_box(&pulse)).unwrap();
                stored.merge(incoming, now, rules);
                stored.encode().unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("cold_praktika_object", |b| {
        b.iter_batched(
            || incoming.clone(),
            |incoming| {
                let mut stored = StoredFeed::decode(black_box(&praktika)).unwrap();
                stored.merge(incoming, now, rules);
                stored.encode().unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
