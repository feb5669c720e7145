//! Dashboard sessions: an API key, presented once at sign-in, exchanged for a signed cookie.
//!
//! The cookie names the key (user and key id) and an expiry, signed with HMAC-SHA256 under a
//! key derived from the master key, so any node sharing the master key accepts it and no
//! session table is needed. It never holds the key's secret. Every request re-reads the key
//! record through the store's cache: revoking the key ends all its sessions (within the cache
//! invalidation bound on a cluster), and the team and scope are always the key's current ones.
//!
//! CSRF: the cookie is `SameSite=Strict` and `HttpOnly`, and a request authenticated by it
//! that changes anything must also carry `X-CSRF-Token`, an HMAC of the cookie the dashboard
//! received at sign-in (a cross-site form can neither read it nor set a header).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use wasmhook_domain::ids::{KeyId, UserId};
use zeroize::Zeroizing;

use crate::secrets::Sealer;

/// The cookie's name over plain HTTP.
pub const COOKIE: &str = "wasmhook_session";
/// Its name over HTTPS: the `__Host-` prefix makes browsers refuse it unless it is `Secure`,
/// `Path=/` and has no `Domain`, so a sibling subdomain cannot plant one (cookie tossing).
pub const SECURE_COOKIE: &str = "__Host-wasmhook_session";
/// The header a cookie-authenticated change must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts from sign-in (12 h: a working day; sign in again after).
pub const LIFETIME_MS: i64 = 12 * 3_600_000;
const FORMAT: &str = "s1";

/// What a valid session cookie says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionClaims {
    /// The key's user.
    pub user_id: UserId,
    /// The key the session was opened with.
    pub key_id: KeyId,
    /// Sign-in time, ms since the epoch (a sign-out ends the key's sessions from before it).
    pub issued_at: i64,
}

impl SessionClaims {
    /// Expiry, ms since the epoch.
    pub fn expires_at(&self) -> i64 {
        self.issued_at.saturating_add(LIFETIME_MS)
    }
}

/// Why a cookie is not a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Not of our shape, or its signature does not match (tampered, or another master key).
    #[error("the session cookie is not valid: sign in again")]
    Invalid,
    /// Past its expiry.
    #[error("the session has expired: sign in again")]
    Expired,
}

/// Signs and checks session cookies and their CSRF tokens.
pub struct Sessions {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    /// The signer of this server's sessions, keyed from the master key.
    pub fn new(sealer: &Sealer) -> Self {
        Self { key: sealer.derive_key("dashboard-session") }
    }

    /// A cookie value for a key, issued `now`, valid until `now + LIFETIME_MS`.
    pub fn issue(&self, user_id: UserId, key_id: KeyId, now: i64) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let body = format!("{FORMAT}.{user_id}.{key_id}.{now}.{}", BASE64URL.encode(nonce));
        let tag = BASE64URL.encode(self.mac(b"cookie", body.as_bytes()));
        format!("{body}.{tag}")
    }

    /// The claims of a cookie value that this server signed and that has not expired.
    pub fn open(&self, cookie: &str, now: i64) -> Result<SessionClaims, SessionError> {
        let (body, tag) = cookie.rsplit_once('.').ok_or(SessionError::Invalid)?;
        let tag = BASE64URL.decode(tag).map_err(|_| SessionError::Invalid)?;
        if !bool::from(self.mac(b"cookie", body.as_bytes()).as_slice().ct_eq(&tag)) {
            return Err(SessionError::Invalid);
        }
        let mut parts = body.split('.');
        let (Some(FORMAT), Some(user), Some(key), Some(issued), Some(_nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SessionError::Invalid);
        };
        let claims = SessionClaims {
            user_id: user.parse().map_err(|_| SessionError::Invalid)?,
            key_id: key.parse().map_err(|_| SessionError::Invalid)?,
            issued_at: issued.parse().map_err(|_| SessionError::Invalid)?,
        };
        if claims.expires_at() <= now {
            return Err(SessionError::Expired);
        }
        Ok(claims)
    }

    /// The CSRF token of a session cookie: what the dashboard sends back in `X-CSRF-Token`.
    pub fn csrf_token(&self, cookie: &str) -> String {
        BASE64URL.encode(self.mac(b"csrf", cookie.as_bytes()))
    }

    /// Whether `presented` is the CSRF token of `cookie` (constant time).
    pub fn csrf_matches(&self, cookie: &str, presented: &str) -> bool {
        bool::from(self.csrf_token(cookie).as_bytes().ct_eq(presented.as_bytes()))
    }

    fn mac(&self, purpose: &[u8], message: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(purpose);
        mac.update(b"\0");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

/// The session cookie's name: the `__Host-` one when the browser reached us over HTTPS.
pub fn cookie_name(https: bool) -> &'static str {
    if https { SECURE_COOKIE } else { COOKIE }
}

