//! The environment variables of every long-running Pulse program (logging, the consumer
//! runner, the fault hooks). Declared once here; see `pulse_core::settings`.

use std::str::FromStr;
use std::time::Duration;

use pulse_core::settings::{SettingError, Settings, Var};

pub const AWS_LAMBDA_RUNTIME_API: Var = Var::new(
    "AWS_LAMBDA_RUNTIME_API",
    "`host:port`",
    "Set by Lambda: its presence makes a program serve Lambda invocations (and log JSON) instead of running locally.",
);

pub const RUST_LOG: Var = Var::new(
    "RUST_LOG",
    "a `tracing` filter (`info`, `pulse_notifier=debug,warn`, …)",
    "Which log lines are written; unset means `info` (the `pulse` command: `warn`).",
);

pub const PULSE_LOG_FORMAT: Var = Var::new(
    "PULSE_LOG_FORMAT",
    "`json` or `text`",
    "The log line format outside Lambda (in Lambda, `AWS_LAMBDA_LOG_FORMAT` decides: JSON unless `Text`).",
)
.default("text");

pub const PULSE_QUEUE: Var =
    Var::new("PULSE_QUEUE", "an SQS queue name", "The queue a consumer polls locally; unset means `<stack>-<service>`.");

pub const PULSE_DLQ: Var =
    Var::new("PULSE_DLQ", "an SQS queue name", "Where a consumer sends what it cannot handle; unset means `<stack>-<service>-dlq`.");

pub const PULSE_POLLER_CONCURRENCY: Var =
    Var::new("PULSE_POLLER_CONCURRENCY", "a whole number from 1", "How many receive loops a local consumer runs.").default("2");

pub const PULSE_POLLER_VISIBILITY_SECONDS: Var = Var::new(
    "PULSE_POLLER_VISIBILITY_SECONDS",
    "a whole number of seconds, at least 3",
    "How long a local consumer hides a message it received before it is redelivered.",
)
.default("30");

pub const AWS_LAMBDA_LOG_LEVEL: Var = Var::new(
    "AWS_LAMBDA_LOG_LEVEL",
    "`TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR` or `FATAL`",
    "Set by Lambda from the function's logging configuration: in Lambda it wins over `RUST_LOG`.",
);

pub const AWS_LAMBDA_LOG_FORMAT: Var = Var::new(
    "AWS_LAMBDA_LOG_FORMAT",
    "`JSON` or `Text`",
    "Set by Lambda from the function's logging configuration: the log line format in Lambda (unset: JSON).",
);

pub const AWS_LAMBDA_FUNCTION_NAME: Var = Var::new(
    "AWS_LAMBDA_FUNCTION_NAME",
    "a function name",
    "Set by Lambda: the `Service` dimension of the metrics a function writes (locally, the program's name).",
);

pub const PULSE_FAULT: Var = Var::new(
    "PULSE_FAULT",
    "`<point>=<action>[@<text>]`, comma-separated",
    "Fault injection for the fault suite; refused at start-up by binaries built without the `fault-hooks` feature.",
);

/// What every consumer declares.
pub fn declared() -> Vec<Var> {
    vec![
        AWS_LAMBDA_RUNTIME_API,
        AWS_LAMBDA_LOG_LEVEL,
        AWS_LAMBDA_LOG_FORMAT,
        AWS_LAMBDA_FUNCTION_NAME,
        RUST_LOG,
        PULSE_LOG_FORMAT,
        PULSE_QUEUE,
        PULSE_DLQ,
        PULSE_POLLER_CONCURRENCY,
        PULSE_POLLER_VISIBILITY_SECONDS,
        PULSE_FAULT,
    ]
}

/// What logging reads, for programs that are not consumers (ingress, the praktika entry).
pub fn declared_logging() -> Vec<Var> {
    vec![AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_LOG_LEVEL, AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_FUNCTION_NAME, RUST_LOG, PULSE_LOG_FORMAT]
}

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

impl FromStr for LogFormat {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "json" => Ok(Self::Json),
            "text" => Ok(Self::Text),
            _ => Err(()),
        }
    }
}

/// How a program logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    pub filter: String,
    pub format: LogFormat,
    pub in_lambda: bool,
}

