//! wasmhook: a self-hosted engine that turns webhooks into sandboxed runs of user-uploaded
//! WebAssembly components.
//!
//! Data flows one way: api → auth → executor → sandbox → store. [`sandbox`] is the wasmtime
//! core and knows nothing of HTTP; [`api`] knows nothing of wasmtime.
//!
//! Tests and embedders start the real server with [`app`] and [`run`] on any listener.

pub mod api;
pub mod auth;
pub mod cache;
pub mod config;
pub mod executor;
pub mod sandbox;
pub mod state;
pub mod store;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

pub use config::Config;
pub use state::{AppState, BootstrapKey};

/// The application: every route, with its state.
pub fn app(state: AppState) -> Router {
    api::router().with_state(state).layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Serves `state` on `listener` until `shutdown` resolves; then stops accepting connections,
/// lets in-flight requests finish, stops the workers taking queued work and waits up to
/// `shutdown_grace` for runs in flight. Queued work stays queued for the next start.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let executor = state.executor.clone();
    let grace = state.config.shutdown_grace;
    let served = axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await;
    executor.shutdown(grace).await;
    served
}
