//! A webhook's life after creation: secret rotation, URL regeneration, arming, enabling and
//! disabling, and its signature check.

use crate::api::path_id::PathId;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wasmhook_domain::ids::{TeamId, WebhookId};

use super::view::{WebhookView, view};
use super::{check_signature, write_and_show};
use crate::api::body::{JsonBody, OptionalJsonBody};
use crate::api::error::ApiError;
use crate::auth::Admin;
use crate::auth::webhook_secret::NewSecret;
use crate::signatures::SignatureConfig;
use crate::state::AppState;
use wasmhook_store::now_ms;

use wasmhook_store::webhooks::WebhookState;

/// Longest arm window: 30 days.
const MAX_ARM_SECS: u64 = 30 * 24 * 3600;
/// Default arm window: 1 hour.
const DEFAULT_ARM_SECS: u64 = 3600;
/// Longest grace period for the previous secret after a rotation: 7 days.
const MAX_GRACE_SECS: u64 = 7 * 24 * 3600;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rotate_secret))
        .routes(routes!(regenerate_url))
        .routes(routes!(arm))
        .routes(routes!(enable))
        .routes(routes!(disable))
        .routes(routes!(set_signature, remove_signature))
}

#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RotateBody {
    /// Keep the old secret valid this long (0 or absent: revoke it at once).
    #[serde(default)]
    grace_seconds: u64,
    /// An owner-chosen new secret.
    #[serde(default)]
    secret: Option<String>,
}

#[utoipa::path(post, operation_id = "rotateWebhookSecret", path = "/v1/webhooks/{webhook_id}/rotate-secret", tag = "webhooks", security(("apiKey" = [])), params(("webhook_id" = WebhookId, Path, description = "The trigger webhook")), request_body(content = Option<RotateBody>, description = "Optional: a grace period, or your own secret"),
    responses((status = 200, description = "A new secret, in this answer only", body = WebhookView)))]
async fn rotate_secret(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    PathId(id): PathId<WebhookId>,
    OptionalJsonBody(body): OptionalJsonBody<RotateBody>,
) -> Result<Json<WebhookView>, ApiError> {
    if body.grace_seconds > MAX_GRACE_SECS {
        return Err(ApiError::unprocessable(format!("graceSeconds must be at most {MAX_GRACE_SECS}")));
    }
    let secret = match body.secret {
        Some(chosen) => NewSecret::chosen(chosen).map_err(ApiError::unprocessable)?,
        None => NewSecret::generate(),
    };
    let grace_ms = i64::try_from(body.grace_seconds * 1000).unwrap_or(i64::MAX);
    let previous_until = (body.grace_seconds > 0).then(|| now_ms().saturating_add(grace_ms));
    let stored = (secret.hash, secret.hint.clone());
    let webhook = state.store.webhooks().rotate_secret(caller.team_id, id, stored, previous_until).await?;
    Ok(Json(view(&state, &headers, webhook, Some(secret.text))))
}

#[utoipa::path(post, operation_id = "regenerateWebhookUrl", path = "/v1/webhooks/{webhook_id}/regenerate-url", tag = "webhooks", security(("apiKey" = [])), params(("webhook_id" = WebhookId, Path, description = "The trigger webhook")), 
    responses((status = 200, description = "A new URL (id); the old one answers 404", body = WebhookView)))]
async fn regenerate_url(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    PathId(id): PathId<WebhookId>,
) -> Result<Json<WebhookView>, ApiError> {
    let shown = write_and_show(&state, &headers, state.store.webhooks().regenerate(caller.team_id, id)).await?;
    // Only once the write proved the webhook is the caller's: another team's call is a 404
    // with no side effect (it used to reset the victim's rate-limit bucket first).
    state.limiters.forget(id);
    state.callbacks.moved(id, shown.0.id());
    Ok(shown)
}

#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ArmBody {
    /// How long the single call may come (default 1 hour).
    #[serde(default)]
    ttl_seconds: Option<u64>,
}

