//! Outbound HTTP for blocks: `wasi:http/outgoing-handler`, denied unless the block's
//! `network.allowedHosts` names the target, and SSRF-safe when it does.
//!
//! Every request a guest sends reaches [`Outbound::send_request`], which checks it in order:
//! 1. the run's request budget (`maxRequests`), then the allowlist ([`AllowedHost`]) — a refusal is
//!    `HTTP-request-denied` to the guest;
//! 2. the request body's declared size (`maxRequestBytes`; the body is also counted as it
//!    streams, so a body without `Content-Length` cannot exceed it either);
//! 3. the name is resolved **once** and every address checked ([`address`]): a name with any
//!    private, loopback, link-local, … address is `destination-IP-prohibited`. The connection
//!    goes to a checked address, so a second, rebound DNS answer is never asked for;
//! 4. TLS (rustls, Mozilla's roots) verifies the certificate against the name, not the address.
//!
//! Redirects are not followed (the guest sees the 3xx). The response body is capped at
//! `maxResponseBytes`. No timeout of its own bounds a call beyond the connect timeout: the
//! run's deadline does (a guest waiting on a response is blocked in a host call, which the
//! sandbox's outer deadline ends as `timeout`), and the request's tasks belong to the run's
//! resource table, so they are dropped with the run.

mod address;
mod connect;
mod host_client;
mod record;
mod send;

use std::sync::Arc;
use std::time::Duration;

use http::uri::Scheme as UriScheme;
use wasmtime_wasi_http::{WasiBody, WasiHttpHooks};

pub use host_client::{HostClient, HostResponse};
pub use wasmhook_domain::OutboundCall;
pub use wasmhook_domain::{AllowedHost, AllowedHostError, Target};

pub(crate) use record::CallLog;

/// Whether connecting to `ip` is allowed without `outbound_allow_private`: globally routable
/// unicast only (see [`address`]).
pub fn is_public_address(ip: std::net::IpAddr) -> bool {
    address::refusal(ip).is_none()
}

/// Requests a run may send when its block sets no `maxRequests`.
pub const DEFAULT_MAX_REQUESTS: u32 = 16;
/// Request and response body bytes per request when the block sets no limit.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 8 << 20;
/// How long a connection (DNS, TCP and TLS) may take when the block sets no limit.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What one run may do on the network; built per run from its block's `network` settings.
#[derive(Debug, Clone)]
pub struct NetworkPolicy {
    /// Targets it may call; empty: none.
    pub allowed_hosts: Vec<AllowedHost>,
    /// Headers the host adds to requests to their host (credentials the guest never sees);
    /// their hosts are allowed too.
    pub injected: Vec<InjectedHeader>,
    /// Requests per run, refused ones included.
    pub max_requests: u32,
    /// Request body bytes per request.
    pub max_request_bytes: u64,
    /// Response body bytes per request.
    pub max_response_bytes: u64,
    /// DNS + TCP + TLS time per request.
    pub connect_timeout: Duration,
}

impl Default for NetworkPolicy {
    /// Nothing allowed, default limits.
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            injected: Vec::new(),
            max_requests: DEFAULT_MAX_REQUESTS,
            max_request_bytes: DEFAULT_MAX_BODY_BYTES,
            max_response_bytes: DEFAULT_MAX_BODY_BYTES,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

impl NetworkPolicy {
    fn allows(&self, target: &Target) -> bool {
        self.allowed_hosts.iter().any(|entry| entry.allows(target))
            || self.injected.iter().any(|header| header.host.allows(target))
    }

