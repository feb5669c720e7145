//! Completion callbacks of blocks, docs and trigger webhooks, admin only:
//! `PUT|GET|DELETE /v1/{blocks|docs|webhooks}/{id}/callback`,
//! `POST /v1/{blocks|docs|webhooks}/{id}/callback/rotate-secret`, and `GET /v1/callbacks`.
//!
//! The `whsec_` signing secret is shown once: in the answer that creates the callback, and in
//! the answer of a rotation (which replaces it at once: receivers should accept both while
//! they switch, as Standard Webhooks libraries allow).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;
use wasmhook_domain::ids::{BlockId, DocId, TeamId, WebhookId};
use zeroize::Zeroizing;

use super::body::{JsonBody, parse_id};
use super::error::ApiError;
use crate::auth::Admin;
use crate::callbacks::sign;
use crate::secrets::callback_context;
use crate::state::AppState;
use wasmhook_sandbox::HostClient;
use wasmhook_store::callbacks::{Callback, CallbackEvent, CallbackTarget};
use wasmhook_store::repo::SealedSecret;
use wasmhook_store::repo::SharedDatabase;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(of_blocks::show, of_blocks::put, of_blocks::remove))
        .routes(routes!(of_blocks::rotate))
        .routes(routes!(of_docs::show, of_docs::put, of_docs::remove))
        .routes(routes!(of_docs::rotate))
        .routes(routes!(of_webhooks::show, of_webhooks::put, of_webhooks::remove))
        .routes(routes!(of_webhooks::rotate))
}

/// The four callback routes of one kind of target (blocks, docs, webhooks): thin handlers,
/// each with its own description, over the shared ones below.
macro_rules! callback_routes {
    ($module:ident, $kind:expr, $path:literal, $rotate_path:literal, $get:literal, $put:literal, $delete:literal, $rotate:literal) => {
        mod $module {
            use axum::Json;
            use axum::extract::{Path, State};
            use axum::http::StatusCode;

            use super::{CallbackInput, Shown};
            use crate::api::body::JsonBody;
            use crate::api::error::ApiError;
            use crate::auth::Admin;
            use crate::state::AppState;
            use wasmhook_store::callbacks::Callback;

            const ID: &str = "The block, doc or webhook the callback belongs to";

            #[utoipa::path(get, operation_id = $get, path = $path, tag = "callbacks", security(("apiKey" = [])),
                params(("id" = uuid::Uuid, Path, description = ID)), responses((status = 200, body = Callback)))]
            pub(super) async fn show(state: State<AppState>, caller: Admin, id: Path<String>) -> Result<Json<Callback>, ApiError> {
                super::show(state, caller, id, $kind).await
            }

            #[utoipa::path(put, operation_id = $put, path = $path, tag = "callbacks", security(("apiKey" = [])),
                params(("id" = uuid::Uuid, Path, description = ID)), request_body = CallbackInput,
                responses((status = 201, description = "Created; its signing secret is in this answer only", body = Shown),
                    (status = 200, description = "Changed; the secret stays", body = Shown)))]
            pub(super) async fn put(
                state: State<AppState>,
                caller: Admin,
                id: Path<String>,
                body: JsonBody<CallbackInput>,
            ) -> Result<(StatusCode, Json<Shown>), ApiError> {
                super::put(state, caller, id, $kind, body).await
            }

            #[utoipa::path(delete, operation_id = $delete, path = $path, tag = "callbacks", security(("apiKey" = [])),
                params(("id" = uuid::Uuid, Path, description = ID)), responses((status = 204, description = "Deleted")))]
            pub(super) async fn remove(state: State<AppState>, caller: Admin, id: Path<String>) -> Result<StatusCode, ApiError> {
                super::remove(state, caller, id, $kind).await
            }

            #[utoipa::path(post, operation_id = $rotate, path = $rotate_path, tag = "callbacks", security(("apiKey" = [])),
                params(("id" = uuid::Uuid, Path, description = ID)),
                responses((status = 200, description = "A new signing secret, in this answer only", body = Shown)))]
            pub(super) async fn rotate(state: State<AppState>, caller: Admin, id: Path<String>) -> Result<Json<Shown>, ApiError> {
                super::rotate(state, caller, id, $kind).await
            }
        }
    };
}

callback_routes!(
    of_blocks,
    wasmhook_store::callbacks::CallbackTarget::Block,
    "/v1/blocks/{id}/callback",
    "/v1/blocks/{id}/callback/rotate-secret",
    "getBlockCallback",
    "putBlockCallback",
    "deleteBlockCallback",
    "rotateBlockCallbackSecret"
);
callback_routes!(
    of_docs,
    wasmhook_store::callbacks::CallbackTarget::Doc,
    "/v1/docs/{id}/callback",
    "/v1/docs/{id}/callback/rotate-secret",
    "getDocCallback",
    "putDocCallback",
    "deleteDocCallback",
    "rotateDocCallbackSecret"
);
callback_routes!(
    of_webhooks,
    wasmhook_store::callbacks::CallbackTarget::Webhook,
    "/v1/webhooks/{id}/callback",
    "/v1/webhooks/{id}/callback/rotate-secret",
    "getWebhookCallback",
    "putWebhookCallback",
    "deleteWebhookCallback",
    "rotateWebhookCallbackSecret"
);

