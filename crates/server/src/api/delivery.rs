//! What the webhook routes share about deliveries: async or sync (`Prefer: respond-async`,
//! `?wait=false`), where the idempotency key comes from, and the 202 answer.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use wasmhook_domain::ids::ExecutionId;

use super::error::ApiError;
use crate::executor::{IdempotencyKey, Mode};
use crate::signatures::ReplayKey;

/// Header set on answers that repeat an earlier delivery with the same idempotency key.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Standard Webhooks' message id: a retried message keeps it.
const WEBHOOK_ID_HEADER: &str = "webhook-id";
const MAX_KEY_LEN: usize = 255;

/// Async when the caller sends `Prefer: respond-async` (RFC 7240) or `?wait=false`.
pub fn mode(headers: &HeaderMap, query: Option<&str>) -> Result<Mode, ApiError> {
    let prefers_async = headers.get_all(header::HeaderName::from_static("prefer")).iter().any(|value| {
        value.to_str().unwrap_or_default().split(',').any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
    });
    let mut wait = None;
    // One query parser for every route (`form_urlencoded`, as axum's `Query` and the trigger
    // routes use): `wait` may be percent-encoded like any parameter.
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if name == "wait" {
            wait = Some(match &*value {
                "true" => true,
                "false" => false,
                other => return Err(ApiError::bad_request(format!("wait must be true or false, got {other:?}"))),
            });
        }
    }
    Ok(if prefers_async || wait == Some(false) { Mode::Async } else { Mode::Sync })
}

/// The delivery's idempotency key with the hash of `body` (computed only when there is a key).
pub fn idempotency(
    headers: &HeaderMap,
    body: &[u8],
    data: &[u8],
    pointer: Option<&str>,
) -> Result<Option<IdempotencyKey>, ApiError> {
    let key = idempotency_key(headers, data, pointer)?;
    Ok(key.map(|key| IdempotencyKey { key, request_hash: Sha256::digest(body).into() }))
}

/// The idempotency key of a request whose signature verified: the signature's replay key, and
/// never an unsigned header, which a replayer could change to run a captured request again.
///
/// Under a signed delivery id the sender vouches that a repeat is the same delivery even if
/// its bytes differ (Stripe re-renders an event's `pending_webhooks` between attempts), so
/// the request hash is the id's and a retry is a replay, not a 409. A content key already
/// is a hash of the bytes.
pub fn signed_idempotency(key: ReplayKey, body: &[u8]) -> IdempotencyKey {
    let request_hash = if key.is_delivery_id() { Sha256::digest(key.as_str()) } else { Sha256::digest(body) };
    IdempotencyKey { key: key.into_string(), request_hash: request_hash.into() }
}

/// The key: the `Idempotency-Key` header, else Standard Webhooks' `webhook-id`, else the value
/// at the block's/doc's JSON pointer in `data`. No key, no deduplication: a key is never
/// guessed from the body.
fn idempotency_key(headers: &HeaderMap, data: &[u8], pointer: Option<&str>) -> Result<Option<String>, ApiError> {
    for name in [IDEMPOTENCY_KEY_HEADER, WEBHOOK_ID_HEADER] {
        if let Some(value) = headers.get(name) {
            let key = value.to_str().map_err(|_| ApiError::bad_request(format!("{name} must be printable ASCII")))?;
            if key.is_empty() || key.len() > MAX_KEY_LEN {
                return Err(ApiError::bad_request(format!("{name} must be 1 to {MAX_KEY_LEN} characters")));
            }
            return Ok(Some(key.to_owned()));
        }
    }
    let Some(pointer) = pointer else { return Ok(None) };
    let data: Value = serde_json::from_slice(data).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(match data.pointer(pointer) {
        Some(Value::String(key)) if !key.is_empty() => Some(key.chars().take(MAX_KEY_LEN).collect()),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    })
}

/// 202 with `Location` to poll the first execution.
pub fn accepted(body: impl serde::Serialize, first: ExecutionId, replayed: bool) -> Response {
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/executions/{first}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    mark_replayed(response, replayed)
}

/// Adds `Idempotent-Replayed: true` to a repeat's answer.
pub fn mark_replayed(mut response: Response, replayed: bool) -> Response {
    if replayed {
        response.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_is_asked_by_header_or_query() {
        let mut headers = HeaderMap::new();
        assert_eq!(mode(&headers, None).expect("mode"), Mode::Sync);
        assert_eq!(mode(&headers, Some("wait=false")).expect("mode"), Mode::Async);
        assert!(mode(&headers, Some("wait=maybe")).is_err());
        // Parsed like every other query: encoded, and among other parameters.
        assert_eq!(mode(&headers, Some("a=1&wait=%66alse")).expect("mode"), Mode::Async);
        assert_eq!(mode(&headers, Some("waiting=false")).expect("mode"), Mode::Sync);
        headers.insert("prefer", HeaderValue::from_static("return=minimal, respond-async"));
        assert_eq!(mode(&headers, None).expect("mode"), Mode::Async);
    }

    #[test]
    fn keys_come_from_headers_first_then_the_pointer() {
        let mut headers = HeaderMap::new();
        let data = br#"{"request_id": "req-7", "n": 3}"#;
        assert_eq!(idempotency_key(&headers, data, None).expect("key"), None);
        assert_eq!(idempotency_key(&headers, data, Some("/request_id")).expect("key").as_deref(), Some("req-7"));
        assert_eq!(idempotency_key(&headers, data, Some("/n")).expect("key").as_deref(), Some("3"));
        assert_eq!(idempotency_key(&headers, data, Some("/missing")).expect("key"), None);
        headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
        assert_eq!(idempotency_key(&headers, data, Some("/request_id")).expect("key").as_deref(), Some("msg_1"));
        headers.insert("idempotency-key", HeaderValue::from_static("idem-1"));
        assert_eq!(idempotency_key(&headers, data, None).expect("key").as_deref(), Some("idem-1"));
    }
}
