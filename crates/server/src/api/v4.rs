//! `POST /v4/webhook/docs/{doc_id}/execute` — Definite v4 doc webhooks.
//!
//! Bearer key; body `{data, environmentVariables, datasetKeys}`; runs the selected datasets
//! (default all) concurrently, at most `doc_concurrency` at a time, and answers
//! `{"success", "data": {"docId", "results": [{"datasetKey", "success", "executionId",
//! "error"}]}}` in doc order. 401 bad key, 404 missing/archived/other team's doc, 422 bad body.

use crate::api::path_id::PathId;
use std::collections::BTreeMap;
use wasmhook_domain::ids::{DocId, ExecutionId};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::body::{parse_json, raw_slice, read_limited, require_json};
use super::delivery::{accepted, idempotency, mark_replayed, mode};
use super::error::ApiError;
use super::limits;
use super::targets::{CallInput, doc_jobs};
use crate::auth::Caller;
use crate::executor::{Delivery, Dispatched};
use crate::state::AppState;
use wasmhook_store::executions::{ExecutionStatus, Trigger};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(execute))
}

/// The 202 answer of an async v4 call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct V4Accepted {
    /// `true`.
    accepted: bool,
    data: AcceptedData,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AcceptedData {
    doc_id: DocId,
    /// One per selected dataset, in doc order.
    results: Vec<AcceptedDataset>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AcceptedDataset {
    dataset_key: String,
    execution_id: ExecutionId,
    /// `accepted`.
    status: &'static str,
}

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(rename_all = "camelCase")]
struct V4Body<'a> {
    #[serde(borrow, default)]
    #[schema(value_type = Option<serde_json::Value>)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    environment_variables: BTreeMap<String, String>,
    #[serde(default)]
    dataset_keys: Option<Vec<String>>,
}

#[derive(utoipa::ToSchema, Serialize)]
#[serde(rename_all = "camelCase")]
struct DatasetResult {
    dataset_key: String,
    success: bool,
    execution_id: ExecutionId,
    error: Option<String>,
}

#[derive(utoipa::ToSchema, Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    success: bool,
    data: EnvelopeData,
}

#[derive(utoipa::ToSchema, Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeData {
    doc_id: DocId,
    results: Vec<DatasetResult>,
}

#[utoipa::path(post, operation_id = "executeDoc", path = "/v4/webhook/docs/{doc_id}/execute", tag = "webhooks (Definite)", security(("apiKey" = [])),
    params(("doc_id" = DocId, Path, description = "The doc"),
        ("wait" = Option<bool>, Query, description = "`false`: queue the runs and answer 202 at once"),
        ("Prefer" = Option<String>, Header, pattern = "^[!-~]+( [!-~]+)*$", description = "`respond-async`: the same as `?wait=false`"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]+( [!-~]+)*$", description = "A repeat within the window answers with the original runs")),
    request_body = V4Body<'_>,
    responses((status = 200, description = "Every selected dataset's run, in doc order", body = Envelope),
        (status = 202, description = "Queued; `Location` names the first execution", body = V4Accepted)))]
async fn execute(
    State(state): State<AppState>,
    PathId(doc_id): PathId<DocId>,
    RawQuery(query): RawQuery,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let mode = mode(&headers, query.as_deref())?;
    let bytes = read_limited(&state, &headers, body, state.config.max_body_bytes).await?;
    require_json(&headers, &bytes)?;
    let request: V4Body<'_> = parse_json(&bytes)?;
    let data = data_bytes(request.data, &bytes)?;

    let team_id = caller.team_id;
    let doc = state.store.docs().get(team_id, doc_id).await?;
    let env = request.environment_variables;
    limits::check_env(&env, "environmentVariables").map_err(ApiError::unprocessable)?;
    let input = CallInput { data: data.clone(), files: Vec::new(), env, trigger: Trigger::V4, webhook_id: None };
    let (selected, jobs) = doc_jobs(&state, &doc, request.dataset_keys.as_deref(), input).await?;
    let idempotency = idempotency(&headers, &bytes, &data, doc.idempotency_pointer.as_deref())?;
    let delivery = Delivery { team_id, target: doc_id.into(), idempotency, single_use: None, jobs };
    Ok(match state.executor.submit(delivery, mode).await? {
        Dispatched::Finished { runs, replayed } => {
            let results: Vec<DatasetResult> = selected
                .into_iter()
                .zip(runs)
                .map(|(dataset, run)| DatasetResult {
                    dataset_key: dataset.key,
                    success: run.status == ExecutionStatus::Succeeded,
                    execution_id: run.execution_id,
                    error: run.error.map(|f| f.message),
                })
                .collect();
            let success = results.iter().all(|r| r.success);
            mark_replayed(Json(Envelope { success, data: EnvelopeData { doc_id, results } }).into_response(), replayed)
        }
        Dispatched::Accepted { ids, replayed } => {
            let first =
                ids.first().copied().ok_or_else(|| ApiError::internal(&"a delivery was accepted without runs"))?;
            let results = selected
                .iter()
                .zip(&ids)
                .map(|(dataset, id)| AcceptedDataset {
                    dataset_key: dataset.key.clone(),
                    execution_id: *id,
                    status: "accepted",
                })
                .collect();
            accepted(V4Accepted { accepted: true, data: AcceptedData { doc_id, results } }, first, replayed)
        }
    })
}

fn data_bytes(raw: Option<&RawValue>, body: &Bytes) -> Result<Bytes, ApiError> {
    let Some(raw) = raw else { return Ok(Bytes::from_static(b"{}")) };
    let text = raw.get();
    if !text.starts_with('{') {
        return Err(ApiError::unprocessable(format!("`data` must be a JSON object, got {}", kind_of(text))));
    }
    Ok(raw_slice(body, raw))
}

fn kind_of(json: &str) -> &'static str {
    match json.as_bytes().first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    }
}
