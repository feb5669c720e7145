//! The HTTP/1.1 server loop, in place of `axum::serve`, which sets no timeouts: 200 clients
//! that sent half a request line were all still connected 35 s later, and graceful shutdown
//! waited on them.
//!
//! - **Header timeout** (`header_timeout_ms`, 10 s): a request's head must arrive within it.
//!   hyper starts this timer whenever it waits for a head, so it is also the idle timeout of
//!   a kept-alive connection between requests.
//! - **Body timeout** (`body_timeout_ms`): enforced where bodies are read ([`crate::api`]'s
//!   `read_limited`), as a deadline for the whole body (408), not per chunk, so a client
//!   trickling a byte at a time cannot hold a connection open.
//! - **Connection cap** (`max_connections`): past it, accepting pauses and new clients wait
//!   in the kernel's backlog instead of taking file descriptors.
//! - **Shutdown**: stop accepting, let requests in flight finish, close idle connections,
//!   and stop waiting after `shutdown_grace`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// Raises this process's soft open-file limit to its hard limit. Every connection and every
/// file a run opens is a descriptor; the soft limit is often 1,024, which hostile runs at
/// their per-run resource cap could use up, and then `accept` fails for everyone.
pub fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open file limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open file limit"),
    }
}

/// The connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Longest wait for a request head (and between kept-alive requests).
    pub header_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Longest wait for connections to finish after shutdown begins.
    pub drain: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains (see the module doc).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break, // the semaphore is never closed
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or a reset before accept: wait, don't spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown()).await.is_err() {
        tracing::warn!(drain = ?limits.drain, "connections still open after the drain period");
    }
    Ok(())
}
