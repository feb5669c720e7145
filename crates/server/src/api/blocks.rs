//! `/v1/blocks`: create and configure blocks, upload versions (raw `application/wasm`),
//! activate a version (upgrade or rollback).

use crate::api::path_id::PathId;
use std::sync::Arc;
use wasmhook_domain::ids::BlockId;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::body::{JsonBody, read_limited};
use super::error::ApiError;
use super::limits;
use crate::auth::Admin;
use crate::state::AppState;
use wasmhook_store::blocks::{self, Block, BlockPatch, BlockVersion, NewBlock};
use wasmhook_store::repo::BlockCheck;
use wasmhook_store::repo::SharedDatabase;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/blocks", post(create).get(list))
        .route("/v1/blocks/{block_id}", get(show).patch(update))
        .route("/v1/blocks/{block_id}/versions", post(upload).get(versions))
        .route("/v1/blocks/{block_id}/activate", post(activate))
}

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

async fn list(State(store): State<SharedDatabase>, Admin(caller): Admin) -> Result<Json<Vec<Block>>, ApiError> {
    Ok(Json(store.blocks().list(caller.team_id).await?))
}

async fn show(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(id): PathId<BlockId>,
) -> Result<Json<Block>, ApiError> {
    Ok(Json(store.blocks().get(caller.team_id, id).await?))
}

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

#[derive(Debug, Deserialize)]
struct UploadParams {
    activate: Option<String>,
}

/// Validates and precompiles the component before storing it: a bad upload is a 400 with the
/// reason and leaves nothing behind.
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

async fn versions(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(id): PathId<BlockId>,
) -> Result<Json<Vec<BlockVersion>>, ApiError> {
    Ok(Json(store.blocks().versions(caller.team_id, id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Activate {
    version: i64,
}

async fn activate(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(id): PathId<BlockId>,
    JsonBody(Activate { version }): JsonBody<Activate>,
) -> Result<Json<Block>, ApiError> {
    let block = store.blocks().activate(caller.team_id, id, version).await?;
    Ok(Json(block))
}
