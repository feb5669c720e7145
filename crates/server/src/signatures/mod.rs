//! Verifying senders' signatures over the raw body: Standard Webhooks, Stripe, GitHub, Slack
//! and a configurable generic HMAC. Real senders sign instead of sending bearer tokens.
//!
//! A webhook's [`SignatureConfig`] holds one or more secrets (several: rotation without
//! downtime — a signature made with any of them is accepted) and a timestamp tolerance. The
//! signature is checked first and the timestamp second, so only an authentic message learns
//! that it is stale. Every comparison is constant-time; the MACs come from the `hmac` crate.
//!
//! A verified request also yields its [`ReplayKey`], built from signed content only: the
//! sender's delivery id where the scheme signs one, else a digest of what was signed. It is
//! the delivery's idempotency key, so neither a retry nor a captured request replayed within
//! the tolerance runs twice, whatever unsigned headers (`Idempotency-Key`) a replayer adds.

mod generic;
mod mac;
mod schemes;
pub mod sign;

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

pub use wasmhook_domain::signature::{
    DEFAULT_TOLERANCE_SECS, Encoding, HmacAlgorithm, HmacConfig, MAX_SECRETS, MIN_SECRET_BYTES, STANDARD_KEY_BYTES,
    Scheme, SignatureConfig,
};

/// HMAC-SHA256 of the concatenated `parts`, for what the host signs itself (callbacks).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    mac::sha256(key, parts)
}

/// Why a request's signature is refused (all answered 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header the scheme needs is absent or unreadable.
    #[error("missing or malformed {0} header")]
    Missing(String),
    /// No signature matches any secret.
    #[error("no signature matches: the body was changed or signed with another secret")]
    Invalid,
    /// Authentic, but the signed timestamp is too far from now.
    #[error("the signed timestamp is {skew_secs} s from now, over the {tolerance_secs} s tolerance")]
    Stale {
        /// Distance from now.
        skew_secs: u64,
        /// The webhook's tolerance.
        tolerance_secs: u64,
    },
}

/// What a verified signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signed {
    /// The signed timestamp, when the scheme has one.
    timestamp: Option<i64>,
    /// The delivery's identity.
    replay_key: ReplayKey,
}

/// Longest delivery id kept as is in a replay key; longer ids are hashed.
const MAX_ID_IN_KEY: usize = 200;

/// A delivery's identity as its signature vouches for it: `id:<sender's id>` or
/// `sha256:<hex of the signed content>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayKey(String);

impl ReplayKey {
    /// From a signed delivery id (hashed when long, so the key stays short).
    fn id(id: &str) -> Self {
        if id.len() <= MAX_ID_IN_KEY { Self(format!("id:{id}")) } else { Self::content(&[b"id:", id.as_bytes()]) }
    }

    /// From the signed content, given in pieces as the MAC saw it.
    fn content(parts: &[&[u8]]) -> Self {
        let mut hash = Sha256::new();
        for part in parts {
            hash.update(part);
        }
        Self(format!("sha256:{}", hex::encode(hash.finalize())))
    }

    /// Whether the key is the sender's signed delivery id (rather than a digest of content).
    pub fn is_delivery_id(&self) -> bool {
        self.0.starts_with("id:")
    }

    /// The key's text (at most 255 bytes, printable ASCII or the sender's id).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Checking a webhook's [`SignatureConfig`] when it is set, and requests against it.
pub trait SignatureCheck {
    /// Checks what serde cannot: secret count and shape, the generic scheme's settings.
    fn validate(&self) -> Result<(), String>;

    /// Verifies `body` as signed according to the scheme, at `now` (Unix seconds); returns
    /// the delivery's replay key.
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<ReplayKey, SignatureError>;
}

impl SignatureCheck for SignatureConfig {
    fn validate(&self) -> Result<(), String> {
        if self.secrets.is_empty() || self.secrets.len() > MAX_SECRETS {
            return Err(format!("signature.secrets must hold 1 to {MAX_SECRETS} secrets"));
        }
        if let Some(i) = self.secrets.iter().position(|s| s.len() < MIN_SECRET_BYTES) {
            return Err(format!(
                "signature.secrets[{i}] is shorter than {MIN_SECRET_BYTES} bytes: use the sender's generated secret"
            ));
        }
        if self.tolerance_seconds == 0 || self.tolerance_seconds > 86_400 {
            return Err("signature.toleranceSeconds must be between 1 and 86400".into());
        }
        if self.scheme == Scheme::StandardWebhooks {
            for (i, secret) in self.secrets.iter().enumerate() {
                let key = schemes::standard_key(secret)
                    .map_err(|e| format!("signature.secrets[{i}] is not a whsec_<base64> secret: {e}"))?;
                if !STANDARD_KEY_BYTES.contains(&key.len()) {
                    return Err(format!(
                        "signature.secrets[{i}] decodes to {} bytes; a Standard Webhooks key is {} to {} bytes",
                        key.len(),
                        STANDARD_KEY_BYTES.start(),
                        STANDARD_KEY_BYTES.end()
                    ));
                }
            }
        }
        match (self.scheme, &self.hmac) {
            (Scheme::Hmac, Some(hmac)) => generic::validate(hmac),
            (Scheme::Hmac, None) => Err("signature.hmac is required with scheme \"hmac\"".into()),
            (_, Some(_)) => Err("signature.hmac only applies to scheme \"hmac\"".into()),
            (_, None) => Ok(()),
        }
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<ReplayKey, SignatureError> {
        let Signed { timestamp, replay_key } = match self.scheme {
            Scheme::StandardWebhooks => schemes::standard_webhooks(&self.secrets, headers, body)?,
            Scheme::Stripe => schemes::stripe(&self.secrets, headers, body)?,
            Scheme::Github => schemes::github(&self.secrets, headers, body)?,
            Scheme::Slack => schemes::slack(&self.secrets, headers, body)?,
            Scheme::Hmac => match &self.hmac {
                Some(hmac) => generic::verify(hmac, &self.secrets, headers, body)?,
                None => return Err(SignatureError::Invalid),
            },
        };
        if let Some(timestamp) = timestamp {
            let skew_secs = now.abs_diff(timestamp);
            if skew_secs > self.tolerance_seconds {
                return Err(SignatureError::Stale { skew_secs, tolerance_secs: self.tolerance_seconds });
            }
        }
        Ok(replay_key)
    }
}

/// A header's value as text.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, SignatureError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| SignatureError::Missing(name.to_owned()))
}

/// A Unix-seconds timestamp header.
fn timestamp(headers: &HeaderMap, name: &str) -> Result<i64, SignatureError> {
    header(headers, name)?.parse().map_err(|_| SignatureError::Missing(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(scheme: Scheme, secret: &str) -> SignatureConfig {
        SignatureConfig { scheme, secrets: vec![secret.to_owned()], tolerance_seconds: 300, hmac: None }
    }

    /// #13 item 16: an empty Standard Webhooks key and 1-character HMAC secrets were accepted.
    #[test]
    fn weak_secrets_are_refused() {
        assert!(config(Scheme::StandardWebhooks, "whsec_").validate().is_err(), "empty key");
        assert!(config(Scheme::StandardWebhooks, "whsec_YWJj").validate().is_err(), "3-byte key");
        assert!(config(Scheme::StandardWebhooks, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").validate().is_ok());
        for scheme in [Scheme::Stripe, Scheme::Github, Scheme::Slack] {
            assert!(config(scheme, "x").validate().is_err(), "{scheme:?}");
            assert!(config(scheme, "8f742231b10e8888abcd99yyyzzz85a5").validate().is_ok(), "{scheme:?}");
        }
    }
}
