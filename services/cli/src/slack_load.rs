//! `pulse slack load`: many signed requests to a running ingress, and the acknowledgement time
//! distribution (p50 / p90 / p99 / max) and ingress's peak RSS.
//!
//! - Closed loop (default): `--concurrency` requests in flight, each sent when one is answered.
//! - Open loop (`--rate R`): request *i* is due at `i / R` seconds, whether or not earlier ones
//!   were answered, over at most `--concurrency` connections; its time counts from when it was
//!   due, not from when a connection was free. A closed loop slows down with the server and so
//!   hides its queueing (coordinated omission); an open loop at a stated rate does not.
//!
//! Every body is built and signed before the first is sent, so the measured time is ingress's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use futures::StreamExt;
use pulse_core::{Clock, Ids};
use serde_json::json;

use crate::slack_cmd::{Outgoing, Send, Target, outgoing, signed_request};

#[derive(clap::Args)]
pub struct LoadArgs {
    #[command(flatten)]
    target: Target,
    /// Requests in flight at once (1 to 10,000); with --rate, the most connections used.
    #[arg(long, default_value_t = 200, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    concurrency: usize,
    /// Requests in total (each a distinct slash command or event, so each is recorded and published;
    /// 1 to 1,000,000, all built before the first is sent).
    #[arg(long, default_value_t = 2000, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    requests: usize,
    /// Open loop: send this many requests per second on schedule (1 to 100,000).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..=100_000))]
    rate: Option<u64>,
    /// What to send: `command` (`/pulser status`), `event` (`app_home_opened`) or `mixed`.
    #[arg(long, default_value = "mixed")]
    kind: LoadKind,
    /// The ingress process id, to report its peak RSS (VmHWM from /proc).
    #[arg(long)]
    pid: Option<u32>,
    /// Print the summary as one JSON object too.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LoadKind {
    Command,
    Event,
    Mixed,
}

pub async fn load(args: LoadArgs, clock: &Clock, ids: &Ids) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).pool_max_idle_per_host(args.concurrency).build()?;
    let outgoing: Vec<Outgoing> = (0..args.requests)
        .map(|i| {
            let event = match args.kind {
                LoadKind::Command => false,
                LoadKind::Event => true,
                LoadKind::Mixed => i % 2 == 1,
            };
            let user = format!("U0LOAD{:05}", i % 1000);
            let what = if event {
                Send::HomeOpened { user, event_id: None, retry: None }
            } else {
                Send::Command { line: "/pulser status".into(), user, channel: "C0LOAD".into(), response_url: None }
            };
            outgoing(what, &args.target.team, ids)
        })
        .collect();
    let requests: Vec<reqwest::Request> =
        outgoing.iter().map(|o| signed_request(&http, &args.target, o, clock.now_secs()).build()).collect::<Result<_, _>>()?;
    let rss_before = args.pid.and_then(peak_rss_kib);
    let started = Instant::now();
    let results: Vec<(Option<u16>, Duration)> = match args.rate {
        None => {
            eprintln!("sending {} signed requests, {} at a time, to {}", args.requests, args.concurrency, args.target.url);
            futures::stream::iter(requests)
                .map(|request| {
                    let http = http.clone();
                    async move { exchange(&http, request, Instant::now()).await }
                })
                .buffer_unordered(args.concurrency)
                .collect()
                .await
        }
        Some(rate) => {
            eprintln!(
                "sending {} signed requests at {rate}/s (open loop, at most {} connections) to {}",
                args.requests, args.concurrency, args.target.url
            );
            let slots = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
            let tasks: Vec<_> = requests
                .into_iter()
                .enumerate()
                .map(|(i, request)| {
                    let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
                    let (http, slots) = (http.clone(), slots.clone());
                    tokio::spawn(async move {
                        tokio::time::sleep_until(due.into()).await;
                        let _slot = slots.acquire().await.expect("the semaphore is never closed");
                        exchange(&http, request, due).await
                    })
                })
                .collect();
            futures::future::join_all(tasks).await.into_iter().collect::<Result<_, _>>()?
        }
    };
    let wall = started.elapsed();
    report(&args, &results, wall, rss_before)
}

/// Send one request; its status (None: no answer) and the time from `since` to the whole answer.
async fn exchange(http: &reqwest::Client, request: reqwest::Request, since: Instant) -> (Option<u16>, Duration) {
    let status = match http.execute(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            // The acknowledgement is complete when its body has arrived.
            let _ = response.bytes().await;
            Some(status)
        }
        Err(_) => None,
    };
    (status, since.elapsed())
}

fn report(args: &LoadArgs, results: &[(Option<u16>, Duration)], wall: Duration, rss_before: Option<u64>) -> anyhow::Result<()> {
    let mut latencies: Vec<Duration> = results.iter().map(|(_, d)| *d).collect();
    latencies.sort();
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for (status, _) in results {
        *statuses.entry(status.map_or("error".to_owned(), |s| s.to_string())).or_default() += 1;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (p50, p90, p99, max) = (
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        *latencies.last().expect("at least one request"),
    );
    let rss = args.pid.and_then(peak_rss_kib);
    let mode = args.rate.map_or(format!("concurrency {}", args.concurrency), |r| format!("open loop at {r}/s"));
    println!(
        "{} requests, {mode}, in {:.2} s: {:.0} requests/s",
        args.requests,
        wall.as_secs_f64(),
        args.requests as f64 / wall.as_secs_f64()
    );
    println!("statuses: {}", statuses.iter().map(|(s, n)| format!("{s} × {n}")).collect::<Vec<_>>().join(", "));
    println!("acknowledgement time: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms", ms(p50), ms(p90), ms(p99), ms(max));
    if let (Some(pid), Some(kib)) = (args.pid, rss) {
        println!(
            "ingress (pid {pid}) peak RSS: {:.1} MiB{}",
            kib as f64 / 1024.0,
            rss_before.map_or(String::new(), |b| format!(" (before the load: {:.1} MiB)", b as f64 / 1024.0))
        );
    }
    if args.json {
        println!(
            "{}",
            json!({
                "requests": args.requests,
                "concurrency": args.concurrency,
                "rate": args.rate,
                "wall_s": wall.as_secs_f64(),
                "requests_per_s": args.requests as f64 / wall.as_secs_f64(),
                "statuses": statuses,
                "p50_ms": ms(p50), "p90_ms": ms(p90), "p99_ms": ms(p99), "max_ms": ms(max),
                "peak_rss_kib": rss,
            })
        );
    }
    let failed: usize = statuses.iter().filter(|(s, _)| s.as_str() != "200").map(|(_, n)| n).sum();
    if failed > 0 {
        bail!("{failed} of {} requests were not acknowledged with 200", args.requests);
    }
    Ok(())
}

/// The `p`th percentile (nearest rank) of sorted values.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Peak resident set size (`VmHWM`) of a process, in KiB (Linux).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&v, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&v[..1], 99.0), Duration::from_millis(1));
    }
}
