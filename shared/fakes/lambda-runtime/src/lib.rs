//! A stand-in for the Lambda Runtime API, so tests can run Pulse's real binaries the way Lambda
//! runs them: as a process with `AWS_LAMBDA_RUNTIME_API` pointing here.
//!
//! [`FakeRuntime::start`] serves, on loopback, the four calls of the Runtime API (version
//! `2018-06-01`, as AWS documents it in "Using the Lambda runtime API for custom runtimes"):
//!
//! - `GET /2018-06-01/runtime/invocation/next` waits until the test queues an invocation, then
//!   answers its event as the body with the headers `Lambda-Runtime-Aws-Request-Id`,
//!   `Lambda-Runtime-Deadline-Ms`, `Lambda-Runtime-Invoked-Function-Arn` and
//!   `Lambda-Runtime-Trace-Id`;
//! - `POST .../invocation/{id}/response` and `POST .../invocation/{id}/error` settle that
//!   invocation (`202`; an unknown or already settled id is a `400`, as in Lambda);
//! - `POST .../init/error` records a start-up failure (`202`).
//!
//! A test calls [`FakeRuntime::invoke`] (queue an event, await what the function answered, with
//! a timeout) or [`FakeRuntime::init_error`] (await the start-up failure), and reads
//! [`FakeRuntime::calls`] for everything that reached the fake. Error reports keep the
//! `Lambda-Runtime-Function-Error-Type` header and the body as sent.
//!
//! One function instance serves one invocation at a time, as in Lambda: invocations queue here
//! in order. [`FakeRuntime::lambda_env`] is the environment Lambda gives a function process
//! (`lambda_runtime` refuses to start without some of it).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

/// The API version in every path.
pub const API_VERSION: &str = "2018-06-01";

/// The header carrying an error report's type.
pub const ERROR_TYPE_HEADER: &str = "Lambda-Runtime-Function-Error-Type";

/// What the function answered to one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST .../response`: the body as sent.
    Response(String),
    /// `POST .../error`.
    Error(ReportedError),
}

impl Outcome {
    /// The response body as JSON; panics (naming what came instead) when the function reported
    /// an error or answered something that is not JSON: a test's assertion.
    pub fn json(&self) -> Value {
        match self {
            Outcome::Response(body) => serde_json::from_str(body).unwrap_or_else(|e| panic!("the response is not JSON ({e}): {body}")),
            Outcome::Error(error) => panic!("the function reported an error, not a response: {error:?}"),
        }
    }
}

/// An error the function reported (`/invocation/{id}/error` or `/init/error`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedError {
    /// The `Lambda-Runtime-Function-Error-Type` header, if sent.
    pub header_type: Option<String>,
    /// The body as sent (documented as `{"errorMessage": ..., "errorType": ..., "stackTrace": [...]}`).
    pub body: String,
}

impl ReportedError {
    fn field(&self, name: &str) -> Option<String> {
        serde_json::from_str::<Value>(&self.body).ok()?.get(name)?.as_str().map(str::to_owned)
    }

    /// The body's `errorMessage`.
    pub fn error_message(&self) -> Option<String> {
        self.field("errorMessage")
    }

    /// The body's `errorType`.
    pub fn error_type(&self) -> Option<String> {
        self.field("errorType")
    }
}

/// One request that reached the fake.
#[derive(Debug, Clone)]
pub struct Call {
    pub at: Instant,
    pub method: String,
    pub path: String,
}

/// [`FakeRuntime::invoke`] waited longer than it was allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedOut {
    pub request_id: String,
    pub waited: Duration,
    /// Whether the function had taken the invocation (`/next`) before the wait ended.
    pub taken: bool,
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.taken { "taken but not answered" } else { "never taken by /invocation/next" };
        write!(f, "invocation {} {state} within {:?}", self.request_id, self.waited)
    }
}

impl std::error::Error for TimedOut {}

/// An invocation waiting for `/next`.
struct Invocation {
    request_id: String,
    event: Vec<u8>,
    deadline_ms: u128,
    trace_id: String,
}

#[derive(Default)]
struct Record {
    calls: Vec<Call>,
    first_next: Option<Instant>,
    taken: Vec<String>,
    init_errors: Vec<ReportedError>,
    waiting: HashMap<String, oneshot::Sender<Outcome>>,
}

struct Shared {
    function_arn: String,
    queue: mpsc::UnboundedSender<Invocation>,
    /// `/next` takes from here; Lambda runs one invocation at a time per instance, so one lock.
    next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    record: Mutex<Record>,
    /// How many init errors were reported: [`FakeRuntime::init_error`] waits on it.
    init_errors: watch::Sender<usize>,
}

