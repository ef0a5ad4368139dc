//! Structured logging: JSON lines in Lambda (and when `PULSE_LOG_FORMAT=json`), compact text
//! locally, both with their timestamps. The consumer's span carries the event id, so every line
//! a handler logs names it; in Lambda the runtime wraps each invocation in a span with its
//! request id and X-Ray trace id (`requestId`, `xrayTraceId`), so a JSON line carries its
//! innermost span (`span`, the event) and every span it is in (`spans`): the invocation and the
//! event on each line.

use pulse_core::Settings;
use pulse_core::metric;
use pulse_core::settings::SettingError;
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, filter};

use crate::emf::EmfLayer;
use crate::settings::{LogFormat, Logging};

/// Install the global subscriber once, as `settings` say (`RUST_LOG`, `PULSE_LOG_FORMAT`, and
/// in Lambda the function's own `AWS_LAMBDA_LOG_LEVEL` / `AWS_LAMBDA_LOG_FORMAT`). A setting in
/// the wrong form is an error for the program to report.
pub fn init(settings: &Settings) -> Result<Logging, SettingError> {
    let logging = Logging::from_settings(settings)?;
    // In Lambda, metrics go out as EMF lines on stdout (CloudWatch reads them from the log
    // stream); the service dimension is the program's name.
    let emf = logging.in_lambda.then(|| EmfLayer::new(program_name(), std::io::stdout));
    // A second init (tests) is harmless.
    let _ = tracing::subscriber::set_global_default(subscriber(&logging, std::io::stderr, emf));
    Ok(logging)
}

/// The subscriber `logging` describes: log lines to `writer`, and metric events
/// ([`pulse_core::metric`]) to `emf` when there is one (never as log lines).
pub fn subscriber<W, M>(logging: &Logging, writer: W, emf: Option<EmfLayer<M>>) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    M: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let level = EnvFilter::try_new(&logging.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let not_metrics = filter::filter_fn(|meta| meta.target() != metric::TARGET);
    // CloudWatch shows escape codes as text.
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(!logging.in_lambda);
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match logging.format {
        LogFormat::Json => Box::new(
            fmt.json().flatten_event(true).with_current_span(true).with_span_list(true).with_filter(level).with_filter(not_metrics),
        ),
        LogFormat::Text => Box::new(fmt.compact().with_filter(level).with_filter(not_metrics)),
    };
    let metrics = emf.map(|emf| emf.with_filter(filter::filter_fn(|meta| meta.target() == metric::TARGET)));
    Box::new(tracing_subscriber::registry().with(lines).with(metrics))
}

/// The running program's file name (`notifier`, `ingress`, …; Lambda's `bootstrap` is named by
/// the function instead).
fn program_name() -> String {
    let settings = Settings::from_env();
    if let Ok(Some(function)) = settings.text(&crate::settings::AWS_LAMBDA_FUNCTION_NAME) {
        return function;
    }
    std::env::current_exe().ok().and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).unwrap_or_else(|| "pulse".to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::Value;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    #[test]
    fn a_json_line_in_lambda_names_the_invocation_the_trace_and_the_event_and_keeps_its_time() {
        let logging = Logging { filter: "info".into(), format: LogFormat::Json, in_lambda: true };
        let buffer = Buffer::default();
        tracing::subscriber::with_default(subscriber(&logging, buffer.clone(), None::<EmfLayer<Buffer>>), || {
            // As lambda_runtime opens it around each invocation, and the consumer inside it.
            let invoke = tracing::info_span!("Lambda runtime invoke", requestId = "req-1", xrayTraceId = "Root=1-abc");
            let _invoke = invoke.enter();
            let event = tracing::info_span!("event", event_id = "evt-7");
            let _event = event.enter();
            tracing::info!(outcome = "done", "handled");
            tracing::debug!("below the level");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
        assert_eq!(lines.len(), 1, "{text}");
        let line = &lines[0];
        assert_eq!((line["message"].as_str(), line["outcome"].as_str()), (Some("handled"), Some("done")));
        assert_eq!(line["spans"][0]["requestId"], "req-1");
        assert_eq!(line["spans"][0]["xrayTraceId"], "Root=1-abc");
        assert_eq!(line["spans"][1]["event_id"], "evt-7");
        assert_eq!(line["span"]["event_id"], "evt-7", "the innermost span, as before");
        assert!(line["timestamp"].as_str().is_some_and(|t| t.starts_with("20")), "{line}");
        assert!(!text.contains('\u{1b}'), "no colour codes in Lambda: {text}");
    }

    #[test]
    fn metrics_become_emf_lines_whatever_the_level_and_never_log_lines() {
        let logging = Logging { filter: "warn".into(), format: LogFormat::Json, in_lambda: true };
        let (lines, metrics) = (Buffer::default(), Buffer::default());
        let emf = EmfLayer::new("notifier".to_owned(), metrics.clone());
        tracing::subscriber::with_default(subscriber(&logging, lines.clone(), Some(emf)), || {
            metric::count(metric::Name::MessagesHandled);
            metric::duration(metric::Name::HandlerTime, std::time::Duration::from_micros(12_500));
        });
        assert!(lines.0.lock().unwrap().is_empty(), "no metric as a log line");
        let text = String::from_utf8(metrics.0.lock().unwrap().clone()).unwrap();
        let emf: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(emf.len(), 2, "{text}");
        assert_eq!(emf[0]["MessagesHandled"], 1.0);
        assert_eq!(emf[0]["Service"], "notifier");
        let directive = &emf[0]["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Pulse");
        assert_eq!(directive["Dimensions"], serde_json::json!([["Service"]]));
        assert_eq!(directive["Metrics"], serde_json::json!([{"Name": "MessagesHandled", "Unit": "Count"}]));
        assert!(emf[0]["_aws"]["Timestamp"].as_u64().is_some_and(|t| t > 1_700_000_000_000));
        assert_eq!(emf[1]["HandlerTime"], 12.5);
        assert_eq!(emf[1]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"], "Milliseconds");
    }

    #[test]
    fn the_level_filters() {
        let logging = Logging { filter: "warn".into(), format: LogFormat::Text, in_lambda: true };
        let buffer = Buffer::default();
        tracing::subscriber::with_default(subscriber(&logging, buffer.clone(), None::<EmfLayer<Buffer>>), || {
            tracing::info!("quiet");
            tracing::warn!("loud");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("loud") && !text.contains("quiet"), "{text}");
    }
}
