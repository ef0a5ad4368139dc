//! The boundaries ARCHITECTURE.md states, checked: which crate may depend on which (read from
//! `cargo metadata`, normal dependencies only, as linked into a binary), and which modules are
//! pure (read from their sources).
//!
//! A failure names the crate or file and the path by which the forbidden thing got in, so the
//! fix is clear: move the code, or make the dependency a dev-dependency.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::house_rules::production_sources;

/// The deployed services: each a Lambda function (or the local stack's worker) of its own.
const SERVICES: [&str; 6] =
    ["pulse-ingress", "pulse-feed-projector", "pulse-notifier", "pulse-home-renderer", "pulse-infra-reconciler", "pulse-praktika-compat"];

/// The operator's command line. It may link the libraries of the services it drives (ingress's
/// settings and hints, the notifier's audit store, the infra-reconciler's planner), never a fake.
const CLI: &str = "pulse-cli";

/// Crates that exist for tests and the local stack (`shared/fakes/`).
const TEST_TOOLS: [&str; 5] =
    ["pulse-fake-slack", "pulse-fake-socket-mode", "pulse-fake-imagebuilder", "pulse-fake-github", "pulse-slack-requests"];

/// The modules documented as pure decision code: an event, state and time in, a decision out
/// (ARCHITECTURE.md lists the same). A folder ends in `/`.
const PURE_CORES: [&str; 27] = [
    "services/ingress/src/decide.rs",
    "services/ingress/src/verify.rs",
    "services/ingress/src/github/",
    "services/ingress/src/socket_mode/machine/",
    "services/feed-projector/src/merge.rs",
    "services/feed-projector/src/project.rs",
    "services/feed-projector/src/external.rs",
    "services/feed-projector/src/github/",
    "services/notifier/src/decide.rs",
    "services/notifier/src/plan.rs",
    "services/notifier/src/dm.rs",
    "services/notifier/src/policy.rs",
    "services/notifier/src/github/filters.rs",
    "services/notifier/src/github/commands.rs",
    "services/notifier/src/github/run.rs",
    "services/notifier/src/github/render.rs",
    "services/notifier/src/github/runs.rs",
    "services/notifier/src/github/transitions.rs",
    "services/notifier/src/github/rerun.rs",
    "services/home-renderer/src/subscriptions.rs",
    "services/home-renderer/src/render/",
    "services/praktika-compat/src/decide.rs",
    "shared/runtime/src/decide.rs",
    "services/cli/src/migrate/plan.rs",
    "services/cli/src/github_payload.rs",
    "shared/github/src/wire.rs",
    "shared/github/src/redeliver.rs",
];

/// The repository root (this crate is `tests/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The workspace's resolved normal-dependency graph: package name → names it depends on.
struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn load() -> &'static Graph {
        static GRAPH: OnceLock<Graph> = OnceLock::new();
        GRAPH.get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let host = host_triple(&cargo);
            let output = Command::new(&cargo)
                .current_dir(root())
                .args(["metadata", "--format-version", "1", "--locked", "--filter-platform", &host])
                .output()
                .expect("cargo metadata runs");
            assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
            let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
            Graph::from_metadata(&metadata)
        })
    }

    fn from_metadata(metadata: &Value) -> Graph {
        let names: BTreeMap<&str, &str> = metadata["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| (p["id"].as_str().expect("id"), p["name"].as_str().expect("name")))
            .collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for node in metadata["resolve"]["nodes"].as_array().expect("resolve.nodes") {
            let from = names[node["id"].as_str().expect("node id")].to_owned();
            let entry = edges.entry(from).or_default();
            for dep in node["deps"].as_array().expect("deps") {
                let normal = dep["dep_kinds"].as_array().expect("dep_kinds").iter().any(|k| k["kind"].is_null());
                if normal {
                    entry.insert(names[dep["pkg"].as_str().expect("dep pkg")].to_owned());
                }
            }
        }
        Graph { edges }
    }

    /// Every package `krate` links, with the chain by which each got in.
    fn reach(&self, krate: &str) -> BTreeMap<String, Vec<String>> {
        assert!(self.edges.contains_key(krate), "{krate} is not in the workspace");
        let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut queue = VecDeque::from([vec![krate.to_owned()]]);
        while let Some(path) = queue.pop_front() {
            let last = path.last().expect("paths are never empty");
            for next in self.edges.get(last).into_iter().flatten() {
                if !paths.contains_key(next) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    paths.insert(next.clone(), longer.clone());
                    queue.push_back(longer);
                }
            }
        }
        paths
    }

    /// The chains by which `krate` reaches a package `forbidden` says no to.
    fn offending(&self, krate: &str, forbidden: impl Fn(&str) -> bool) -> Vec<String> {
        self.reach(krate).into_iter().filter(|(name, _)| forbidden(name)).map(|(_, path)| path.join(" → ")).collect()
    }
}

