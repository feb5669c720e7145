//! `/v1/kv`: the team's key-value state over HTTP — list buckets and keys, read, write and
//! delete values — for operators (admin keys) and for runs (their `WASMHOOK_API_KEY`). Values
//! are raw bytes (`application/octet-stream`), as blocks store them through `wasi:keyvalue`.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::read_limited;
use super::error::ApiError;
use crate::auth::KvCaller;
use crate::state::AppState;
use wasmhook_sandbox::keyvalue::{MAX_KEYS_PER_CALL, MAX_VALUE_BYTES, check_bucket, check_key};
use wasmhook_store::kv::Place;
use wasmhook_store::repo::SharedDatabase;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/kv", get(buckets))
        .route("/v1/kv/{bucket}", get(keys))
        .route("/v1/kv/{bucket}/{key}", get(read).put(write).delete(remove))
}

fn checked(bucket: &str, key: Option<&str>) -> Result<(), ApiError> {
    check_bucket(bucket).map_err(ApiError::unprocessable)?;
    key.map(check_key).transpose().map_err(ApiError::unprocessable)?;
    Ok(())
}

async fn buckets(State(store): State<SharedDatabase>, KvCaller(caller): KvCaller) -> Result<Json<Value>, ApiError> {
    let buckets = store.kv().buckets(caller.team_id).await?;
    Ok(Json(json!({ "buckets": buckets })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Page {
    /// Keys after this one.
    after: Option<String>,
    /// At most this many (default and maximum 1000).
    limit: Option<usize>,
}

/// One page of keys in order; `next` is the `after` of the next page.
async fn keys(
    State(store): State<SharedDatabase>,
    KvCaller(caller): KvCaller,
    Path(bucket): Path<String>,
    Query(page): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    checked(&bucket, None)?;
    let limit = page.limit.unwrap_or(MAX_KEYS_PER_CALL).clamp(1, MAX_KEYS_PER_CALL);
    let keys = store.kv().keys(caller.team_id, &bucket, page.after.as_deref(), limit).await?;
    let next = (keys.len() == limit).then(|| keys.last().map(|k| k.key.clone())).flatten();
    Ok(Json(json!({ "keys": keys, "next": next })))
}

async fn read(
    State(store): State<SharedDatabase>,
    KvCaller(caller): KvCaller,
    Path((bucket, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    checked(&bucket, Some(&key))?;
    let found = store.kv().get(caller.team_id, &bucket, &key).await?;
    let value = found.ok_or(ApiError::not_found("key"))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], value.value).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WriteOptions {
    /// The value expires after this many seconds.
    ttl_seconds: Option<u64>,
}

/// Sets a value (the raw body); 204.
async fn write(
    State(state): State<AppState>,
    KvCaller(caller): KvCaller,
    Path((bucket, key)): Path<(String, String)>,
    Query(options): Query<WriteOptions>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    checked(&bucket, Some(&key))?;
    if options.ttl_seconds == Some(0) {
        return Err(ApiError::unprocessable("ttlSeconds must be at least 1"));
    }
    let value = read_limited(&state, &headers, body, MAX_VALUE_BYTES).await?;
    let quota = state.config.kv_team_max_bytes;
    let ttl_ms = options.ttl_seconds.map(|s| s.saturating_mul(1000));
    let place = Place { team_id: caller.team_id, bucket: &bucket, quota };
    state.store.kv().put(place, &key, Vec::from(value), ttl_ms, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(store): State<SharedDatabase>,
    KvCaller(caller): KvCaller,
    Path((bucket, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    checked(&bucket, Some(&key))?;
    let removed = store.kv().delete(caller.team_id, &bucket, &key).await?;
    if removed { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found("key")) }
}
