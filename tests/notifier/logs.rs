//! Capturing the JSON log lines a test produces (see `pulse_tests::capture_logs`).

pub use pulse_tests::capture_logs as capture;