fn host_triple(cargo: &str) -> String {
    let rustc = Path::new(cargo).with_file_name("rustc");
    let rustc = if rustc.exists() { rustc } else { PathBuf::from("rustc") };
    let output = Command::new(rustc).arg("-vV").output().expect("rustc -vV runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.lines().find_map(|l| l.strip_prefix("host: ")).expect("rustc -vV names the host").trim().to_owned()
}

/// The graph walk itself: a chain through another crate is found and named.
#[test]
fn the_graph_names_the_chain_by_which_a_crate_gets_in() {
    let graph = Graph::load();
    let reached = graph.reach("pulse-notifier");
    assert_eq!(reached["pulse-slack"], ["pulse-notifier", "pulse-slack"]);
    assert!(reached.contains_key("pulse-contracts") && reached.contains_key("serde"));
    // Dev-dependencies are not linked into the binary: the notifier's tests use the fake Slack.
    assert!(!reached.contains_key("pulse-fake-slack"));
    let chains = graph.offending("pulse-notifier", |name| name == "reqwest");
    assert_eq!(chains.first().map(String::as_str), Some("pulse-notifier → reqwest"), "{chains:?}");
}

/// `pulse-contracts` knows nothing of AWS, of async runtimes or of HTTP: the event shapes are
/// plain data that any transport can carry.
#[test]
fn contracts_know_nothing_of_aws() {
    let chains = Graph::load().offending("pulse-contracts", |name| {
        name.starts_with("aws-") || name.starts_with("pulse-") || ["tokio", "reqwest", "hyper", "lambda_runtime"].contains(&name)
    });
    assert!(chains.is_empty(), "pulse-contracts reaches:\n{}", chains.join("\n"));
}

/// `pulse-core` is the floor: it knows nothing of AWS, Slack or Pulse's events.
#[test]
fn core_depends_on_no_pulse_crate() {
    let chains = Graph::load().offending("pulse-core", |name| name.starts_with("pulse-") || name.starts_with("aws-") || name == "reqwest");
    assert!(chains.is_empty(), "pulse-core reaches:\n{}", chains.join("\n"));
}

/// Services talk through events only: no deployed service links another's crate, nor the CLI.
#[test]
fn no_service_depends_on_another() {
    let graph = Graph::load();
    for service in SERVICES {
        let chains = graph.offending(service, |name| name != service && (SERVICES.contains(&name) || name == CLI));
        assert!(chains.is_empty(), "{service} links another service:\n{}", chains.join("\n"));
    }
}

/// Fakes and test kits are never linked into a service or the CLI (the CLI may send signed
/// requests to a local ingress with `pulse-slack-requests`).
#[test]
fn fakes_never_linked_into_a_service() {
    let graph = Graph::load();
    for krate in SERVICES.into_iter().chain([CLI]) {
        let chains = graph.offending(krate, |name| TEST_TOOLS.contains(&name) && !(krate == CLI && name == "pulse-slack-requests"));
        assert!(chains.is_empty(), "{krate} links a test tool:\n{}", chains.join("\n"));
    }
}

/// The slim publisher a CI job builds links one AWS SDK (EventBridge; `aws-config` brings STS
/// for assumed roles), no Pulse service and no HTTP client or server of its own: compiling it
/// must stay cheap for a CI job that only sends results. `cargo metadata` unifies features
/// across the workspace (there `pulse-aws` has every SDK), so this asks `cargo tree` what
/// building the publisher alone compiles.
#[test]
fn the_slim_publisher_compiles_eventbridge_and_nothing_heavier() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(&cargo)
        .current_dir(root())
        .args(["tree", "--locked", "-q", "-e", "normal", "-p", "pulse-publisher", "--prefix", "none"])
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    let crates: BTreeSet<&str> = text.lines().filter_map(|l| l.split_whitespace().next()).collect();
    let sdks: Vec<&str> = crates.iter().copied().filter(|c| c.starts_with("aws-sdk-")).collect();
    assert_eq!(sdks, ["aws-sdk-eventbridge", "aws-sdk-sts"], "the publisher compiles these SDKs");
    let heavy: Vec<&str> = crates
        .iter()
        .copied()
        .filter(|c| {
            SERVICES.contains(c)
                || *c == CLI
                || ["pulse-runtime", "pulse-slack", "pulse-github", "axum", "reqwest", "lambda_runtime", "jsonwebtoken"].contains(c)
        })
        .collect();
    assert!(heavy.is_empty(), "pulse-publisher compiles {heavy:?}");
}

/// An HTTP server framework only where a service serves HTTP: ingress's local server. The Slack
/// client no longer drags in the fake's server, argument parser or log set-up.
#[test]
fn axum_only_where_http_is_served() {
    let graph = Graph::load();
    for service in SERVICES.into_iter().filter(|s| *s != "pulse-ingress") {
        let chains = graph.offending(service, |name| name == "axum");
        assert!(chains.is_empty(), "{service} links axum:\n{}", chains.join("\n"));
    }
    let chains = graph.offending("pulse-slack", |name| ["axum", "clap", "tracing-subscriber"].contains(&name));
    assert!(chains.is_empty(), "pulse-slack links:\n{}", chains.join("\n"));
}

/// Decision code is a pure function of its inputs: it never reads the clock (time is handed in),
/// never sleeps, and calls neither AWS nor Slack. Its tests fix the time and need no emulator.
#[test]
fn decision_code_never_reads_the_clock() {
    let sources = production_sources();
    let mut found = Vec::new();
    for core in PURE_CORES {
        let files: Vec<&(String, String)> =
            sources.iter().filter(|(path, _)| if core.ends_with('/') { path.starts_with(core) } else { path == core }).collect();
        assert!(!files.is_empty(), "{core} is listed as a pure core but has no production source");
        for (path, text) in files {
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for needle in
                    ["Utc::now", "SystemTime::now", "Instant::now", "tokio::", "aws_sdk", "aws_config", "reqwest", "thread::sleep"]
                {
                    if code.contains(needle) {
                        found.push(format!("{path}:{}: {needle}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "pure decision code reads the clock or does I/O:\n{}", found.join("\n"));
}
