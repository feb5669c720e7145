//! The request counter: a tower layer that counts every answered request by method, route
//! template and status, and observes its latency (head in to head out; a streamed body is not
//! waited for). A hand-written layer, not `axum::middleware::from_fn`: that boxes the inner
//! service and its future on every request, which measured ≈ 1 µs of a 100 µs v4 call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use tower::{Layer, Service};

use super::metrics::{Method, Metrics};

/// The label of a request no route matched (404s, probes of random paths): one series for all
/// of them, so a scanner cannot grow the label set.
pub const UNMATCHED: &str = "unmatched";

/// Wraps each route's service in [`Counted`].
#[derive(Debug, Clone)]
pub struct CountRequests(pub Arc<Metrics>);

impl<S> Layer<S> for CountRequests {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted { inner, metrics: Arc::clone(&self.0) }
    }
}

/// A service whose answers are counted.
#[derive(Debug, Clone)]
pub struct Counted<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, B, R> Service<Request<B>> for Counted<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = CountedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = Method::from(request.method());
        let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str).to_owned();
        let started = Instant::now();
        CountedFuture {
            inner: self.inner.call(request),
            done: Some(Done { metrics: Arc::clone(&self.metrics), method, route, started }),
        }
    }
}

/// What is counted once the response is ready.
#[derive(Debug)]
struct Done {
    metrics: Arc<Metrics>,
    method: Method,
    route: String,
    started: Instant,
}

pin_project_lite::pin_project! {
    /// The inner service's future; counts its response when it resolves.
    #[derive(Debug)]
    pub struct CountedFuture<F> {
        #[pin]
        inner: F,
        done: Option<Done>,
    }
}

impl<F, R, E> Future for CountedFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let (Ok(response), Some(done)) = (&result, this.done.take()) {
            done.metrics.request(done.method, done.route, response.status().as_u16(), done.started.elapsed());
        }
        Poll::Ready(result)
    }
}
