//! The dashboard's files, embedded into the binary at build time (`crates/server/ui/`), served
//! with their type, an ETag from their SHA-256 and a strict Content-Security-Policy.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

/// Everything under `crates/server/ui/`, in the binary (also in debug builds).
#[derive(Embed)]
#[folder = "ui/"]
#[exclude = "*.md"]
struct Files;

/// Only our own scripts, styles and API; no framing (clickjacking), no inline script.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `GET /ui/assets/{*path}`: one embedded file, or 404.
pub(super) async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers, "public, max-age=300").unwrap_or_else(|| StatusCode::NOT_FOUND.into_response())
}

/// The dashboard's page: the same shell for every `/ui/…` path (the script routes by path).
pub(super) async fn shell(headers: HeaderMap) -> Response {
    serve("index.html", &headers, "no-cache").unwrap_or_else(|| StatusCode::NOT_FOUND.into_response())
}

fn serve(path: &str, headers: &HeaderMap, cache: &'static str) -> Option<Response> {
    let file = Files::get(path)?;
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let mut response = if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mime = file.metadata.mimetype();
        ([(header::CONTENT_TYPE, HeaderValue::from_str(mime).ok()?)], file.data).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, HeaderValue::from_str(&etag).ok()?);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    Some(response)
}
