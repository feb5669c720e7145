//! Requests the host itself sends on a user's behalf (completion callbacks), under the rules
//! blocks live by: the name resolved once and every address checked (no private, loopback,
//! link-local, … address unless `outbound_allow_private`), a connection to the checked
//! address, TLS checked against the name, no redirects followed, bounded time and bytes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use tokio_rustls::rustls::ClientConfig;

use super::connect;
use wasmhook_domain::Target;

/// The most of a response body the host reads (and keeps for the record).
const MAX_RESPONSE_BYTES: usize = 64 << 10;

/// What came back.
#[derive(Debug, Clone)]
pub struct HostResponse {
    /// The status code.
    pub status: u16,
    /// The body's first bytes (up to 64 KiB).
    pub body: Bytes,
}

/// A client for the host's own requests; cheap to clone.
#[derive(Debug, Clone)]
pub struct HostClient {
    allow_private: bool,
    tls: Arc<ClientConfig>,
}

impl HostClient {
    /// A client that refuses private addresses unless `allow_private`.
    pub fn new(allow_private: bool) -> Result<Self, String> {
        Ok(Self { allow_private, tls: connect::client_config()? })
    }

    /// Checks a URL the host will send to: `http(s)://host[:port]/path`, no user info.
    pub fn check_url(url: &str) -> Result<http::Uri, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(format!("{url:?} has user info; put credentials in a header instead"));
        }
        Target::of(&uri).ok_or_else(|| format!("{url:?} must be an http:// or https:// URL with a host"))?;
        Ok(uri)
    }

    /// POSTs `body` to `uri` with `headers`, all within `timeout` (connect to the end of the
    /// response body). An error is a sentence for the record.
    pub async fn post(
        &self,
        uri: &http::Uri,
        headers: &[(&str, String)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<HostResponse, String> {
        let exchange = async {
            let target = Target::of(uri).ok_or_else(|| format!("{uri} is not an http(s) URL"))?;
            let stream = connect::open(&target, self.allow_private, &self.tls, timeout).await.map_err(|e| e.reason)?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                .await
                .map_err(|e| format!("HTTP handshake with {target} failed: {e}"))?;
            let driver = tokio::spawn(conn);
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let host = uri.authority().map_or_else(|| target.host.clone(), |a| a.as_str().to_owned());
            let mut request = http::Request::post(path).header(http::header::HOST, host);
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            let request = request.body(Full::new(body)).map_err(|e| format!("cannot build the request: {e}"))?;
            let answered = match sender.send_request(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                        .collect()
                        .await
                        .map(|collected| collected.to_bytes())
                        .unwrap_or_default();
                    Ok(HostResponse { status, body })
                }
                Err(error) => Err(format!("{target} did not answer: {error}")),
            };
            driver.abort();
            answered
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(format!("no complete answer within {} ms", timeout.as_millis())))
    }
}
