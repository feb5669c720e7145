//! `POST /api/webhooks/{webhook_id}` — trigger webhooks: a third party that can only be given a
//! URL (and maybe a secret) runs a block or a doc.
//!
//! The checks run cheapest-first and before the body is read, so refused calls cost little:
//! 400 `VALIDATION_ERROR` (id not a UUID) → 404 `WORKFLOW_NOT_FOUND` / 410 `WEBHOOK_REMOVED` →
//! 401 `{"error": "Unauthorized"}` → 403 `WEBHOOK_INACTIVE` → 429 `RATE_LIMITED` (+
//! `Retry-After`) → 415 `UNSUPPORTED_MEDIA_TYPE` → 413 `PAYLOAD_TOO_LARGE` (declared length,
//! or as soon as the streamed body passes the limit) → 401 `SIGNATURE_INVALID` /
//! `TIMESTAMP_OUT_OF_TOLERANCE` (the sender's signature over the raw bytes, before anything
//! else reads them) → run. A webhook authenticated only by its signature is rate-limited after
//! the signature verifies, so a stranger with the URL cannot drain the sender's bucket. A
//! verified signature's replay key (see [`crate::signatures`]) is the idempotency key: a
//! sender-supplied `Idempotency-Key` is ignored on signed webhooks. An armed webhook's single call is
//! taken atomically with the delivery's rows, so of concurrent calls exactly one runs.
//!
//! `GET /api/webhooks/{webhook_id}/executions/{execution_id}` lets the sender poll an
//! execution its webhook accepted, with the same credentials.

pub(crate) mod request;
mod respond;

use std::net::SocketAddr;
use wasmhook_domain::ids::{BlockId, DocId, ExecutionId, WebhookId};

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::body::{parse_id, read_limited};
use super::delivery::{idempotency, signed_idempotency};
use super::error::ApiError;
use super::targets::{CallInput, block_job, doc_jobs};
use crate::auth::webhook_secret;
use crate::executor::{Delivery, Dispatched, Mode};
use crate::signatures::{SignatureCheck, SignatureError};
use crate::state::AppState;
use request::{RequestMeta, content_type_allowed, essence, hand_over};
use wasmhook_abi::env as guest_env;
use wasmhook_store::executions::Trigger;

use wasmhook_store::webhooks::{AuthMode, ResponseMode, TargetKind, Webhook, WebhookState};
use wasmhook_store::{StoreError, now_ms};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(trigger)).routes(routes!(poll))
}

