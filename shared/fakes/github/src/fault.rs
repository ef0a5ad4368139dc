//! Misbehaviours the fake can be told to answer with, in Rust and on `/_fake/faults`.

use serde::{Deserialize, Serialize};

/// One injected fault: the next `times` requests whose path contains `path` (`*`: any) are
/// delayed by `delay_ms` and, when `status` is set, answered with it and not applied. A 403 or
/// 429 carries `Retry-After: retry_after_secs` when set, and `x-ratelimit-remaining: 0` with a
/// reset a second ahead when `rate_limit_exhausted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(default = "any")]
    pub path: String,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    #[serde(default)]
    pub rate_limit_exhausted: bool,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default = "once")]
    pub times: u32,
}

fn any() -> String {
    "*".to_owned()
}

fn once() -> u32 {
    1
}

impl FaultRule {
    /// `times` answers of `status` to requests whose path contains `path`.
    pub fn status(path: &str, status: u16, times: u32) -> Self {
        Self { path: path.to_owned(), status: Some(status), retry_after_secs: None, rate_limit_exhausted: false, delay_ms: None, times }
    }

    /// With a `Retry-After`.
    pub fn retry_after(self, secs: u64) -> Self {
        Self { retry_after_secs: Some(secs), ..self }
    }

    pub fn matches(&self, path: &str) -> bool {
        self.path == "*" || path.contains(&self.path)
    }
}
