//! `/v1/webhooks` (admin key): trigger webhooks bound to a block or a doc.
//!
//! Create → the id, the URL `…/api/webhooks/{id}` and the secret (shown once); list/get (never
//! a secret); `PATCH` name and settings (JSON merge patch); rotate the secret with an optional
//! grace period for the old one; regenerate the URL (new id; the old one answers 410);
//! enable/disable; arm for a single call; delete (the URL answers 410); set or remove the
//! senders' signature check (its secrets are write-only: listings show their last 4
//! characters).

mod lifecycle;
mod view;

use crate::api::path_id::PathId;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wasmhook_domain::ids::WebhookId;

use super::body::JsonBody;
use super::error::ApiError;
use crate::auth::Admin;
use crate::auth::webhook_secret::NewSecret;
use crate::signatures::{SignatureCheck, SignatureConfig};
use crate::state::AppState;
use view::{WebhookView, view};

use wasmhook_store::webhooks::{AuthMode, NewWebhook, Target, Webhook, WebhookSettings};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(show, update, remove)).merge(lifecycle::router())
}

/// Checks what serde cannot: sizes against the server's limit, content-type patterns, rates.
fn check_settings(state: &AppState, settings: &WebhookSettings) -> Result<(), ApiError> {
    let max = state.config.max_body_bytes as u64;
    if settings.max_body_bytes == 0 || settings.max_body_bytes > max {
        return Err(ApiError::unprocessable(format!(
            "settings.maxBodyBytes must be between 1 and the server's max_body_bytes ({max})"
        )));
    }
    for (i, pattern) in settings.content_types.iter().flatten().enumerate() {
        let valid = pattern.split_once('/').is_some_and(|(kind, sub)| {
            !kind.is_empty() && !sub.is_empty() && kind != "*" && !pattern.contains([';', ' '])
        });
        if !valid {
            return Err(ApiError::unprocessable(format!(
                "settings.contentTypes[{i}] {pattern:?} must be a media type like application/json or text/*"
            )));
        }
    }
    if settings.content_types.as_ref().is_some_and(Vec::is_empty) {
        return Err(ApiError::unprocessable(
            "settings.contentTypes must list at least one type (omit it to accept any)",
        ));
    }
    if let Some(limit) = &settings.rate_limit {
        crate::ratelimit::validate(limit).map_err(|e| ApiError::unprocessable(format!("settings.{e}")))?;
    }
    if settings.dataset_keys.as_ref().is_some_and(Vec::is_empty) {
        return Err(ApiError::unprocessable(
            "settings.datasetKeys must name at least one dataset (omit it to run all)",
        ));
    }
    Ok(())
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    #[serde(default)]
    name: Option<String>,
    target: Target,
    #[serde(default)]
    auth: AuthMode,
    /// An owner-chosen secret instead of a generated one.
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    allow_multiple: bool,
    #[serde(default)]
    settings: WebhookSettings,
    #[serde(default)]
    signature: Option<SignatureConfig>,
}

/// The config's own rules, and a tolerance within the idempotency window: a signed request
/// replayed within its tolerance but after the window would run again.
fn check_signature(state: &AppState, signature: &SignatureConfig) -> Result<(), ApiError> {
    signature.validate().map_err(ApiError::unprocessable)?;
    let window = state.config.idempotency_window.as_secs();
    if signature.tolerance_seconds > window {
        return Err(ApiError::unprocessable(format!(
            "signature.toleranceSeconds must be at most the server's idempotency window ({window} s), so that \
             a replay within the tolerance is always recognized"
        )));
    }
    Ok(())
}

#[utoipa::path(post, operation_id = "createWebhook", path = "/v1/webhooks", tag = "webhooks", security(("apiKey" = [])), request_body = CreateBody,
    responses((status = 201, description = "Created; a generated secret is in this answer only", body = WebhookView)))]
