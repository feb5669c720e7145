//! Who is calling: API keys from the `Authorization: Bearer` header (or a v2 body `token`),
//! checked against hashed keys in the store, or a dashboard session cookie that names one
//! (see [`session`]).

pub mod issue;
pub mod keys;
pub mod run_keys;
pub mod session;
pub mod webhook_secret;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use wasmhook_domain::ids::{KeyId, TeamId, UserId};
use wasmhook_store::StoreError;
use wasmhook_store::repo::SharedDatabase;
use wasmhook_store::tenancy::KeyScope;

use run_keys::RunKeys;
use session::{SessionError, Sessions};

/// An authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The caller's team: the scope of everything it may see.
    pub team_id: TeamId,
    /// The key's user.
    pub user_id: UserId,
    /// The key used.
    pub key_id: KeyId,
    /// What the key may do.
    pub scope: KeyScope,
}

/// Why a request is not authenticated. The API maps it to a 401 (403 for `Forbidden`); this
/// layer knows nothing of HTTP bodies.
#[derive(Debug, thiserror::Error)]
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
    /// A session cookie that is not valid or has expired.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The key a session was opened with has been revoked.
    #[error("the API key this session was opened with is revoked: sign in again")]
    SessionKeyRevoked,
    /// The session was signed out (its key's sessions from before a sign-out are over).
    #[error("this session was signed out: sign in again")]
    SignedOut,
    /// A change made with a session cookie, without its `X-CSRF-Token`.
    #[error(
        "missing or wrong X-CSRF-Token: a change made with a dashboard session must carry the token it was given at sign-in"
    )]
    Csrf,
    /// The key records could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What authentication reads, and nothing else: the store's key records (through its cache)
/// and the keys of the runs in progress. A substate of the app state (`FromRef`), so the
/// extractors below work on any state that can hand one out.
#[derive(Debug, Clone)]
pub struct Authenticator {
    /// Key records (hashes only), cached per user by the store.
    pub store: SharedDatabase,
    /// The keys of the runs in progress (`WASMHOOK_API_KEY`).
    pub run_keys: Arc<RunKeys>,
    /// Signs and checks dashboard session cookies.
    pub sessions: Arc<Sessions>,
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

impl Authenticator {
    /// Checks a key's text against its user's active keys (hashes, from the store's cache), in
    /// constant time.
    pub async fn authenticate(&self, key_text: &str) -> Result<Caller, AuthError> {
        if key_text.starts_with(run_keys::RUN_KEY_PREFIX) {
            let owner = self.run_keys.owner(key_text).ok_or(AuthError::Invalid)?;
            tracing::Span::current().record("team_id", tracing::field::display(owner.team_id));
            return Ok(Caller {
                team_id: owner.team_id,
                user_id: UserId::nil(),
                // A run key has no key row: it is named by the run it belongs to.
                key_id: KeyId::from(owner.execution_id.as_uuid()),
                scope: KeyScope::Run,
            });
        }
        let parsed = keys::parse(key_text).ok_or(AuthError::Malformed)?;
        let hash = keys::hash_secret(parsed.secret);
        // The user's active keys come from the store's cache; the secret is checked on every call.
        let candidates = self.store.tenancy().active_keys_of_user(parsed.user_id).await?;
        let key = keys::verify(&candidates, &hash).ok_or(AuthError::Invalid)?;
        tracing::Span::current().record("team_id", tracing::field::display(key.team_id));
        Ok(Caller { team_id: key.team_id, user_id: key.user_id, key_id: key.id, scope: key.scope })
    }

    /// The caller a session cookie stands for: its key, if that key is still active (read
    /// through the store's cache on every request, so a revocation ends the session).
    pub async fn session(&self, cookie: &str, now: i64) -> Result<Caller, AuthError> {
        let claims = self.sessions.open(cookie, now)?;
        let keys = self.store.tenancy().active_keys_of_user(claims.user_id).await?;
        let key = keys.iter().find(|key| key.id == claims.key_id).ok_or(AuthError::SessionKeyRevoked)?;
        if key.sessions_after.is_some_and(|after| claims.issued_at < after) {
            return Err(AuthError::SignedOut);
        }
        tracing::Span::current().record("team_id", tracing::field::display(key.team_id));
        Ok(Caller { team_id: key.team_id, user_id: key.user_id, key_id: key.id, scope: key.scope })
    }
}

/// Whether a method only reads (no CSRF token needed with a session cookie).
fn is_safe(method: &axum::http::Method) -> bool {
    matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    Authenticator: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthError> {
        let authenticator = Authenticator::from_ref(state);
        if let Some(key) = bearer(&parts.headers) {
            return authenticator.authenticate(key).await;
        }
        let cookie = session::cookie_value(&parts.headers).ok_or(AuthError::Missing)?;
        if !is_safe(&parts.method) {
            if session::cross_origin(&parts.headers) {
                return Err(AuthError::Csrf);
            }
            let presented = parts.headers.get(session::CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !authenticator.sessions.csrf_matches(cookie, presented) {
                return Err(AuthError::Csrf);
            }
        }
        authenticator.session(cookie, wasmhook_store::now_ms()).await
    }
}

/// A caller that may use the team's key-value state: an admin key, or a run's own key.
#[derive(Debug, Clone, Copy)]
pub struct KvCaller(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for KvCaller
where
    Authenticator: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.scope {
            KeyScope::Admin | KeyScope::Run => Ok(Self(caller)),
            scope @ KeyScope::Execute => Err(AuthError::Forbidden(scope)),
        }
    }
}

/// A caller holding an admin key (management API).
#[derive(Debug, Clone, Copy)]
pub struct Admin(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Admin
where
    Authenticator: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.scope {
            KeyScope::Admin => Ok(Self(caller)),
            scope => Err(AuthError::Forbidden(scope)),
        }
    }
}