    /// Sets the headers injected for `target`, replacing any the guest set under those names.
    fn inject(&self, target: &Target, headers: &mut http::HeaderMap) {
        for header in self.injected.iter().filter(|header| header.host.allows(target)) {
            headers.insert(header.name.clone(), header.value.clone());
        }
    }
}

/// A header the host adds to a run's requests to one host. Its value is marked sensitive:
/// `Debug` prints `Sensitive`, and hyper keeps it out of HPACK tables.
#[derive(Debug, Clone)]
pub struct InjectedHeader {
    /// The requests it goes into.
    pub host: AllowedHost,
    /// Its name.
    pub name: http::HeaderName,
    /// Its value.
    pub value: http::HeaderValue,
}

/// Server-wide outbound settings, built once per sandbox.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    /// Connect to private and special addresses too (tests, or a trusted internal network).
    pub(crate) allow_private: bool,
    /// The server's own API: allowed to every run, at whatever address.
    pub(crate) own_api: Option<Target>,
    pub(crate) tls: Arc<tokio_rustls::rustls::ClientConfig>,
}

impl Network {
    pub(crate) fn new(allow_private: bool, api_origin: Option<&str>) -> Result<Self, String> {
        let own_api = api_origin
            .map(|origin| {
                let uri: http::Uri = origin.parse().map_err(|e| format!("the API origin {origin:?}: {e}"))?;
                Target::of(&uri).ok_or_else(|| format!("the API origin {origin:?} is not an http(s) URL"))
            })
            .transpose()?;
        Ok(Self { allow_private, own_api, tls: connect::client_config()? })
    }
}

/// The `wasi:http` hooks of one run: its policy, its request count and its call record.
pub(crate) struct Outbound {
    network: Arc<Network>,
    policy: Option<Arc<NetworkPolicy>>,
    /// Made at the first request: a run that sends none allocates nothing for it.
    log: Option<CallLog>,
    attempts: u32,
}

impl Outbound {
    /// Hooks for a run; `None` denies every request (and still records it).
    pub(crate) fn new(network: Arc<Network>, policy: Option<Arc<NetworkPolicy>>) -> Self {
        Self { network, policy, log: None, attempts: 0 }
    }

    /// The run's calls, for its outcome.
    pub(crate) fn calls(&self) -> Vec<OutboundCall> {
        self.log.as_ref().map(CallLog::take).unwrap_or_default()
    }
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

/// Requests refused past the budget that are still written down; further ones are only
/// refused, so a guest looping on a refused call cannot grow the record.
const RECORDED_OVER_BUDGET: u32 = 1;

impl WasiHttpHooks for Outbound {
    fn is_supported_scheme(&mut self, scheme: &UriScheme) -> bool {
        *scheme == UriScheme::HTTP || *scheme == UriScheme::HTTPS
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        use wasmtime_wasi_http::Error;
        let default_policy;
        let policy: &NetworkPolicy = match &self.policy {
            Some(policy) => policy,
            None => {
                default_policy = NetworkPolicy::default();
                &default_policy
            }
        };
        self.attempts = self.attempts.saturating_add(1);
        if self.attempts > policy.max_requests.saturating_add(RECORDED_OVER_BUDGET) {
            return Box::new(async { Err(Error::ConnectionLimitReached) });
        }
        let call = self
            .log
            .get_or_insert_with(CallLog::default)
            .start(request.method().as_str(), send::recorded_url(request.uri()));
        if self.attempts > policy.max_requests {
            call.fail(format!(
                "refused: the run already sent its {} requests (network.maxRequests)",
                policy.max_requests
            ));
            return Box::new(async { Err(Error::ConnectionLimitReached) });
        }
        let Some(target) = Target::of(request.uri()) else {
            call.fail("refused: the request has no http(s) scheme and host");
            return Box::new(async { Err(Error::HttpRequestUriInvalid) });
        };
        let own_api = self.network.own_api.as_ref() == Some(&target);
        if !own_api && !policy.allows(&target) {
            call.fail(format!("refused: {target} is not in the block's network.allowedHosts"));
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        let mut request = request;
        policy.inject(&target, request.headers_mut());
        let limits = send::Limits::of(policy, options);
        Box::new(send::send(Arc::clone(&self.network), target, own_api, request, limits, call))
    }
}
