//! The fake's HTTP face for SDK clients: `/<Operation>` and `/tags/{resourceArn}`, with the
//! methods the SDK uses. Parses parameters from the JSON body, the query string and the path,
//! applies a queued fault, runs the operation, and records the call.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{Map, Value};

use crate::Shared;
use crate::control;
use crate::error::ApiError;
use crate::ops;
use crate::state::RecordedCall;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().route("/tags/{resource_arn}", any(tags)).route("/{operation}", any(operation)).merge(control::routes()).with_state(shared)
}

type Pairs = Query<Vec<(String, String)>>;

async fn operation(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    Path(name): Path<String>,
    Query(query): Pairs,
    body: Bytes,
) -> Response {
    serve(&shared, &name, ops::find(&name), &method, query, &body, None)
}

async fn tags(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    Path(resource_arn): Path<String>,
    Query(query): Pairs,
    body: Bytes,
) -> Response {
    let op = ops::tag_operation(&method);
    let name = op.map_or("Tags", |o| o.name);
    serve(&shared, name, op, &method, query, &body, Some(resource_arn))
}

fn serve(
    shared: &Shared,
    name: &str,
    op: Option<&'static ops::Operation>,
    method: &Method,
    query: Vec<(String, String)>,
    body: &[u8],
    resource_arn: Option<String>,
) -> Response {
    let params = parameters(query, body, resource_arn);
    let mut state = shared.lock();
    let result = match (op, &params) {
        (None, _) => Err(ApiError::new(404, "UnknownOperationException", format!("The fake does not serve {name}."))),
        (Some(op), _) if op.method != *method => {
            Err(ApiError::new(405, "UnknownOperationException", format!("{name} is called with {}, not {method}.", op.method)))
        }
        (_, Err(e)) => Err(e.clone()),
        (Some(op), Ok(params)) => match state.take_fault(op.name) {
            Some(fault) => Err(fault.into()),
            None => ops::call(&mut state, op, params),
        },
    };
    let call = RecordedCall {
        operation: name.to_owned(),
        params: params.clone().unwrap_or(Value::Null),
        status: result.as_ref().map_or_else(|e| e.status, |_| 200),
        error_type: result.as_ref().err().map(|e| e.error_type.clone()),
    };
    tracing::info!(operation = %call.operation, status = call.status, error = call.error_type.as_deref().unwrap_or("-"), "fake imagebuilder call");
    state.calls.push(call);
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The JSON body (an object, or nothing), with query parameters and the path's resource ARN
/// added. A query key given twice (`tagKeys`) becomes a list.
fn parameters(query: Vec<(String, String)>, body: &[u8], resource_arn: Option<String>) -> Result<Value, ApiError> {
    let mut params = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            _ => return Err(ApiError::new(400, "SerializationException", "The request body is not a JSON object.")),
        }
    };
    for (key, value) in query {
        match params.get_mut(&key) {
            Some(Value::Array(items)) => items.push(Value::String(value)),
            Some(existing) => *existing = Value::Array(vec![existing.clone(), Value::String(value)]),
            None => {
                let value = if key == "tagKeys" { Value::Array(vec![Value::String(value)]) } else { Value::String(value) };
                params.insert(key, value);
            }
        }
    }
    if let Some(arn) = resource_arn {
        params.insert("resourceArn".into(), Value::String(arn));
    }
    Ok(Value::Object(params))
}
