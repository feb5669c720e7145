//! `/v1/docs`: docs and their datasets; archiving makes the v4 webhook answer 404.

use crate::api::path_id::PathId;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use wasmhook_domain::ids::DocId;

use super::body::JsonBody;
use super::error::ApiError;
use super::limits;
use crate::auth::Admin;
use crate::state::AppState;
use wasmhook_store::docs::{Doc, DocInput};
use wasmhook_store::repo::SharedDatabase;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/docs", post(create).get(list))
        .route("/v1/docs/{doc_id}", get(show).put(replace).delete(archive))
        .route("/v1/docs/{doc_id}/archive", post(archive))
}

/// Checks what the store cannot: a name, and dataset timeouts within the server's limit.
fn check_input(state: &AppState, input: &DocInput) -> Result<(), ApiError> {
    if input.name.trim().is_empty() {
        return Err(ApiError::unprocessable("`name` must not be empty"));
    }
    for (i, dataset) in input.datasets.iter().enumerate() {
        limits::check_timeout(&state.config, dataset.timeout_ms, &format!("datasets[{i}].timeoutMs"))?;
        limits::check_retry(&state.config, dataset.retry.as_ref(), &format!("datasets[{i}].retry"))?;
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    Admin(caller): Admin,
    JsonBody(input): JsonBody<DocInput>,
) -> Result<(StatusCode, Json<Doc>), ApiError> {
    check_input(&state, &input)?;
    let doc = state.store.docs().create(caller.team_id, input).await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

async fn list(State(store): State<SharedDatabase>, Admin(caller): Admin) -> Result<Json<Vec<Doc>>, ApiError> {
    Ok(Json(store.docs().list(caller.team_id).await?))
}

async fn show(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(id): PathId<DocId>,
) -> Result<Json<Doc>, ApiError> {
    Ok(Json(Doc::clone(&*store.docs().get(caller.team_id, id).await?)))
}

async fn replace(
    State(state): State<AppState>,
    Admin(caller): Admin,
    PathId(id): PathId<DocId>,
    JsonBody(input): JsonBody<DocInput>,
) -> Result<Json<Doc>, ApiError> {
    check_input(&state, &input)?;
    let doc = state.store.docs().replace(caller.team_id, id, input).await?;
    Ok(Json(doc))
}

async fn archive(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(id): PathId<DocId>,
) -> Result<Json<Doc>, ApiError> {
    let doc = store.docs().archive(caller.team_id, id).await?;
    Ok(Json(doc))
}
