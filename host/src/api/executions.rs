//! `/v1/executions`: read an execution with its logs, or list them with filters. Any key of
//! the team may read (a webhook sender holding an execute key can fetch its own results).

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::body::parse_id;
use super::error::ApiError;
use crate::auth::Caller;
use crate::state::AppState;
use crate::store::executions::{self, Execution, ExecutionFilter};

/// Rows per page when `limit` is not given, and the most one page may hold.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v1/executions", get(list)).route("/v1/executions/{execution_id}", get(show))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Execution>, ApiError> {
    let id = parse_id(&raw, "execution_id")?;
    Ok(Json(state.store.read(move |conn| executions::execution(conn, caller.team_id, id)).await?))
}

/// Query parameters, all strings so that every bad value gets our own message.
#[derive(Debug, Deserialize)]
struct ListParams {
    block: Option<String>,
    doc: Option<String>,
    status: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<Execution>>, ApiError> {
    let filter = ExecutionFilter {
        block_id: params.block.as_deref().map(|b| parse_id(b, "block")).transpose()?,
        doc_id: params.doc.as_deref().map(|d| parse_id(d, "doc")).transpose()?,
        status: params.status.as_deref().map(str::parse).transpose().map_err(ApiError::bad_request)?,
        since: params.since.as_deref().map(|t| parse_time(t, "since")).transpose()?,
        until: params.until.as_deref().map(|t| parse_time(t, "until")).transpose()?,
        limit: match params.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| ApiError::bad_request(format!("limit must be 1 to {MAX_LIMIT}, got {raw:?}")))?,
        },
    };
    Ok(Json(state.store.read(move |conn| executions::list(conn, caller.team_id, &filter)).await?))
}

/// An RFC 3339 time or milliseconds since the epoch.
fn parse_time(raw: &str, name: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = raw.parse::<i64>() {
        return Ok(ms);
    }
    let time = humantime::parse_rfc3339_weak(raw).map_err(|_| {
        ApiError::bad_request(format!("{name} must be RFC 3339 (2026-01-31T12:00:00Z) or epoch ms, got {raw:?}"))
    })?;
    let ms = time.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}
