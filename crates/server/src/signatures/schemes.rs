//! The four senders' schemes, each as its sender documents it. Each returns what it verified:
//! the signed timestamp (when the scheme has one) for the caller's tolerance check, and the
//! delivery's replay key, taken from signed content only.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use super::{ReplayKey, SignatureError, Signed, header, mac, timestamp};

/// The HMAC key of a Standard Webhooks secret: base64 after an optional `whsec_` prefix.
pub(super) fn standard_key(secret: &str) -> Result<Vec<u8>, base64::DecodeError> {
    BASE64.decode(secret.strip_prefix("whsec_").unwrap_or(secret))
}

/// Standard Webhooks: HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed by the decoded
/// secret; `webhook-signature` lists `v1,<base64>` signatures separated by spaces (other
/// versions, e.g. asymmetric `v1a`, are skipped). The signed `webhook-id` is the replay key: a
/// retry keeps it, so a retried or replayed message is the same delivery.
pub(super) fn standard_webhooks(
    secrets: &[String],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Signed, SignatureError> {
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
    if !mac::any_matches(&expected, &candidates) {
        return Err(SignatureError::Invalid);
    }
    Ok(Signed { timestamp: Some(signed_at), replay_key: ReplayKey::id(id) })
}

/// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 over `{t}.{body}`
/// keyed by the whole `whsec_…` secret as text. Stripe re-signs each retry with a new `t`, but
/// the event's `id` (`evt_…`, inside the signed body) stays: that is the replay key. A body
/// without one falls back to the signed content.
pub(super) fn stripe(secrets: &[String], headers: &HeaderMap, body: &[u8]) -> Result<Signed, SignatureError> {
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
    let content: [&[u8]; 3] = [raw_timestamp.as_bytes(), b".", body];
    let expected: Vec<Vec<u8>> = secrets.iter().map(|secret| mac::sha256(secret.as_bytes(), &content)).collect();
    if !mac::any_matches(&expected, &candidates) {
        return Err(SignatureError::Invalid);
    }
    let replay_key = stripe_event_id(body).map_or_else(|| ReplayKey::content(&content), |id| ReplayKey::id(&id));
    Ok(Signed { timestamp: Some(signed_at), replay_key })
}

/// The `id` of a Stripe event body, if it is a JSON object with a non-empty string `id`.
fn stripe_event_id(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Event {
        id: Option<String>,
    }
    serde_json::from_slice::<Event>(body).ok()?.id.filter(|id| !id.is_empty())
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 over the body. No timestamp, and
/// `X-GitHub-Delivery` is not signed (a replayer can change it), so the replay key is the
/// signed body itself: a redelivery (same body) and a replayed capture are the same delivery.
pub(super) fn github(secrets: &[String], headers: &HeaderMap, body: &[u8]) -> Result<Signed, SignatureError> {
    const NAME: &str = "x-hub-signature-256";
    let signature = header(headers, NAME)?
        .strip_prefix("sha256=")
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or_else(|| SignatureError::Missing(NAME.into()))?;
    let expected: Vec<Vec<u8>> = secrets.iter().map(|secret| mac::sha256(secret.as_bytes(), &[body])).collect();
    if !mac::any_matches(&expected, &[signature]) {
        return Err(SignatureError::Invalid);
    }
    Ok(Signed { timestamp: None, replay_key: ReplayKey::content(&[body]) })
}

/// Slack: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 over `v0:{X-Slack-Request-Timestamp}:{body}`.
/// Slack has no delivery id: the signed content is the replay key, so a captured request
/// replayed within the tolerance is the same delivery.
pub(super) fn slack(secrets: &[String], headers: &HeaderMap, body: &[u8]) -> Result<Signed, SignatureError> {
    const NAME: &str = "x-slack-signature";
    const TIMESTAMP: &str = "x-slack-request-timestamp";
    let raw_timestamp = header(headers, TIMESTAMP)?;
    let signed_at = timestamp(headers, TIMESTAMP)?;
    let signature = header(headers, NAME)?
        .strip_prefix("v0=")
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or_else(|| SignatureError::Missing(NAME.into()))?;
    let content: [&[u8]; 4] = [b"v0:", raw_timestamp.as_bytes(), b":", body];
    let expected: Vec<Vec<u8>> = secrets.iter().map(|secret| mac::sha256(secret.as_bytes(), &content)).collect();
    if !mac::any_matches(&expected, &[signature]) {
        return Err(SignatureError::Invalid);
    }
    Ok(Signed { timestamp: Some(signed_at), replay_key: ReplayKey::content(&content) })
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, SignatureCheck, SignatureConfig, SignatureError};
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
        let verified = config.verify(&signed, body, 1_614_265_330 + 10).expect("verifies");
        assert_eq!(verified.as_str(), "id:msg_p5jXN8AQM9LWM0D4loKWxJek");
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
        let verified = config.verify(&signed, b"Hello, World!", 0).expect("verifies");
        assert!(verified.as_str().starts_with("sha256:"), "{verified:?}");
        assert_eq!(config.verify(&signed, b"Hello, World?", 0), Err(SignatureError::Invalid));
        assert!(matches!(config.verify(&HeaderMap::new(), b"", 0), Err(SignatureError::Missing(_))));
    }
}
