//! Bulk replay, admin only: `POST /v1/executions/replay` with a filter starts a job that
//! re-runs every matching delivery's stored input as a new execution (rate-limited, see
//! `executor::bulk_replay`); `GET /v1/executions/replay/{job_id}` shows its progress;
//! `POST /v1/executions/replay/{job_id}/cancel` stops submitting.

use crate::api::path_id::PathId;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wasmhook_domain::ids::{BlockId, DocId, ReplayJobId, WebhookId};

use super::body::JsonBody;
use super::error::ApiError;
use super::executions::parse_time;
use crate::auth::Admin;
use crate::state::AppState;
use wasmhook_store::executions::{ExecutionFilter, ExecutionStatus};
use wasmhook_store::replay_jobs::{ReplayFilter, ReplayJob};
use wasmhook_store::repo::NewReplay;
use wasmhook_store::repo::SharedDatabase;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start)).routes(routes!(show)).routes(routes!(cancel))
}

/// The 202 answer of `POST /v1/executions/replay`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReplayStarted {
    /// The job.
    job_id: ReplayJobId,
    /// `running`.
    status: &'static str,
    /// Executions the filter matched (at most `max`).
    matched: usize,
    /// Of those, how many cannot be replayed: their input was not kept.
    without_input: usize,
    /// Where to poll the job.
    poll: String,
}

/// The body of `POST /v1/executions/replay`.
#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BulkReplay {
    block: Option<BlockId>,
    doc: Option<DocId>,
    webhook: Option<WebhookId>,
    /// The delivery outcome to match: `failed`, `timed_out`, `dead` or `succeeded`.
    status: Option<String>,
    /// RFC 3339 text or epoch ms.
    since: Option<Value>,
    /// RFC 3339 text or epoch ms.
    until: Option<Value>,
    /// The most executions to replay (default and ceiling: `replay_max_executions`).
    max: Option<usize>,
    /// Run this version of `block` instead of its active one.
    version: Option<i64>,
}

fn time(value: Option<&Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::unprocessable(format!("`{name}` must be epoch ms or RFC 3339"))),
        Some(Value::String(text)) => parse_time(text, name).map(Some),
        Some(_) => Err(ApiError::unprocessable(format!("`{name}` must be epoch ms or RFC 3339"))),
    }
}

#[utoipa::path(post, operation_id = "startBulkReplay", path = "/v1/executions/replay", tag = "executions", security(("apiKey" = [])), request_body = BulkReplay,
    responses((status = 202, description = "Started; `Location` is the job to poll", body = ReplayStarted)))]
async fn start(
    State(state): State<AppState>,
    Admin(caller): Admin,
    JsonBody(request): JsonBody<BulkReplay>,
) -> Result<Response, ApiError> {
    let status = match request.status.as_deref() {
        None => None,
        Some(text) => {
            let status: ExecutionStatus = text.parse().map_err(ApiError::unprocessable)?;
            if !status.is_terminal() {
                return Err(ApiError::unprocessable(format!(
                    "`status` {text:?} is not an outcome: only finished deliveries (succeeded, failed, timed_out, \
                     dead) can be replayed"
                )));
            }
            Some(status)
        }
    };
    let ceiling = state.config.replay_max_executions;
    let max = request.max.unwrap_or(ceiling);
    if !(1..=ceiling).contains(&max) {
        return Err(ApiError::unprocessable(format!(
            "`max` must be 1 to {ceiling} (the server's replay_max_executions)"
        )));
    }
    let filter = ExecutionFilter {
        block_id: request.block,
        doc_id: request.doc,
        webhook_id: request.webhook,
        status,
        since: time(request.since.as_ref(), "since")?,
        until: time(request.until.as_ref(), "until")?,
        before: None,
        limit: 0,
    };
    let team_id = caller.team_id;
    if let Some(version) = request.version {
        let block_id = request
            .block
            .ok_or_else(|| ApiError::unprocessable("`version` needs `block`: a version number belongs to one block"))?;
        state.store.blocks().get(team_id, block_id).await?;
        state.store.blocks().version(block_id, version).await?;
    }
    let recorded = ReplayFilter {
        block: filter.block_id,
        doc: filter.doc_id,
        webhook: filter.webhook_id,
        status: request.status.clone(),
        since: filter.since,
        until: filter.until,
    };
    let id = ReplayJobId::now_v7();
    let version = request.version;
    state.store.executions().flush().await?;
    let replay = NewReplay { id, team_id, filter, max, recorded, version };
    let (matched, without_input) = state.store.replay_jobs().create(replay).await?;
    state.executor.start_replay(id);
    let location = format!("/v1/executions/replay/{id}");
    let body = ReplayStarted { job_id: id, status: "running", matched, without_input, poll: location.clone() };
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

#[utoipa::path(get, operation_id = "getBulkReplay", path = "/v1/executions/replay/{job_id}", tag = "executions", security(("apiKey" = [])), params(("job_id" = ReplayJobId, Path, description = "The bulk replay job")),
    responses((status = 200, body = ReplayJob)))]
async fn show(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(id): PathId<ReplayJobId>,
) -> Result<Json<ReplayJob>, ApiError> {
    store.executions().flush().await?;
    Ok(Json(store.replay_jobs().get(caller.team_id, id).await?))
}

#[utoipa::path(post, operation_id = "cancelBulkReplay", path = "/v1/executions/replay/{job_id}/cancel", tag = "executions", security(("apiKey" = [])), params(("job_id" = ReplayJobId, Path, description = "The bulk replay job")),
    responses((status = 200, description = "Stopped submitting; runs already submitted finish", body = ReplayJob)))]
async fn cancel(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(id): PathId<ReplayJobId>,
) -> Result<Json<ReplayJob>, ApiError> {
    Ok(Json(store.replay_jobs().cancel(caller.team_id, id).await?))
}