/// The value of the session cookie among a request's `Cookie` headers; none when there are
/// two (another cookie of our name was planted beside ours: neither is trusted).
pub fn cookie_value(headers: &axum::http::HeaderMap) -> Option<&str> {
    let mut found = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE || *name == SECURE_COOKIE)
        .map(|(_, value)| value);
    match (found.next(), found.next()) {
        (Some(value), None) if !value.is_empty() => Some(value),
        _ => None,
    }
}

/// Whether a browser says the request comes from another site or origin (`Sec-Fetch-Site`,
/// sent by every current browser): such a request may not sign in or change anything with
/// the session cookie, whatever else it carries. Clients that send no such header (scripts)
/// are judged by the CSRF token alone.
pub fn cross_origin(headers: &axum::http::HeaderMap) -> bool {
    headers.get("sec-fetch-site").is_some_and(|site| !matches!(site.as_bytes(), b"same-origin" | b"none"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MasterKey;

    fn sessions(byte: u8) -> Sessions {
        Sessions::new(&Sealer::new(MasterKey::from_bytes(&[byte; 32]), None))
    }

    #[test]
    fn a_cookie_opens_to_its_key_until_it_expires() {
        let sessions = sessions(1);
        let (user, key) = (UserId::new_v4(), KeyId::new_v4());
        let cookie = sessions.issue(user, key, 1_000);
        let claims = sessions.open(&cookie, 2_000).expect("opens");
        assert_eq!((claims.user_id, claims.key_id, claims.expires_at()), (user, key, 1_000 + LIFETIME_MS));
        assert_eq!(sessions.open(&cookie, 1_000 + LIFETIME_MS), Err(SessionError::Expired));
    }

    #[test]
    fn tampered_or_foreign_cookies_do_not_open() {
        let sessions = sessions(1);
        let cookie = sessions.issue(UserId::new_v4(), KeyId::new_v4(), 0);
        let other_user = cookie.replacen(&cookie[3..39], &UserId::new_v4().to_string(), 1);
        assert_eq!(sessions.open(&other_user, 1), Err(SessionError::Invalid));
        let later = cookie.replacen(".0.", &format!(".{}.", LIFETIME_MS * 100), 1);
        assert_eq!(sessions.open(&later, 1), Err(SessionError::Invalid));
        assert_eq!(self::sessions(2).open(&cookie, 1), Err(SessionError::Invalid));
        for junk in ["", ".", "s1.a.b.c.d.e", "no-dots", &format!("{cookie}x")] {
            assert_eq!(sessions.open(junk, 1), Err(SessionError::Invalid), "{junk:?}");
        }
    }

    #[test]
    fn the_csrf_token_belongs_to_one_cookie() {
        let sessions = sessions(1);
        let one = sessions.issue(UserId::new_v4(), KeyId::new_v4(), 0);
        let two = sessions.issue(UserId::new_v4(), KeyId::new_v4(), 0);
        let token = sessions.csrf_token(&one);
        assert!(sessions.csrf_matches(&one, &token));
        assert!(!sessions.csrf_matches(&two, &token));
        assert!(!sessions.csrf_matches(&one, ""));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.append("cookie", "a=1; wasmhook_session=abc.def".parse().expect("value"));
        assert_eq!(cookie_value(&headers), Some("abc.def"));
        headers.clear();
        headers.append("cookie", "wasmhook_session=".parse().expect("value"));
        assert_eq!(cookie_value(&headers), None);
        headers.clear();
        headers.append("cookie", "__Host-wasmhook_session=a; wasmhook_session=b".parse().expect("value"));
        assert_eq!(cookie_value(&headers), None, "two session cookies: neither is trusted");
    }
}
