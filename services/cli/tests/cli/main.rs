//! The `pulse` binary as people and CI jobs run it: `publish` and `dlq` against the emulator,
//! `github` against the fake GitHub,
//! and every argument of every command against a dead endpoint (no panics).

mod arguments;
mod dlq;
mod github;
mod publish;
