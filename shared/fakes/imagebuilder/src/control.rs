//! The `/_fake/` control API: what [`crate::FakeImageBuilder`]'s methods do, over HTTP, for
//! users in other processes (the `pulse-fake-imagebuilder` binary, scripts).

use std::sync::Arc;

use axum::extract::{Path, Query, State as AxumState};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::state::{Fault, NextBuild};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_fake/health", get(|| async { Json(json!({"ok": true})) }))
        .route("/_fake/calls", get(calls))
        .route("/_fake/reset", post(reset))
        .route("/_fake/faults", post(inject))
        .route("/_fake/pipelines/{name}/next-ami", post(next_ami))
        .route("/_fake/resources", get(resources))
}

type Ctx = AxumState<Arc<Shared>>;

#[derive(Deserialize)]
struct CallFilter {
    operation: Option<String>,
}

/// `GET /_fake/calls[?operation=CreateImagePipeline]`: recorded calls, oldest first.
async fn calls(AxumState(shared): Ctx, Query(filter): Query<CallFilter>) -> Json<Value> {
    Json(json!(shared.calls(filter.operation.as_deref())))
}

/// `POST /_fake/reset`: forget resources, calls, faults and chosen AMIs.
async fn reset(AxumState(shared): Ctx) -> Json<Value> {
    shared.lock().reset();
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
struct FaultRequest {
    /// An operation name, or `*` for any.
    operation: String,
    #[serde(flatten)]
    fault: Fault,
    #[serde(default = "one")]
    times: u32,
}

fn one() -> u32 {
    1
}

/// `POST /_fake/faults {"operation": "GetImage", "status": 500, "error_type": "ServiceException", "times": 1}`.
async fn inject(AxumState(shared): Ctx, Json(req): Json<FaultRequest>) -> Json<Value> {
    shared.lock().inject(&req.operation, req.fault, req.times);
    Json(json!({"ok": true}))
}

/// `POST /_fake/pipelines/{name}/next-ami {"ami_id": "ami-0123", "status": "AVAILABLE"}`: how
/// the pipeline's next build ends (queued; one entry per build).
async fn next_ami(AxumState(shared): Ctx, Path(name): Path<String>, Json(build): Json<NextBuild>) -> Json<Value> {
    shared.lock().next_builds.entry(name).or_default().push_back(build);
    Json(json!({"ok": true}))
}

/// `GET /_fake/resources`: every stored resource, by kind and ARN.
async fn resources(AxumState(shared): Ctx) -> Json<Value> {
    let state = shared.lock();
    let r = &state.resources;
    Json(json!({
        "components": r.components,
        "imageRecipes": r.recipes,
        "infrastructureConfigurations": r.infrastructure,
        "distributionConfigurations": r.distribution,
        "imagePipelines": r.pipelines,
        "images": r.images,
    }))
}
