//! Structured logging: JSON lines in Lambda (and when `PULSE_LOG_FORMAT=json`), compact text
//! locally. The consumer's span carries the event id, so every line a handler logs names it.

use pulse_core::Settings;
use pulse_core::settings::SettingError;
use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, Logging};

/// Install the global subscriber once, as `settings` say (`RUST_LOG`, `PULSE_LOG_FORMAT`, and
/// JSON in Lambda). A setting in the wrong form is an error for the program to report.
pub fn init(settings: &Settings) -> Result<Logging, SettingError> {
    let logging = Logging::from_settings(settings)?;
    let filter = EnvFilter::try_new(&logging.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match logging.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).without_time().try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
    // A second init (tests) is harmless.
    let _ = result;
    Ok(logging)
}
