//! Structured logging: JSON lines in Lambda (and when `PULSE_LOG_FORMAT=json`), compact text
//! locally. The consumer's span carries the event id, so every line a handler logs names it.

use tracing_subscriber::EnvFilter;

/// True when running inside AWS Lambda.
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Install the global subscriber once. `RUST_LOG` overrides the default `info` level.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = in_lambda() || std::env::var("PULSE_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .without_time()
            .try_init()
    } else {
        builder.compact().try_init()
    };
    // A second init (tests) is harmless.
    let _ = result;
}