impl Logging {
    /// Locally: `RUST_LOG` (default `info`) and `PULSE_LOG_FORMAT`. In Lambda: the function's
    /// logging configuration, as Lambda hands it in (`AWS_LAMBDA_LOG_LEVEL` over `RUST_LOG`,
    /// `AWS_LAMBDA_LOG_FORMAT`, JSON when unset), so the console's settings are the ones obeyed.
    pub fn from_settings(settings: &Settings) -> Result<Self, SettingError> {
        let in_lambda = settings.is_set(&AWS_LAMBDA_RUNTIME_API);
        let mut filter = settings.text(&RUST_LOG)?.unwrap_or_else(|| "info".to_owned());
        let format = if in_lambda {
            if let Some(level) = settings.text(&AWS_LAMBDA_LOG_LEVEL)? {
                filter = lambda_level(&level).ok_or_else(|| AWS_LAMBDA_LOG_LEVEL.refuse(&level))?.to_owned();
            }
            match settings.text(&AWS_LAMBDA_LOG_FORMAT)?.as_deref() {
                None | Some("JSON") => LogFormat::Json,
                Some("Text") => LogFormat::Text,
                Some(other) => return Err(AWS_LAMBDA_LOG_FORMAT.refuse(other)),
            }
        } else {
            settings.parse_required(&PULSE_LOG_FORMAT)?
        };
        Ok(Self { filter, format, in_lambda })
    }
}

/// Lambda's log level as a `tracing` filter (`FATAL` has no level of its own: errors).
fn lambda_level(level: &str) -> Option<&'static str> {
    Some(match level {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => return None,
    })
}

/// How a consumer runs locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runner {
    pub queue: Option<String>,
    pub dead_letter_queue: Option<String>,
    pub concurrency: usize,
    pub visibility: Duration,
}

impl Runner {
    pub fn from_settings(settings: &Settings) -> Result<Self, SettingError> {
        let concurrency: usize = settings.parse_required(&PULSE_POLLER_CONCURRENCY)?;
        if concurrency == 0 {
            return Err(PULSE_POLLER_CONCURRENCY.refuse("0"));
        }
        let visibility: u64 = settings.parse_required(&PULSE_POLLER_VISIBILITY_SECONDS)?;
        Ok(Self {
            queue: settings.text(&PULSE_QUEUE)?,
            dead_letter_queue: settings.text(&PULSE_DLQ)?,
            concurrency,
            visibility: Duration::from_secs(visibility.max(3)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let runner = Runner::from_settings(&Settings::from_pairs::<&str, &str>([])).unwrap();
        assert_eq!((runner.concurrency, runner.visibility), (2, Duration::from_secs(30)));
        let err = Runner::from_settings(&Settings::from_pairs([("PULSE_POLLER_CONCURRENCY", "0")])).unwrap_err();
        assert!(err.to_string().starts_with("PULSE_POLLER_CONCURRENCY must be a whole number from 1"), "{err}");
        let err = Logging::from_settings(&Settings::from_pairs([("PULSE_LOG_FORMAT", "yaml")])).unwrap_err();
        assert_eq!(err.to_string(), "PULSE_LOG_FORMAT must be `json` or `text`; found \"yaml\"");
        let lambda =
            Logging::from_settings(&Settings::from_pairs([("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"), ("PULSE_LOG_FORMAT", "text")]))
                .unwrap();
        assert_eq!(lambda.format, LogFormat::Json);
    }

    #[test]
    fn in_lambda_the_function_s_logging_configuration_is_obeyed() {
        let lambda = |pairs: &[(&'static str, &'static str)]| {
            let mut all = vec![("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"), ("RUST_LOG", "pulse_notifier=debug,warn")];
            all.extend_from_slice(pairs);
            Logging::from_settings(&Settings::from_pairs(all))
        };
        assert_eq!(lambda(&[]).unwrap().filter, "pulse_notifier=debug,warn", "RUST_LOG when Lambda sets no level");
        let warn = lambda(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("AWS_LAMBDA_LOG_FORMAT", "JSON")]).unwrap();
        assert_eq!((warn.filter.as_str(), warn.format), ("warn", LogFormat::Json));
        assert_eq!(lambda(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).unwrap().filter, "error");
        assert_eq!(lambda(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).unwrap().format, LogFormat::Text);
        assert!(lambda(&[("AWS_LAMBDA_LOG_LEVEL", "LOUD")]).unwrap_err().to_string().contains("AWS_LAMBDA_LOG_LEVEL"));
        assert!(lambda(&[("AWS_LAMBDA_LOG_FORMAT", "xml")]).unwrap_err().to_string().contains("AWS_LAMBDA_LOG_FORMAT"));
        let local = Logging::from_settings(&Settings::from_pairs([("AWS_LAMBDA_LOG_LEVEL", "ERROR")])).unwrap();
        assert_eq!(local.filter, "info", "outside Lambda its variables mean nothing");
    }
}
