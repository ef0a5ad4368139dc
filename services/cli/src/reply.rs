//! What `pulse slack send` and `pulse github send` print of ingress's answer: the status and the
//! time it took, then the body (pretty JSON when it is JSON); a non-2xx answer is the command's
//! error.

use std::time::Instant;

use anyhow::bail;
use serde_json::Value;

/// Print `response` (sent at `started`), the status line after `prefix`.
pub async fn print(prefix: &str, started: Instant, response: reqwest::Response) -> anyhow::Result<()> {
    let elapsed = started.elapsed();
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("{prefix}HTTP {} in {:.1} ms", status.as_u16(), elapsed.as_secs_f64() * 1000.0);
    match serde_json::from_str::<Value>(&text) {
        Ok(json) => println!("{}", serde_json::to_string_pretty(&json)?),
        Err(_) if text.is_empty() => println!("(empty body)"),
        Err(_) => println!("{text}"),
    }
    if !status.is_success() {
        bail!("ingress answered HTTP {}", status.as_u16());
    }
    Ok(())
}
