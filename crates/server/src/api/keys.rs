//! `/v1/keys` and `/v1/teams`: API keys are shown once at creation and stored as hashes.

use crate::api::path_id::PathId;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use wasmhook_domain::ids::KeyId;

use super::body::JsonBody;
use super::error::ApiError;
use crate::auth::{Admin, issue};
use crate::state::AppState;
use wasmhook_store::repo::SharedDatabase;
use wasmhook_store::repo::TeamRef;
use wasmhook_store::tenancy::{ApiKeyRecord, KeyScope};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/keys", post(create_key).get(list_keys))
        .route("/v1/keys/{key_id}", delete(revoke_key))
        .route("/v1/teams", post(create_team))
}

#[derive(Debug, Deserialize)]
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
async fn create_key(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    JsonBody(new): JsonBody<NewKey>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user_name = new.user_name.as_deref().unwrap_or("api");
    let (user, text) = issue::new_user_key(user_name, new.scope, new.label.as_deref());
    let (_, record) = store.tenancy().create_user(TeamRef::Id(caller.team_id), user).await?;
    Ok((StatusCode::CREATED, Json(json!({ "apiKey": text, "key": record }))))
}

async fn list_keys(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
) -> Result<Json<Vec<ApiKeyRecord>>, ApiError> {
    Ok(Json(store.tenancy().keys_of_team(caller.team_id).await?))
}

async fn revoke_key(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(key_id): PathId<KeyId>,
) -> Result<StatusCode, ApiError> {
    store.tenancy().revoke_key(caller.team_id, key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTeamBody {
    name: String,
}

/// Creates a tenant with an admin user and key. Only the operator team (created at first
/// start) may do this.
async fn create_team(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    JsonBody(NewTeamBody { name }): JsonBody<NewTeamBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::unprocessable("`name` must not be empty"));
    }
    // Whether a team is the operator team never changes: checking before the write is safe.
    if !store.tenancy().team(caller.team_id).await?.operator {
        return Err(ApiError::forbidden("only the operator team's admins can create teams"));
    }
    let (admin, key) = issue::team_admin_key();
    let (team, user, _) = store.tenancy().create_team(&name, admin).await?;
    Ok((StatusCode::CREATED, Json(json!({ "team": team, "user": user, "apiKey": key }))))
}
