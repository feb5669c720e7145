//! Entry points for the `cargo fuzz` targets in `fuzz/` (feature `fuzzing`): each feeds
//! arbitrary bytes to one parser of untrusted input and must return without panicking,
//! whatever it answers.
//!
//! - [`signature_headers`]: the five schemes' header parsers and MAC checks (senders);
//! - [`request_body`]: a trigger webhook's body handed over to a block (JSON, forms, raw),
//!   and the JSON body rules of the v2/v4 routes;
//! - [`http_output`]: a block's `$http` response shape (guests);
//! - [`config_text`]: a TOML config file and `WASMHOOK_*` variables (operators).

use std::net::SocketAddr;
use wasmhook_domain::ids::WebhookId;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use bytes::Bytes;

use crate::api::body::{parse_json, require_json};
use crate::api::trigger::request::{RequestMeta, hand_over};
use crate::signatures::{Encoding, HmacAlgorithm, HmacConfig, Scheme, SignatureCheck, SignatureConfig};
use wasmhook_sandbox::{AllowedHost, Target};

/// Splits `data` at its first NUL into header lines (`name: value`) and a body.
fn headers_and_body(data: &[u8]) -> (HeaderMap, &[u8]) {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (head, body) = data.split_at(split);
    let mut headers = HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value.trim_ascii())) {
            headers.append(name, value);
        }
    }
    (headers, body.get(1..).unwrap_or_default())
}

/// Every scheme verifies (or refuses) the same request.
pub fn signature_headers(data: &[u8]) {
    let (headers, body) = headers_and_body(data);
    let hmac = HmacConfig {
        algorithm: HmacAlgorithm::Sha256,
        header: "x-signature".into(),
        encoding: if data.len().is_multiple_of(2) { Encoding::Hex } else { Encoding::Base64 },
        prefix: "sha256=".into(),
        content: "{timestamp}.{id}.{body}".into(),
        timestamp_header: Some("x-timestamp".into()),
        id_header: Some("x-id".into()),
    };
    for scheme in [Scheme::StandardWebhooks, Scheme::Stripe, Scheme::Github, Scheme::Slack, Scheme::Hmac] {
        let config = SignatureConfig {
            scheme,
            secrets: vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()],
            tolerance_seconds: 300,
            hmac: (scheme == Scheme::Hmac).then(|| hmac.clone()),
        };
        let _ = config.verify(&headers, body, 1_700_000_000);
    }
}

/// A trigger webhook's request handed over to a block, and the v2/v4 JSON body rules.
pub fn request_body(data: &[u8]) {
    let (headers, body) = headers_and_body(data);
    let method = Method::POST;
    let query = [("source".to_owned(), "fuzz".to_owned())];
    let meta = RequestMeta {
        webhook_id: WebhookId::nil(),
        method: &method,
        headers: &headers,
        query: &query,
        peer: Some(SocketAddr::from(([127, 0, 0, 1], 9))),
        received_at: 0,
    };
    let _ = hand_over(&meta, Bytes::copy_from_slice(body), data.first().is_some_and(|b| b.is_multiple_of(2)));
    if require_json(&headers, body).is_ok() {
        let _ = parse_json::<serde_json::Value>(body);
    }
    crate::api::fuzz_block_settings(body);
    outbound_policy(body);
}

/// Each line as an `allowedHosts` entry and as a request URL, matched against each other, and
/// the address check on any IP in it.
fn outbound_policy(body: &[u8]) {
    let Ok(text) = std::str::from_utf8(body) else { return };
    let entries: Vec<AllowedHost> = text.lines().filter_map(|line| line.parse().ok()).collect();
    for line in text.lines() {
        if let Some(target) = line.parse::<http::Uri>().ok().as_ref().and_then(Target::of) {
            for entry in &entries {
                let _ = entry.allows(&target);
            }
        }
        if let Ok(ip) = line.trim().parse::<std::net::IpAddr>() {
            let _ = wasmhook_sandbox::is_public_address(ip);
        }
    }
}

/// A block's output as a sync trigger webhook answer (the `$http` convention).
pub fn http_output(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        crate::api::trigger::fuzz_answer(text);
    }
}

/// A config file's text, and each line as a `WASMHOOK_*` variable.
pub fn config_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = crate::config::Config::from_file_text(text);
    let env = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (format!("{}{}", crate::config::ENV_PREFIX, k.trim().to_ascii_uppercase()), v.to_owned()));
    let _ = crate::config::Config::load(&crate::config::Flags::default(), env);
}
