//! A setting in the wrong form stops a program at start-up, before it touches AWS or Slack, with
//! an error that names the variable, the form expected and what it found, and never a secret.

use std::process::Command;

use crate::harness::Bins;

/// Runs `bin` with only `vars` set (and an AWS endpoint nothing listens on, so a program that
/// got past its settings would fail differently); answers its exit status and stderr.
fn start(bin: &str, vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(Bins::locate().path(bin))
        .env_clear()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .envs(vars.iter().copied())
        .output()
        .expect("the binary runs");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A program, the variables it is started with, and what it must say.
type Case = (&'static str, &'static [(&'static str, &'static str)], &'static str);

#[test]
fn a_malformed_setting_stops_each_program_naming_the_variable_and_the_form() {
    let cases: [Case; 7] = [
        (
            "notifier",
            &[("NOTIFIER_PACING_MS", "soon"), ("SLACK_DEFAULT_CHANNEL", "C0")],
            "NOTIFIER_PACING_MS must be a whole number of milliseconds; found \"soon\"",
        ),
        (
            "notifier",
            &[("NOTIFIER_UNCERTAIN_POLICY", "maybe"), ("SLACK_DEFAULT_CHANNEL", "C0")],
            "NOTIFIER_UNCERTAIN_POLICY must be `assume_sent`, `resend` or `hold`; found \"maybe\"",
        ),
        (
            "home-renderer",
            &[("PULSE_SUBSCRIPTION_RETENTION_DAYS", "-1")],
            "PULSE_SUBSCRIPTION_RETENTION_DAYS must be a whole number of days; found \"-1\"",
        ),
        (
            "feed-projector",
            &[("PULSE_FEED_RETENTION_DAYS", "0")],
            "PULSE_FEED_RETENTION_DAYS must be a whole number of days, at least 1; found \"0\"",
        ),
        ("infra-reconciler", &[("PULSE_LOG_FORMAT", "yaml")], "PULSE_LOG_FORMAT must be `json` or `text`; found \"yaml\""),
        (
            "ingress",
            &[("PULSE_INGRESS_ADDR", "localhost")],
            "PULSE_INGRESS_ADDR must be an address like `127.0.0.1:3000`; found \"localhost\"",
        ),
        ("ingress", &[("PULSE_INGRESS_AWS_TIMEOUT_MS", "soon")], "PULSE_INGRESS_AWS_TIMEOUT_MS must be milliseconds; found \"soon\""),
    ];
    for (bin, vars, expected) in cases {
        let (code, stderr) = start(bin, vars);
        assert_ne!(code, Some(0), "{bin} started with {vars:?}");
        assert!(stderr.contains(expected), "{bin} with {vars:?} should say {expected:?}; it said:\n{stderr}");
    }
}

#[test]
fn a_missing_setting_is_named_and_a_secret_never_reaches_a_start_up_error() {
    let (code, stderr) = start("praktika-compat", &[]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("PULSE_SLACK_TEAM_ID must be a Slack team id (`T…`), and it is not set"), "{stderr}");

    let (code, stderr) = start("home-renderer", &[("PULSE_POLLER_CONCURRENCY", "0"), ("SLACK_BOT_TOKEN", "xoxb-never-shown-0042")]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("PULSE_POLLER_CONCURRENCY must be a whole number from 1; found \"0\""), "{stderr}");
    assert!(!stderr.contains("xoxb-never-shown-0042"), "{stderr}");
}
