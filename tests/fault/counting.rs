//! A counting proxy for the AWS endpoint (the cost model, issue #13): every request is relayed
//! unchanged to moto through the suite's forwarder ([`crate::forward`]) and counted by AWS
//! service and operation, so a test can say what one unit of work cost in calls, and a change
//! that adds calls shows up as a count that grew. One proxy per process (a worker, the CLI,
//! ingress) attributes every call to whoever made it.
//!
//! How a request is named, without knowing the SDKs: the service is the signing scope of its
//! `Authorization` header (`Credential=…/us-east-1/<service>/aws4_request`); the operation is
//! the `X-Amz-Target` of JSON protocols (DynamoDB, SQS, EventBridge, SSM), the `Action` of query
//! protocols, and for S3 (REST, path-style against an emulator) the method and path shape. The
//! resource is added where it says which part of the design made the call: the table (DynamoDB)
//! or queue (SQS), without the stack prefix. A `ReceiveMessage` that returned nothing is
//! counted apart, as `ReceiveMessage (empty)`: long polling makes those with time, not with work.
//! `PutEvents entries` counts the entries of PutEvents calls, since EventBridge bills per entry.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::forward::{Forwarder, Relay, Request, Upstream};

/// `(service, operation)` → calls, and `(service, operation, HTTP status)` → calls.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Calls {
    pub by_op: BTreeMap<(String, String), u64>,
    pub by_status: BTreeMap<(String, String, u16), u64>,
}

impl Calls {
    /// What was counted after `earlier` (a copy of these counts taken before).
    pub fn since(&self, earlier: &Calls) -> Calls {
        fn minus<K: Ord + Clone>(now: &BTreeMap<K, u64>, then: &BTreeMap<K, u64>) -> BTreeMap<K, u64> {
            now.iter().map(|(k, n)| (k.clone(), n - then.get(k).copied().unwrap_or(0))).filter(|(_, n)| *n > 0).collect()
        }
        Calls { by_op: minus(&self.by_op, &earlier.by_op), by_status: minus(&self.by_status, &earlier.by_status) }
    }

    fn add(&mut self, service: &str, op: &str, status: u16, n: u64) {
        *self.by_op.entry((service.to_owned(), op.to_owned())).or_default() += n;
        *self.by_status.entry((service.to_owned(), op.to_owned(), status)).or_default() += n;
    }
}

/// The relay: counts, forwards, changes nothing.
pub struct Counter {
    /// The stack prefix stripped from table and queue names (`f1234-notifier-ledger` →
    /// `notifier-ledger`).
    prefix: String,
    calls: Mutex<Calls>,
}

pub type CountingProxy = Forwarder<Counter>;

impl CountingProxy {
    pub async fn counting(upstream: &str, stack_prefix: &str) -> CountingProxy {
        Forwarder::start(upstream, Counter { prefix: format!("{stack_prefix}-"), calls: Mutex::default() }).await
    }

    /// Everything counted so far.
    pub fn calls(&self) -> Calls {
        self.relay.calls.lock().unwrap().clone()
    }
}

impl Relay for Counter {
    async fn handle(&self, upstream: &Upstream, request: Request) -> Response {
        let body = request.body.clone();
        let answer = upstream.send(&request, body).await;
        let (service, mut op) = name(&request, &self.prefix);
        if op.starts_with("ReceiveMessage") && !returned_messages(&answer.body) {
            op = op.replacen("ReceiveMessage", "ReceiveMessage (empty)", 1);
        }
        let mut calls = self.calls.lock().unwrap();
        calls.add(&service, &op, answer.status.as_u16(), 1);
        if op == "PutEvents" {
            let entries = json_body(&request)["Entries"].as_array().map_or(0, Vec::len) as u64;
            calls.add(&service, "PutEvents entries", answer.status.as_u16(), entries);
        }
        drop(calls);
        answer.into_response()
    }
}

/// `(service, operation[ resource])` of one request.
fn name(request: &Request, prefix: &str) -> (String, String) {
    let service = signing_service(request).unwrap_or_else(|| "unknown".to_owned());
    let target = request.headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    let op = if let Some(target) = target {
        let op = target.rsplit('.').next().unwrap_or(target).to_owned();
        match resource(&json_body(request), prefix) {
            Some(resource) => format!("{op} {resource}"),
            None => op,
        }
    } else if service == "s3" {
        s3_operation(&request.method, request.uri.path(), request.uri.query().unwrap_or_default(), request)
    } else if let Some(action) = form_action(&request.body) {
        action
    } else {
        format!("{} {}", request.method, request.uri.path())
    };
    (service, op)
}

/// The service of `Credential=<key>/<date>/<region>/<service>/aws4_request`.
fn signing_service(request: &Request) -> Option<String> {
    let auth = request.headers.get("authorization")?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?.split(',').next()?;
    scope.split('/').nth(3).map(str::to_owned)
}

