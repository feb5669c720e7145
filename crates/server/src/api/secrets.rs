//! `/v1/secrets`: a team's secrets, admin only. Values are write-only: sealed under the master
//! key as they arrive, never returned, never logged.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

use super::body::JsonBody;
use super::error::ApiError;
use crate::auth::Admin;
use crate::secrets::{self, secret_context};
use crate::state::AppState;
use wasmhook_store::repo::SharedDatabase;

use wasmhook_store::secrets::SecretInfo;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(show, replace, remove))
}

/// `POST /v1/secrets`.
#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSecret {
    name: String,
    #[schema(value_type = String)]
    value: Zeroizing<String>,
}

/// `PUT /v1/secrets/{name}`.
#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretValue {
    #[schema(value_type = String)]
    value: Zeroizing<String>,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret").field("name", &self.name).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// Creates a secret; 409 when the name is taken (use `PUT` to replace a value).
#[utoipa::path(post, operation_id = "createSecret", path = "/v1/secrets", tag = "secrets", security(("apiKey" = [])), request_body = NewSecret,
    responses((status = 201, description = "Sealed; the value is never shown again", body = SecretInfo)))]
async fn create(
    State(state): State<AppState>,
    Admin(caller): Admin,
    JsonBody(new): JsonBody<NewSecret>,
) -> Result<(StatusCode, Json<SecretInfo>), ApiError> {
    secrets::check_name(&new.name).map_err(ApiError::unprocessable)?;
    secrets::check_value(&new.value).map_err(ApiError::unprocessable)?;
    let team = caller.team_id;
    let sealed = state
        .sealer
        .seal(&secret_context(team, &new.name), new.value.as_bytes())
        .map_err(|e| ApiError::internal(&e))?;
    let name = new.name;
    let info = state.store.secrets().create(team, &name, &sealed).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// Creates or replaces a secret's value: 201 when created, 200 when replaced.
#[utoipa::path(put, operation_id = "putSecret", path = "/v1/secrets/{name}", tag = "secrets", security(("apiKey" = [])), params(("name" = String, Path, description = "The secret's name")), request_body = SecretValue,
    responses((status = 200, description = "Replaced", body = SecretInfo), (status = 201, description = "Created", body = SecretInfo)))]
async fn replace(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<SecretValue>,
) -> Result<(StatusCode, Json<SecretInfo>), ApiError> {
    secrets::check_name(&name).map_err(ApiError::unprocessable)?;
    secrets::check_value(&body.value).map_err(ApiError::unprocessable)?;
    let team = caller.team_id;
    let sealed =
        state.sealer.seal(&secret_context(team, &name), body.value.as_bytes()).map_err(|e| ApiError::internal(&e))?;
    let (info, created) = state.store.secrets().put(team, &name, &sealed).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(info)))
}

#[utoipa::path(get, operation_id = "listSecrets", path = "/v1/secrets", tag = "secrets", security(("apiKey" = [])), responses((status = 200, description = "Names and times, never values", body = Vec<SecretInfo>)))]
async fn list(State(store): State<SharedDatabase>, Admin(caller): Admin) -> Result<Json<Vec<SecretInfo>>, ApiError> {
    Ok(Json(store.secrets().list(caller.team_id).await?))
}

#[utoipa::path(get, operation_id = "getSecret", path = "/v1/secrets/{name}", tag = "secrets", security(("apiKey" = [])), params(("name" = String, Path, description = "The secret's name")), responses((status = 200, body = SecretInfo)))]
async fn show(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    Path(name): Path<String>,
) -> Result<Json<SecretInfo>, ApiError> {
    Ok(Json(store.secrets().info(caller.team_id, &name).await?))
}

#[utoipa::path(delete, operation_id = "deleteSecret", path = "/v1/secrets/{name}", tag = "secrets", security(("apiKey" = [])), params(("name" = String, Path, description = "The secret's name")), responses((status = 204, description = "Deleted")))]
async fn remove(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    store.secrets().delete(caller.team_id, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
