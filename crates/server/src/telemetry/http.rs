//! The request middleware: counts every answered request by method, route template and
//! status, and observes its latency (head in to head out; a streamed body is not waited for).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::metrics::{Method, Metrics};

/// The label of a request no route matched (404s, probes of random paths): one series for all
/// of them, so a scanner cannot grow the label set.
pub const UNMATCHED: &str = "unmatched";

/// Counts `request` once its response is ready.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = Method::from(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str).to_owned();
    let response = next.run(request).await;
    metrics.request(method, route, response.status().as_u16(), started.elapsed());
    response
}
