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

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use generic::{Encoding, HmacAlgorithm, HmacConfig};

/// HMAC-SHA256 of the concatenated `parts`, for what the host signs itself (callbacks).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    mac::sha256(key, parts)
}

/// Default timestamp tolerance: 5 minutes either way.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;
/// At most this many secrets per webhook.
pub const MAX_SECRETS: usize = 10;
/// The shortest HMAC secret accepted (bytes): 128 bits. Stripe, Slack and Svix issue longer
/// ones; a 1-character secret let anyone who guessed it sign.
pub const MIN_SECRET_BYTES: usize = 16;
/// A Standard Webhooks key's decoded length, per the specification: 24 to 64 bytes. An empty
/// key (`whsec_`) made every signature computable by anyone.
pub const STANDARD_KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

fn default_tolerance() -> u64 {
    DEFAULT_TOLERANCE_SECS
}

/// Who signs, and so how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> …`; `whsec_` secrets
    /// (Svix and every platform built on it).
    StandardWebhooks,
    /// `Stripe-Signature: t=…,v1=<hex>,…` over `{t}.{body}`.
    Stripe,
    /// `X-Hub-Signature-256: sha256=<hex>` over the body.
    Github,
    /// `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}`.
    Slack,
    /// Configurable header, algorithm, encoding, prefix and signed content.
    Hmac,
}

impl Scheme {
    /// The value of `WEBHOOK_VERIFIED` for a block.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StandardWebhooks => "standard_webhooks",
            Self::Stripe => "stripe",
            Self::Github => "github",
            Self::Slack => "slack",
            Self::Hmac => "hmac",
        }
    }
}

/// A webhook's signature check. The secrets are write-only in the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureConfig {
    /// The scheme.
    pub scheme: Scheme,
    /// Signing secrets; a signature by any of them is accepted.
    pub secrets: Vec<String>,
    /// How far a signed timestamp may be from now, in seconds.
    #[serde(default = "default_tolerance")]
    pub tolerance_seconds: u64,
    /// The generic scheme's settings (`scheme: "hmac"` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac: Option<HmacConfig>,
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

impl SignatureConfig {
    /// Checks what serde cannot: secret count and shape, the generic scheme's settings.
    pub fn validate(&self) -> Result<(), String> {
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
            (Scheme::Hmac, Some(hmac)) => hmac.validate(),
            (Scheme::Hmac, None) => Err("signature.hmac is required with scheme \"hmac\"".into()),
            (_, Some(_)) => Err("signature.hmac only applies to scheme \"hmac\"".into()),
            (_, None) => Ok(()),
        }
    }

    /// Verifies `body` as signed according to the scheme, at `now` (Unix seconds); returns
    /// the delivery's replay key.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<ReplayKey, SignatureError> {
        let Signed { timestamp, replay_key } = match self.scheme {
            Scheme::StandardWebhooks => schemes::standard_webhooks(&self.secrets, headers, body)?,
            Scheme::Stripe => schemes::stripe(&self.secrets, headers, body)?,
            Scheme::Github => schemes::github(&self.secrets, headers, body)?,
            Scheme::Slack => schemes::slack(&self.secrets, headers, body)?,
            Scheme::Hmac => match &self.hmac {
                Some(hmac) => hmac.verify(&self.secrets, headers, body)?,
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

    /// The secrets' last 4 characters (not bytes: a byte slice of `"€€€€€"` panicked, and
    /// took every later listing of the team's webhooks with it), for listings.
    pub fn secret_hints(&self) -> Vec<String> {
        self.secrets.iter().map(|s| last_chars(s, 4).to_owned()).collect()
    }
}

/// The last `n` characters of `text` (all of it when shorter).
fn last_chars(text: &str, n: usize) -> &str {
    let start = text.char_indices().rev().nth(n.saturating_sub(1)).map_or(0, |(at, _)| at);
    &text[start..]
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

    #[test]
    fn hints_are_the_last_four_characters_of_any_secret() {
        assert_eq!(last_chars("€€€€€", 4), "€€€€");
        assert_eq!(last_chars("abcdef", 4), "cdef");
        assert_eq!(last_chars("ab", 4), "ab");
        assert_eq!(last_chars("", 4), "");
        assert_eq!(last_chars("x€yz", 4), "x€yz");
    }
}
