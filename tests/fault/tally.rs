//! Counting what a test sent and what took effect, and the one summary line each test prints
//! (also appended to `target/fault/summary.jsonl`, from which BENCHMARKS.md's "Reliability"
//! table is written).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde_json::json;

use crate::harness::Scene;

/// Effects observed per expected item (a feed entry, a post, a status event...).
#[derive(Debug, Default)]
pub struct Tally {
    /// Messages the test put on the bus or a queue (copies included).
    pub messages: usize,
    /// item → how many times it took effect.
    effects: BTreeMap<String, usize>,
    /// Items the test meant to fail (poisoned), excluded from losses when absent.
    pub recovery: Option<Duration>,
    /// Free-form figures worth recording (attempts, retries, faults injected ...).
    pub notes: BTreeMap<String, serde_json::Value>,
}

impl Tally {
    pub fn new(messages: usize) -> Self {
        Self { messages, ..Self::default() }
    }

    /// Record that `item` took effect `count` times.
    pub fn effect(&mut self, item: impl Into<String>, count: usize) {
        *self.effects.entry(item.into()).or_default() += count;
    }

    /// Record the `copies` of an event published under `dedup_key`. A publish is exactly once
    /// by its dedup key, which every consumer's claim collapses (ARCHITECTURE.md, "Exactly
    /// once"): an attempt that died after publishing and before its completion was recorded
    /// publishes the same key again on its takeover. So the effect is the key being on the bus;
    /// the extra copies are noted as `republished`, and what consumers did with them is counted
    /// where it shows (posts, DMs, views).
    pub fn bus_event(&mut self, dedup_key: &str, copies: usize) {
        self.effect(format!("bus {dedup_key}"), copies.min(1));
        if copies > 1 {
            let republished = self.notes.get("republished").and_then(serde_json::Value::as_u64).unwrap_or(0);
            self.note("republished", republished + (copies as u64 - 1));
        }
    }

    pub fn note(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.notes.insert(key.to_owned(), value.into());
    }

    /// Items expected, and the sum of their effects.
    pub fn expected(&self) -> usize {
        self.effects.len()
    }

    pub fn total_effects(&self) -> usize {
        self.effects.values().sum()
    }

    /// Effects beyond the first, summed over items.
    pub fn duplicates(&self) -> usize {
        self.effects.values().map(|&n| n.saturating_sub(1)).sum()
    }

    /// Items that never took effect.
    pub fn losses(&self) -> usize {
        self.effects.values().filter(|&&n| n == 0).count()
    }

    fn offenders(&self) -> Vec<(&String, &usize)> {
        self.effects.iter().filter(|&(_, &n)| n != 1).collect()
    }

    /// Print the summary line, record it, then assert every item took effect exactly once and
    /// that the dead-letter queues hold exactly `dead_letters` messages in all.
    pub async fn finish(mut self, scene: &Scene, dead_letters: u64) {
        let dlq = scene.dead_letter_counts().await;
        let dlq_total: u64 = dlq.values().sum();
        let recovery = self.recovery.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0);
        let wall = (scene.started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        self.note("dlq", json!(dlq));
        let line = json!({
            "test": scene.name,
            "messages": self.messages,
            "expected_effects": self.expected(),
            "effects": self.total_effects(),
            "duplicates": self.duplicates(),
            "losses": self.losses(),
            "dead_letters": dlq_total,
            "recovery_s": recovery,
            "wall_s": wall,
            "notes": self.notes,
        });
        println!("fault-summary {line}");
        eprintln!("fault-summary {line}");
        let path = scene.bins.fault_dir().join("summary.jsonl");
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            let _ = writeln!(file, "{line}");
        }
        assert!(self.offenders().is_empty(), "effects not exactly once (item → count): {:#?}", self.offenders());
        assert_eq!(dlq_total, dead_letters, "dead letters: {dlq:?}");
    }
}
