//! `/v1/executions`: read an execution with its logs, or list them with filters. Any key of
//! the team may read (a webhook sender holding an execute key can fetch its own results).

use crate::api::path_id::PathId;
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wasmhook_domain::ids::ExecutionId;

use super::body::{parse_id, parse_json, read_limited};
use super::delivery::{accepted, mode};
use super::error::ApiError;
use crate::auth::{Admin, Caller};
use crate::executor::retry::RetryPolicy;
use crate::executor::{Delivery, Dispatched, ExecError, Job, StoredInput};
use crate::state::AppState;
use wasmhook_store::StoreError;
use wasmhook_store::executions::{Execution, ExecutionFilter};
use wasmhook_store::repo::SharedDatabase;

/// Rows per page when `limit` is not given, and the most one page may hold.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(show)).routes(routes!(replay))
}

#[utoipa::path(get, operation_id = "getExecution", path = "/v1/executions/{execution_id}", tag = "executions", security(("apiKey" = [])), params(("execution_id" = ExecutionId, Path, description = "The execution")),
    responses((status = 200, description = "The execution with its output, logs and outbound calls", body = Execution)))]
async fn show(
    State(store): State<SharedDatabase>,
    caller: Caller,
    PathId(id): PathId<ExecutionId>,
) -> Result<Json<Execution>, ApiError> {
    let executions = store.executions();
    executions.flush().await?;
    let execution = executions.get_with_delivery(caller.team_id, id).await?;
    Ok(Json(execution))
}

/// Query parameters, all strings so that every bad value gets our own message.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only this block's executions (a block id).
    block: Option<String>,
    /// Only this doc's (a doc id).
    doc: Option<String>,
    /// Only this trigger webhook's (a webhook id).
    webhook: Option<String>,
    status: Option<String>,
    since: Option<String>,
    until: Option<String>,
    /// Only executions listed after this one (an execution id): the next page's cursor.
    before: Option<String>,
    limit: Option<String>,
}

#[utoipa::path(get, operation_id = "listExecutions", path = "/v1/executions", tag = "executions", security(("apiKey" = [])), params(ListParams),
    responses((status = 200, description = "Newest first; no logs, outbound calls or inputs", body = Vec<Execution>)))]
async fn list(
    State(store): State<SharedDatabase>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<Execution>>, ApiError> {
    store.executions().flush().await?;
    let before = match params.before.as_deref() {
        None => None,
        Some(raw) => {
            let id: ExecutionId = parse_id(raw, "before")?;
            let cursor = store.executions().get(caller.team_id, id).await.map_err(|error| match error {
                StoreError::NotFound(_) => {
                    ApiError::bad_request(format!("before names no execution of this team: {raw}"))
                }
                other => other.into(),
            })?;
            Some((cursor.created_at, id))
        }
    };
    let filter = ExecutionFilter {
        before,
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
        ..filter_of(&params.block, &params.doc, &params.webhook, &params.status)?
    };
    Ok(Json(store.executions().list(caller.team_id, filter).await?))
}

/// The block, doc, webhook and status filters shared by the list and the stats.
pub(super) fn filter_of(
    block: &Option<String>,
    doc: &Option<String>,
    webhook: &Option<String>,
    status: &Option<String>,
) -> Result<ExecutionFilter, ApiError> {
    Ok(ExecutionFilter {
        block_id: block.as_deref().map(|b| parse_id(b, "block")).transpose()?,
        doc_id: doc.as_deref().map(|d| parse_id(d, "doc")).transpose()?,
        webhook_id: webhook.as_deref().map(|w| parse_id(w, "webhook")).transpose()?,
        status: status.as_deref().map(str::parse).transpose().map_err(ApiError::bad_request)?,
        ..ExecutionFilter::default()
    })
}

/// An RFC 3339 time or milliseconds since the epoch.
pub(super) fn parse_time(raw: &str, name: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = raw.parse::<i64>() {
        return Ok(ms);
    }
    let time = humantime::parse_rfc3339_weak(raw).map_err(|_| {
        ApiError::bad_request(format!("{name} must be RFC 3339 (2026-01-31T12:00:00Z) or epoch ms, got {raw:?}"))
    })?;
    let ms = time.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// The 202 answer of an async replay.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReplayAccepted {
    /// The new execution.
    execution_id: ExecutionId,
    /// The one replayed.
    replay_of: ExecutionId,
    /// `accepted`.
    status: &'static str,
}

/// The optional body of a replay.
#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayBody {
    /// Run this version instead of the block's active one.
    version: Option<i64>,
}

/// Re-runs an execution's exact stored input against the block's active version (or the
/// `version` given), as a new execution linked by `replayOf`. Sync by default (200 with the
/// new execution), async with `Prefer: respond-async` / `?wait=false` (202).
#[utoipa::path(post, operation_id = "replayExecution", path = "/v1/executions/{execution_id}/replay", tag = "executions", security(("apiKey" = [])),
    params(("execution_id" = ExecutionId, Path, description = "The execution"), ("wait" = Option<bool>, Query, description = "`false`: answer 202 at once"),
        ("Prefer" = Option<String>, Header, pattern = "^[!-~]+( [!-~]+)*$", description = "`respond-async`: answer 202 at once")),
    request_body(content = Option<ReplayBody>, description = "Optional: another version to run"),
    responses((status = 200, description = "The new execution (sync)", body = Execution),
        (status = 202, description = "Queued (async); `Location` names the new execution", body = ReplayAccepted)))]
async fn replay(
    State(state): State<AppState>,
    Admin(caller): Admin,
    PathId(id): PathId<ExecutionId>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let mode = mode(&headers, query.as_deref())?;
    let bytes = read_limited(&state, &headers, body, state.config.max_body_bytes).await?;
    let request: ReplayBody =
        if bytes.iter().all(u8::is_ascii_whitespace) { ReplayBody::default() } else { parse_json(&bytes)? };
    let team_id = caller.team_id;
    state.store.executions().flush().await?;
    let original = state.store.executions().get(team_id, id).await?;
    let stored = original.input.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "PAYLOAD_NOT_STORED",
            "this execution's input was not kept (storePayload: false, or purged), so it cannot be replayed",
        )
    })?;
    let input = StoredInput::parse(stored.get())?;
    let block_id = original.block_id;
    let block = state.store.blocks().get(team_id, block_id).await?;
    let version = request.version.or(block.active_version).ok_or(ExecError::NoActiveVersion(block_id))?;
    state.store.blocks().version(block_id, version).await?;
    let retry = RetryPolicy::resolve(block.retry.as_ref(), &state.config);
    let job = Job::replay(&original, input, block, version, retry);
    let new_id = job.spec.id;
    let delivery = Delivery { team_id, target: block_id.into(), idempotency: None, single_use: None, jobs: vec![job] };
    Ok(match state.executor.submit(delivery, mode).await? {
        Dispatched::Finished { .. } => {
            state.store.executions().flush().await?;
            let execution = state.store.executions().get(team_id, new_id).await?;
            Json(execution).into_response()
        }
        Dispatched::Accepted { .. } => {
            accepted(ReplayAccepted { execution_id: new_id, replay_of: id, status: "accepted" }, new_id, false)
        }
    })
}
