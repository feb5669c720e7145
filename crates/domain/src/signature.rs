//! How a webhook's sender signs: the settings stored with a webhook. Verifying a request
//! against them is the server's job (`wasmhook_server::signatures`); the store only keeps them,
//! sealed.

use serde::{Deserialize, Serialize};

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
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl SignatureConfig {
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

/// The MAC's hash.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HmacAlgorithm {
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA1 (legacy senders).
    Sha1,
}

/// How the signature is written in its header.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Lower- or upper-case hex.
    Hex,
    /// Standard base64.
    Base64,
}

fn body_template() -> String {
    "{body}".into()
}

/// The generic scheme's settings.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HmacConfig {
    /// SHA-256 or SHA-1.
    pub algorithm: HmacAlgorithm,
    /// The header holding the signature.
    pub header: String,
    /// Hex or base64.
    pub encoding: Encoding,
    /// Stripped from the header value before decoding (e.g. `sha256=`).
    #[serde(default)]
    pub prefix: String,
    /// What is signed: `{body}`, `{timestamp}` and `{id}` are replaced (default `{body}`).
    #[serde(default = "body_template")]
    pub content: String,
    /// The header holding the Unix-seconds timestamp; enables the tolerance check.
    #[serde(default)]
    pub timestamp_header: Option<String>,
    /// The header holding the message id, for `{id}`.
    #[serde(default)]
    pub id_header: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_the_last_four_characters_of_any_secret() {
        assert_eq!(last_chars("€€€€€", 4), "€€€€");
        assert_eq!(last_chars("abcdef", 4), "cdef");
        assert_eq!(last_chars("ab", 4), "ab");
        assert_eq!(last_chars("", 4), "");
        assert_eq!(last_chars("x€yz", 4), "x€yz");
    }
}
