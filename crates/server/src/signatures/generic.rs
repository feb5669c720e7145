//! The generic scheme, for senders that are none of the four: HMAC-SHA256 or -SHA1, the
//! signature in a named header (hex or base64, after an optional prefix such as `sha1=`),
//! over a content template built from `{body}`, `{timestamp}` and `{id}` (taken from named
//! headers), e.g. `{timestamp}.{body}`.

use axum::http::{HeaderMap, HeaderName};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use wasmhook_domain::signature::{Encoding, HmacAlgorithm, HmacConfig};

use super::{ReplayKey, SignatureError, Signed, header, mac, timestamp};

/// Checks the settings' header names and content template.
pub(super) fn validate(config: &HmacConfig) -> Result<(), String> {
    for (field, name) in [("header", Some(&config.header)), ("timestampHeader", config.timestamp_header.as_ref())]
        .into_iter()
        .chain([("idHeader", config.id_header.as_ref())])
    {
        if let Some(name) = name
            && HeaderName::from_bytes(name.as_bytes()).is_err()
        {
            return Err(format!("signature.hmac.{field} {name:?} is not a header name"));
        }
    }
    if !config.content.contains("{body}") {
        return Err("signature.hmac.content must contain {body}".into());
    }
    if config.content.contains("{timestamp}") && config.timestamp_header.is_none() {
        return Err("signature.hmac.content uses {timestamp}: set timestampHeader".into());
    }
    if config.content.contains("{id}") && config.id_header.is_none() {
        return Err("signature.hmac.content uses {id}: set idHeader".into());
    }
    Ok(())
}

/// Verifies; returns the timestamp when a timestamp header is configured, and the replay
/// key: the id when the template signs `{id}`, else the signed content.
pub(super) fn verify(
    config: &HmacConfig,
    secrets: &[String],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Signed, SignatureError> {
    let raw_timestamp = config.timestamp_header.as_deref().map(|name| header(headers, name)).transpose()?;
    let signed_at = config.timestamp_header.as_deref().map(|name| timestamp(headers, name)).transpose()?;
    let id = config.id_header.as_deref().map(|name| header(headers, name)).transpose()?;
    let value = header(headers, &config.header)?;
    let encoded =
        value.strip_prefix(config.prefix.as_str()).ok_or_else(|| SignatureError::Missing(config.header.clone()))?;
    let signature = match config.encoding {
        Encoding::Hex => hex::decode(encoded.trim()).ok(),
        Encoding::Base64 => BASE64.decode(encoded.trim()).ok(),
    }
    .ok_or_else(|| SignatureError::Missing(config.header.clone()))?;
    let parts = content_parts(config, body, raw_timestamp.unwrap_or_default(), id.unwrap_or_default());
    let expected: Vec<Vec<u8>> = secrets
        .iter()
        .map(|secret| match config.algorithm {
            HmacAlgorithm::Sha256 => mac::sha256(secret.as_bytes(), &parts),
            HmacAlgorithm::Sha1 => mac::sha1(secret.as_bytes(), &parts),
        })
        .collect();
    if !mac::any_matches(&expected, &[signature]) {
        return Err(SignatureError::Invalid);
    }
    let replay_key = match id {
        Some(id) if config.content.contains("{id}") => ReplayKey::id(id),
        _ => ReplayKey::content(&parts),
    };
    Ok(Signed { timestamp: signed_at, replay_key })
}

/// The template as pieces: literal text, the body, the timestamp and the id, in order.
fn content_parts<'a>(config: &'a HmacConfig, body: &'a [u8], timestamp: &'a str, id: &'a str) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = config.content.as_str();
    while let Some(start) = rest.find('{') {
        let (literal, tail) = rest.split_at(start);
        let (value, skip): (&[u8], usize) = if tail.starts_with("{body}") {
            (body, 6)
        } else if tail.starts_with("{timestamp}") {
            (timestamp.as_bytes(), 11)
        } else if tail.starts_with("{id}") {
            (id.as_bytes(), 4)
        } else {
            (b"{", 1)
        };
        parts.push(literal.as_bytes());
        parts.push(value);
        rest = &tail[skip..];
    }
    parts.push(rest.as_bytes());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_literal_and_values() {
        let config = HmacConfig {
            algorithm: HmacAlgorithm::Sha256,
            header: "x-sig".into(),
            encoding: Encoding::Hex,
            prefix: String::new(),
            content: "v1:{timestamp}.{id}.{body}{x}".into(),
            timestamp_header: Some("x-ts".into()),
            id_header: Some("x-id".into()),
        };
        let joined: Vec<u8> = content_parts(&config, b"BODY", "123", "ID").concat();
        assert_eq!(joined, b"v1:123.ID.BODY{x}");
        assert!(validate(&config).is_ok());
        let no_body = HmacConfig { content: "{timestamp}".into(), ..config };
        assert!(validate(&no_body).is_err());
    }
}