async fn create(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    check_settings(&state, &body.settings)?;
    if let Some(signature) = &body.signature {
        check_signature(&state, signature)?;
    }
    let secret = match (body.auth, body.secret) {
        (AuthMode::None, Some(_)) => {
            return Err(ApiError::unprocessable("`secret` cannot be set with auth \"none\""));
        }
        (AuthMode::None, None) => None,
        (AuthMode::Secret, Some(chosen)) => Some(NewSecret::chosen(chosen).map_err(ApiError::unprocessable)?),
        (AuthMode::Secret, None) => Some(NewSecret::generate()),
    };
    let new = NewWebhook {
        team_id: caller.team_id,
        name: body.name.unwrap_or_else(|| format!("{:?} webhook", body.target.kind).to_lowercase()),
        target: body.target,
        auth_mode: body.auth,
        secret: secret.as_ref().map(|s| (s.hash, s.hint.clone())),
        settings: body.settings,
        signature: body.signature,
        allow_multiple: body.allow_multiple,
    };
    let webhook = state.store.webhooks().create(new).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &headers, webhook, secret.map(|s| s.text)))))
}

#[utoipa::path(get, operation_id = "listWebhooks", path = "/v1/webhooks", tag = "webhooks", security(("apiKey" = [])), responses((status = 200, body = Vec<WebhookView>)))]
async fn list(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    let all = state.store.webhooks().list(caller.team_id).await?;
    Ok(Json(all.into_iter().map(|w| view(&state, &headers, w, None)).collect()))
}

#[utoipa::path(get, operation_id = "getWebhook", path = "/v1/webhooks/{webhook_id}", tag = "webhooks", security(("apiKey" = [])), params(("webhook_id" = WebhookId, Path, description = "The trigger webhook")), responses((status = 200, body = WebhookView)))]
async fn show(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    PathId(id): PathId<WebhookId>,
) -> Result<Json<WebhookView>, ApiError> {
    let webhook = state.store.webhooks().get(caller.team_id, id).await?;
    Ok(Json(view(&state, &headers, webhook, None)))
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    name: Option<String>,
    /// A JSON merge patch (RFC 7396) of the settings: `null` resets a field to its default.
    #[serde(default)]
    settings: Option<Value>,
}

#[utoipa::path(patch, operation_id = "updateWebhook", path = "/v1/webhooks/{webhook_id}", tag = "webhooks", security(("apiKey" = [])), params(("webhook_id" = WebhookId, Path, description = "The trigger webhook")), request_body = UpdateBody,
    responses((status = 200, body = WebhookView)))]
async fn update(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    PathId(id): PathId<WebhookId>,
    JsonBody(body): JsonBody<UpdateBody>,
) -> Result<Json<WebhookView>, ApiError> {
    let team_id = caller.team_id;
    let current = state.store.webhooks().get(team_id, id).await?;
    let settings = match body.settings {
        None => current.settings,
        Some(patch) => {
            let mut merged = serde_json::to_value(&current.settings).map_err(|e| ApiError::internal(&e))?;
            json_patch::merge(&mut merged, &patch);
            serde_json::from_value(merged).map_err(|e| ApiError::unprocessable(format!("invalid settings: {e}")))?
        }
    };
    check_settings(&state, &settings)?;
    let name = body.name.unwrap_or(current.name);
    if name.trim().is_empty() {
        return Err(ApiError::unprocessable("`name` must not be empty"));
    }
    write_and_show(&state, &headers, state.store.webhooks().update(team_id, id, name, settings)).await
}

/// Runs a write that returns the changed webhook, and shows it.
async fn write_and_show(
    state: &AppState,
    headers: &HeaderMap,
    write: impl Future<Output = Result<Webhook, wasmhook_store::StoreError>>,
) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(view(state, headers, write.await?, None)))
}

#[utoipa::path(delete, operation_id = "deleteWebhook", path = "/v1/webhooks/{webhook_id}", tag = "webhooks", security(("apiKey" = [])), params(("webhook_id" = WebhookId, Path, description = "The trigger webhook")), responses((status = 204, description = "Deleted: its URL answers 404")))]
async fn remove(
    State(state): State<AppState>,
    Admin(caller): Admin,
    PathId(id): PathId<WebhookId>,
) -> Result<StatusCode, ApiError> {
    state.store.webhooks().delete(caller.team_id, id).await?;
    state.limiters.forget(id);
    Ok(StatusCode::NO_CONTENT)
}
