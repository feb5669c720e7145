//! `/v1/kv`: the team's key-value state over HTTP — list buckets and keys, read, write and
//! delete values — for operators (admin keys) and for runs (their `WASMHOOK_API_KEY`). Values
//! are raw bytes (`application/octet-stream`), as blocks store them through `wasi:keyvalue`.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::body::read_limited;
use super::error::ApiError;
use crate::auth::KvCaller;
use crate::state::AppState;
use wasmhook_sandbox::keyvalue::{MAX_KEYS_PER_CALL, MAX_VALUE_BYTES, check_bucket, check_key};
use wasmhook_store::kv::{KeyInfo, Place};
use wasmhook_store::repo::SharedDatabase;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(buckets)).routes(routes!(keys)).routes(routes!(read, write, remove))
}

fn checked(bucket: &str, key: Option<&str>) -> Result<(), ApiError> {
    check_bucket(bucket).map_err(ApiError::unprocessable)?;
    key.map(check_key).transpose().map_err(ApiError::unprocessable)?;
    Ok(())
}

/// `GET /v1/kv`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Buckets {
    /// Buckets holding live keys, in order.
    buckets: Vec<String>,
}

/// `GET /v1/kv/{bucket}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Keys {
    /// The page's keys, in order.
    keys: Vec<KeyInfo>,
    /// The `after` of the next page; `null` on the last.
    next: Option<String>,
}

#[utoipa::path(get, operation_id = "listKvBuckets", path = "/v1/kv", tag = "key-value", security(("apiKey" = [])), responses((status = 200, body = Buckets)))]
async fn buckets(State(store): State<SharedDatabase>, KvCaller(caller): KvCaller) -> Result<Json<Buckets>, ApiError> {
    let buckets = store.kv().buckets(caller.team_id).await?;
    Ok(Json(Buckets { buckets }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Page {
    /// Keys after this one.
    after: Option<String>,
    /// At most this many (default and maximum 1000).
    limit: Option<usize>,
}

/// One page of keys in order; `next` is the `after` of the next page.
#[utoipa::path(get, operation_id = "listKvKeys", path = "/v1/kv/{bucket}", tag = "key-value", security(("apiKey" = [])), params(("bucket" = String, Path, description = "The bucket"), Page), responses((status = 200, body = Keys)))]
async fn keys(
    State(store): State<SharedDatabase>,
    KvCaller(caller): KvCaller,
    Path(bucket): Path<String>,
    Query(page): Query<Page>,
) -> Result<Json<Keys>, ApiError> {
    checked(&bucket, None)?;
    let limit = page.limit.unwrap_or(MAX_KEYS_PER_CALL).clamp(1, MAX_KEYS_PER_CALL);
    let keys = store.kv().keys(caller.team_id, &bucket, page.after.as_deref(), limit).await?;
    let next = (keys.len() == limit).then(|| keys.last().map(|k| k.key.clone())).flatten();
    Ok(Json(Keys { keys, next }))
}

#[utoipa::path(get, operation_id = "getKvValue", path = "/v1/kv/{bucket}/{key}", tag = "key-value", security(("apiKey" = [])), params(("bucket" = String, Path, description = "The bucket"), ("key" = String, Path, description = "The key")),
    responses((status = 200, description = "The raw value", content_type = "application/octet-stream", body = super::openapi::Binary)))]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WriteOptions {
    /// The value expires after this many seconds.
    ttl_seconds: Option<u64>,
}

/// Sets a value (the raw body); 204.
#[utoipa::path(put, operation_id = "putKvValue", path = "/v1/kv/{bucket}/{key}", tag = "key-value", security(("apiKey" = [])), params(("bucket" = String, Path, description = "The bucket"), ("key" = String, Path, description = "The key"), WriteOptions),
    request_body(content = super::openapi::Binary, content_type = "application/octet-stream", description = "The raw value"),
    responses((status = 204, description = "Set")))]
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

#[utoipa::path(delete, operation_id = "deleteKvValue", path = "/v1/kv/{bucket}/{key}", tag = "key-value", security(("apiKey" = [])), params(("bucket" = String, Path, description = "The bucket"), ("key" = String, Path, description = "The key")), responses((status = 204, description = "Deleted")))]
async fn remove(
    State(store): State<SharedDatabase>,
    KvCaller(caller): KvCaller,
    Path((bucket, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    checked(&bucket, Some(&key))?;
    let removed = store.kv().delete(caller.team_id, &bucket, &key).await?;
    if removed { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found("key")) }
}
