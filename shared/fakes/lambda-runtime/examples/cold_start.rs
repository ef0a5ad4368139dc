//! Cold start and memory of one Lambda `bootstrap`, measured through the fake Runtime API
//! (`benches/lambda-zips` runs it for every function; the results are in BENCHMARKS.md).
//!
//! ```text
//! cargo run --release -p pulse-fake-lambda-runtime --example cold_start -- BOOTSTRAP EVENTS.jsonl [INVOCATIONS]
//! ```
//!
//! Starts BOOTSTRAP with this process's environment plus Lambda's, then prints one JSON line:
//! `init_ms` (process start to its first `/invocation/next`: configuration, TLS roots, SDK
//! clients, and whatever the binary reads at start), `first_response_ms` (the first invocation,
//! sent once init is done, to its answer), peak RSS (`VmHWM`) after init and after INVOCATIONS
//! invocations of the events in EVENTS.jsonl (one JSON event a line, used in turn), and how many
//! of them the function answered with `/error`.

use std::time::{Duration, Instant};

use pulse_fake_lambda_runtime::{FakeRuntime, Outcome};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, events, rest @ ..] = args.as_slice() else {
        return Err("usage: cold_start BOOTSTRAP EVENTS.jsonl [INVOCATIONS]".into());
    };
    let invocations: usize = rest.first().map_or(Ok(1000), |n| n.parse())?;
    let events: Vec<Value> =
        std::fs::read_to_string(events)?.lines().filter(|l| !l.trim().is_empty()).map(serde_json::from_str).collect::<Result<_, _>>()?;
    if events.is_empty() {
        return Err("no events".into());
    }

    let runtime = FakeRuntime::start("cold-start").await?;
    let started = Instant::now();
    // Its logs would mix with the result line; init errors reach `/init/error`.
    let mut child = tokio::process::Command::new(bootstrap)
        .envs(runtime.lambda_env())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("the bootstrap exited at once")?;
    let first_next = loop {
        if let Some(at) = runtime.first_next() {
            break at;
        }
        if let Some(error) = runtime.init_errors().first() {
            return Err(format!("init failed: {error:?}").into());
        }
        if let Some(status) = child.try_wait()? {
            return Err(format!("the bootstrap exited at start ({status})").into());
        }
        if started.elapsed() > TIMEOUT {
            return Err("no /invocation/next within a minute".into());
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    };
    let init = first_next.saturating_duration_since(started);
    let rss_after_init = status_kib(pid, "VmHWM")?;

    let mut errors = 0;
    let mut first_response = Duration::ZERO;
    for n in 0..invocations {
        let sent = Instant::now();
        let outcome = runtime.invoke(events[n % events.len()].clone(), TIMEOUT).await.map_err(|e| e.to_string())?;
        if n == 0 {
            first_response = sent.elapsed();
        }
        if matches!(outcome, Outcome::Error(_)) {
            errors += 1;
        }
    }
    let peak = status_kib(pid, "VmHWM")?;
    let rss = status_kib(pid, "VmRSS")?;
    child.kill().await?;
    let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
    println!(
        "{}",
        json!({
            "bootstrap": bootstrap, "init_ms": ms(init), "first_response_ms": ms(first_response),
            "peak_rss_after_init_mib": mib(rss_after_init), "invocations": invocations,
            "peak_rss_after_invocations_mib": mib(peak), "rss_after_invocations_mib": mib(rss), "errors": errors,
        })
    );
    Ok(())
}

/// A `kB` line of `/proc/PID/status`.
fn status_kib(pid: u32, field: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with(field)).ok_or_else(|| format!("no {field} in /proc/{pid}/status"))?;
    Ok(line.split_whitespace().nth(1).ok_or("no value")?.parse()?)
}

fn mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}
