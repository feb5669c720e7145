//! Outbound requests over `wasi:http`, without wit-bindgen in sight.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// `GET url`.
///
/// ```no_run
/// let rates = wasmhook_sdk::http::get("https://api.example.com/rates?base=EUR")?;
/// let body: serde_json::Value = rates.json()?;
/// # Ok::<(), wasmhook_sdk::Error>(())
/// ```
pub fn get(url: &str) -> Result<Response, HttpError> {
    Request::get(url).send()
}

/// `POST url` with `body` as JSON (`content-type: application/json`).
pub fn post_json(url: &str, body: &impl Serialize) -> Result<Response, HttpError> {
    Request::post(url).json(body)?.send()
}

/// A request to build up and [`send`](Request::send).
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// A request with any method (`PUT`, `PATCH`, `DELETE`, …).
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Self { method: method.into(), url: url.into(), headers: Vec::new(), body: Vec::new() }
    }

    /// A `GET`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A `POST`.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// Adds a header (`host`, `connection` and other hop-by-hop headers are set by the host).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json(self, body: &impl Serialize) -> Result<Self, HttpError> {
        let bytes = serde_json::to_vec(body).map_err(|e| HttpError::local(format!("request body: {e}")))?;
        Ok(self.header("content-type", "application/json").body(bytes))
    }

    /// Sends it and reads the whole response.
    pub fn send(self) -> Result<Response, HttpError> {
        imp::send(self)
    }
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of a header, by case-insensitive name, if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// The body bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| HttpError::local(format!("response body is not the JSON expected: {e}")))
    }
}

/// Why a request got no response: refused by the host's policy, or a network failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// The `wasi:http` error code in kebab case (`HTTP-request-denied`,
    /// `destination-IP-prohibited`, `connection-refused`, …), or `local` for an error of the
    /// block's own making (a bad URL, a body that is not JSON).
    code: String,
    message: String,
}

impl HttpError {
    pub(crate) fn local(message: String) -> Self {
        Self { code: "local".into(), message }
    }

    /// A response that is not a success, as an error (code `status`).
    pub(crate) fn status(status: u16, body: String) -> Self {
        Self { code: "status".into(), message: format!("answered {status}: {body}") }
    }

    /// The `wasi:http` error code (`HTTP-request-denied`, `destination-IP-prohibited`, …).
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The host refused the request: the target is not in the block's `allowedHosts`.
    pub fn is_denied(&self) -> bool {
        self.code == "HTTP-request-denied"
    }

