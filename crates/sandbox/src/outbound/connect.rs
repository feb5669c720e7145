//! Resolve once, check every address, connect to a checked one, and speak TLS to the name.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, pki_types::ServerName};
use wasmtime_wasi_http::Error;

use super::address;
use wasmhook_domain::allowed_host::{Scheme, Target};

/// A byte stream to the server: plain TCP or TLS over it.
pub(super) trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Why a connection could not be made: the guest's error code, and the record's words.
pub(super) struct ConnectError {
    pub(super) code: Error,
    pub(super) reason: String,
}

impl ConnectError {
    fn new(code: Error, reason: impl Into<String>) -> Self {
        Self { code, reason: reason.into() }
    }
}

/// rustls with the *ring* provider and Mozilla's root certificates (`webpki-roots`): no
/// dependency on the host's CA store, so a run behaves the same on every machine.
pub(super) fn client_config() -> Result<Arc<ClientConfig>, String> {
    let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The target's addresses, each checked. A name with any refused address is refused whole: a
/// name that mixes public and private answers is a rebinding setup, not a service.
pub(super) async fn resolve(target: &Target, allow_private: bool) -> Result<Vec<SocketAddr>, ConnectError> {
    let addresses: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|e| {
                ConnectError::new(
                    Error::DnsError { rcode: Some(e.to_string()), info_code: None },
                    format!("DNS lookup of {} failed: {e}", target.host),
                )
            })?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(ConnectError::new(Error::DestinationNotFound, format!("{} has no address", target.host)));
    }
    if !allow_private {
        for addr in &addresses {
            if let Some(why) = address::refusal(addr.ip()) {
                return Err(ConnectError::new(
                    Error::DestinationIpProhibited,
                    format!("refused: {} resolves to {}, a {why} address", target.host, addr.ip()),
                ));
            }
        }
    }
    Ok(addresses)
}

/// Connects to the first address that answers, then wraps the stream in TLS for `https`.
pub(super) async fn connect(
    target: &Target,
    addresses: &[SocketAddr],
    tls: &Arc<ClientConfig>,
) -> Result<Box<dyn Stream>, ConnectError> {
    let mut last = None;
    let mut tcp = None;
    for addr in addresses {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    let tcp = match (tcp, last) {
        (Some(tcp), _) => tcp,
        (None, Some((addr, e))) => {
            let code = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                Error::ConnectionRefused
            } else {
                Error::DestinationUnavailable
            };
            return Err(ConnectError::new(code, format!("cannot connect to {addr}: {e}")));
        }
        (None, None) => return Err(ConnectError::new(Error::DestinationNotFound, "no address to connect to")),
    };
    let _ = tcp.set_nodelay(true);
    if target.scheme == Scheme::Http {
        return Ok(Box::new(tcp));
    }
    let name = match target.host.parse::<IpAddr>() {
        Ok(ip) => ServerName::from(ip),
        Err(_) => ServerName::try_from(target.host.clone()).map_err(|e| {
            ConnectError::new(Error::HttpRequestUriInvalid, format!("{} is not a TLS server name: {e}", target.host))
        })?,
    };
    let stream = TlsConnector::from(Arc::clone(tls))
        .connect(name, tcp)
        .await
        .map_err(|e| ConnectError::new(Error::TlsProtocolError, format!("TLS with {} failed: {e}", target.host)))?;
    Ok(Box::new(stream))
}

/// [`resolve`] and [`connect`] within `timeout`.
pub(super) async fn open(
    target: &Target,
    allow_private: bool,
    tls: &Arc<ClientConfig>,
    timeout: Duration,
) -> Result<Box<dyn Stream>, ConnectError> {
    let work = async {
        let addresses = resolve(target, allow_private).await?;
        connect(target, &addresses, tls).await
    };
    tokio::time::timeout(timeout, work).await.unwrap_or_else(|_| {
        Err(ConnectError::new(
            Error::ConnectionTimeout,
            format!("connecting to {target} took longer than {} ms", timeout.as_millis()),
        ))
    })
}
