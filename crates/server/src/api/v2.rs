//! `POST /v2/webhook/blocks/{block_id}/execute` — Definite v2 block webhooks.
//!
//! Key as `Authorization: Bearer` or `"token"` in the body. `data` becomes `WEBHOOK_DATA` (JSON
//! text) and the data file. Env precedence, later wins: block saved env < `WEBHOOK_DATA` <
//! `environment_variables` < `wasm.environment_variables` < `<language>.environment_variables`
//! (e.g. `rust`, `python`). 400 bad body, 401 bad key, 403 another team's block, 404 no block.

use crate::api::path_id::PathId;
use std::collections::BTreeMap;
use wasmhook_domain::ids::{BlockId, ExecutionId};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::body::{raw_slice, read_limited, require_json};
use super::delivery::{accepted, idempotency, mark_replayed, mode};
use super::error::ApiError;
use super::limits;
use super::targets::{CallInput, block_job};
use crate::auth::{self, AuthError, Authenticator};
use crate::executor::{Delivery, Dispatched, RunSummary};
use crate::state::AppState;
use axum::extract::FromRef;
use wasmhook_abi::env as guest_env;
use wasmhook_sandbox::Failure;
use wasmhook_store::executions::{ExecutionStatus, Trigger};

/// The language-specific env object every wasm block honours, whatever its language.
pub const WASM_LANGUAGE: &str = "wasm";

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(execute))
}

/// The v2 body as the OpenAPI description shows it. The handler reads the fields one by one
/// (so that each bad one gets its own 400, and `data` is kept byte for byte), not through this
/// type: a field added there must be added here.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
struct V2Body {
    /// The event: the data file and `WEBHOOK_DATA`. An object; `{}` when absent.
    data: Option<serde_json::Map<String, Value>>,
    /// The API key, when it is not in the `Authorization` header.
    token: Option<String>,
    /// Env for every language.
    environment_variables: Option<BTreeMap<String, String>>,
    /// `{"environment_variables": {…}}` for every wasm block (`rust`, `python`, … take the
    /// same shape for blocks of that language, and win).
    wasm: Option<LanguageEnv>,
}

/// A language's env layer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
struct LanguageEnv {
    environment_variables: Option<BTreeMap<String, String>>,
}

/// The 202 answer of an async v2 call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct V2Accepted {
    /// `true`: accepted.
    success: bool,
    /// The execution to poll.
    execution_id: ExecutionId,
    /// `accepted`.
    status: &'static str,
    /// Where to poll it.
    location: String,
}

#[utoipa::path(post, operation_id = "executeBlock", path = "/v2/webhook/blocks/{block_id}/execute", tag = "webhooks (Definite)", security(("apiKey" = []), ()),
    params(("block_id" = BlockId, Path, description = "The block"),
        ("wait" = Option<bool>, Query, description = "`false`: queue the run and answer 202 at once"),
        ("Prefer" = Option<String>, Header, pattern = "^[!-~]+( [!-~]+)*$", description = "`respond-async`: the same as `?wait=false`"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]+( [!-~]+)*$", description = "A repeat within the window answers with the original run")),
    request_body = V2Body,
    responses((status = 200, description = "The run, succeeded or failed", body = V2Answer<'_>),
        (status = 202, description = "Queued; `Location` names the execution", body = V2Accepted)))]
