//! What a trigger webhook's block is handed, from whatever the sender posted.
//!
//! - JSON (`application/json`, `*+json`, or an undeclared body that parses as JSON) is the data
//!   file itself, byte-exact: `WEBHOOK_BODY_FILE` points at `/webhook/data.json`.
//! - Anything else is kept byte-exact as `/webhook/body`; `data.json` is `{}`, except for
//!   `application/x-www-form-urlencoded`, whose fields are also offered parsed in `data.json`
//!   (a repeated field becomes an array).
//! - With `captureRequest`, `/webhook/headers.json` (lower-cased names, without credentials)
//!   and `/webhook/request.json` (method, query without secret parameters, source IP, time).
//!
//! Secrets never get here: `authorization`, `proxy-authorization` and `cookie` headers and the
//! `token`/`key` query parameters are dropped before anything is written or stored.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use wasmhook_domain::ids::WebhookId;

use axum::http::{HeaderMap, Method, header};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::api::body::require_utf8;
use crate::api::error::ApiError;
use crate::auth::webhook_secret::SECRET_QUERY_PARAMS;
use wasmhook_abi::env as guest_env;
use wasmhook_abi::files::{DATA_FILE_NAME, GUEST_DIR};

use wasmhook_abi::files::{
    BODY_FILE_NAME as BODY_FILE, HEADERS_FILE_NAME as HEADERS_FILE, REQUEST_FILE_NAME as REQUEST_FILE,
};
/// Headers that carry credentials: never captured.
const SECRET_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// The block's view of one call.
#[derive(Debug)]
pub struct Handed {
    /// `/webhook/data.json`.
    pub data: Bytes,
    /// Further files.
    pub files: Vec<(String, Bytes)>,
    /// `WEBHOOK_*` env vars.
    pub env: BTreeMap<String, String>,
}

/// Everything about the request besides its body.
#[derive(Debug)]
pub struct RequestMeta<'a> {
    /// The webhook called.
    pub webhook_id: WebhookId,
    /// Its method.
    pub method: &'a Method,
    /// Its headers.
    pub headers: &'a HeaderMap,
    /// Its decoded query pairs, in order.
    pub query: &'a [(String, String)],
    /// The peer's address.
    pub peer: Option<SocketAddr>,
    /// Arrival time (ms).
    pub received_at: i64,
}

/// The content type's essence (`text/plain`), lower-cased; `None` when absent.
pub fn essence(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()).filter(|e| !e.is_empty())
}

/// Whether `essence` matches one of `patterns` (`type/subtype` or `type/*`).
pub fn content_type_allowed(essence: Option<&str>, patterns: &[String]) -> bool {
    let Some(essence) = essence else { return false };
    patterns.iter().any(|pattern| match pattern.strip_suffix("/*") {
        Some(kind) => essence.split('/').next().is_some_and(|k| k.eq_ignore_ascii_case(kind)),
        None => essence.eq_ignore_ascii_case(pattern),
    })
}

fn is_json(essence: &str) -> bool {
    essence == "application/json" || essence.ends_with("+json")
}

/// Builds the block's files and env from the request.
pub fn hand_over(meta: &RequestMeta<'_>, body: Bytes, capture: bool) -> Result<Handed, ApiError> {
    let essence = essence(meta.headers);
    let content_type =
        meta.headers.get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let empty = body.iter().all(u8::is_ascii_whitespace);
    let json_body = match essence.as_deref() {
        _ if empty => false,
        Some(e) if is_json(e) => {
            require_utf8(&body)?;
            serde_json::from_slice::<serde::de::IgnoredAny>(&body).map_err(|e| {
                ApiError::bad_request(format!("the body is declared as JSON but is not valid JSON: {e}"))
            })?;
            true
        }
        Some(_) => false,
        // Undeclared: JSON only if it is UTF-8 JSON; anything else is handed over as raw bytes.
        None => std::str::from_utf8(&body).is_ok() && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok(),
    };

    let mut files = Vec::new();
    let data_path = format!("{GUEST_DIR}/{DATA_FILE_NAME}");
    let (data, body_path) = if json_body {
        (body, data_path)
    } else {
        let data = if essence.as_deref() == Some("application/x-www-form-urlencoded") {
            Bytes::from(Value::Object(pairs_to_object(form_urlencoded::parse(&body).into_owned())).to_string())
        } else {
            Bytes::from_static(b"{}")
        };
        files.push((BODY_FILE.to_owned(), body));
        (data, format!("{GUEST_DIR}/{BODY_FILE}"))
    };

    let mut env = BTreeMap::from([
        (guest_env::BODY_FILE.to_owned(), body_path),
        (guest_env::CONTENT_TYPE.to_owned(), content_type.unwrap_or_default()),
        (guest_env::WEBHOOK_ID.to_owned(), meta.webhook_id.to_string()),
    ]);
    if capture {
        files.push((HEADERS_FILE.to_owned(), Bytes::from(captured_headers(meta.headers).to_string())));
        files.push((REQUEST_FILE.to_owned(), Bytes::from(captured_request(meta).to_string())));
        env.insert(guest_env::HEADERS_FILE.to_owned(), format!("{GUEST_DIR}/{HEADERS_FILE}"));
        env.insert(guest_env::REQUEST_FILE.to_owned(), format!("{GUEST_DIR}/{REQUEST_FILE}"));
    }
    Ok(Handed { data, files, env })
}

