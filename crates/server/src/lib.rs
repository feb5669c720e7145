//! wasmhook: a self-hosted engine that turns webhooks into sandboxed runs of user-uploaded
//! WebAssembly components.
//!
//! Data flows one way: api → auth → executor → sandbox → store. [`sandbox`] is the wasmtime
//! core and knows nothing of HTTP; [`api`] knows nothing of wasmtime.
//!
//! Tests and embedders start the real server with [`app`] and [`run`] on any listener.

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod callbacks;
pub mod config;
pub mod executor;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod ratelimit;
pub mod secrets;
pub mod serve;
pub mod signatures;
pub mod state;
pub mod telemetry;
pub mod ui;

use std::future::Future;

use axum::Router;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use std::sync::Arc;
use tokio::net::TcpListener;

pub use config::Config;
pub use state::{AppState, BootstrapKey};

/// The application: every route, with its state.
///
/// Each request runs in a `request` span naming the method, the matched route template (never
/// the URI: a trigger webhook's URL is a capability and its query may hold the secret,
/// `?token=`), the status sent and, once authenticated, the caller's team. With metrics on,
/// every request is also counted ([`telemetry::http`]) and `GET /metrics` is served.
pub fn app(state: AppState) -> Router {
    let trace = tower_http::trace::TraceLayer::new_for_http()
        .make_span_with(|request: &Request<Body>| {
            let route =
                request.extensions().get::<MatchedPath>().map_or(telemetry::http::UNMATCHED, MatchedPath::as_str);
            tracing::debug_span!(
                "request",
                method = %request.method(),
                route,
                status = tracing::field::Empty,
                team_id = tracing::field::Empty,
            )
        })
        .on_response(|response: &Response<Body>, _: std::time::Duration, span: &tracing::Span| {
            span.record("status", response.status().as_u16());
        });
    let metrics = state.telemetry.as_ref().map(|telemetry| Arc::clone(&telemetry.metrics));
    let mut router = api::router();
    if metrics.is_some() {
        router = router.route("/metrics", axum::routing::get(telemetry::scrape::metrics));
    }
    let router = router.with_state(state);
    let router = match metrics {
        Some(metrics) => router.layer(telemetry::http::CountRequests(metrics)),
        None => router,
    };
    router.layer(trace)
}

/// Serves `state` on `listener` until `shutdown` resolves; then stops accepting connections,
/// lets in-flight requests finish, stops the workers taking queued work and waits up to
/// `shutdown_grace` for runs in flight, and commits the last records. Queued work stays queued
/// for the next start.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let executor = state.executor.clone();
    let store = state.store.clone();
    let grace = state.config.shutdown_grace;
    let limits = serve::ConnectionLimits {
        header_timeout: state.config.header_timeout,
        max_connections: state.config.max_connections,
        drain: grace,
    };
    let served = serve::serve(listener, app(state), limits, shutdown).await;
    executor.shutdown(grace).await;
    // Records queued without waiting (sync runs) are committed before the process exits.
    if let Err(error) = store.executions().flush().await {
        tracing::error!(%error, "could not commit the last execution records");
    }
    served
}
