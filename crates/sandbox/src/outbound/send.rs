//! One allowed request: connect, send over HTTP/1.1, and hand the guest a response whose body
//! is capped and counted.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::time::Sleep;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use super::connect::{self, ConnectError};
use super::record::CallHandle;
use super::{Network, NetworkPolicy, SendResult, Target};

/// The limits of one request: the block's, narrowed by what the guest asked for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    max_request_bytes: u64,
    max_response_bytes: u64,
    connect_timeout: Duration,
    first_byte_timeout: Option<Duration>,
    between_bytes_timeout: Option<Duration>,
}

impl Limits {
    /// A guest's `request-options` may shorten the connect timeout, never lengthen it.
    pub(super) fn of(policy: &NetworkPolicy, options: Option<RequestOptions>) -> Self {
        let options = options.unwrap_or_default();
        Self {
            max_request_bytes: policy.max_request_bytes,
            max_response_bytes: policy.max_response_bytes,
            connect_timeout: options.connect_timeout.map_or(policy.connect_timeout, |t| t.min(policy.connect_timeout)),
            first_byte_timeout: options.first_byte_timeout,
            between_bytes_timeout: options.between_bytes_timeout,
        }
    }
}

/// `scheme://host:port/path` of a request: the query (often a token) and user info left out.
pub(super) fn recorded_url(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("https");
    let host = uri.host().unwrap_or("");
    let path = uri.path();
    match uri.port_u16() {
        Some(port) => format!("{scheme}://{host}:{port}{path}"),
        None => format!("{scheme}://{host}{path}"),
    }
}

/// Sends an allowed request and records how it went.
pub(super) async fn send(
    network: Arc<Network>,
    target: Target,
    own_api: bool,
    request: http::Request<WasiBody>,
    limits: Limits,
    call: CallHandle,
) -> SendResult {
    exchange(&network, &target, own_api, request, limits, &call).await.map_err(|ConnectError { code, reason }| {
        call.fail(reason);
        code
    })
}

fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

async fn exchange(
    network: &Network,
    target: &Target,
    own_api: bool,
    request: http::Request<WasiBody>,
    limits: Limits,
    call: &CallHandle,
) -> Result<(http::Response<WasiBody>, Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>), ConnectError> {
    let refused = |code, reason: String| ConnectError { code, reason };
    if declared_length(request.headers()).is_some_and(|n| n > limits.max_request_bytes) {
        return Err(refused(
            Error::HttpRequestBodySize(Some(limits.max_request_bytes)),
            format!("refused: the request body is over network.maxRequestBytes ({})", limits.max_request_bytes),
        ));
    }
    // The server's own API may sit on a private address; it is the one exception.
    let allow_private = network.allow_private || own_api;
    let stream = connect::open(target, allow_private, &network.tls, limits.connect_timeout).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, RequestBody>(TokioIo::new(stream))
        .await
        .map_err(|e| refused(Error::from(e), format!("HTTP handshake with {target} failed")))?;

    let (mut parts, body) = request.into_parts();
    // Origin form on the wire: the scheme and authority are for proxies (`Host` is already set).
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = http::Uri::try_from(path)
        .map_err(|e| refused(Error::HttpRequestUriInvalid, format!("unusable request path: {e}")))?;
    let body = RequestBody { inner: body, remaining: limits.max_request_bytes, call: call.clone() };
    let exchange = sender.send_request(http::Request::from_parts(parts, body));

    let mut conn = Box::pin(conn);
    let answered = async {
        tokio::select! {
            response = exchange => response.map_err(|e| {
                let reason = format!("{target} did not answer: {e}");
                refused(Error::from(e), reason)
            }),
            ended = &mut conn => Err(refused(
                Error::HttpResponseIncomplete,
                format!("{target} closed the connection before answering ({})", ended.err().map_or_else(String::new, |e| e.to_string())),
            )),
        }
    };
    let response = match limits.first_byte_timeout {
        None => answered.await?,
        Some(timeout) => tokio::time::timeout(timeout, answered).await.map_err(|_| {
            refused(
                Error::ConnectionReadTimeout,
                format!("no response within the guest's first-byte timeout ({timeout:?})"),
            )
        })??,
    };
    call.responded(response.status().as_u16());
    if declared_length(response.headers()).is_some_and(|n| n > limits.max_response_bytes) {
        return Err(refused(
            Error::HttpResponseBodySize(declared_length(response.headers())),
            format!("the response body is over network.maxResponseBytes ({})", limits.max_response_bytes),
        ));
    }
    let response = response.map(|incoming| {
        ResponseBody {
            inner: incoming,
            remaining: limits.max_response_bytes,
            cap: limits.max_response_bytes,
            call: call.clone(),
            between: limits.between_bytes_timeout.map(|t| (t, Box::pin(tokio::time::sleep(t)))),
        }
        .boxed_unsync()
    });
    let io = async move { conn.await.map_err(Error::from) };
    Ok((response, Box::new(io)))
}

/// The guest's request body, counted and cut at `maxRequestBytes`.
struct RequestBody {
    inner: WasiBody,
    remaining: u64,
    call: CallHandle,
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        let frame = std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            let n = data.len() as u64;
            if n > this.remaining {
                this.call.fail("the request body went over network.maxRequestBytes");
                return Poll::Ready(Some(Err(Error::HttpRequestBodySize(None))));
            }
            this.remaining -= n;
            this.call.sent(n);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The server's response body, counted, cut at `maxResponseBytes`, and timed between frames
/// when the guest asked for it.
struct ResponseBody {
    inner: Incoming,
    remaining: u64,
    cap: u64,
    call: CallHandle,
    between: Option<(Duration, Pin<Box<Sleep>>)>,
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let n = data.len() as u64;
                    if n > this.remaining {
                        this.call.fail(format!("the response body went over network.maxResponseBytes ({})", this.cap));
                        return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(this.cap)))));
                    }
                    this.remaining -= n;
                    this.call.received(n);
                }
                if let Some((timeout, sleep)) = &mut this.between {
                    sleep.as_mut().reset(tokio::time::Instant::now() + *timeout);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.call.fail(format!("reading the response body failed: {e}"));
                Poll::Ready(Some(Err(Error::from(e))))
            }
            Poll::Ready(None) => {
                this.call.received(0);
                Poll::Ready(None)
            }
            Poll::Pending => {
                if let Some((timeout, sleep)) = &mut this.between
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    this.call.fail(format!("no response bytes within the guest's between-bytes timeout ({timeout:?})"));
                    return Poll::Ready(Some(Err(Error::ConnectionReadTimeout)));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