/// [`parse_id`] with Powabase's error code for a malformed webhook id.
fn parse_uuid<T: From<Uuid>>(raw: &str, name: &'static str) -> Result<T, ApiError> {
    parse_id(raw, name).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", e.message()))
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

/// The webhook, authenticated: 404/410 for unknown/removed ids, 401 for a missing or wrong
/// secret. Says nothing about its state.
async fn authenticated(
    state: &AppState,
    raw_id: &str,
    request: &axum::http::request::Parts,
    query: &[(String, String)],
) -> Result<std::sync::Arc<Webhook>, ApiError> {
    let id: WebhookId = parse_uuid(raw_id, "webhook_id")?;
    let Some(webhook) = state.store.webhooks().by_id(id).await? else {
        return Err(if state.store.webhooks().removed(id).await? {
            ApiError::new(
                StatusCode::GONE,
                "WEBHOOK_REMOVED",
                "this webhook URL was removed or replaced; ask its owner for the current URL",
            )
        } else {
            ApiError::new(StatusCode::NOT_FOUND, "WORKFLOW_NOT_FOUND", "no webhook has this id")
        });
    };
    if webhook.auth_mode == AuthMode::Secret {
        let presented = webhook_secret::presented(&request.headers, query).ok_or_else(ApiError::unauthorized_plain)?;
        if !webhook_secret::matches(&webhook, presented, now_ms()) {
            return Err(ApiError::unauthorized_plain());
        }
    }
    Ok(webhook)
}

#[utoipa::path(post, operation_id = "triggerWebhook", path = "/api/webhooks/{webhook_id}", tag = "trigger webhooks", security((), ("webhookSecret" = [])),
    params(("webhook_id" = WebhookId, Path, description = "The webhook's URL id"),
        ("token" = Option<String>, Query, description = "The webhook's secret, for senders that cannot set a header (also `key`)"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]+( [!-~]+)*$", description = "A repeat within the window answers with the original runs")),
    request_body(description = "Any body: JSON, a form, XML, text or bytes (the webhook's `contentTypes` may narrow it)",
        content((serde_json::Value = "application/json"), (super::openapi::Binary = "application/octet-stream"))),
    responses(
        (status = 200, description = "Sync: the run's output, or the answer the block shaped", body = respond::SyncAnswer<'_>),
        (status = 201, description = "Async: queued; `Location` is the first execution to poll", body = respond::FleetAccepted),
        (status = 401, description = "No or wrong secret (`{\"error\": \"Unauthorized\"}`), or a bad signature", body = super::openapi::ErrorBody),
        (status = 500, description = "The run failed (`EXECUTION_FAILED`, with `execution_id`)", body = super::openapi::ErrorBody),
        (status = 504, description = "The run timed out or is still running (`EXECUTION_TIMEOUT`, with `execution_id`)", body = super::openapi::ErrorBody)))]
async fn trigger(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let received_at = now_ms();
    let (parts, body) = request.into_parts();
    let query = query_pairs(parts.uri.query());
    let webhook = authenticated(&state, &raw_id, &parts, &query).await?;
    if !webhook.accepting(received_at) {
        let why = match webhook.state {
            WebhookState::Disabled => "this webhook is disabled",
            _ => "this webhook is not armed: it takes a single call after being armed",
        };
        return Err(ApiError::new(StatusCode::FORBIDDEN, "WEBHOOK_INACTIVE", why));
    }
    let settings = &webhook.settings;
    // A signature-only webhook is authenticated only once its body is verified: limiting it
    // earlier would let anyone who knows the URL drain the genuine sender's bucket.
    let limited_before_body = webhook.auth_mode == AuthMode::Secret || webhook.signature.is_none();
    if limited_before_body {
        rate_limit(&state, &webhook)?;
    }
    if let Some(allowed) = &settings.content_types
        && !content_type_allowed(essence(&parts.headers).as_deref(), allowed)
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("this webhook accepts Content-Type {}", allowed.join(", ")),
        ));
    }
    let limit = usize::try_from(settings.max_body_bytes).unwrap_or(usize::MAX);
    let bytes = read_limited(&state, &parts.headers, Body::new(body), limit).await?;
    let replay_key = match &webhook.signature {
        Some(signature) => {
            Some(signature.verify(&parts.headers, &bytes, received_at.div_euclid(1000)).map_err(signature_error)?)
        }
        None => None,
    };
    if !limited_before_body {
        rate_limit(&state, &webhook)?;
    }

    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let meta = RequestMeta {
        webhook_id: webhook.id,
        method: &parts.method,
        headers: &parts.headers,
        query: &query,
        peer,
        received_at,
    };
    let idempotency = match replay_key {
        Some(key) => Some(signed_idempotency(key, &bytes)),
        None => idempotency(&parts.headers, &bytes, &[], None)?,
    };
    let mut handed = hand_over(&meta, bytes, settings.capture_request)?;
    if let Some(signature) = &webhook.signature {
        handed.env.insert(guest_env::VERIFIED.to_owned(), signature.scheme.as_str().to_owned());
    }
    let input = CallInput {
        data: handed.data,
        files: handed.files,
        env: handed.env,
        trigger: Trigger::Webhook,
        webhook_id: Some(webhook.id),
    };
    let (jobs, keys) = match webhook.target.kind {
        TargetKind::Block => {
            let block = state.store.blocks().shared(webhook.team_id, BlockId::from(webhook.target.id)).await?;
            (vec![block_job(&state.config, &block, input)?], None)
        }
        TargetKind::Doc => {
            let doc = state.store.docs().get(webhook.team_id, DocId::from(webhook.target.id)).await?;
            let (datasets, jobs) = doc_jobs(&state, &doc, settings.dataset_keys.as_deref(), input).await?;
            (jobs, Some(datasets.into_iter().map(|d| d.key).collect::<Vec<_>>()))
        }
    };
    let single_use = (webhook.state == WebhookState::Armed).then_some(webhook.id);
    let delivery = Delivery { team_id: webhook.team_id, target: webhook.id.into(), idempotency, single_use, jobs };
    let mode = match settings.response_mode {
        ResponseMode::Sync => Mode::Sync,
        ResponseMode::Async => Mode::Async,
    };
    match state.executor.submit(delivery, mode).await? {
        Dispatched::Finished { runs, replayed } => respond::finished(&runs, keys.as_deref(), replayed),
        Dispatched::Accepted { ids, replayed } if mode == Mode::Async => {
            Ok(respond::accepted(webhook.id, webhook.target, &ids, replayed))
        }
        Dispatched::Accepted { ids, .. } => {
            let first =
                ids.first().copied().ok_or_else(|| ApiError::internal(&"a delivery was accepted without runs"))?;
            Err(respond::still_running(webhook.id, first))
        }
    }
}

