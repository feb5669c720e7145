//! The four senders' schemes, each as its sender documents it. Each returns the signed
//! timestamp (when the scheme has one) for the caller's tolerance check.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{SignatureError, header, mac, timestamp};

/// The HMAC key of a Standard Webhooks secret: base64 after an optional `whsec_` prefix.
pub(super) fn standard_key(secret: &str) -> Result<Vec<u8>, base64::DecodeError> {
    BASE64.decode(secret.strip_prefix("whsec_").unwrap_or(secret))
}

/// Standard Webhooks: HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed by the decoded
/// secret; `webhook-signature` lists `v1,<base64>` signatures separated by spaces (other
/// versions, e.g. asymmetric `v1a`, are skipped).
pub(super) fn standard_webhooks(
    secrets: &[String],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<i64>, SignatureError> {
    let id = header(headers, "webhook-id")?;
    let raw_timestamp = header(headers, "webhook-timestamp")?;
    let signed_at = timestamp(headers, "webhook-timestamp")?;
    let candidates: Vec<Vec<u8>> = header(headers, "webhook-signature")?
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| BASE64.decode(encoded).ok())
        .collect();
    let expected: Vec<Vec<u8>> = secrets
        .iter()
        .filter_map(|secret| standard_key(secret).ok())
        .map(|key| mac::sha256(&key, &[id.as_bytes(), b".", raw_timestamp.as_bytes(), b".", body]))
        .collect();
    if mac::any_matches(&expected, &candidates) { Ok(Some(signed_at)) } else { Err(SignatureError::Invalid) }
}

/// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 over `{t}.{body}`
/// keyed by the whole `whsec_…` secret as text.
pub(super) fn stripe(secrets: &[String], headers: &HeaderMap, body: &[u8]) -> Result<Option<i64>, SignatureError> {
    const NAME: &str = "stripe-signature";
    let value = header(headers, NAME)?;
    let mut raw_timestamp = None;
    let mut candidates = Vec::new();
    for item in value.split(',') {
        match item.trim().split_once('=') {
            Some(("t", t)) => raw_timestamp = Some(t),
            Some(("v1", signature)) => candidates.extend(hex::decode(signature).ok()),
            _ => {}
        }
    }
    let raw_timestamp = raw_timestamp.ok_or_else(|| SignatureError::Missing(NAME.into()))?;
    let signed_at: i64 = raw_timestamp.parse().map_err(|_| SignatureError::Missing(NAME.into()))?;
    let expected: Vec<Vec<u8>> =
        secrets.iter().map(|secret| mac::sha256(secret.as_bytes(), &[raw_timestamp.as_bytes(), b".", body])).collect();
    if mac::any_matches(&expected, &candidates) { Ok(Some(signed_at)) } else { Err(SignatureError::Invalid) }
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 over the body. No timestamp:
/// GitHub's `X-GitHub-Delivery` id is the replay guard (send it as `Idempotency-Key` or rely
/// on the retry being identical).
pub(super) fn github(secrets: &[String], headers: &HeaderMap, body: &[u8]) -> Result<(), SignatureError> {
    const NAME: &str = "x-hub-signature-256";
    let signature = header(headers, NAME)?
        .strip_prefix("sha256=")
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or_else(|| SignatureError::Missing(NAME.into()))?;
    let expected: Vec<Vec<u8>> = secrets.iter().map(|secret| mac::sha256(secret.as_bytes(), &[body])).collect();
    if mac::any_matches(&expected, &[signature]) { Ok(()) } else { Err(SignatureError::Invalid) }
}

/// Slack: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 over `v0:{X-Slack-Request-Timestamp}:{body}`.
pub(super) fn slack(secrets: &[String], headers: &HeaderMap, body: &[u8]) -> Result<Option<i64>, SignatureError> {
    const NAME: &str = "x-slack-signature";
    const TIMESTAMP: &str = "x-slack-request-timestamp";
    let raw_timestamp = header(headers, TIMESTAMP)?;
    let signed_at = timestamp(headers, TIMESTAMP)?;
    let signature = header(headers, NAME)?
        .strip_prefix("v0=")
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or_else(|| SignatureError::Missing(NAME.into()))?;
    let expected: Vec<Vec<u8>> = secrets
        .iter()
        .map(|secret| mac::sha256(secret.as_bytes(), &[b"v0:", raw_timestamp.as_bytes(), b":", body]))
        .collect();
    if mac::any_matches(&expected, &[signature]) { Ok(Some(signed_at)) } else { Err(SignatureError::Invalid) }
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, SignatureConfig, SignatureError};
    use axum::http::{HeaderMap, HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_str(v).expect("value"))).collect()
    }

    fn config(scheme: Scheme, secrets: &[&str]) -> SignatureConfig {
        SignatureConfig {
            scheme,
            secrets: secrets.iter().map(|s| (*s).to_owned()).collect(),
            tolerance_seconds: 300,
            hmac: None,
        }
    }

    /// The example of the Standard Webhooks specification (and Svix's docs).
    #[test]
    fn the_standard_webhooks_spec_example_verifies() {
        let config = config(Scheme::StandardWebhooks, &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]);
        let signed = headers(&[
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("webhook-timestamp", "1614265330"),
            ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
        ]);
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(config.verify(&signed, body, 1_614_265_330 + 10), Ok(()));
        assert_eq!(config.verify(&signed, br#"{"test": 2432232315}"#, 1_614_265_330), Err(SignatureError::Invalid));
        assert!(matches!(config.verify(&signed, body, 1_614_265_330 + 301), Err(SignatureError::Stale { .. })));
    }

    /// The example of GitHub's docs ("Validating webhook deliveries").
    #[test]
    fn the_github_docs_example_verifies() {
        let config = config(Scheme::Github, &["It's a Secret to Everybody"]);
        let signed = headers(&[(
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )]);
        assert_eq!(config.verify(&signed, b"Hello, World!", 0), Ok(()));
        assert_eq!(config.verify(&signed, b"Hello, World?", 0), Err(SignatureError::Invalid));
        assert!(matches!(config.verify(&HeaderMap::new(), b"", 0), Err(SignatureError::Missing(_))));
    }
}
