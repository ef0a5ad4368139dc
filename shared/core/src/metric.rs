//! Metrics, recorded as `tracing` events on one target so any crate can count without a new
//! dependency, and a program decides where they go: in Lambda, `pulse_runtime::logging` writes
//! each as a line in CloudWatch's embedded metric format (EMF), from which CloudWatch makes the
//! metric; locally they are dropped (the log lines already say what happened).
//!
//! A metric has a name from [`Name`] (so dashboards and alarms can rely on the set), a value,
//! and a unit: a count of one, or a duration in milliseconds.

use std::time::Duration;

/// The `tracing` target metric events carry.
pub const TARGET: &str = "pulse_metric";

/// Every metric Pulse records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    /// A consumed message whose effects are done.
    MessagesHandled,
    /// A consumed message found already handled (a redelivery, a duplicate).
    MessagesDeduplicated,
    /// A consumed message put back to be tried again.
    MessagesRetried,
    /// A consumed message sent to the dead-letter queue.
    MessagesDeadLettered,
    /// How long the handler took for one message, in milliseconds.
    HandlerTime,
    /// From the event's `occurred_at` to its effects done, in milliseconds.
    EndToEndLatency,
    /// One HTTP call to Slack (each attempt).
    SlackCalls,
    /// Slack answered 429 or `ratelimited`.
    SlackRateLimited,
    /// Time waited on Slack's `Retry-After`, in milliseconds.
    SlackRetryAfterWaited,
}

impl Name {
    pub fn as_str(self) -> &'static str {
        match self {
            Name::MessagesHandled => "MessagesHandled",
            Name::MessagesDeduplicated => "MessagesDeduplicated",
            Name::MessagesRetried => "MessagesRetried",
            Name::MessagesDeadLettered => "MessagesDeadLettered",
            Name::HandlerTime => "HandlerTime",
            Name::EndToEndLatency => "EndToEndLatency",
            Name::SlackCalls => "SlackCalls",
            Name::SlackRateLimited => "SlackRateLimited",
            Name::SlackRetryAfterWaited => "SlackRetryAfterWaited",
        }
    }
}

/// Count one `name`.
pub fn count(name: Name) {
    tracing::info!(target: TARGET, metric = name.as_str(), value = 1.0_f64, unit = "Count");
}

/// Record `elapsed` for `name`, in milliseconds.
pub fn duration(name: Name, elapsed: Duration) {
    tracing::info!(target: TARGET, metric = name.as_str(), value = elapsed.as_secs_f64() * 1000.0, unit = "Milliseconds");
}