async fn execute(
    State(state): State<AppState>,
    PathId(block_id): PathId<BlockId>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let mode = mode(&headers, query.as_deref())?;
    // A key in the header is checked before the body (up to 16 MiB) is read, so strangers
    // cost a header parse; only a caller that puts its token in the body is read first.
    let header_caller = match auth::bearer(&headers) {
        Some(key) => Some(Authenticator::from_ref(&state).authenticate(key).await?),
        None => None,
    };
    let bytes = read_limited(&state, &headers, body, state.config.max_body_bytes).await?;
    require_json(&headers, &bytes)?;
    let fields: BTreeMap<String, &RawValue> = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body must be a JSON object: {e}")))?;
    let caller = match header_caller {
        Some(caller) => caller,
        None => {
            let token = fields.get("token").ok_or(AuthError::Missing)?;
            Authenticator::from_ref(&state).authenticate(&string_field(token, "token")?).await?
        }
    };

    let block = state.store.blocks().get_any_team(block_id).await?.ok_or_else(|| ApiError::not_found("block"))?;
    if block.team_id != caller.team_id {
        return Err(ApiError::forbidden(format!("this API key has no access to block {block_id}")));
    }

    let data = data_field(&fields, &bytes)?;
    let mut env = BTreeMap::from([(guest_env::DATA.to_owned(), String::from_utf8_lossy(&data).into_owned())]);
    if let Some(raw) = fields.get("environment_variables") {
        env.extend(env_object(raw, "environment_variables")?);
    }
    for language in [WASM_LANGUAGE, block.language.as_str()] {
        if let Some(raw) = fields.get(language) {
            env.extend(language_env(raw, language)?);
        }
    }

    let idempotency = idempotency(&headers, &bytes, &data, block.idempotency_pointer.as_deref())?;
    let input = CallInput { data, files: Vec::new(), env, trigger: Trigger::V2, webhook_id: None };
    let job = block_job(&state.config, &block, input)?;
    let delivery =
        Delivery { team_id: caller.team_id, target: block_id.into(), idempotency, single_use: None, jobs: vec![job] };
    Ok(match state.executor.submit(delivery, mode).await? {
        Dispatched::Finished { runs, replayed } => {
            let run = runs.first().ok_or_else(|| ApiError::internal(&"a delivery finished without runs"))?;
            mark_replayed(Json(response(run)).into_response(), replayed)
        }
        Dispatched::Accepted { ids, replayed } => {
            let id = ids.first().copied().ok_or_else(|| ApiError::internal(&"a delivery was accepted without runs"))?;
            let location = format!("/v1/executions/{id}");
            accepted(V2Accepted { success: true, execution_id: id, status: "accepted", location }, id, replayed)
        }
    })
}

/// `data` as the data file's bytes: an object, `{}` when absent or null.
fn data_field(fields: &BTreeMap<String, &RawValue>, body: &Bytes) -> Result<Bytes, ApiError> {
    let Some(raw) = fields.get("data") else { return Ok(Bytes::from_static(b"{}")) };
    let text = raw.get();
    if text == "null" {
        return Ok(Bytes::from_static(b"{}"));
    }
    if !text.starts_with('{') {
        return Err(ApiError::bad_request("`data` must be a JSON object"));
    }
    Ok(raw_slice(body, raw))
}

fn string_field(raw: &RawValue, name: &str) -> Result<String, ApiError> {
    serde_json::from_str(raw.get()).map_err(|_| ApiError::bad_request(format!("`{name}` must be a string")))
}

fn env_object(raw: &RawValue, name: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let value: Value = serde_json::from_str(raw.get()).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(format!("`{name}` must be an object of strings")));
    };
    let env = map
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(text) => Ok((key, text)),
            other => Err(ApiError::bad_request(format!("`{name}.{key}` must be a string, got {other}"))),
        })
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    limits::check_env(&env, name).map_err(ApiError::bad_request)?;
    Ok(env)
}

fn language_env(raw: &RawValue, language: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let object: BTreeMap<String, &RawValue> = serde_json::from_str(raw.get())
        .map_err(|_| ApiError::bad_request(format!("`{language}` must be an object with `environment_variables`")))?;
    match object.get("environment_variables") {
        Some(raw) => env_object(raw, &format!("{language}.environment_variables")),
        None => Ok(BTreeMap::new()),
    }
}

/// Definite's v2 answer. A struct rather than `json!`: `json!` re-parses a raw output, and an
/// output such as `1e400` (valid JSON, no `f64`) made it panic (found by `fuzz/`).
#[derive(utoipa::ToSchema, Serialize)]
struct V2Answer<'a> {
    success: bool,
    execution_id: ExecutionId,
    status: ExecutionStatus,
    block_id: BlockId,
    block_version: i64,
    duration_ms: f64,
    fuel_used: u64,
    peak_memory_bytes: u64,
    #[schema(value_type = Option<serde_json::Value>)]
    output: Option<&'a RawValue>,
    error: Option<&'a Failure>,
}

fn response(run: &RunSummary) -> V2Answer<'_> {
    V2Answer {
        success: run.status == ExecutionStatus::Succeeded,
        execution_id: run.execution_id,
        status: run.status,
        block_id: run.block_id,
        block_version: run.block_version,
        duration_ms: run.duration_us as f64 / 1000.0,
        fuel_used: run.fuel_consumed,
        peak_memory_bytes: run.peak_memory_bytes,
        output: run.output.as_deref().and_then(|text| serde_json::from_str::<&RawValue>(text).ok()),
        error: run.error.as_ref(),
    }
}
