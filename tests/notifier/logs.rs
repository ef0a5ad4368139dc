//! Capturing the JSON log lines a test produces, to assert what operators would read.

pub use pulse_tests::CapturedLogs as Captured;

/// Capture logs as the Lambda format writes them (JSON, current span fields on every line) for
/// the current thread; `#[tokio::test]` runs everything on it.
pub fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::INFO)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}
