//! Pulse's feed write next to praktika's own, on the same feed in the same run (BENCHMARKS.md,
//! "praktika today: feed writes"). Writes the corpus feed and event to `target/praktika-compare/`,
//! times Pulse's components, then (with `PRAKTIKA_SRC` naming a checkout of ClickHouse/praktika)
//! runs `benches/praktika-update.py` on the same files and prints the ratios.
//!
//! `PRAKTIKA_SRC=/path/to/praktika cargo run --release -p pulse-feed-projector
//!  --no-default-features --example praktika_compare`

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use pulse_contracts::praktika::{EventFeed, FeedEvent};
use pulse_feed_projector::merge::{Rules, merge};
use pulse_feed_projector::stored::StoredFeed;

#[path = "../testdata/corpus.rs"]
mod corpus;

const RUNS: usize = 41;

/// The feed-projector binary's allocator (`src/main.rs`), so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut f: impl FnMut() -> Duration) -> f64 {
    let mut times: Vec<f64> = (0..RUNS).map(|_| f().as_secs_f64() * 1e3).collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn main() -> anyhow_free::Result {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/praktika-compare");
    std::fs::create_dir_all(&dir)?;
    let feed_json = corpus::feed(corpus::TODAY, 0x5eed);
    let incoming_json = corpus::next_run_of(&feed_json, 160, 0xbeef);
    std::fs::write(dir.join("feed.json"), serde_json::to_vec(&feed_json)?)?;
    std::fs::write(dir.join("incoming.json"), serde_json::to_vec(&incoming_json)?)?;
    let incoming: FeedEvent = serde_json::from_value(incoming_json)?;
    let now = corpus::NOW + 120;
    let rules = Rules::default();

    // Pulse's object for the feed after the merge, written cold from praktika's object and warm.
    let praktika_object = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&serde_json::to_vec(&feed_json)?)?;
        e.finish()?
    };
    let mut first = StoredFeed::decode(&praktika_object)?;
    let pulse_before = first.encode()?;
    std::fs::write(dir.join("pulse.json.gz"), &pulse_before)?;
    first.merge(incoming.clone(), now, rules);
    let pulse_after = first.encode()?;

    let gunzip = median(|| {
        let mut text = Vec::new();
        timed(|| flate2::read::MultiGzDecoder::new(&pulse_before[..]).read_to_end(&mut text).unwrap()).1
    });
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(&pulse_before[..]).read_to_end(&mut text)?;
    let parse = median(|| timed(|| serde_json::from_slice::<EventFeed>(&text).unwrap()).1);
    let parsed: EventFeed = serde_json::from_slice(&text)?;
    let merge_only = median(|| {
        let mut feed = parsed.clone();
        let e = incoming.clone();
        timed(|| merge(&mut feed, e, now)).1
    });
    let warm_write = median(|| {
        let mut stored = StoredFeed::decode(&pulse_before).unwrap();
        stored.encode().unwrap();
        let e = incoming.clone();
        timed(|| {
            stored.merge(e, now, rules);
            stored.encode().unwrap()
        })
        .1
    });
    let cold = median(|| {
        let e = incoming.clone();
        timed(|| {
            let mut stored = StoredFeed::decode(&pulse_before).unwrap();
            stored.merge(e, now, rules);
            stored.encode().unwrap()
        })
        .1
    });
    let cold_from_praktika = median(|| {
        let e = incoming.clone();
        timed(|| {
            let mut stored = StoredFeed::decode(&praktika_object).unwrap();
            stored.merge(e, now, rules);
            stored.encode().unwrap()
        })
        .1
    });

    println!("feed: {} events x {} jobs, {} bytes of JSON", corpus::TODAY.events, corpus::TODAY.jobs, text.len());
    println!("pulse object after the merge: {} bytes", pulse_after.len());
    println!("pulse warm merge (merge only):          {merge_only:.3} ms");
    println!("pulse warm write (merge + encode):      {warm_write:.3} ms");
    println!("pulse cold merge of its own object:     {cold:.3} ms (gunzip {gunzip:.3} + parse {parse:.3} + merge + encode)");
    println!("pulse cold merge of praktika's object:  {cold_from_praktika:.3} ms");

    let Ok(src) = std::env::var("PRAKTIKA_SRC") else {
        println!("(set PRAKTIKA_SRC to a ClickHouse/praktika checkout to time praktika on the same feed)");
        return Ok(());
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benches/praktika-update.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["--praktika", &src, "--dir"])
        .arg(&dir)
        .args(["--now", &now.to_string(), "--runs", "21"])
        .output()?;
    if !out.status.success() {
        return Err(format!("praktika-update.py failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    println!("praktika: {report}");
    let size = report["object_bytes"].as_f64().unwrap_or(f64::NAN);
    let total = report["total_ms"].as_f64().unwrap_or(f64::NAN);
    let same_set = report["events_after"].as_u64() == Some(first.feed().events.len() as u64);
    println!("retained sets equal in size: {same_set} ({} events)", first.feed().events.len());
    println!("size ratio pulse / praktika level 9: {:.3} (target <= 1.1)", pulse_after.len() as f64 / size);
    println!("cold merge speed-up vs praktika's update: {:.1}x (target >= 20)", total / cold);
    Ok(())
}

/// `main`'s error type without pulling anyhow into the pure crate.
mod anyhow_free {
    pub type Result = std::result::Result<(), Box<dyn std::error::Error>>;
}