#[utoipa::path(post, operation_id = "armWebhook", path = "/v1/webhooks/{webhook_id}/arm", tag = "webhooks", security(("apiKey" = [])), params(("webhook_id" = WebhookId, Path, description = "The trigger webhook")), request_body(content = Option<ArmBody>, description = "Optional: how long the single call may come"),
    responses((status = 200, description = "Armed for one call", body = WebhookView)))]
async fn arm(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    PathId(id): PathId<WebhookId>,
    OptionalJsonBody(body): OptionalJsonBody<ArmBody>,
) -> Result<Json<WebhookView>, ApiError> {
    let ttl = body.ttl_seconds.unwrap_or(DEFAULT_ARM_SECS);
    if ttl == 0 || ttl > MAX_ARM_SECS {
        return Err(ApiError::unprocessable(format!("ttlSeconds must be between 1 and {MAX_ARM_SECS}")));
    }
    let until = now_ms().saturating_add(i64::try_from(ttl * 1000).unwrap_or(i64::MAX));
    set_state(&state, &headers, caller.team_id, id, WebhookState::Armed, Some(until)).await
}

#[utoipa::path(post, operation_id = "enableWebhook", path = "/v1/webhooks/{webhook_id}/enable", tag = "webhooks", security(("apiKey" = [])), params(("webhook_id" = WebhookId, Path, description = "The trigger webhook")), 
    responses((status = 200, description = "Deployed", body = WebhookView)))]
async fn enable(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    PathId(id): PathId<WebhookId>,
) -> Result<Json<WebhookView>, ApiError> {
    set_state(&state, &headers, caller.team_id, id, WebhookState::Deployed, None).await
}

#[utoipa::path(post, operation_id = "disableWebhook", path = "/v1/webhooks/{webhook_id}/disable", tag = "webhooks", security(("apiKey" = [])), params(("webhook_id" = WebhookId, Path, description = "The trigger webhook")), 
    responses((status = 200, description = "Disabled: its URL answers 404", body = WebhookView)))]
async fn disable(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    PathId(id): PathId<WebhookId>,
) -> Result<Json<WebhookView>, ApiError> {
    set_state(&state, &headers, caller.team_id, id, WebhookState::Disabled, None).await
}

async fn set_state(
    state: &AppState,
    headers: &HeaderMap,
    team_id: TeamId,
    id: WebhookId,
    new_state: WebhookState,
    armed_until: Option<i64>,
) -> Result<Json<WebhookView>, ApiError> {
    write_and_show(state, headers, state.store.webhooks().set_state(team_id, id, new_state, armed_until)).await
}

#[utoipa::path(put, operation_id = "setWebhookSignature", path = "/v1/webhooks/{webhook_id}/signature", tag = "webhooks", security(("apiKey" = [])), params(("webhook_id" = WebhookId, Path, description = "The trigger webhook")), request_body = SignatureConfig,
    responses((status = 200, description = "Calls must carry this signature from now on", body = WebhookView)))]
async fn set_signature(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    PathId(id): PathId<WebhookId>,
    JsonBody(signature): JsonBody<SignatureConfig>,
) -> Result<Json<WebhookView>, ApiError> {
    check_signature(&state, &signature)?;
    write_and_show(&state, &headers, state.store.webhooks().set_signature(caller.team_id, id, Some(signature))).await
}

#[utoipa::path(delete, operation_id = "removeWebhookSignature", path = "/v1/webhooks/{webhook_id}/signature", tag = "webhooks", security(("apiKey" = [])), params(("webhook_id" = WebhookId, Path, description = "The trigger webhook")),
    responses((status = 200, description = "No signature check", body = WebhookView)))]
async fn remove_signature(
    State(state): State<AppState>,
    Admin(caller): Admin,
    headers: HeaderMap,
    PathId(id): PathId<WebhookId>,
) -> Result<Json<WebhookView>, ApiError> {
    write_and_show(&state, &headers, state.store.webhooks().set_signature(caller.team_id, id, None)).await
}
