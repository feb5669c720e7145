//! `PathId<T>`: a typed id taken from the route parameter named after it (`{block_id}` for a
//! [`BlockId`](wasmhook_domain::BlockId)), so a handler receives a `BlockId` and never parses
//! one. Anything but a UUID is our 400, `"block_id must be a UUID, got \"…\""`, not axum's
//! plain-text rejection.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use wasmhook_domain::{Id, IdError};

use super::error::ApiError;

/// The route parameter named [`Id::NAME`], parsed as that id.
#[derive(Debug, Clone, Copy)]
pub struct PathId<T>(pub T);

impl<S: Send + Sync, T: Id + Send> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        param(parts, state, T::NAME).await?.parse::<T>().map(PathId).map_err(ApiError::from)
    }
}

/// The raw text of the route parameter `name` (percent-decoded). A route without it is a bug
/// in the router, answered as a 500.
async fn param<S: Send + Sync>(parts: &mut Parts, state: &S, name: &str) -> Result<String, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .ok_or_else(|| ApiError::internal(&MissingParam(name.to_owned())))
}

/// A handler asked for a route parameter its route does not declare.
#[derive(Debug, thiserror::Error)]
#[error("the route has no parameter {0:?}")]
struct MissingParam(String);

impl From<IdError> for ApiError {
    fn from(err: IdError) -> Self {
        ApiError::bad_request(err.to_string())
    }
}
