//! `GET /v1/executions/stats`: the team's runs over a window, per slot and status, with p50/p99
//! duration (the dashboard's overview chart and its counts by status). Any key of the team.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wasmhook_store::executions::stats::{ExecutionStats, MAX_SLOTS, StatsWindow};
use wasmhook_store::now_ms;
use wasmhook_store::repo::SharedDatabase;

use super::error::ApiError;
use super::executions::{filter_of, parse_time};
use crate::auth::Caller;
use crate::state::AppState;

/// The window when none is given: the last hour.
const DEFAULT_WINDOW_MS: i64 = 3_600_000;
/// The slot when none is given: a minute.
const DEFAULT_BUCKET_MS: i64 = 60_000;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stats))
}

/// Query parameters, all strings so that every bad value gets our own message.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StatsParams {
    /// Only this block's executions (a block id).
    block: Option<String>,
    /// Only this doc's (a doc id).
    doc: Option<String>,
    /// Only this trigger webhook's (a webhook id).
    webhook: Option<String>,
    /// Only in this status.
    status: Option<String>,
    /// Window start (RFC 3339 or epoch ms); default `until` minus one hour (or 1440 slots).
    since: Option<String>,
    /// Window end, exclusive; default the end of the current slot.
    until: Option<String>,
    /// Slot length in ms (at least 1000; at most 1440 slots per window); default 60000.
    bucket: Option<String>,
}

/// Runs per slot and status over a window, with p50/p99 duration of the finished ones
/// (from a log-spaced histogram: within 19 % of the exact figure).
#[utoipa::path(get, operation_id = "executionStats", path = "/v1/executions/stats", tag = "executions", security(("apiKey" = [])), params(StatsParams),
    responses((status = 200, description = "Every slot of the window, oldest first", body = ExecutionStats)))]
async fn stats(
    State(store): State<SharedDatabase>,
    caller: Caller,
    Query(params): Query<StatsParams>,
) -> Result<Json<ExecutionStats>, ApiError> {
    let filter = filter_of(&params.block, &params.doc, &params.webhook, &params.status)?;
    let bucket = match params.bucket.as_deref() {
        None => DEFAULT_BUCKET_MS,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|ms| (1_000..=DEFAULT_WINDOW_MS * 24 * 366).contains(ms))
            .ok_or_else(|| ApiError::bad_request(format!("bucket must be 1000 ms to a year, got {raw:?}")))?,
    };
    let until = match params.until.as_deref() {
        Some(raw) => parse_time(raw, "until")?,
        None => (now_ms() / bucket + 1) * bucket,
    };
    let since = params.since.as_deref().map(|raw| parse_time(raw, "since")).transpose()?;
    // Without `since`: the last hour, or as many slots as one answer may hold.
    let span = DEFAULT_WINDOW_MS.min(bucket.saturating_mul(MAX_SLOTS));
    let window =
        StatsWindow::new(since.unwrap_or(until.saturating_sub(span)), until, bucket).map_err(ApiError::bad_request)?;
    store.executions().flush().await?;
    Ok(Json(store.executions().stats(caller.team_id, filter, window).await?))
}
