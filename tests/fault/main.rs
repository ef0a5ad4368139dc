//! # The fault suite: exactly once, proven by breaking things (issue #11)
//!
//! Every test here runs Pulse's real binaries — the `feed-projector`, `home-renderer`,
//! `notifier` and `infra-reconciler` workers, the `pulse` CLI and `pulse-fake-slack` — against
//! its **own** moto (started per test, so freezing it stalls nobody else), with Pulse's stack
//! deployed by `pulse infra deploy --local-tap`. It then breaks something on purpose while
//! events flow, counts what it sent and what took effect (feed entries in S3, events on the bus
//! read from the tap queue, Slack calls recorded by the fake, dead letters) and asserts that
//! **every effect happened exactly once** and that **nothing was dead-lettered** unless the test
//! poisoned that message. What each test proves:
//!
//! | test | the fault | proven |
//! |---|---|---|
//! | `baseline::*` | none | the counting itself: every consumer's effects once, no dead letter |
//! | `crashes::*` | `PULSE_FAULT=claimed=kill` (after the runtime's claim, before the handler) and `handled=kill` (after the handler, before completion is recorded), then a restart without the fault | a worker killed mid-message completes it once after a restart (feed entry and `feed.updated`; Home view, never an older over a newer; DM and channel post; `deploy.status` started and completed), within about one visibility timeout |
//! | `slow::*` | `claimed=sleep:20` with a 6 s visibility timeout, a second worker polling the same queue | the heartbeat keeps the message: one attempt, one effect, no takeover |
//! | `freeze::*` | the emulator SIGSTOPped for 10 s while events flow | effects once, workers recover without a restart |
//! | `poison::*` | `claimed=panic@<key>` on one message among others | the others flow, the poll loop survives, the poisoned one is dead-lettered on its last receive with the panic text as its reason, and `pulse dlq replay` then processes it once |
//! | `slack_storms::*` | the fake Slack answering 5xx and 429 storms | each DM and channel post once |
//! | `duplicates::*` | the same envelope published twice; one event delivered 5 times at once to two workers | one effect |
//! | `cost::*` | none: every AWS call counted per process by a proxy | calls per CI event and per Slack request within their budgets (issue #13's cost model) |
//! | `cli::*` | none: the `pulse` command's conventions | `infra plan --detailed-exitcode` 0 / 2 / 64 (usage), `--only`'s help names every kind, no panic on `--events 0`, `--json` is JSON, `infra shutdown` refuses to act with nobody to ask, acts with `--yes` |
//! | `contract_v2::*` | none: old and new `pulse run` publishing `ci.job` v1 and v2 side by side, then a v3 no consumer declares | each run posted once from either version, the renamed field shown, nothing dead-lettered; v3 dead-lettered naming the versions taken |
//! | `forget::*` | none: `pulse forget` (dry run, then for real, then again) on a person with a feed, co-authored runs, a follower, DMs and audit entries | everything named in the report is gone from S3 (every version) and DynamoDB, the audit keeps a pseudonym, a dry run removes nothing, a second run finds nothing |
//! | `lambda::*` | none: each binary run as Lambda runs it, through a fake Runtime API (see `lambda/mod.rs`) | start-up failures reach `/init/error`; SQS batches answer exactly their failed ids; effects as in the other tests |
//! | `lost_answer::*` | a proxy applying ingress's first ledger claim in moto but answering it 500, so the SDK sends it again | ingress knows its own claim: the slash command is published once, a replay of it not at all |
//! | `partial_put::*` | a proxy failing part of the entries of PutEvents calls (the CLI's and the workers') | resent, each event on the bus once, each effect once |
//!
//! Every test but `lambda::*` (which asserts effects and counts nothing) prints one
//! `fault-summary {...}` line (messages, effects, duplicates, losses, dead letters, recovery
//! time, wall time) and appends it to `target/fault/summary.jsonl`; BENCHMARKS.md
//! ("Reliability") records them.
//!
//! ## Running it
//!
//! ```sh
//! ./tests/run -p pulse-tests -E 'binary(fault)'
//! ```
//!
//! `tests/run` builds the binaries once with the fault hooks (`cargo build --bins --features
//! pulse-runtime/fault-hooks`, the same features nextest then uses), exports `PULSE_BIN_DIR` and
//! makes sure moto is installed in `.venv`. The tests run one at a time (the `fault` test group
//! in `.config/nextest.toml`; under `cargo test` a lock does the same). A failing test prints
//! the last lines of every process's log; `PULSE_FAULT_KEEP_LOGS=1` keeps the logs of passing
//! tests too, under `target/fault/<test>-<id>/`. `PULSE_FAULT_RUST_LOG` sets the workers'
//! `RUST_LOG` (default `info`).

mod counting;
mod fixtures;
mod forward;
mod harness;
mod lambda;
mod proxy;
mod seen;
mod tally;

mod baseline;
mod cli;
mod contract_v2;
mod cost;
mod crashes;
mod duplicates;
mod forget;
mod freeze;
mod lost_answer;
mod partial_put;
mod poison;
mod settings;
mod slack_storms;
mod slow;
