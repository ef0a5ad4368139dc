//! The resend logic of EventPublisher against a scripted fake PutEvents endpoint: EventBridge
//! partial failures cannot be provoked in the emulator.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_eventbridge::config::{BehaviorVersion, Credentials, Region};
use pulse_aws::eventbridge::{EventPublisher, PublishError, PublishReport};
use pulse_contracts::Envelope;
use pulse_core::retry::Backoff;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::common::{envelope, init_tracing};

/// Decides the outcome of each entry of call number `call`: `None` accepts it, `Some(code)`
/// rejects it with that error code.
type Script = dyn Fn(usize, &[Value]) -> Vec<Option<&'static str>> + Send + Sync;

struct Fake {
    url: String,
    /// The `Entries` of every PutEvents request, in order.
    calls: Arc<Mutex<Vec<Vec<Value>>>>,
}

impl Fake {
    async fn start(script: impl Fn(usize, &[Value]) -> Vec<Option<&'static str>> + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls: Arc<Mutex<Vec<Vec<Value>>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let calls_server = calls.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let calls = calls_server.clone();
                let script = script.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    loop {
                        // Request line and headers.
                        let mut content_length = 0usize;
                        let mut target = String::new();
                        let mut first = true;
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            let line = line.trim_end();
                            if line.is_empty() && !first {
                                break;
                            }
                            first = false;
                            if let Some((name, value)) = line.split_once(':') {
                                match name.trim().to_ascii_lowercase().as_str() {
                                    "content-length" => content_length = value.trim().parse().unwrap_or(0),
                                    "x-amz-target" => target = value.trim().to_owned(),
                                    _ => {}
                                }
                            }
                        }
                        let mut body = vec![0; content_length];
                        if reader.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        assert_eq!(target, "AWSEvents.PutEvents");
                        let request: Value = serde_json::from_slice(&body).unwrap();
                        let entries = request["Entries"].as_array().cloned().unwrap_or_default();
                        let call = {
                            let mut calls = calls.lock().unwrap();
                            calls.push(entries.clone());
                            calls.len() - 1
                        };
                        let outcomes = script(call, &entries);
                        let results: Vec<Value> = outcomes
                            .iter()
                            .map(|o| match o {
                                None => json!({"EventId": uuid::Uuid::new_v4().to_string()}),
                                Some(code) => json!({"ErrorCode": code, "ErrorMessage": format!("{code} (fake)")}),
                            })
                            .collect();
                        let failed = outcomes.iter().filter(|o| o.is_some()).count();
                        let response = json!({"FailedEntryCount": failed, "Entries": results}).to_string();
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n",
                            response.len()
                        );
                        if write.write_all(head.as_bytes()).await.is_err() || write.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Fake { url, calls }
    }

    fn publisher(&self, backoff: Backoff) -> EventPublisher {
        let config = aws_sdk_eventbridge::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(&self.url)
            .build();
        EventPublisher::new(aws_sdk_eventbridge::Client::from_conf(config), "fake-bus").with_backoff(backoff)
    }

    /// The envelope ids sent in each call.
    fn ids_per_call(&self) -> Vec<Vec<String>> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        let detail: Envelope = serde_json::from_str(e["Detail"].as_str().unwrap()).unwrap();
                        detail.id.to_string()
                    })
                    .collect()
            })
            .collect()
    }
}

fn quick() -> Backoff {
    Backoff::new(Duration::from_millis(1), Duration::from_millis(5), 4)
}

fn events(n: usize) -> Vec<Envelope> {
    (0..n).map(|i| envelope("test.fake", 1, json!({"n": i}))).collect()
}

#[tokio::test]
async fn rejected_entries_are_resent_alone() {
    init_tracing();
    let fake = Fake::start(|call, entries| {
        (0..entries.len())
            .map(|i| match (call, i) {
                (0, 1) => Some("ThrottlingException"),
                (0, 3) => Some("InternalFailure"),
                _ => None,
            })
            .collect()
    })
    .await;
    let events = events(12);
    let report = fake.publisher(quick()).publish(&events).await.expect("publish");
    assert_eq!(report, PublishReport { published: 12, calls: 3, resent: 2 });
    let calls = fake.ids_per_call();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].len(), 10);
    assert_eq!(calls[1].len(), 2);
    assert_eq!(calls[2], vec![events[1].id.to_string(), events[3].id.to_string()]);
    // Entries carry the bus, source and detail-type.
    let first = &fake.calls.lock().unwrap()[0][0];
    assert_eq!(first["EventBusName"], "fake-bus");
    assert_eq!(first["Source"], "pulse.tests");
    assert_eq!(first["DetailType"], "test.fake.v1");
}

#[tokio::test]
async fn entries_failing_every_attempt_are_reported() {
    init_tracing();
    let fake = Fake::start(|_, entries| (0..entries.len()).map(|i| (i == 0).then_some("InternalFailure")).collect()).await;
    let events = events(3);
    let err = fake.publisher(quick()).publish(&events).await.expect_err("keeps failing");
    match &err {
        PublishError::Failed { failed } => {
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].0, events[0].id.to_string());
            assert_eq!(failed[0].1, "InternalFailure");
        }
        other => panic!("expected Failed, got {other}"),
    }
    // One call per attempt; the resends carry only the failing entry.
    let calls = fake.ids_per_call();
    assert_eq!(calls.len(), 4);
    assert!(calls[1..].iter().all(|c| c == &vec![events[0].id.to_string()]));
}

#[tokio::test]
async fn permanent_entry_errors_are_not_resent() {
    init_tracing();
    let fake = Fake::start(|_, entries| (0..entries.len()).map(|i| (i == 1).then_some("MalformedDetail")).collect()).await;
    let events = events(2);
    let err = fake.publisher(quick()).publish(&events).await.expect_err("malformed");
    assert!(matches!(&err, PublishError::Failed { failed } if failed.len() == 1 && failed[0].0 == events[1].id.to_string()), "{err}");
    assert_eq!(fake.ids_per_call().len(), 1);
}
