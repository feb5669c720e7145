//! Trigger webhooks' secrets: minted here (`whk_` + 40 random alphanumerics, ≈ 238 bits),
//! shown once, stored as SHA-256, and checked in constant time against the current secret and,
//! during a rotation's grace period, the previous one.
//!
//! A sender presents the secret as `Authorization: Bearer <secret>` (preferred) or as the
//! `token` / `key` query parameter, for sources that can only be given a URL.

use axum::http::HeaderMap;
use rand::Rng;
use rand::distr::Alphanumeric;
use subtle::ConstantTimeEq;

use super::keys::hash_secret;
use wasmhook_store::webhooks::Webhook;

const PREFIX: &str = "whk_";
const RANDOM_LEN: usize = 40;
/// The shortest secret an owner may choose for a webhook.
pub const MIN_CHOSEN_LEN: usize = 24;
/// The fewest guesses (log10, as `zxcvbn` estimates them) an owner-chosen secret must need:
/// 10^16 ≈ 2^53. Secrets are stored as unsalted SHA-256 because every call checks one and a
/// KDF would cost each call milliseconds; that is sound only for high-entropy secrets, so a
/// chosen one is held to this (a generated one has ≈ 238 bits). Repeats, sequences, keyboard
/// walks and dictionary words score low: `passwordpasswordpassword` is 10^1.
pub const MIN_CHOSEN_GUESSES_LOG10: f64 = 16.0;
/// Query parameters that carry a secret: accepted for auth, never stored or shown to a block.
pub const SECRET_QUERY_PARAMS: [&str; 2] = ["token", "key"];

/// A secret to hand out once: the text, its hash and a hint for listings.
#[derive(Debug)]
pub struct NewSecret {
    /// Shown to the owner once.
    pub text: String,
    /// What the store keeps.
    pub hash: [u8; 32],
    /// Last 4 characters.
    pub hint: String,
}

impl NewSecret {
    /// A fresh random secret.
    pub fn generate() -> Self {
        let random: String = rand::rng().sample_iter(&Alphanumeric).take(RANDOM_LEN).map(char::from).collect();
        Self::from_text(format!("{PREFIX}{random}"))
    }

    /// An owner-chosen secret (e.g. one already configured in the sending system).
    pub fn chosen(text: String) -> Result<Self, String> {
        if text.len() < MIN_CHOSEN_LEN || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("a webhook secret must be at least {MIN_CHOSEN_LEN} printable ASCII characters"));
        }
        let guesses = zxcvbn::zxcvbn(&text, &[]).guesses_log10();
        if guesses < MIN_CHOSEN_GUESSES_LOG10 {
            return Err(format!(
                "this webhook secret is guessable (about 10^{guesses:.0} guesses; at least 10^{MIN_CHOSEN_GUESSES_LOG10:.0} \
                 are needed): use a random one, or omit `secret` to have one generated"
            ));
        }
        Ok(Self::from_text(text))
    }

    fn from_text(text: String) -> Self {
        let hint = text[text.len().saturating_sub(4)..].to_owned();
        Self { hash: hash_secret(&text), hint, text }
    }
}

/// The secret a request presents: the bearer token, else `?token=`, else `?key=`.
pub fn presented<'a>(headers: &'a HeaderMap, query: &'a [(String, String)]) -> Option<&'a str> {
    if let Some(token) = super::bearer(headers) {
        return Some(token);
    }
    SECRET_QUERY_PARAMS
        .iter()
        .find_map(|name| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()))
        .filter(|v| !v.is_empty())
}

/// Whether `presented` is the webhook's secret, or its previous one within the grace period
/// (`now` in ms). Both comparisons always run, in constant time.
pub fn matches(webhook: &Webhook, presented: &str, now: i64) -> bool {
    let hash = hash_secret(presented);
    let current = webhook.secret_hash.is_some_and(|h| bool::from(h.ct_eq(&hash)));
    let previous_live = webhook.previous_secret_expires_at.is_some_and(|until| until > now);
    let previous = webhook.previous_secret_hash.is_some_and(|h| bool::from(h.ct_eq(&hash)));
    current | (previous & previous_live)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn secrets_are_prefixed_random_and_distinct() {
        let (a, b) = (NewSecret::generate(), NewSecret::generate());
        assert!(a.text.starts_with(PREFIX) && a.text.len() == PREFIX.len() + RANDOM_LEN);
        assert_ne!(a.text, b.text);
        assert_eq!(a.hash, hash_secret(&a.text));
        assert!(NewSecret::chosen("short".into()).is_err());
        assert!(NewSecret::chosen("x".repeat(MIN_CHOSEN_LEN)).is_err(), "a repeat is guessable");
        assert!(NewSecret::chosen("passwordpasswordpassword".into()).is_err());
        assert!(NewSecret::chosen("0123456789abcdef01234567".into()).is_err(), "a sequence is guessable");
        assert!(NewSecret::chosen("Xk9pQ2mZ7vR4tL8wN3bY6cH1".into()).is_ok());
        assert!(NewSecret::chosen(NewSecret::generate().text).is_ok());
    }

    #[test]
    fn the_header_wins_over_query_parameters() {
        let query = vec![("key".to_owned(), "from-key".to_owned()), ("token".to_owned(), "from-token".to_owned())];
        let mut headers = HeaderMap::new();
        assert_eq!(presented(&headers, &query), Some("from-token"));
        assert_eq!(presented(&headers, &query[..1]), Some("from-key"));
        headers.insert("authorization", HeaderValue::from_static("Bearer from-header"));
        assert_eq!(presented(&headers, &query), Some("from-header"));
        assert_eq!(presented(&HeaderMap::new(), &[]), None);
    }
}