/// Headers as `{name: value}`, repeated ones joined with `, `, credentials dropped.
fn captured_headers(headers: &HeaderMap) -> Value {
    let mut out: BTreeMap<&str, String> = BTreeMap::new();
    for (name, value) in headers {
        if SECRET_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes());
        out.entry(name.as_str())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    json!(out)
}

fn captured_request(meta: &RequestMeta<'_>) -> Value {
    let query = meta.query.iter().filter(|(k, _)| !SECRET_QUERY_PARAMS.contains(&k.as_str())).cloned();
    json!({
        "method": meta.method.as_str(),
        "query": Value::Object(pairs_to_object(query)),
        "sourceIp": meta.peer.map(|p| p.ip().to_string()),
        "receivedAt": meta.received_at,
        "webhookId": meta.webhook_id,
    })
}

/// Decoded pairs as an object: a key seen once is a string, a repeated key an array.
fn pairs_to_object(pairs: impl IntoIterator<Item = (String, String)>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in pairs {
        match out.get_mut(&key) {
            None => {
                out.insert(key, Value::String(value));
            }
            Some(Value::Array(values)) => values.push(Value::String(value)),
            Some(first) => *first = Value::Array(vec![first.take(), Value::String(value)]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn meta<'a>(headers: &'a HeaderMap, query: &'a [(String, String)]) -> RequestMeta<'a> {
        RequestMeta {
            webhook_id: WebhookId::nil(),
            method: &Method::POST,
            headers,
            query,
            peer: Some(SocketAddr::from(([10, 0, 0, 7], 5555))),
            received_at: 1,
        }
    }

    fn file<'a>(handed: &'a Handed, name: &str) -> Option<&'a Bytes> {
        handed.files.iter().find(|(n, _)| n == name).map(|(_, b)| b)
    }

    #[test]
    fn json_is_the_data_file_and_anything_else_is_the_body_file() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
        let handed = hand_over(&meta(&headers, &[]), Bytes::from_static(b"[1, 2]"), false).expect("json");
        assert_eq!(&handed.data[..], b"[1, 2]");
        assert!(handed.files.is_empty());
        assert_eq!(handed.env[guest_env::BODY_FILE], "/webhook/data.json");
        assert!(hand_over(&meta(&headers, &[]), Bytes::from_static(b"{nope"), false).is_err());

        headers.insert("content-type", HeaderValue::from_static("application/xml"));
        let xml = Bytes::from_static(b"<a>\x00\xff</a>");
        let handed = hand_over(&meta(&headers, &[]), xml.clone(), false).expect("xml");
        assert_eq!(&handed.data[..], b"{}");
        assert_eq!(file(&handed, "body"), Some(&xml));
        assert_eq!(handed.env[guest_env::CONTENT_TYPE], "application/xml");
        assert_eq!(handed.env[guest_env::BODY_FILE], "/webhook/body");

        let undeclared = hand_over(&meta(&HeaderMap::new(), &[]), Bytes::from_static(b"{\"a\":1}"), false);
        assert_eq!(&undeclared.expect("sniffed").data[..], b"{\"a\":1}");
    }

    #[test]
    fn forms_are_also_parsed() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/x-www-form-urlencoded"));
        let body = Bytes::from_static(b"name=Ada+L&tag=a&tag=b&empty=");
        let handed = hand_over(&meta(&headers, &[]), body.clone(), false).expect("form");
        let data: Value = serde_json::from_slice(&handed.data).expect("json");
        assert_eq!(data, json!({"name": "Ada L", "tag": ["a", "b"], "empty": ""}));
        assert_eq!(file(&handed, "body"), Some(&body));
    }

    #[test]
    fn captured_requests_hold_no_credentials() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer s3cret"));
        headers.insert("cookie", HeaderValue::from_static("session=s3cret"));
        headers.insert("x-github-event", HeaderValue::from_static("push"));
        headers.append("x-multi", HeaderValue::from_static("1"));
        headers.append("x-multi", HeaderValue::from_static("2"));
        let query = vec![("token".to_owned(), "s3cret".to_owned()), ("source".to_owned(), "ci".to_owned())];
        let handed = hand_over(&meta(&headers, &query), Bytes::from_static(b"{}"), true).expect("capture");
        let headers: Value = serde_json::from_slice(file(&handed, "headers.json").expect("headers")).expect("json");
        assert_eq!(headers, json!({"x-github-event": "push", "x-multi": "1, 2"}));
        let request: Value = serde_json::from_slice(file(&handed, "request.json").expect("request")).expect("json");
        assert_eq!(request["query"], json!({"source": "ci"}));
        assert_eq!(request["sourceIp"], "10.0.0.7");
        let everything: Vec<u8> = handed.files.iter().flat_map(|(_, bytes)| bytes.to_vec()).collect();
        assert!(!String::from_utf8_lossy(&everything).contains("s3cret"));
    }

    #[test]
    fn content_type_patterns() {
        let allowed = vec!["application/json".to_owned(), "text/*".to_owned()];
        assert!(content_type_allowed(Some("application/json"), &allowed));
        assert!(content_type_allowed(Some("text/csv"), &allowed));
        assert!(!content_type_allowed(Some("application/xml"), &allowed));
        assert!(!content_type_allowed(None, &allowed));
    }
}
