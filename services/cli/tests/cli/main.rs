//! The `pulse` binary as people and CI jobs run it: `publish` and `dlq` against the emulator,
//! `github` against the fake GitHub,
//! and every argument of every command against a dead endpoint (no panics).

mod arguments;
mod dlq;
mod github;
mod publish;

/// `pulse` with AWS pointed at a dead endpoint (one attempt, test credentials): no test reaches
/// a real account, and a command that calls AWS fails at once.
fn offline_pulse() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pulse"));
    command
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    command
}
