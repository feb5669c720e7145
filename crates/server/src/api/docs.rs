//! `/v1/docs`: docs and their datasets; archiving makes the v4 webhook answer 404.

use crate::api::path_id::PathId;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wasmhook_domain::ids::DocId;

use super::body::JsonBody;
use super::error::ApiError;
use super::limits;
use crate::auth::Admin;
use crate::state::AppState;
use wasmhook_store::docs::{Doc, DocInput};
use wasmhook_store::repo::SharedDatabase;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(show, replace, remove)).routes(routes!(archive))
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

#[utoipa::path(post, operation_id = "createDoc", path = "/v1/docs", tag = "docs", security(("apiKey" = [])), request_body = DocInput,
    responses((status = 201, description = "Created", body = Doc)))]
async fn create(
    State(state): State<AppState>,
    Admin(caller): Admin,
    JsonBody(input): JsonBody<DocInput>,
) -> Result<(StatusCode, Json<Doc>), ApiError> {
    check_input(&state, &input)?;
    let doc = state.store.docs().create(caller.team_id, input).await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

#[utoipa::path(get, operation_id = "listDocs", path = "/v1/docs", tag = "docs", security(("apiKey" = [])), responses((status = 200, body = Vec<Doc>)))]
async fn list(State(store): State<SharedDatabase>, Admin(caller): Admin) -> Result<Json<Vec<Doc>>, ApiError> {
    Ok(Json(store.docs().list(caller.team_id).await?))
}

#[utoipa::path(get, operation_id = "getDoc", path = "/v1/docs/{doc_id}", tag = "docs", security(("apiKey" = [])), params(("doc_id" = DocId, Path, description = "The doc")), responses((status = 200, body = Doc)))]
async fn show(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(id): PathId<DocId>,
) -> Result<Json<Doc>, ApiError> {
    Ok(Json(Doc::clone(&*store.docs().get(caller.team_id, id).await?)))
}

#[utoipa::path(put, operation_id = "replaceDoc", path = "/v1/docs/{doc_id}", tag = "docs", security(("apiKey" = [])), params(("doc_id" = DocId, Path, description = "The doc")), request_body = DocInput,
    responses((status = 200, body = Doc)))]
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

#[utoipa::path(post, operation_id = "archiveDoc", path = "/v1/docs/{doc_id}/archive", tag = "docs", security(("apiKey" = [])), params(("doc_id" = DocId, Path, description = "The doc")),
    responses((status = 200, description = "Archived: its webhook answers 404 from now on", body = Doc)))]
async fn archive(
    State(store): State<SharedDatabase>,
    Admin(caller): Admin,
    PathId(id): PathId<DocId>,
) -> Result<Json<Doc>, ApiError> {
    let doc = store.docs().archive(caller.team_id, id).await?;
    Ok(Json(doc))
}

/// `DELETE /v1/docs/{doc_id}`: the same as archiving (nothing is erased: executions keep
/// pointing at the doc).
#[utoipa::path(delete, operation_id = "deleteDoc", path = "/v1/docs/{doc_id}", tag = "docs", security(("apiKey" = [])), params(("doc_id" = DocId, Path, description = "The doc")),
    responses((status = 200, description = "Archived", body = Doc)))]
async fn remove(store: State<SharedDatabase>, caller: Admin, id: PathId<DocId>) -> Result<Json<Doc>, ApiError> {
    archive(store, caller, id).await
}
