//! The HTTP API: one module per resource, each with its own router; `error` holds the one
//! `ApiError` every handler returns. The API knows nothing of wasmtime: it talks to the
//! executor and the store.

mod blocks;
pub mod body;
mod callbacks;
pub mod delivery;
mod docs;
pub mod error;
mod executions;
mod keys;
mod kv;
mod limits;
pub mod path_id;
mod replays;
mod secrets;
mod targets;
pub mod trigger;
mod v2;
mod v4;
mod webhooks;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use axum::extract::State;
use axum::http::StatusCode;
use wasmhook_domain::ids::TeamId;
use wasmhook_store::StoreError;

use crate::state::AppState;
use error::ApiError;

/// Every route of the server.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(v2::router())
        .merge(v4::router())
        .merge(blocks::router())
        .merge(docs::router())
        .merge(executions::router())
        .merge(replays::router())
        .merge(keys::router())
        .merge(secrets::router())
        .merge(kv::router())
        .merge(webhooks::router())
        .merge(callbacks::router())
        .merge(trigger::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// A `POST /v1/blocks` body through parsing and every settings check (for `fuzzing`): env
/// values and secret references, `network.allowedHosts` and credentials, `keyValue`.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_block_settings(body: &[u8]) {
    if let Ok(new) = body::parse_json::<wasmhook_store::blocks::NewBlock>(body) {
        let block = wasmhook_store::blocks::new_block(wasmhook_domain::TeamId::nil(), new);
        let _ = limits::check_block(&crate::config::Config::default(), &block);
        let _ = block.secret_names();
    }
}

/// Liveness: the process serves HTTP.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness, for a load balancer: the node is not shutting down and its database answers a
/// read (a node that lost PostgreSQL is taken out of rotation, and its leases lapse to the
/// others).
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if state.executor.stopping().is_cancelled() {
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "NOT_READY", "the node is shutting down"));
    }
    match state.store.tenancy().team(TeamId::nil()).await {
        Ok(_) | Err(StoreError::NotFound(_)) => Ok(Json(json!({ "status": "ready" }))),
        Err(error) => {
            tracing::warn!(%error, "not ready: the database does not answer");
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "NOT_READY", "the database does not answer"))
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "method not allowed on this route")
}