fn json_body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or_default()
}

/// The table (DynamoDB: the first `TableName` anywhere in the request, so transactions name
/// theirs too) or queue (SQS: the last segment of `QueueUrl`), without the stack prefix.
fn resource(body: &Value, prefix: &str) -> Option<String> {
    fn table(value: &Value) -> Option<&str> {
        match value {
            Value::Object(map) => map.get("TableName").and_then(Value::as_str).or_else(|| map.values().find_map(table)),
            Value::Array(items) => items.iter().find_map(table),
            _ => None,
        }
    }
    let name = table(body).or_else(|| body["QueueUrl"].as_str().and_then(|url| url.rsplit('/').next()))?;
    Some(name.strip_prefix(prefix).unwrap_or(name).to_owned())
}

/// S3's REST operations Pulse uses, by method and path shape (path-style: `/bucket/key`).
fn s3_operation(method: &Method, path: &str, query: &str, request: &Request) -> String {
    let has_key = path.trim_start_matches('/').split_once('/').is_some_and(|(_, key)| !key.is_empty());
    let has = |param: &str| query.split('&').any(|p| p == param || p.starts_with(&format!("{param}=")));
    let op = match (method.as_str(), has_key) {
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("PUT", true) if request.headers.contains_key("x-amz-copy-source") => "CopyObject",
        ("PUT", true) => "PutObject",
        ("DELETE", true) => "DeleteObject",
        ("GET", false) if has("list-type") => "ListObjectsV2",
        ("GET", false) if has("versions") => "ListObjectVersions",
        ("GET", false) if query.is_empty() => "ListObjects",
        ("POST", false) if has("delete") => "DeleteObjects",
        ("HEAD", false) => "HeadBucket",
        (other, _) => return format!("{other} {path}?{query}"),
    };
    op.to_owned()
}

/// `Action=<op>` of a query-protocol body.
fn form_action(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| pair.strip_prefix("Action=")).map(str::to_owned)
}

/// Whether a ReceiveMessage answer (JSON protocol) carried at least one message.
fn returned_messages(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).ok().and_then(|v| v["Messages"].as_array().map(|m| !m.is_empty())).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, HeaderValue, Uri};

    fn request(method: Method, uri: &str, service: &str, target: Option<&str>, body: &str) -> Request {
        let mut headers = HeaderMap::new();
        let auth = format!("AWS4-HMAC-SHA256 Credential=test/20261203/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0");
        headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        if let Some(target) = target {
            headers.insert("x-amz-target", HeaderValue::from_str(target).unwrap());
        }
        Request { method, uri: uri.parse::<Uri>().unwrap(), headers, body: Bytes::from(body.to_owned()) }
    }

    #[test]
    fn names_each_protocol_by_service_operation_and_resource() {
        let dynamo = request(
            Method::POST,
            "/",
            "dynamodb",
            Some("DynamoDB_20120810.UpdateItem"),
            r#"{"TableName":"f1-feed-projector-idempotency"}"#,
        );
        assert_eq!(name(&dynamo, "f1-"), ("dynamodb".into(), "UpdateItem feed-projector-idempotency".into()));
        let transact = request(
            Method::POST,
            "/",
            "dynamodb",
            Some("DynamoDB_20120810.TransactWriteItems"),
            r#"{"TransactItems":[{"Put":{"TableName":"f1-notifier-ledger"}}]}"#,
        );
        assert_eq!(name(&transact, "f1-").1, "TransactWriteItems notifier-ledger");
        let sqs = request(Method::POST, "/", "sqs", Some("AmazonSQS.DeleteMessageBatch"), r#"{"QueueUrl":"http://h/123/f1-notifier"}"#);
        assert_eq!(name(&sqs, "f1-"), ("sqs".into(), "DeleteMessageBatch notifier".into()));
        let put = request(Method::PUT, "/f1-feeds/events/a.json.gz", "s3", None, "");
        assert_eq!(name(&put, "f1-"), ("s3".into(), "PutObject".into()));
        let list = request(Method::GET, "/f1-feeds?list-type=2&prefix=x", "s3", None, "");
        assert_eq!(name(&list, "f1-").1, "ListObjectsV2");
        let query = request(Method::POST, "/", "sts", None, "Action=GetCallerIdentity&Version=2011-06-15");
        assert_eq!(name(&query, "f1-"), ("sts".into(), "GetCallerIdentity".into()));
        let events = request(Method::POST, "/", "events", Some("AWSEvents.PutEvents"), r#"{"Entries":[{},{}]}"#);
        assert_eq!(name(&events, "f1-"), ("events".into(), "PutEvents".into()));
    }

    #[test]
    fn an_empty_receive_is_told_apart() {
        assert!(!returned_messages(br#"{}"#));
        assert!(!returned_messages(br#"{"Messages":[]}"#));
        assert!(returned_messages(br#"{"Messages":[{"MessageId":"m"}]}"#));
    }
}