/// Takes a token from the webhook's bucket, if it has a rate limit: 429 `RATE_LIMITED` with
/// `Retry-After` when it is empty.
fn rate_limit(state: &AppState, webhook: &Webhook) -> Result<(), ApiError> {
    let Some(limit) = &webhook.settings.rate_limit else { return Ok(()) };
    let Err(wait) = state.limiters.check(webhook.id, limit) else { return Ok(()) };
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Err(ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        format!("over this webhook's rate limit of {} calls/s (burst {})", limit.per_second, limit.burst),
    )
    .with_retry_after(secs.max(1)))
}

/// A sync answer built from a block's output `text` (for the `fuzzing` entry points).
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_answer(text: &str) {
    let run = crate::executor::RunSummary {
        execution_id: ExecutionId::nil(),
        block_id: BlockId::nil(),
        block_version: 1,
        status: wasmhook_store::executions::ExecutionStatus::Succeeded,
        error: None,
        output: Some(text.to_owned()),
        duration_us: 0,
        fuel_consumed: 0,
        peak_memory_bytes: 0,
    };
    let _ = respond::finished(std::slice::from_ref(&run), None, false);
}

fn signature_error(error: SignatureError) -> ApiError {
    let code = match error {
        SignatureError::Stale { .. } => "TIMESTAMP_OUT_OF_TOLERANCE",
        SignatureError::Missing(_) | SignatureError::Invalid => "SIGNATURE_INVALID",
    };
    ApiError::new(StatusCode::UNAUTHORIZED, code, error.to_string())
}

#[utoipa::path(get, operation_id = "pollWebhookExecution", path = "/api/webhooks/{webhook_id}/executions/{execution_id}", tag = "trigger webhooks", security((), ("webhookSecret" = [])),
    params(("webhook_id" = WebhookId, Path, description = "The webhook's URL id"),
        ("token" = Option<String>, Query, description = "The webhook's secret, for senders that cannot set a header (also `key`)"), ("execution_id" = ExecutionId, Path, description = "An execution this webhook started")),
    responses((status = 200, body = Polled)))]
async fn poll(
    State(state): State<AppState>,
    Path((raw_id, raw_execution)): Path<(String, String)>,
    request: Request,
) -> Result<Json<Polled>, ApiError> {
    let (parts, _) = request.into_parts();
    let query = query_pairs(parts.uri.query());
    let webhook = authenticated(&state, &raw_id, &parts, &query).await?;
    let execution_id: ExecutionId = parse_uuid(&raw_execution, "execution_id")?;
    let team_id = webhook.team_id;
    state.store.executions().flush().await?;
    // A retried delivery reports its latest attempt (the id polled stays the first one's).
    let execution = match state.store.executions().latest_attempt(team_id, execution_id).await {
        Ok(execution) if execution.webhook_id == Some(webhook.id) => execution,
        Ok(_) | Err(StoreError::NotFound(_)) => return Err(ApiError::not_found("execution")),
        Err(other) => return Err(other.into()),
    };
    Ok(Json(Polled {
        execution_id,
        status: respond::status_word(execution.status),
        error: execution.error.as_ref().map(respond::public_message),
        created_at: execution.created_at,
        finished_at: execution.finished_at,
        output: execution.output,
    }))
}

/// The poll answer; a struct so the stored output is written raw, never re-parsed (`json!`
/// panicked on an output such as `1e400`).
#[derive(utoipa::ToSchema, serde::Serialize)]
struct Polled {
    execution_id: ExecutionId,
    status: &'static str,
    #[schema(value_type = Option<serde_json::Value>)]
    output: Option<Box<serde_json::value::RawValue>>,
    error: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
}
