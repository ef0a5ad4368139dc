//! The control API under `/_fake/`, for scripts and the local stack (tests use the
//! [`crate::FakeGithub`] handle):
//! - `POST /_fake/seed` `{"installations": {"repos/o/r": 7, "orgs/o": 8}, "deliveries": [{"hook":
//!   "repos/o/r/hooks/1", "guid": "…", "event": "workflow_run", "action": "completed",
//!   "status_code": 502, "delivered_at": "2026-01-01T00:00:00Z"}], "permissions": [{"repo": "o/r",
//!   "login": "mona", "permission": "write"}], "pulls": [{"repo": "o/r", "sha": "…", "numbers":
//!   [5]}], "token": "github_pat_…", "token_ttl_secs": 3600, "redelivery_status": 200}`: every
//!   field optional;
//! - `GET /_fake/calls`, `GET /_fake/reruns`, `GET /_fake/redeliveries`: what happened;
//! - `POST /_fake/faults` a [`crate::FaultRule`]; `POST /_fake/reset`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State as AxumState;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::fault::FaultRule;
use crate::state::SeedDelivery;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub installations: HashMap<String, u64>,
    #[serde(default)]
    pub deliveries: Vec<SeedDelivery>,
    #[serde(default)]
    pub permissions: Vec<SeedPermission>,
    #[serde(default)]
    pub pulls: Vec<SeedPulls>,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub token_ttl_secs: Option<i64>,
    #[serde(default)]
    pub redelivery_status: Option<u16>,
}

#[derive(Debug, Deserialize)]
pub struct SeedPermission {
    pub repo: String,
    pub login: String,
    pub permission: String,
}

#[derive(Debug, Deserialize)]
pub struct SeedPulls {
    pub repo: String,
    pub sha: String,
    pub numbers: Vec<u64>,
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_fake/seed", post(seed))
        .route("/_fake/calls", get(|AxumState(s): AxumState<Arc<Shared>>| async move { Json(json!(s.lock().calls)) }))
        .route("/_fake/reruns", get(|AxumState(s): AxumState<Arc<Shared>>| async move { Json(json!(s.lock().reruns)) }))
        .route("/_fake/redeliveries", get(|AxumState(s): AxumState<Arc<Shared>>| async move { Json(json!(s.lock().redeliveries)) }))
        .route(
            "/_fake/faults",
            post(|AxumState(s): AxumState<Arc<Shared>>, Json(rule): Json<FaultRule>| async move {
                s.lock().faults.push_back(rule);
                Json(json!({"ok": true}))
            }),
        )
        .route(
            "/_fake/reset",
            post(|AxumState(s): AxumState<Arc<Shared>>| async move {
                s.lock().reset();
                Json(json!({"ok": true}))
            }),
        )
}

async fn seed(AxumState(shared): AxumState<Arc<Shared>>, Json(seed): Json<Seed>) -> Json<Value> {
    Json(json!({"ok": true, "delivery_ids": shared.seed(seed)}))
}
