//! A fault proxy for the AWS endpoint: an HTTP forwarder in the test process between Pulse's
//! processes and moto. Every request is relayed as it is, except `AWSEvents.PutEvents`: the
//! first time an entry is seen at an even position of a call (0, 2, ...), it is not forwarded
//! but answered as EventBridge answers an entry it could not take (`FailedEntryCount`, and
//! `ErrorCode` / `ErrorMessage` in that entry's result); the other entries go to moto and its
//! event ids are merged back in request order. A producer that resends failed entries gets every
//! event onto the bus exactly once; one that does not loses them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

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

struct Inner {
    upstream: String,
    client: reqwest::Client,
    stats: Mutex<PutEventsStats>,
    /// Entries (by their Detail) already refused once.
    refused: Mutex<std::collections::HashSet<String>>,
}

pub struct PutEventsProxy {
    pub url: String,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl PutEventsProxy {
    /// Listen on a free loopback port and relay to `upstream` (moto's URL).
    pub async fn start(upstream: &str) -> PutEventsProxy {
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder().pool_max_idle_per_host(8).build().expect("an HTTP client"),
            stats: Mutex::default(),
            refused: Mutex::default(),
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        PutEventsProxy { url, inner, server }
    }

    pub fn stats(&self) -> PutEventsStats {
        self.inner.stats.lock().unwrap().clone()
    }
}

impl Drop for PutEventsProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(State(inner): State<Arc<Inner>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if target == "AWSEvents.PutEvents" {
        return put_events(&inner, method, uri, headers, body).await;
    }
    relay(&inner, method, &uri, &headers, body).await
}

const HOP_BY_HOP: [&str; 6] = ["host", "content-length", "transfer-encoding", "connection", "expect", "keep-alive"];

async fn relay(inner: &Inner, method: Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = inner.client.request(method, format!("{}{path}", inner.upstream)).body(body);
    for (name, value) in headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let mut out = HeaderMap::new();
            for (name, value) in response.headers() {
                if !HOP_BY_HOP.contains(&name.as_str()) {
                    out.append(name, value.clone());
                }
            }
            let bytes = response.bytes().await.unwrap_or_default();
            (status, out, bytes).into_response()
        }
        Err(err) => (StatusCode::BAD_GATEWAY, format!("fault proxy: {err}")).into_response(),
    }
}

async fn put_events(inner: &Inner, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
        return relay(inner, method, &uri, &headers, body).await;
    };
    let entries = request["Entries"].as_array().cloned().unwrap_or_default();
    // Which entries to refuse: even positions, first sighting only.
    let refuse: Vec<bool> = {
        let mut refused = inner.refused.lock().unwrap();
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| i % 2 == 0 && refused.insert(e["Detail"].as_str().unwrap_or_default().to_owned()))
            .collect()
    };
    let passing: Vec<Value> = entries.iter().zip(&refuse).filter(|(_, r)| !**r).map(|(e, _)| e.clone()).collect();
    let mut upstream_results: Vec<Value> = Vec::new();
    let mut upstream_failed = 0;
    if !passing.is_empty() {
        request["Entries"] = Value::Array(passing.clone());
        let forwarded = relay(inner, method, &uri, &headers, Bytes::from(serde_json::to_vec(&request).unwrap())).await;
        let status = forwarded.status();
        let bytes = axum::body::to_bytes(forwarded.into_body(), usize::MAX).await.unwrap_or_default();
        if !status.is_success() {
            // The call failed as a whole upstream: answer exactly that.
            return (status, bytes).into_response();
        }
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or_default();
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
