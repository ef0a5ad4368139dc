//! The cost test's output: every window it measured and the summary BENCHMARKS.md's "Cost model"
//! is written from (calls per CI event, mean / min / max over the mix; calls per Slack request),
//! printed and written to `target/fault/cost.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::meter::{Key, Window};
use crate::harness::Scene;

struct Entry {
    kind: &'static str,
    label: String,
    shape: Value,
    window: Window,
}

#[derive(Default)]
pub struct Report {
    entries: Vec<Entry>,
}

fn time_driven(key: &Key) -> bool {
    key.2.starts_with("ReceiveMessage (empty)")
}

fn rows(calls: &BTreeMap<Key, u64>) -> Vec<Value> {
    calls
        .iter()
        .filter(|(k, _)| !time_driven(k))
        .map(|((p, s, o), n)| json!({"process": p, "service": s, "operation": o, "calls": n}))
        .collect()
}

impl Report {
    pub fn add(&mut self, kind: &'static str, label: impl Into<String>, shape: Value, window: &Window) {
        self.entries.push(Entry { kind, label: label.into(), shape, window: window.clone() });
    }

    /// Mean, min and max calls per CI event of each `(process, service, operation)`.
    fn per_ci_event(&self) -> Vec<Value> {
        let windows: Vec<&Window> = self.entries.iter().filter(|e| e.kind == "ci_event").map(|e| &e.window).collect();
        let mut keys: Vec<&Key> = windows.iter().flat_map(|w| w.calls.keys()).filter(|k| !time_driven(k)).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .map(|key| {
                let counts: Vec<u64> = windows.iter().map(|w| w.calls.get(key).copied().unwrap_or(0)).collect();
                let mean = counts.iter().sum::<u64>() as f64 / counts.len().max(1) as f64;
                let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
                for w in &windows {
                    for ((k, status), n) in &w.statuses {
                        if k == key {
                            *statuses.entry(*status).or_default() += n;
                        }
                    }
                }
                json!({
                    "process": key.0, "service": key.1, "operation": key.2,
                    "mean": (mean * 100.0).round() / 100.0,
                    "min": counts.iter().min(), "max": counts.iter().max(),
                    "statuses": statuses,
                })
            })
            .collect()
    }

    /// Print the summary and write everything to `target/fault/cost.json`.
    pub fn write(&self, scene: &Scene) -> PathBuf {
        let ci: Vec<&Entry> = self.entries.iter().filter(|e| e.kind == "ci_event").collect();
        let mean_of = |field: &str| {
            let total: u64 = ci.iter().map(|e| e.shape[field].as_u64().unwrap_or(0)).sum();
            (total as f64 / ci.len().max(1) as f64 * 100.0).round() / 100.0
        };
        let per_ci_event = self.per_ci_event();
        let slack: Vec<Value> = self
            .entries
            .iter()
            .filter(|e| e.kind == "slack_request")
            .map(|e| json!({"request": e.label, "shape": e.shape, "calls": rows(&e.window.calls)}))
            .collect();
        let empty: u64 = self.entries.iter().flat_map(|e| &e.window.calls).filter(|(k, _)| time_driven(k)).map(|(_, n)| n).sum();
        let windows: Vec<Value> = self
            .entries
            .iter()
            .map(|e| {
                let statuses: Vec<Value> = e
                    .window
                    .statuses
                    .iter()
                    .map(|(((p, s, o), status), n)| json!({"process": p, "service": s, "operation": o, "status": status, "calls": n}))
                    .collect();
                json!({"kind": e.kind, "label": e.label, "shape": e.shape, "calls": statuses})
            })
            .collect();
        let report = json!({
            "ci_events": ci.len(),
            "mix": {"authors": mean_of("authors"), "subscribers": mean_of("subscribers"), "dms": mean_of("dms")},
            "per_ci_event": per_ci_event,
            "per_slack_request": slack,
            "empty_receives_all_windows": empty,
            "wall_s": (scene.started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            "windows": windows,
        });
        println!("cost: calls per CI event over {} events (mix {}):", ci.len(), report["mix"]);
        for row in &per_ci_event {
            println!(
                "cost | {} | {} | {} | {} | {}..{} | {}",
                row["process"].as_str().unwrap_or_default(),
                row["service"].as_str().unwrap_or_default(),
                row["operation"].as_str().unwrap_or_default(),
                row["mean"],
                row["min"],
                row["max"],
                row["statuses"]
            );
        }
        for request in &slack {
            println!("cost: Slack request {}:", request["request"]);
            for row in request["calls"].as_array().into_iter().flatten() {
                println!(
                    "cost | {} | {} | {} | {}",
                    row["process"].as_str().unwrap_or_default(),
                    row["service"].as_str().unwrap_or_default(),
                    row["operation"].as_str().unwrap_or_default(),
                    row["calls"]
                );
            }
        }
        let path = scene.bins.fault_dir().join("cost.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).expect("write cost.json");
        println!("cost: written to {}", path.display());
        path
    }
}
