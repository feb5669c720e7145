//! `POST /v4/webhook/docs/{doc_id}/execute` — Definite v4 doc webhooks.
//!
//! Bearer key; body `{data, environmentVariables, datasetKeys}`; runs the selected datasets
//! (default all) concurrently, at most `doc_concurrency` at a time, and answers
//! `{"success", "data": {"docId", "results": [{"datasetKey", "success", "executionId",
//! "error"}]}}` in doc order. 401 bad key, 404 missing/archived/other team's doc, 422 bad body.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::body::{parse_id, parse_json, read_limited, require_json};
use super::error::ApiError;
use crate::auth::Caller;
use crate::executor::RunRequest;
use crate::state::AppState;
use crate::store::blocks;
use crate::store::docs::{self, Dataset};
use crate::store::executions::Trigger;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v4/webhook/docs/{doc_id}/execute", post(execute))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V4Body<'a> {
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    environment_variables: BTreeMap<String, String>,
    #[serde(default)]
    dataset_keys: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DatasetResult {
    dataset_key: String,
    success: bool,
    execution_id: Option<Uuid>,
    error: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    success: bool,
    data: EnvelopeData,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeData {
    doc_id: Uuid,
    results: Vec<DatasetResult>,
}

async fn execute(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Envelope>, ApiError> {
    let doc_id = parse_id(&raw_id, "doc_id")?;
    let bytes = read_limited(&headers, body, state.config.max_body_bytes).await?;
    require_json(&headers, &bytes)?;
    let request: V4Body<'_> = parse_json(&bytes)?;
    let data = data_bytes(request.data, &bytes)?;

    let team_id = caller.team_id;
    let doc = state.store.read(move |conn| docs::doc(conn, team_id, doc_id)).await?;
    if doc.archived_at.is_some() {
        return Err(ApiError::not_found("doc"));
    }
    let selected = select(&doc.datasets, request.dataset_keys.as_deref())?;

    let env = request.environment_variables;
    let runs = selected.into_iter().map(|dataset| {
        let (state, data, env) = (state.clone(), data.clone(), env.clone());
        async move { run_dataset(&state, team_id, doc_id, dataset, data, env).await }
    });
    let results: Vec<DatasetResult> =
        futures::stream::iter(runs).buffered(state.config.doc_concurrency).collect().await;
    let success = results.iter().all(|r| r.success);
    Ok(Json(Envelope { success, data: EnvelopeData { doc_id, results } }))
}

/// The datasets to run, in doc order; unknown keys are a 422 naming them.
fn select(datasets: &[Dataset], keys: Option<&[String]>) -> Result<Vec<Dataset>, ApiError> {
    let Some(keys) = keys else { return Ok(datasets.to_vec()) };
    if keys.is_empty() {
        return Err(ApiError::unprocessable("`datasetKeys` must name at least one dataset (omit it to run all)"));
    }
    for (i, key) in keys.iter().enumerate() {
        if !datasets.iter().any(|d| &d.key == key) {
            let known: Vec<&str> = datasets.iter().map(|d| d.key.as_str()).collect();
            return Err(ApiError::unprocessable(format!(
                "`datasetKeys[{i}]` {key:?} is not a dataset of this doc (datasets: {known:?})"
            )));
        }
    }
    Ok(datasets.iter().filter(|d| keys.contains(&d.key)).cloned().collect())
}

fn data_bytes(raw: Option<&RawValue>, body: &Bytes) -> Result<Bytes, ApiError> {
    let Some(raw) = raw else { return Ok(Bytes::from_static(b"{}")) };
    let text = raw.get();
    if !text.starts_with('{') {
        return Err(ApiError::unprocessable(format!("`data` must be a JSON object, got {}", kind_of(text))));
    }
    let start = text.as_ptr() as usize - body.as_ptr() as usize;
    Ok(body.slice(start..start + text.len()))
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

async fn run_dataset(
    state: &AppState,
    team_id: Uuid,
    doc_id: Uuid,
    dataset: Dataset,
    data: Bytes,
    env: BTreeMap<String, String>,
) -> DatasetResult {
    let block_id = dataset.block_id;
    let block = state.store.read(move |conn| blocks::block(conn, team_id, block_id)).await;
    let result = match block {
        Ok(block) => {
            state
                .executor
                .run(RunRequest {
                    block,
                    pinned_version: dataset.version,
                    data,
                    request_env: env,
                    doc_id: Some(doc_id),
                    dataset_key: Some(dataset.key.clone()),
                    timeout_ms: dataset.timeout_ms,
                    trigger: Trigger::V4,
                })
                .await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(completed) => DatasetResult {
            dataset_key: dataset.key,
            success: completed.outcome.failure().is_none(),
            execution_id: Some(completed.execution_id),
            error: completed.outcome.failure().map(|f| f.message.clone()),
        },
        Err(error) => {
            tracing::warn!(%doc_id, dataset = %dataset.key, %error, "dataset could not run");
            DatasetResult {
                dataset_key: dataset.key,
                success: false,
                execution_id: None,
                error: Some(error.to_string()),
            }
        }
    }
}
