//! A fault proxy for the AWS endpoint, on the suite's forwarder ([`crate::forward`]) between
//! Pulse's processes and moto. Every request is relayed as it is, except `AWSEvents.PutEvents`: the
//! first time an entry is seen at an even position of a call (0, 2, ...), it is not forwarded
//! but answered as EventBridge answers an entry it could not take (`FailedEntryCount`, and
//! `ErrorCode` / `ErrorMessage` in that entry's result); the other entries go to moto and its
//! event ids are merged back in request order. A producer that resends failed entries gets every
//! event onto the bus exactly once; one that does not loses them.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::forward::{Forwarder, Relay, Request, Upstream};

/// What the proxy saw of PutEvents.
#[derive(Debug, Default, Clone)]
pub struct PutEventsStats {
    /// PutEvents calls received.
    pub calls: usize,
    /// Calls with at least one entry refused.
    pub partly_failed_calls: usize,
    /// Entries received (resends included).
    pub entries: usize,
    /// Entries answered with an error.
    pub failed: usize,
    /// Entries forwarded to moto, by the entry's `detail-type` and dedup key.
    pub forwarded: BTreeMap<(String, String), usize>,
}

#[derive(Default)]
pub struct RefuseEvenEntries {
    stats: Mutex<PutEventsStats>,
    /// Entries (by their Detail) already refused once.
    refused: Mutex<HashSet<String>>,
}

pub type PutEventsProxy = Forwarder<RefuseEvenEntries>;

impl PutEventsProxy {
    /// Listen on a free loopback port and relay to `upstream` (moto's URL).
    pub async fn refusing(upstream: &str) -> PutEventsProxy {
        Forwarder::start(upstream, RefuseEvenEntries::default()).await
    }

    pub fn stats(&self) -> PutEventsStats {
        self.relay.stats.lock().unwrap().clone()
    }
}

impl Relay for RefuseEvenEntries {
    async fn handle(&self, upstream: &Upstream, request: Request) -> Response {
        let target = request.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if target == "AWSEvents.PutEvents" {
            return put_events(self, upstream, request).await;
        }
        let body = request.body.clone();
        upstream.send(&request, body).await.into_response()
    }
}

async fn put_events(inner: &RefuseEvenEntries, upstream: &Upstream, original: Request) -> Response {
    let Ok(mut request) = serde_json::from_slice::<Value>(&original.body) else {
        let body = original.body.clone();
        return upstream.send(&original, body).await.into_response();
    };
    let entries = request["Entries"].as_array().cloned().unwrap_or_default();
    // Which entries to refuse: even positions, first sighting only.
    let refuse: Vec<bool> = {
        let mut refused = inner.refused.lock().unwrap();
        entries.iter().enumerate().map(|(i, e)| i % 2 == 0 && refused.insert(e["Detail"].as_str().unwrap_or_default().to_owned())).collect()
    };
    let passing: Vec<Value> = entries.iter().zip(&refuse).filter(|(_, r)| !**r).map(|(e, _)| e.clone()).collect();
    let mut upstream_results: Vec<Value> = Vec::new();
    let mut upstream_failed = 0;
    if !passing.is_empty() {
        request["Entries"] = Value::Array(passing.clone());
        let forwarded = upstream.send(&original, Bytes::from(serde_json::to_vec(&request).unwrap())).await;
        if !forwarded.status.is_success() {
            // The call failed as a whole upstream: answer exactly that.
            return (forwarded.status, forwarded.body).into_response();
        }
        let answer: Value = serde_json::from_slice(&forwarded.body).unwrap_or_default();
        upstream_results = answer["Entries"].as_array().cloned().unwrap_or_default();
        upstream_failed = answer["FailedEntryCount"].as_u64().unwrap_or(0) as usize;
    }
    let mut results = Vec::with_capacity(entries.len());
    let mut upstream = upstream_results.into_iter();
    let mut passing_iter = passing.iter();
    {
        let mut stats = inner.stats.lock().unwrap();
        stats.calls += 1;
        stats.entries += entries.len();
        let refused_here = refuse.iter().filter(|r| **r).count();
        stats.failed += refused_here;
        if refused_here > 0 {
            stats.partly_failed_calls += 1;
        }
        for refused in &refuse {
            if *refused {
                results.push(json!({
                    "ErrorCode": "InternalFailure",
                    "ErrorMessage": "fault proxy: this entry was not accepted, resend it",
                }));
            } else {
                let entry = passing_iter.next().cloned().unwrap_or_default();
                let result = upstream.next().unwrap_or_else(|| json!({"ErrorCode": "InternalFailure", "ErrorMessage": "no result"}));
                if result.get("EventId").is_some() {
                    let detail: Value = entry["Detail"].as_str().and_then(|d| serde_json::from_str(d).ok()).unwrap_or_default();
                    let key = (
                        entry["DetailType"].as_str().unwrap_or_default().to_owned(),
                        detail["dedup_key"].as_str().unwrap_or_default().to_owned(),
                    );
                    *stats.forwarded.entry(key).or_default() += 1;
                }
                results.push(result);
            }
        }
    }
    let failed_count = refuse.iter().filter(|r| **r).count() + upstream_failed;
    let answer = json!({"FailedEntryCount": failed_count, "Entries": results});
    let mut out = HeaderMap::new();
    out.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
    out.insert("x-amzn-requestid", HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap());
    (StatusCode::OK, out, serde_json::to_vec(&answer).unwrap()).into_response()
}
