//! CloudWatch's embedded metric format: each metric event ([`pulse_core::metric`]) becomes one
//! JSON line that CloudWatch Logs turns into a metric in namespace `Pulse`, dimension `Service`,
//! with no API call and nothing to batch or flush (a Lambda may be frozen at any moment).
//!
//! ```json
//! {"_aws": {"Timestamp": 1764840000000, "CloudWatchMetrics": [{"Namespace": "Pulse",
//!   "Dimensions": [["Service"]], "Metrics": [{"Name": "MessagesHandled", "Unit": "Count"}]}]},
//!  "Service": "notifier", "MessagesHandled": 1}
//! ```

use std::io::Write;

use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;

/// The namespace every Pulse metric is in.
pub const NAMESPACE: &str = "Pulse";

/// A layer that writes metric events as EMF lines to its writer.
pub struct EmfLayer<W> {
    service: String,
    writer: W,
}

impl<W> EmfLayer<W> {
    pub fn new(service: String, writer: W) -> Self {
        Self { service, writer }
    }
}

/// The fields of one metric event.
#[derive(Default)]
struct Point {
    name: Option<String>,
    value: Option<f64>,
    unit: Option<String>,
}

impl Visit for Point {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "value" {
            self.value = Some(value);
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "metric" => self.name = Some(value.to_owned()),
            "unit" => self.unit = Some(value.to_owned()),
            _ => {}
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// The EMF line for one point at `timestamp_ms`.
fn line(service: &str, name: &str, value: f64, unit: &str, timestamp_ms: u64) -> Value {
    let mut line = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Service"]], "Metrics": [{"Name": name, "Unit": unit}]}],
        },
        "Service": service,
    });
    line[name] = json!(value);
    line
}

impl<S, W> tracing_subscriber::Layer<S> for EmfLayer<W>
where
    S: Subscriber,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut point = Point::default();
        event.record(&mut point);
        let (Some(name), Some(value), Some(unit)) = (point.name, point.value, point.unit) else { return };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let mut text = line(&self.service, &name, value, &unit, u64::try_from(now.as_millis()).unwrap_or(u64::MAX)).to_string();
        text.push('\n');
        // One write per line, so lines from concurrent tasks never interleave; a failed write
        // loses a metric, never the program.
        let _ = self.writer.make_writer().write_all(text.as_bytes());
    }
}
