//! Request parsing shared by every handler: JSON bodies with clear 400/413/422 answers, and
//! ids from paths that are UUIDs or a 400.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use uuid::Uuid;
use wasmhook_domain::IdError;

use super::error::ApiError;
use crate::state::AppState;

/// A JSON request body of the management API, read within `max_body_bytes` and parsed with the
/// errors above (413, 400 syntax/content type/empty, 422 naming the field). Must be the last
/// extractor of a handler.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let bytes = read_limited(state, &parts.headers, body, state.config.max_body_bytes).await?;
        Ok(Self(parse_owned(&parts.headers, &bytes)?))
    }
}

/// Reads a body of at most `limit` bytes within the server's `body_timeout`. Over the limit is
/// a 413 (checked against `Content-Length` first, so an honest oversized upload is refused
/// before it is read); a body still arriving at the deadline is a 408, so a client trickling
/// bytes cannot hold a connection and a task open.
pub async fn read_limited(state: &AppState, headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    let deadline = state.config.body_timeout;
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await {
        Ok(read) => read.map_err(|_| ApiError::too_large(limit)),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "REQUEST_TIMEOUT",
            format!("the request body did not arrive within {} ms", deadline.as_millis()),
        )),
    }
}

/// Like [`JsonBody`], but an empty body is `T::default()` (action endpoints whose options are
/// all optional, e.g. `POST …/arm`).
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let bytes = read_limited(state, &parts.headers, body, state.config.max_body_bytes).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        Ok(Self(parse_owned(&parts.headers, &bytes)?))
    }
}

/// Checks the body is declared as JSON (or not declared at all) and is not empty.
pub fn require_json(headers: &HeaderMap, bytes: &[u8]) -> Result<(), ApiError> {
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let mime = content_type.to_str().unwrap_or_default();
        let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::bad_request(format!(
                "Content-Type must be application/json, not {mime:?} (curl: -H 'Content-Type: application/json')"
            )));
        }
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request body is empty: send a JSON object (at least {})"));
    }
    require_utf8(bytes)
}

/// JSON text must be UTF-8 (RFC 8259 §8.1). Checked explicitly because `serde_json` does not
/// check strings it skips or keeps raw: invalid bytes inside a string were accepted with a
/// 201 and the delivery then ran with `null` instead of what was sent.
pub fn require_utf8(bytes: &[u8]) -> Result<(), ApiError> {
    std::str::from_utf8(bytes).map(drop).map_err(|e| {
        ApiError::bad_request(format!(
            "the JSON body is not valid UTF-8 (invalid byte at offset {}); JSON text must be UTF-8",
            e.valid_up_to()
        ))
    })
}

/// Deserializes JSON: a syntax error is a 400, a wrong shape a 422 naming the field.
pub fn parse_json<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        json_error(&inner, &path)
    })?;
    de.end().map_err(|e| json_error(&e, "."))?;
    Ok(value)
}

/// A JSON body into an owned `T` (the management API's bodies).
pub fn parse_owned<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, ApiError> {
    require_json(headers, bytes)?;
    parse_json(bytes)
}

fn json_error(error: &serde_json::Error, path: &str) -> ApiError {
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::bad_request(format!("the request body is not valid JSON: {error}"))
        }
        Category::Data if path == "." => ApiError::unprocessable(format!("invalid request body: {error}")),
        Category::Data => ApiError::unprocessable(format!("invalid field `{path}`: {error}")),
    }
}

/// The bytes of a JSON value parsed (as a borrowed `RawValue`) out of `body`, as a slice of
/// the body itself: no copy of a possibly multi-megabyte `data`.
pub fn raw_slice(body: &Bytes, raw: &serde_json::value::RawValue) -> Bytes {
    body.slice_ref(raw.get().as_bytes())
}

/// An id that must be a UUID (a query filter, or a polymorphic target's id); anything else is
/// a 400 naming the parameter. Route ids come typed through [`super::path_id::PathId`].
/// The message is [`IdError`]'s, the one `PathId` answers with.
pub fn parse_id<T: From<Uuid>>(raw: &str, name: &'static str) -> Result<T, ApiError> {
    Uuid::parse_str(raw).map(T::from).map_err(|_| IdError { name, raw: raw.to_owned() }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        count: u32,
    }

    #[test]
    fn syntax_is_400_and_shape_is_422_naming_the_field() {
        assert_eq!(parse_json::<Body>(b"{\"count\": ").expect_err("eof").status().as_u16(), 400);
        let err = parse_json::<Body>(b"{\"count\": \"x\"}").expect_err("type");
        assert_eq!(err.status().as_u16(), 422);
        assert!(format!("{err:?}").contains("count"), "{err:?}");
        assert_eq!(parse_json::<Body>(b"{\"count\": 1} trailing").expect_err("trailing").status().as_u16(), 400);
    }

    #[test]
    fn json_with_invalid_utf8_inside_a_string_is_a_400() {
        let headers = HeaderMap::new();
        let bytes = b"{\"name\": \"caf\xe9\"}";
        let err = require_json(&headers, bytes).expect_err("not UTF-8");
        assert_eq!(err.status().as_u16(), 400);
        assert!(err.message().contains("offset 13"), "{}", err.message());
        assert!(require_json(&headers, "{\"name\": \"café\"}".as_bytes()).is_ok());
    }

    #[test]
    fn ids_must_be_uuids() {
        assert_eq!(parse_id::<Uuid>("not-a-uuid", "doc_id").expect_err("bad").status().as_u16(), 400);
        assert!(parse_id::<Uuid>("0190d5b4-5b8a-7cc2-9b4e-4d5f6a7b8c9d", "doc_id").is_ok());
    }
}
