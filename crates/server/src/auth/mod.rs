//! Who is calling: API keys from the `Authorization: Bearer` header (or a v2 body `token`),
//! checked against hashed keys in the store.

pub mod issue;
pub mod keys;
pub mod run_keys;
pub mod webhook_secret;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::api::error::ApiError;
use crate::state::AppState;

use wasmhook_store::tenancy::KeyScope;

/// An authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The caller's team: the scope of everything it may see.
    pub team_id: Uuid,
    /// The key's user.
    pub user_id: Uuid,
    /// The key used.
    pub key_id: Uuid,
    /// What the key may do.
    pub scope: KeyScope,
}

/// Why a request is not authenticated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No key at all.
    #[error("missing API key: send `Authorization: Bearer {{user_id}}-{{secret}}`")]
    Missing,
    /// Not of the `{user_id}-{secret}` shape.
    #[error("malformed API key: expected `{{user_id}}-{{secret}}`")]
    Malformed,
    /// Well-formed but unknown or revoked.
    #[error("invalid API key")]
    Invalid,
    /// The key may not do this.
    #[error("this API key has the {0:?} scope; an admin key is required")]
    Forbidden(KeyScope),
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Checks a key's text against its user's active keys (hashes, from the store's cache), in
/// constant time.
pub async fn authenticate(state: &AppState, key_text: &str) -> Result<Caller, ApiError> {
    if key_text.starts_with(run_keys::RUN_KEY_PREFIX) {
        let owner = state.run_keys.owner(key_text).ok_or(AuthError::Invalid)?;
        return Ok(Caller {
            team_id: owner.team_id,
            user_id: Uuid::nil(),
            key_id: owner.execution_id,
            scope: KeyScope::Run,
        });
    }
    let parsed = keys::parse(key_text).ok_or(AuthError::Malformed)?;
    let user_id = parsed.user_id;
    let hash = keys::hash_secret(parsed.secret);
    // The user's active keys come from the store's cache; the secret is checked on every call.
    let candidates = state.store.tenancy().active_keys_of_user(user_id).await?;
    let key = keys::verify(&candidates, &hash).ok_or(AuthError::Invalid)?;
    Ok(Caller { team_id: key.team_id, user_id: key.user_id, key_id: key.id, scope: key.scope })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = bearer(&parts.headers).ok_or(AuthError::Missing)?;
        authenticate(state, key).await
    }
}

/// A caller that may use the team's key-value state: an admin key, or a run's own key.
#[derive(Debug, Clone, Copy)]
pub struct KvCaller(pub Caller);

impl FromRequestParts<AppState> for KvCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.scope {
            KeyScope::Admin | KeyScope::Run => Ok(Self(caller)),
            scope @ KeyScope::Execute => Err(AuthError::Forbidden(scope).into()),
        }
    }
}

/// A caller holding an admin key (management API).
#[derive(Debug, Clone, Copy)]
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.scope {
            KeyScope::Admin => Ok(Self(caller)),
            scope => Err(AuthError::Forbidden(scope).into()),
        }
    }
}
