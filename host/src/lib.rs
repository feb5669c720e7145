//! wasmhook: a self-hosted engine that turns webhooks into sandboxed runs of user-uploaded
//! WebAssembly components.
//!
//! Data flows one way: api → auth → executor → sandbox → store. [`sandbox`] is the wasmtime
//! core and knows nothing of HTTP; [`api`] knows nothing of wasmtime.
//!
//! Tests and embedders start the real server with [`app`] and [`run`] on any listener.

pub mod api;
pub mod auth;
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

/// Serves `state` on `listener` until `shutdown` resolves, then stops accepting connections
/// and lets in-flight requests (and their runs) finish.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}
