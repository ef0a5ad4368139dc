//! Start-up failures in Lambda: reported to the Runtime API's `/init/error`, not only printed.
//!
//! Every binary's `main` reads its settings, its secrets (SSM) and builds its clients before it
//! serves its first invocation. When that fails in Lambda, printing the error and exiting leaves
//! Lambda with a bare `Runtime.ExitError`; posting it to `/init/error` first puts the reason in
//! the invocation's error and the function's logs. [`main`] does that for every binary:
//!
//! ```ignore
//! #[tokio::main]
//! async fn main() -> anyhow::Result<()> {
//!     pulse_runtime::main(run()).await
//! }
//! ```
//!
//! The message is the error with its causes (`{:#}`: for `anyhow`, "the Slack bot token: secret
//! not found: environment variable SLACK_BOT_TOKEN is not set, and ..."): Pulse's setting and
//! secret errors name the variable or parameter and never hold a value, so neither does this.
//! Outside Lambda (no `AWS_LAMBDA_RUNTIME_API`) nothing is posted. Either way the error is
//! returned, so the process exits non-zero as before.
//!
//! An error that ends the program *after* the runtime started (the Runtime API itself failing)
//! goes the same way; Lambda refuses an init error then, which is logged and changes nothing.

use std::fmt::Display;
use std::time::Duration;

use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{PooledClient, build_request};
use pulse_core::Settings;

use crate::settings::AWS_LAMBDA_RUNTIME_API;

/// The path Lambda takes start-up failures on.
pub const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";

/// The error type reported, in the body and the `Lambda-Runtime-Function-Error-Type` header
/// (Lambda's own name for a failed init).
pub const INIT_ERROR_TYPE: &str = "Runtime.InitError";

/// How long reporting may take: a Runtime API that does not answer must not keep a failed
/// process alive.
const REPORT_TIMEOUT: Duration = Duration::from_secs(2);

/// Run a binary's `program`; if it fails while running in Lambda, report the error to
/// `/init/error` before returning it.
pub async fn main<E: Display>(program: impl Future<Output = Result<(), E>>) -> Result<(), E> {
    let result = program.await;
    if let Err(err) = &result
        && let Ok(Some(api)) = Settings::from_env().text(&AWS_LAMBDA_RUNTIME_API)
        && let Err(why) = report(&api, &format!("{err:#}")).await
    {
        tracing::error!(error = %why, "could not report the start-up failure to the Lambda Runtime API");
    }
    result
}

/// The body Lambda documents for an error: `{"errorMessage": ..., "errorType": ...}`.
pub fn init_error_body(message: &str) -> String {
    let diagnostic = lambda_runtime::Diagnostic { error_type: INIT_ERROR_TYPE.to_owned(), error_message: message.to_owned() };
    serde_json::to_string(&diagnostic).unwrap_or_default()
}

/// POST `message` to `http://{api}/2018-06-01/runtime/init/error`.
async fn report(api: &str, message: &str) -> Result<(), String> {
    let base = format!("http://{api}").parse().map_err(|e| format!("AWS_LAMBDA_RUNTIME_API={api:?} is not an address: {e}"))?;
    let client = PooledClient::builder().with_endpoint(base).build();
    let request = build_request()
        .method("POST")
        .uri(INIT_ERROR_PATH)
        .header("Lambda-Runtime-Function-Error-Type", INIT_ERROR_TYPE)
        .header("Content-Type", "application/json")
        .body(Body::from(init_error_body(message)))
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(REPORT_TIMEOUT, client.call(request))
        .await
        .map_err(|_| format!("no answer within {REPORT_TIMEOUT:?}"))?
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("the Runtime API answered {}", response.status()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_lambdas_error_shape() {
        let body: serde_json::Value = serde_json::from_str(&init_error_body("PULSE_STACK is not set")).unwrap();
        assert_eq!(body, serde_json::json!({"errorType": "Runtime.InitError", "errorMessage": "PULSE_STACK is not set"}));
    }
}