impl Shared {
    fn record(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn note(&self, method: &str, path: String) {
        self.record().calls.push(Call { at: Instant::now(), method: method.to_owned(), path });
    }
}

/// The Runtime API stand-in; stops serving when dropped.
pub struct FakeRuntime {
    addr: SocketAddr,
    shared: Arc<Shared>,
    started: Instant,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeRuntime {
    /// Serve on a free loopback port, for a function named `function_name` (its ARN is in each
    /// invocation's headers).
    pub async fn start(function_name: &str) -> std::io::Result<FakeRuntime> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (queue, next) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            queue,
            next: tokio::sync::Mutex::new(next),
            record: Mutex::new(Record::default()),
            init_errors: watch::channel(0).0,
        });
        let base = format!("/{API_VERSION}/runtime");
        let router = Router::new()
            .route(&format!("{base}/invocation/next"), get(next_invocation))
            .route(&format!("{base}/invocation/{{id}}/response"), post(response))
            .route(&format!("{base}/invocation/{{id}}/error"), post(invocation_error))
            .route(&format!("{base}/init/error"), post(init_error))
            .fallback(unknown)
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(FakeRuntime { addr, shared, started: Instant::now(), server })
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`: `127.0.0.1:PORT`, no scheme, as Lambda sets it.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// The environment Lambda gives a function process for this fake: the Runtime API, the
    /// function's name, memory, version and log names. `lambda_runtime` needs these to start.
    pub fn lambda_env(&self) -> Vec<(String, String)> {
        let name = self.shared.function_arn.rsplit(':').next().unwrap_or_default().to_owned();
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]0123456789abcdef".to_owned()),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
            ("_HANDLER", "bootstrap".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Queue `event` for the function, with a deadline `timeout` from now, and wait up to
    /// `timeout` for its answer. On a timeout the invocation stays queued (Lambda would have
    /// given it to this instance too): a test that times out has failed.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Result<Outcome, TimedOut> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (answer, answered) = oneshot::channel();
        self.shared.record().waiting.insert(request_id.clone(), answer);
        let deadline_ms = (SystemTime::now() + timeout).duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        let trace_id = trace_id(&request_id);
        let invocation =
            Invocation { request_id: request_id.clone(), event: serde_json::to_vec(&event).unwrap_or_default(), deadline_ms, trace_id };
        // The receiver lives as long as `shared`, which `self` holds: the send cannot fail.
        let _ = self.shared.queue.send(invocation);
        match tokio::time::timeout(timeout, answered).await {
            Ok(Ok(outcome)) => Ok(outcome),
            _ => {
                let taken = self.shared.record().taken.contains(&request_id);
                Err(TimedOut { request_id, waited: timeout, taken })
            }
        }
    }

    /// Wait up to `timeout` for the first start-up failure reported to `/init/error`.
    pub async fn init_error(&self, timeout: Duration) -> Option<ReportedError> {
        let mut count = self.shared.init_errors.subscribe();
        let _ = tokio::time::timeout(timeout, count.wait_for(|n| *n > 0)).await;
        self.init_errors().into_iter().next()
    }

    /// Every start-up failure reported so far.
    pub fn init_errors(&self) -> Vec<ReportedError> {
        self.shared.record().init_errors.clone()
    }

    /// When the function first asked for an invocation (its init done), if it has.
    pub fn first_next(&self) -> Option<Instant> {
        self.shared.record().first_next
    }

    /// When this fake started serving.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Every request that reached the fake, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.record().calls.clone()
    }
}

/// An X-Ray trace header of the documented shape (`Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=1`),
/// derived from the request id.
fn trace_id(request_id: &str) -> String {
    let hex: String = request_id.chars().filter(char::is_ascii_hexdigit).collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    format!("Root=1-{now:08x}-{};Parent={};Sampled=1", &hex[..24], &hex[16..32])
}

async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    shared.note("GET", format!("/{API_VERSION}/runtime/invocation/next"));
    {
        let mut record = shared.record();
        record.first_next.get_or_insert_with(Instant::now);
    }
    let Some(invocation) = shared.next.lock().await.recv().await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "the fake is shutting down").into_response();
    };
    shared.record().taken.push(invocation.request_id.clone());
    let headers = [
        ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
        ("Lambda-Runtime-Deadline-Ms", invocation.deadline_ms.to_string()),
        ("Lambda-Runtime-Invoked-Function-Arn", shared.function_arn.clone()),
        ("Lambda-Runtime-Trace-Id", invocation.trace_id),
        ("Content-Type", "application/json".to_owned()),
    ];
    let mut response = invocation.event.into_response();
    for (name, value) in headers {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

async fn response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    shared.note("POST", format!("/{API_VERSION}/runtime/invocation/{id}/response"));
    settle(&shared, &id, Outcome::Response(String::from_utf8_lossy(&body).into_owned()))
}

async fn invocation_error(State(shared): State<Arc<Shared>>, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    shared.note("POST", format!("/{API_VERSION}/runtime/invocation/{id}/error"));
    settle(&shared, &id, Outcome::Error(reported(&headers, &body)))
}

async fn init_error(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    shared.note("POST", format!("/{API_VERSION}/runtime/init/error"));
    let count = {
        let mut record = shared.record();
        record.init_errors.push(reported(&headers, &body));
        record.init_errors.len()
    };
    shared.init_errors.send_replace(count);
    accepted()
}

async fn unknown(State(shared): State<Arc<Shared>>, method: axum::http::Method, uri: axum::http::Uri) -> Response {
    shared.note(method.as_str(), uri.path().to_owned());
    (StatusCode::NOT_FOUND, axum::Json(json!({"errorMessage": format!("no such path: {}", uri.path()), "errorType": "NotFound"})))
        .into_response()
}

fn reported(headers: &HeaderMap, body: &[u8]) -> ReportedError {
    ReportedError {
        header_type: headers.get(ERROR_TYPE_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned),
        body: String::from_utf8_lossy(body).into_owned(),
    }
}

/// Settle invocation `id`: only one that was taken by `/next` and not settled yet, as in Lambda.
fn settle(shared: &Shared, id: &str, outcome: Outcome) -> Response {
    let waiting = {
        let mut record = shared.record();
        if record.taken.iter().any(|t| t == id) { record.waiting.remove(id) } else { None }
    };
    let Some(waiting) = waiting else {
        let body = json!({"errorMessage": format!("invalid request id {id}: not in flight"), "errorType": "InvalidRequestID"});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    };
    // The test may have stopped waiting (timed out): the answer is still accepted.
    let _ = waiting.send(outcome);
    accepted()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}
