//! `/v1/blocks`: create and configure blocks, upload versions (raw `application/wasm`),
//! activate a version (upgrade or rollback).

use crate::api::path_id::PathId;
use std::sync::Arc;
use wasmhook_domain::ids::BlockId;

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::body::{JsonBody, read_limited};
use super::error::ApiError;
use super::limits;
use crate::auth::Admin;
use crate::state::AppState;
use wasmhook_store::blocks::{self, Block, BlockPatch, BlockVersion, NewBlock};
use wasmhook_store::repo::BlockCheck;
use wasmhook_store::repo::SharedDatabase;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(show, update))
        .routes(routes!(upload, versions))
        .routes(routes!(activate))
}

#[utoipa::path(post, operation_id = "createBlock", path = "/v1/blocks", tag = "blocks", security(("apiKey" = [])), request_body = NewBlock,
    responses((status = 201, description = "Created", body = Block)))]
async fn create(
    State(state): State<AppState>,
    Admin(caller): Admin,
    JsonBody(new): JsonBody<NewBlock>,
) -> Result<(StatusCode, Json<Block>), ApiError> {
    let block = blocks::new_block(caller.team_id, new);
    // Settings first: a value SQLite cannot hold must be a 422, not a failed insert.
    limits::check_block(&state.config, &block)?;
    let block = state.store.blocks().create(block).await?;
    Ok((StatusCode::CREATED, Json(block)))
}

#[utoipa::path(get, operation_id = "listBlocks", path = "/v1/blocks", tag = "blocks", security(("apiKey" = [])),
    responses((status = 200, body = Vec<Block>)))]
async fn list(State(store): State<SharedDatabase>, Admin(caller): Admin) -> Result<Json<Vec<Block>>, ApiError> {
    Ok(Json(store.blocks().list(caller.team_id).await?))
}

#[utoipa::path(get, operation_id = "getBlock", path = "/v1/blocks/{block_id}", tag = "blocks", security(("apiKey" = [])), params(("block_id" = BlockId, Path, description = "The block")),
    responses((status = 200, body = Block)))]
async fn show(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(id): PathId<BlockId>,
) -> Result<Json<Block>, ApiError> {
    Ok(Json(store.blocks().get(caller.team_id, id).await?))
}

#[utoipa::path(patch, operation_id = "updateBlock", path = "/v1/blocks/{block_id}", tag = "blocks", security(("apiKey" = [])), params(("block_id" = BlockId, Path, description = "The block")),
    request_body = BlockPatch, responses((status = 200, body = Block)))]
async fn update(
    State(state): State<AppState>,
    Admin(caller): Admin,
    PathId(id): PathId<BlockId>,
    JsonBody(patch): JsonBody<BlockPatch>,
) -> Result<Json<Block>, ApiError> {
    let config = state.config.clone();
    // The merged result is checked before it is written.
    let check: BlockCheck =
        Box::new(move |merged| limits::check_block(&config, merged).map_err(|e| e.message().to_owned()));
    let block = state.store.blocks().update(caller.team_id, id, patch, check).await?;
    Ok(Json(block))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadParams {
    /// `false`: store the version without making it the active one.
    activate: Option<String>,
}

/// Validates and precompiles the component before storing it: a bad upload is a 400 with the
/// reason and leaves nothing behind.
#[utoipa::path(post, operation_id = "uploadBlockVersion", path = "/v1/blocks/{block_id}/versions", tag = "blocks", security(("apiKey" = [])),
    params(("block_id" = BlockId, Path, description = "The block"), UploadParams),
    request_body(content = super::openapi::Binary, content_type = "application/wasm", description = "The component's bytes"),
    responses((status = 201, description = "Validated, compiled and stored", body = BlockVersion)))]
async fn upload(
    State(state): State<AppState>,
    Admin(caller): Admin,
    PathId(id): PathId<BlockId>,
    Query(params): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<BlockVersion>), ApiError> {
    let activate = match params.activate.as_deref() {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => return Err(ApiError::bad_request(format!("activate must be true or false, got {other:?}"))),
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !matches!(content_type, "application/wasm" | "application/octet-stream") {
        return Err(ApiError::bad_request(format!(
            "upload the component as raw bytes with Content-Type: application/wasm, not {content_type:?}"
        )));
    }
    let team_id = caller.team_id;
    state.store.blocks().get(team_id, id).await?;
    // Held until the version is stored: bounds uploads in memory and waiting to compile.
    let _upload = Arc::clone(&state.uploads).try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "UPLOADS_BUSY",
            format!("{} uploads are being compiled or waiting; retry shortly", state.config.upload_limit()),
        )
        .with_retry_after(5)
    })?;
    let bytes = read_limited(&state, &headers, body, state.config.max_wasm_bytes).await?;
    let version = state.executor.add_version(team_id, id, bytes, activate).await?;
    Ok((StatusCode::CREATED, Json(version)))
}

#[utoipa::path(get, operation_id = "listBlockVersions", path = "/v1/blocks/{block_id}/versions", tag = "blocks", security(("apiKey" = [])), params(("block_id" = BlockId, Path, description = "The block")),
    responses((status = 200, body = Vec<BlockVersion>)))]
async fn versions(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(id): PathId<BlockId>,
) -> Result<Json<Vec<BlockVersion>>, ApiError> {
    Ok(Json(store.blocks().versions(caller.team_id, id).await?))
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Activate {
    version: i64,
}

#[utoipa::path(post, operation_id = "activateBlockVersion", path = "/v1/blocks/{block_id}/activate", tag = "blocks", security(("apiKey" = [])), params(("block_id" = BlockId, Path, description = "The block")),
    request_body = Activate, responses((status = 200, description = "The block with its new active version", body = Block)))]
async fn activate(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(id): PathId<BlockId>,
    JsonBody(Activate { version }): JsonBody<Activate>,
) -> Result<Json<Block>, ApiError> {
    let block = store.blocks().activate(caller.team_id, id, version).await?;
    Ok(Json(block))
}
