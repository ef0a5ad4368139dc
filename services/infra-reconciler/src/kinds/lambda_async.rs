//! A `Lambda`'s `asynchronous` block: how AWS handles its asynchronous invocations (the function
//! event invoke configuration).
//!
//! ```json
//! "asynchronous": { "on_failure_queue": "${prefix}-worker-failed", "maximum_retry_attempts": 2,
//!                   "maximum_event_age_seconds": 21600 }
//! ```
//!
//! Rules:
//! - It is set on the **unqualified** function (`PutFunctionEventInvokeConfig` without a
//!   qualifier), because that is what an asynchronous caller invokes: praktika's CI invokes
//!   `praktika_slack_worker` by name, with no alias. A configuration on the alias would never
//!   apply to those calls.
//! - `maximum_retry_attempts` is 0..=2 (default 2, AWS's), `maximum_event_age_seconds`
//!   60..=21600 (default 21600, AWS's), checked before any AWS call.
//! - `on_failure_queue` names a `Queue` of the same file: the function depends on it (the queue
//!   is deployed first) and an invocation that fails after its retries, or is too old, goes
//!   there. Lambda sends it with the function's execution role, which therefore needs
//!   `sqs:SendMessage` on that queue (AWS refuses the configuration otherwise).
//! - Observed with `GetFunctionEventInvokeConfig` (not found: no configuration) as the property
//!   `Asynchronous`; planned and applied only when it differs. The block is the whole truth about
//!   the configuration: a destination set by hand (an on-success one too) is drift, removed by
//!   the next deploy (`Put` replaces the configuration). Without the block, the configuration is
//!   not looked at.

use aws_sdk_lambda::types::{DestinationConfig, OnFailure};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clients::{Clients, Context};
use crate::error::{Error, Result, error_is};
use crate::model::ResourceId;

/// The property holding the configuration in plans.
pub const FIELD: &str = "Asynchronous";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsynchronousSpec {
    /// A `Queue` of the file receiving the invocations that failed for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure_queue: Option<String>,
    #[serde(default = "default_retries")]
    pub maximum_retry_attempts: u32,
    #[serde(default = "default_age")]
    pub maximum_event_age_seconds: u32,
}

fn default_retries() -> u32 {
    2
}
fn default_age() -> u32 {
    21_600
}

impl AsynchronousSpec {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.maximum_retry_attempts > 2 {
            return Err(format!("asynchronous.maximum_retry_attempts {} is outside 0..=2", self.maximum_retry_attempts));
        }
        if !(60..=21_600).contains(&self.maximum_event_age_seconds) {
            return Err(format!("asynchronous.maximum_event_age_seconds {} is outside 60..=21600", self.maximum_event_age_seconds));
        }
        if self.on_failure_queue.as_deref() == Some("") {
            return Err("asynchronous.on_failure_queue is empty: name a Queue of this file, or leave it out".into());
        }
        Ok(())
    }

    /// The property a plan compares.
    pub fn desired(&self, cx: &Context) -> Value {
        let mut v = json!({
            "MaximumRetryAttempts": self.maximum_retry_attempts,
            "MaximumEventAgeInSeconds": self.maximum_event_age_seconds,
        });
        if let Some(queue) = &self.on_failure_queue {
            v["OnFailure"] = json!(cx.sqs_arn(queue));
        }
        v
    }
}

/// The function's current configuration, `None` when it has none.
pub(crate) async fn observe(id: &ResourceId, function: &str, clients: &Clients) -> Result<Option<Value>> {
    match clients.lambda.get_function_event_invoke_config().function_name(function).send().await {
        Ok(out) => {
            let mut v = json!({
                "MaximumRetryAttempts": out.maximum_retry_attempts(),
                "MaximumEventAgeInSeconds": out.maximum_event_age_in_seconds(),
            });
            let destinations = out.destination_config();
            if let Some(arn) = destinations.and_then(|d| d.on_failure()).and_then(|f| f.destination()) {
                v["OnFailure"] = json!(arn);
            }
            if let Some(arn) = destinations.and_then(|d| d.on_success()).and_then(|s| s.destination()) {
                v["OnSuccess"] = json!(arn);
            }
            Ok(Some(v))
        }
        Err(err) if error_is(&err, &["ResourceNotFoundException"]) => Ok(None),
        Err(err) => Err(Error::aws(id, "lambda:GetFunctionEventInvokeConfig", err)),
    }
}

/// Replace the function's configuration with the declared one.
pub(crate) async fn apply(id: &ResourceId, function: &str, spec: &AsynchronousSpec, clients: &Clients, cx: &Context) -> Result<()> {
    let on_failure = spec.on_failure_queue.as_ref().map(|q| OnFailure::builder().destination(cx.sqs_arn(q)).build());
    clients
        .lambda
        .put_function_event_invoke_config()
        .function_name(function)
        .maximum_retry_attempts(spec.maximum_retry_attempts as i32)
        .maximum_event_age_in_seconds(spec.maximum_event_age_seconds as i32)
        .destination_config(DestinationConfig::builder().set_on_failure(on_failure).build())
        .send()
        .await
        .map_err(|e| Error::aws(id, "lambda:PutFunctionEventInvokeConfig", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> AsynchronousSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_are_aws_ones_and_limits_are_checked() {
        let s = parse(json!({}));
        assert_eq!((s.maximum_retry_attempts, s.maximum_event_age_seconds, s.on_failure_queue.clone()), (2, 21_600, None));
        s.validate().unwrap();
        assert!(parse(json!({"maximum_retry_attempts": 3})).validate().unwrap_err().contains("asynchronous.maximum_retry_attempts 3"));
        assert!(parse(json!({"maximum_event_age_seconds": 59})).validate().unwrap_err().contains("maximum_event_age_seconds 59"));
        assert!(parse(json!({"maximum_event_age_seconds": 21_601})).validate().is_err());
        assert!(parse(json!({"on_failure_queue": ""})).validate().is_err());
        assert!(serde_json::from_value::<AsynchronousSpec>(json!({"retries": 1})).is_err());
    }

    #[test]
    fn the_destination_is_the_queue_arn() {
        let cx = Context::new("aws", "us-east-1", "123456789012");
        let s = parse(json!({"on_failure_queue": "w-failed", "maximum_retry_attempts": 1}));
        assert_eq!(
            s.desired(&cx),
            json!({"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 21600, "OnFailure": "arn:aws:sqs:us-east-1:123456789012:w-failed"})
        );
    }
}