    /// The host refused the target's address (private, loopback, link-local, …).
    pub fn is_prohibited(&self) -> bool {
        self.code == "destination-IP-prohibited"
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for HttpError {}

/// Splits `scheme://authority/path?query` into its parts; the path defaults to `/`.
fn split_url(url: &str) -> Result<(&str, &str, String), HttpError> {
    let (scheme, rest) =
        url.split_once("://").ok_or_else(|| HttpError::local(format!("{url:?} is not an absolute http(s) URL")))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() {
        return Err(HttpError::local(format!("{url:?} has no host")));
    }
    let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
    Ok((scheme, authority, path))
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{
        ErrorCode, Fields, IncomingBody, IncomingResponse, Method, OutgoingBody, OutgoingRequest, Scheme,
    };
    use wasip2::io::streams::StreamError;

    use super::{HttpError, Request, Response, split_url};

    /// Bytes per `blocking-write-and-flush` (the most one call may take).
    const WRITE_CHUNK: usize = 4096;
    /// Bytes asked for per read of the response body.
    const READ_CHUNK: u64 = 64 << 10;

    pub(super) fn send(request: Request) -> Result<Response, HttpError> {
        let (scheme, authority, path) = split_url(&request.url)?;
        let headers = Fields::new();
        for (name, value) in &request.headers {
            headers.append(name, value.as_bytes()).map_err(|e| HttpError::local(format!("header {name:?}: {e:?}")))?;
        }
        if !request.body.is_empty() {
            let length = request.body.len().to_string();
            headers
                .set("content-length", &[length.into_bytes()])
                .map_err(|e| HttpError::local(format!("content-length: {e:?}")))?;
        }
        let outgoing = OutgoingRequest::new(headers);
        let method = match request.method.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_owned()),
        };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => return Err(HttpError::local(format!("scheme {other:?} is not http or https"))),
        };
        let invalid = |what: &str| HttpError::local(format!("the URL's {what} is not valid: {}", request.url));
        outgoing.set_method(&method).map_err(|()| invalid("method"))?;
        outgoing.set_scheme(Some(&scheme)).map_err(|()| invalid("scheme"))?;
        outgoing.set_authority(Some(authority)).map_err(|()| invalid("host"))?;
        outgoing.set_path_with_query(Some(&path)).map_err(|()| invalid("path"))?;
        let body = outgoing.body().map_err(|()| HttpError::local("the request body was taken twice".into()))?;
        let pending = outgoing_handler::handle(outgoing, None).map_err(failed)?;
        // A request the host refuses fails its body stream too; the response's error code says
        // why, so a failed write only counts when the response has no error of its own.
        let written = write_body(body, &request.body);
        pending.subscribe().block();
        let response = match pending.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(failed(code)),
            Some(Err(())) | None => return Err(HttpError::local("the response was not ready".into())),
        };
        written?;
        read(response)
    }

    fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), HttpError> {
        {
            let stream =
                body.write().map_err(|()| HttpError::local("the request body stream was taken twice".into()))?;
            for chunk in bytes.chunks(WRITE_CHUNK) {
                stream.blocking_write_and_flush(chunk).map_err(|e| stream_failed(e, "sending the request body"))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(failed)
    }

    fn read(response: IncomingResponse) -> Result<Response, HttpError> {
        let status = response.status();
        let headers = response.headers().entries();
        let body = response.consume().map_err(|()| HttpError::local("the response body was taken twice".into()))?;
        let mut bytes = Vec::new();
        {
            let stream = body.stream().map_err(|()| HttpError::local("the response stream was taken twice".into()))?;
            loop {
                match stream.blocking_read(READ_CHUNK) {
                    Ok(chunk) => bytes.extend_from_slice(&chunk),
                    Err(StreamError::Closed) => break,
                    Err(error) => return Err(stream_failed(error, "reading the response body")),
                }
            }
        }
        let _trailers = IncomingBody::finish(body);
        Ok(Response { status, headers, body: bytes })
    }

    fn stream_failed(error: StreamError, doing: &str) -> HttpError {
        match error {
            StreamError::LastOperationFailed(e) => match wasip2::http::types::http_error_code(&e) {
                Some(code) => failed(code),
                None => HttpError { code: "io".into(), message: format!("{doing}: {}", e.to_debug_string()) },
            },
            StreamError::Closed => HttpError { code: "io".into(), message: format!("{doing}: the stream closed") },
        }
    }

    fn failed(code: ErrorCode) -> HttpError {
        let name = match &code {
            ErrorCode::DnsTimeout => "DNS-timeout",
            ErrorCode::DnsError(_) => "DNS-error",
            ErrorCode::DestinationNotFound => "destination-not-found",
            ErrorCode::DestinationUnavailable => "destination-unavailable",
            ErrorCode::DestinationIpProhibited => "destination-IP-prohibited",
            ErrorCode::DestinationIpUnroutable => "destination-IP-unroutable",
            ErrorCode::ConnectionRefused => "connection-refused",
            ErrorCode::ConnectionTerminated => "connection-terminated",
            ErrorCode::ConnectionTimeout => "connection-timeout",
            ErrorCode::ConnectionReadTimeout => "connection-read-timeout",
            ErrorCode::ConnectionWriteTimeout => "connection-write-timeout",
            ErrorCode::ConnectionLimitReached => "connection-limit-reached",
            ErrorCode::TlsProtocolError => "TLS-protocol-error",
            ErrorCode::TlsCertificateError => "TLS-certificate-error",
            ErrorCode::HttpRequestDenied => "HTTP-request-denied",
            ErrorCode::HttpRequestBodySize(_) => "HTTP-request-body-size",
            ErrorCode::HttpRequestUriInvalid => "HTTP-request-URI-invalid",
            ErrorCode::HttpResponseBodySize(_) => "HTTP-response-body-size",
            ErrorCode::HttpResponseIncomplete => "HTTP-response-incomplete",
            ErrorCode::HttpResponseTimeout => "HTTP-response-timeout",
            ErrorCode::HttpProtocolError => "HTTP-protocol-error",
            _ => "other",
        };
        let message = match &code {
            ErrorCode::HttpRequestDenied => {
                "the host refused it: the target is not in the block's network.allowedHosts".into()
            }
            ErrorCode::DestinationIpProhibited => {
                "the host refused it: the target's address is private, loopback or otherwise not public".into()
            }
            ErrorCode::ConnectionLimitReached => "the host refused it: the run has sent its network.maxRequests".into(),
            other => format!("{other:?}"),
        };
        HttpError { code: name.into(), message }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{HttpError, Request, Response, split_url};

    /// Outside a wasm host there is no `wasi:http` to call.
    pub(super) fn send(request: Request) -> Result<Response, HttpError> {
        split_url(&request.url)?;
        Err(HttpError::local(format!(
            "{} {}: outbound HTTP needs the wasm32-wasip2 target and a wasmhook host",
            request.method, request.url
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_host_and_path() {
        assert_eq!(split_url("https://api.x.com/v1?a=1").expect("url"), ("https", "api.x.com", "/v1?a=1".to_owned()));
        assert_eq!(split_url("http://127.0.0.1:8099").expect("url"), ("http", "127.0.0.1:8099", "/".to_owned()));
        assert_eq!(split_url("http://h?q=1").expect("url"), ("http", "h", "/?q=1".to_owned()));
        assert!(split_url("api.x.com/v1").is_err());
        assert!(split_url("https:///v1").is_err());
    }
}
