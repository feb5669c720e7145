//! `/v1/keys` and `/v1/teams`: API keys are shown once at creation and stored as hashes.

use crate::api::path_id::PathId;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wasmhook_domain::ids::KeyId;

use super::body::JsonBody;
use super::error::ApiError;
use crate::auth::{Admin, issue};
use crate::state::AppState;
use wasmhook_store::repo::SharedDatabase;
use wasmhook_store::repo::TeamRef;
use wasmhook_store::tenancy::{ApiKeyRecord, KeyScope, Team, User};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_key, list_keys)).routes(routes!(revoke_key)).routes(routes!(create_team))
}

/// `POST /v1/keys`: the key, shown here only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreatedKey {
    /// The key's text, `{user_id}-{secret}` (shown once; only its hash is kept).
    api_key: String,
    /// The key's record.
    key: ApiKeyRecord,
}

/// `POST /v1/teams`: the tenant, its admin user and that user's key, shown here only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreatedTeam {
    /// The new team.
    team: Team,
    /// Its admin user.
    user: User,
    /// The admin's key (shown once).
    api_key: String,
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewKey {
    scope: KeyScope,
    #[serde(default)]
    label: Option<String>,
    /// Name of the new user that owns the key.
    #[serde(default)]
    user_name: Option<String>,
}

/// Creates a user in the caller's team and a key for it; the key text is in this response
/// only.
#[utoipa::path(post, operation_id = "createKey", path = "/v1/keys", tag = "keys and teams", security(("apiKey" = [])), request_body = NewKey,
    responses((status = 201, description = "Created; the key's text is in this answer only", body = CreatedKey)))]
async fn create_key(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    JsonBody(new): JsonBody<NewKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let user_name = new.user_name.as_deref().unwrap_or("api");
    let (user, text) = issue::new_user_key(user_name, new.scope, new.label.as_deref());
    let (_, record) = store.tenancy().create_user(TeamRef::Id(caller.team_id), user).await?;
    Ok((StatusCode::CREATED, Json(CreatedKey { api_key: text, key: record })))
}

#[utoipa::path(get, operation_id = "listKeys", path = "/v1/keys", tag = "keys and teams", security(("apiKey" = [])), responses((status = 200, description = "The team's keys (hints, never secrets)", body = Vec<ApiKeyRecord>)))]
async fn list_keys(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
) -> Result<Json<Vec<ApiKeyRecord>>, ApiError> {
    Ok(Json(store.tenancy().keys_of_team(caller.team_id).await?))
}

#[utoipa::path(delete, operation_id = "revokeKey", path = "/v1/keys/{key_id}", tag = "keys and teams", security(("apiKey" = [])), params(("key_id" = KeyId, Path, description = "The key")),
    responses((status = 204, description = "Revoked (again: still 204)")))]
async fn revoke_key(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(key_id): PathId<KeyId>,
) -> Result<StatusCode, ApiError> {
    store.tenancy().revoke_key(caller.team_id, key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTeamBody {
    name: String,
}

/// Creates a tenant with an admin user and key. Only the operator team (created at first
/// start) may do this.
#[utoipa::path(post, operation_id = "createTeam", path = "/v1/teams", tag = "keys and teams", security(("apiKey" = [])), request_body = NewTeamBody,
    responses((status = 201, description = "The tenant, its admin and the admin's key (shown once)", body = CreatedTeam)))]
async fn create_team(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    JsonBody(NewTeamBody { name }): JsonBody<NewTeamBody>,
) -> Result<(StatusCode, Json<CreatedTeam>), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::unprocessable("`name` must not be empty"));
    }
    // Whether a team is the operator team never changes: checking before the write is safe.
    if !store.tenancy().team(caller.team_id).await?.operator {
        return Err(ApiError::forbidden("only the operator team's admins can create teams"));
    }
    let (admin, key) = issue::team_admin_key();
    let (team, user, _) = store.tenancy().create_team(&name, admin).await?;
    Ok((StatusCode::CREATED, Json(CreatedTeam { team, user, api_key: key })))
}
