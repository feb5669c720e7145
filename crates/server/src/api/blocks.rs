//! `/v1/blocks`: create and configure blocks, upload versions (raw `application/wasm`),
//! activate a version (upgrade or rollback).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::body::{JsonBody, parse_id, read_limited};
use super::error::ApiError;
use super::limits;
use crate::auth::Admin;
use crate::config::Config;
use crate::state::AppState;
use wasmhook_store::StoreError;
use wasmhook_store::blocks::{self, Block, BlockPatch, BlockVersion, NewBlock};
use wasmhook_store::secrets as stored_secrets;

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
    let block = state
        .store
        .write(move |conn| {
            blocks::insert_block(conn, &block)?;
            // The savepoint rolls the insert back when a referenced secret is missing.
            check_secrets(conn, &block)?;
            Ok(block)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(block)))
}

/// Checks a block inside its write: its settings, and that every secret it references exists
/// in its team.
fn check_stored(conn: &rusqlite::Connection, config: &Config, block: &Block) -> Result<(), StoreError> {
    limits::check_block(config, block).map_err(|e| StoreError::Invalid(e.message().to_owned()))?;
    check_secrets(conn, block)
}

/// Every secret the block references exists in its team.
fn check_secrets(conn: &rusqlite::Connection, block: &Block) -> Result<(), StoreError> {
    if let Some(name) = stored_secrets::first_missing(conn, block.team_id, &block.secret_names())? {
        return Err(StoreError::Invalid(format!(
            "the block references secret {name:?}, which the team does not have (create it with PUT /v1/secrets/{name})"
        )));
    }
    Ok(())
}

async fn list(State(state): State<AppState>, Admin(caller): Admin) -> Result<Json<Vec<Block>>, ApiError> {
    Ok(Json(state.store.read(move |conn| blocks::blocks_of_team(conn, caller.team_id)).await?))
}

async fn show(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(raw): Path<String>,
) -> Result<Json<Block>, ApiError> {
    let id = parse_id(&raw, "block_id")?;
    Ok(Json(state.store.read(move |conn| blocks::block(conn, caller.team_id, id)).await?))
}

async fn update(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(raw): Path<String>,
    JsonBody(patch): JsonBody<BlockPatch>,
) -> Result<Json<Block>, ApiError> {
    let id = parse_id(&raw, "block_id")?;
    let config = state.config.clone();
    let cache = Arc::clone(&state.cache);
    let block = state
        .write_then_invalidate(
            move |conn| {
                // The merged result is checked before it is written.
                blocks::update_block(conn, caller.team_id, id, &patch, |merged| check_stored(conn, &config, merged))
            },
            move || cache.forget_block(id),
        )
        .await?;
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
    Path(raw): Path<String>,
    Query(params): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<BlockVersion>), ApiError> {
    let id = parse_id(&raw, "block_id")?;
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
    state.store.read(move |conn| blocks::block(conn, team_id, id)).await?;
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
    let prepared = state.sandbox.prepare(&bytes).await?;
    let digest = prepared.digest().to_string();
    let shape =
        serde_json::to_value(prepared.shape()).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    // The bytes go in 1 MiB writer jobs first; the version row then seals them.
    let chunks = state.store.put_wasm_chunks(&digest, &bytes).await?;
    let size = bytes.len();
    drop(bytes);
    let cache = Arc::clone(&state.cache);
    let version = state
        .write_then_invalidate(
            move |conn| {
                let blob = blocks::StoredBlob { digest: &digest, size, chunks };
                blocks::insert_version(conn, team_id, id, blob, &shape, activate)
            },
            move || cache.forget_block(id),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(version)))
}

async fn versions(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(raw): Path<String>,
) -> Result<Json<Vec<BlockVersion>>, ApiError> {
    let id = parse_id(&raw, "block_id")?;
    Ok(Json(state.store.read(move |conn| blocks::versions(conn, caller.team_id, id)).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Activate {
    version: i64,
}

async fn activate(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(raw): Path<String>,
    JsonBody(Activate { version }): JsonBody<Activate>,
) -> Result<Json<Block>, ApiError> {
    let id = parse_id(&raw, "block_id")?;
    let cache = Arc::clone(&state.cache);
    let block = state
        .write_then_invalidate(
            move |conn| blocks::activate_version(conn, caller.team_id, id, version),
            move || cache.forget_block(id),
        )
        .await?;
    Ok(Json(block))
}
