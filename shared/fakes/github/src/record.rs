//! What the fake records of each call.

use serde::Serialize;

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedCall {
    pub method: String,
    /// The path under the API root, without the query (`/repos/o/r/actions/runs/1/rerun-failed-jobs`).
    pub path: String,
    /// Which credential came: `none`, `jwt`, `installation:ID`, `token`, or
    /// `invalid:<why>` (an expired installation token, a JWT with a bad signature, …).
    pub credential: String,
    /// Whether `Accept: application/vnd.github+json`, `X-GitHub-Api-Version` and a
    /// `User-Agent` were all sent.
    pub headers_ok: bool,
    /// The status the fake answered.
    pub status: u16,
}