/// The body of `PUT …/callback`.
#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CallbackInput {
    /// Where the POSTs go.
    url: String,
    /// The events sent; default all three.
    #[serde(default = "all_events")]
    events: Vec<CallbackEvent>,
}

fn all_events() -> Vec<CallbackEvent> {
    vec![CallbackEvent::Succeeded, CallbackEvent::Failed, CallbackEvent::Dead]
}

/// A callback, with its secret when this answer is the one that shows it.
#[derive(utoipa::ToSchema, Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown {
    #[serde(flatten)]
    callback: Callback,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    secret: Option<Zeroizing<String>>,
}

/// Longest callback URL.
const MAX_URL_BYTES: usize = 2048;

fn check(input: &CallbackInput) -> Result<(), ApiError> {
    if input.url.len() > MAX_URL_BYTES {
        return Err(ApiError::unprocessable(format!("`url` is longer than {MAX_URL_BYTES} bytes")));
    }
    HostClient::check_url(&input.url).map_err(|e| ApiError::unprocessable(format!("`url`: {e}")))?;
    if input.events.is_empty() {
        return Err(ApiError::unprocessable("`events` must name at least one of succeeded, failed, dead"));
    }
    Ok(())
}

/// 404 unless the target exists and is the caller's team's: checked before anything is
/// written.
async fn owned(state: &AppState, team_id: TeamId, raw: &str, kind: CallbackTarget) -> Result<Uuid, ApiError> {
    let id: Uuid = parse_id(raw, "id")?;
    let store = &state.store;
    match kind {
        CallbackTarget::Block => store.blocks().get(team_id, BlockId::from(id)).await.map(drop),
        CallbackTarget::Doc => store.docs().get(team_id, DocId::from(id)).await.map(drop),
        CallbackTarget::Webhook => store.webhooks().get(team_id, WebhookId::from(id)).await.map(drop),
    }?;
    Ok(id)
}

fn seal(state: &AppState, team_id: TeamId, secret: &str) -> Result<String, ApiError> {
    state.sealer.seal(&callback_context(team_id), secret.as_bytes()).map_err(|e| ApiError::internal(&e))
}

async fn put(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(raw): Path<String>,
    kind: CallbackTarget,
    JsonBody(input): JsonBody<CallbackInput>,
) -> Result<(StatusCode, Json<Shown>), ApiError> {
    check(&input)?;
    let team_id = caller.team_id;
    let target_id = owned(&state, team_id, &raw, kind).await?;
    let mut events = input.events;
    events.sort();
    events.dedup();
    let callback = Callback {
        team_id,
        target_kind: kind,
        target_id,
        url: input.url,
        events,
        secret_hint: String::new(),
        created_at: 0,
        updated_at: 0,
    };
    // A new callback gets a secret; a changed one keeps its own. Decided in the write, so
    // of two concurrent first PUTs exactly one creates (and shows) the secret.
    let secret = sign::new_secret();
    let sealed = seal(&state, team_id, &secret)?;
    let hint = sign::hint(&secret);
    let (saved, created) = state.store.callbacks().save(callback, SealedSecret { sealed, hint }).await?;
    let (status, secret) = if created { (StatusCode::CREATED, Some(secret)) } else { (StatusCode::OK, None) };
    state.callbacks.added(target_id);
    Ok((status, Json(Shown { callback: saved, secret })))
}

async fn rotate(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(raw): Path<String>,
    kind: CallbackTarget,
) -> Result<Json<Shown>, ApiError> {
    let team_id = caller.team_id;
    let target_id = owned(&state, team_id, &raw, kind).await?;
    state.store.callbacks().get(team_id, target_id).await?;
    let secret = sign::new_secret();
    let sealed = seal(&state, team_id, &secret)?;
    let hint = sign::hint(&secret);
    let saved = state.store.callbacks().replace_secret(team_id, target_id, SealedSecret { sealed, hint }).await?;
    Ok(Json(Shown { callback: saved, secret: Some(secret) }))
}

async fn show(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(raw): Path<String>,
    kind: CallbackTarget,
) -> Result<Json<Callback>, ApiError> {
    let team_id = caller.team_id;
    let target_id = owned(&state, team_id, &raw, kind).await?;
    Ok(Json(state.store.callbacks().get(team_id, target_id).await?))
}

async fn remove(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(raw): Path<String>,
    kind: CallbackTarget,
) -> Result<StatusCode, ApiError> {
    let team_id = caller.team_id;
    let target_id = owned(&state, team_id, &raw, kind).await?;
    state.store.callbacks().delete(team_id, target_id).await?;
    state.callbacks.removed(target_id);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, operation_id = "listCallbacks", path = "/v1/callbacks", tag = "callbacks", security(("apiKey" = [])), responses((status = 200, description = "The team's callbacks", body = Vec<Callback>)))]
async fn list(State(store): State<SharedDatabase>, Admin(caller): Admin) -> Result<Json<Vec<Callback>>, ApiError> {
    Ok(Json(store.callbacks().list(caller.team_id).await?))
}
