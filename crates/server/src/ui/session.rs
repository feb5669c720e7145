//! `/ui/api/session`: sign in with an API key (answered with the session cookie), ask who is
//! signed in (with the CSRF token the dashboard sends back on changes), sign out.
//!
//! The key travels once, in a body that must say `Content-Type: application/json` and may not
//! come from another origin (`Sec-Fetch-Site`): a form or a `no-cors` fetch on another site
//! cannot send it, so nobody can sign a visitor in to their own team (login CSRF). The
//! browser keeps only the `HttpOnly` cookie, which scripts cannot read. Sign-out ends every
//! session of the key on the server, not just this browser's cookie.

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use wasmhook_domain::ids::{KeyId, TeamId, UserId};
use wasmhook_store::now_ms;
use wasmhook_store::tenancy::KeyScope;

use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::auth::session::{self, LIFETIME_MS};
use crate::auth::{AuthError, Authenticator, Caller};
use crate::state::AppState;

/// The sign-in body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignIn {
    /// `{user_id}-{secret}`: an admin or execute key.
    key: String,
}

/// Who is signed in, and the token their changes must carry.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SessionInfo {
    team_id: TeamId,
    team_name: String,
    user_id: UserId,
    key_id: KeyId,
    /// `admin` may change things; `execute` may only look.
    scope: KeyScope,
    /// When the session ends, ms since the epoch.
    expires_at: i64,
    /// Send back as `X-CSRF-Token` on every request that changes something.
    csrf_token: String,
    /// Where webhook senders reach this server (`public_url`), when configured.
    public_url: Option<String>,
}

/// `POST /ui/api/session`: checks the key like any API call, then sets the session cookie.
pub(super) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SignIn>,
) -> Result<Response, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json")));
    if !json || session::cross_origin(&headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "CSRF",
            "sign in from the dashboard's own page, with a JSON body (Content-Type: application/json)",
        ));
    }
    let caller = Authenticator::from_ref(&state).authenticate(body.key.trim()).await?;
    if caller.scope == KeyScope::Run {
        return Err(AuthError::Forbidden(KeyScope::Run).into());
    }
    let now = now_ms();
    let cookie = state.sessions.issue(caller.user_id, caller.key_id, now);
    let info = info(&state, caller, &cookie, now + LIFETIME_MS).await?;
    let https = is_https(&state, &headers);
    let attributes = format!(
        "{}={cookie}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        session::cookie_name(https),
        LIFETIME_MS / 1000,
        if https { "; Secure" } else { "" }
    );
    let set_cookie = HeaderValue::from_str(&attributes).map_err(|_| ApiError::bad_request("unusable session"))?;
    Ok(([(header::SET_COOKIE, set_cookie), no_store()], Json(info)).into_response())
}

/// `GET /ui/api/session`: the signed-in session, or 401.
pub(super) async fn current(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let cookie = session::cookie_value(&headers).ok_or(AuthError::Missing)?;
    let now = now_ms();
    let claims = state.sessions.open(cookie, now).map_err(AuthError::from)?;
    let caller = Authenticator::from_ref(&state).session(cookie, now).await?;
    let info = info(&state, caller, cookie, claims.expires_at()).await?;
    Ok(([no_store()], Json(info)).into_response())
}

/// `DELETE /ui/api/session`: ends every dashboard session of the cookie's key signed in until
/// now (a copy of the cookie stops working too; the key itself stays valid), and clears the
/// cookie. Without a valid session there is nothing to end, and the cookie is cleared anyway.
pub(super) async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(claims) = session::cookie_value(&headers).and_then(|c| state.sessions.open(c, now_ms()).ok()) {
        // Sessions issued before this millisecond's end are over (`issued_at < after`).
        state.store.tenancy().end_sessions(claims.key_id, now_ms() + 1).await?;
    }
    let https = is_https(&state, &headers);
    let secure = if https { "; Secure" } else { "" };
    let expired = format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}", session::cookie_name(https));
    Ok(match HeaderValue::from_str(&expired) {
        Ok(value) => (StatusCode::NO_CONTENT, [(header::SET_COOKIE, value)]).into_response(),
        Err(_) => StatusCode::NO_CONTENT.into_response(),
    })
}

async fn info(state: &AppState, caller: Caller, cookie: &str, expires_at: i64) -> Result<SessionInfo, ApiError> {
    let team = state.store.tenancy().team(caller.team_id).await?;
    Ok(SessionInfo {
        team_id: caller.team_id,
        team_name: team.name,
        user_id: caller.user_id,
        key_id: caller.key_id,
        scope: caller.scope,
        expires_at,
        csrf_token: state.sessions.csrf_token(cookie),
        public_url: state.config.public_url.clone(),
    })
}

/// Session answers are never cached (they carry the CSRF token).
fn no_store() -> (header::HeaderName, HeaderValue) {
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

/// Whether the browser reached us over HTTPS (the configured public URL says so, or the proxy
/// in front does): then the cookie is `Secure`.
fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.public_url.as_deref().is_some_and(|url| url.starts_with("https://"))
        || headers.get("x-forwarded-proto").is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"))
}
