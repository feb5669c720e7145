//! The HTTP API: one module per resource, each with its own router; `error` holds the one
//! `ApiError` every handler returns. The API knows nothing of wasmtime: it talks to the
//! executor and the store.

mod blocks;
pub mod body;
mod callbacks;
pub mod delivery;
mod docs;
pub mod error;
mod execution_stats;
mod executions;
mod keys;
mod kv;
mod limits;
pub mod openapi;
pub mod path_id;
mod replays;
mod secrets;
mod targets;
pub mod trigger;
mod v2;
mod v4;
mod webhooks;

use axum::body::Bytes;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::State;
use axum::http::StatusCode;
use wasmhook_domain::ids::TeamId;
use wasmhook_store::StoreError;

use crate::state::AppState;
use error::ApiError;

/// Every route of the server, and the OpenAPI description of them all (also served at
/// `GET /openapi.json`).
pub fn router() -> Router<AppState> {
    let (router, spec) = described();
    SPEC.get_or_init(|| Bytes::from(spec.to_pretty_json().unwrap_or_default()));
    router.merge(crate::ui::router()).fallback(not_found).method_not_allowed_fallback(method_not_allowed)
}

/// The OpenAPI description, as `GET /openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    described().1
}

fn described() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, spec) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi_json))
        .merge(v2::router())
        .merge(v4::router())
        .merge(blocks::router())
        .merge(docs::router())
        .merge(executions::router())
        .merge(execution_stats::router())
        .merge(replays::router())
        .merge(keys::router())
        .merge(secrets::router())
        .merge(kv::router())
        .merge(webhooks::router())
        .merge(callbacks::router())
        .merge(trigger::router())
        .split_for_parts();
    (router, openapi::finish(spec))
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

/// `{"status"}` of the health probes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok` (liveness) or `ready` (readiness).
    status: &'static str,
}

/// Liveness: the process serves HTTP.
#[utoipa::path(get, operation_id = "healthz", path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The description, serialized once: the same for every server of this build.
static SPEC: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();

/// This description (OpenAPI 3.1).
#[utoipa::path(
    get, operation_id = "openapi",
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")),
)]
async fn openapi_json() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], SPEC.get().cloned().unwrap_or_default())
}

/// Readiness, for a load balancer: the node is not shutting down and its database answers a
/// read (a node that lost PostgreSQL is taken out of rotation, and its leases lapse to the
/// others).
#[utoipa::path(
    get, operation_id = "readyz",
    path = "/readyz",
    tag = "operations",
    responses((status = 200, body = Health), (status = 503, description = "`NOT_READY`: draining, or the database does not answer", body = openapi::ErrorBody)),
)]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    if state.executor.stopping().is_cancelled() {
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "NOT_READY", "the node is shutting down"));
    }
    match state.store.tenancy().team(TeamId::nil()).await {
        Ok(_) | Err(StoreError::NotFound(_)) => Ok(Json(Health { status: "ready" })),
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
