//! What the server tells its operators about itself: Prometheus metrics at `GET /metrics`
//! ([`metrics`], [`scrape`]), counted by a request middleware ([`http`]), the executor and the
//! store; and spans per request and per run, exported over OTLP when the standard
//! `OTEL_EXPORTER_OTLP_*` variables ask for it ([`traces`]).

pub mod http;
pub mod metrics;
pub mod scrape;
pub mod traces;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use wasmhook_store::commits::CommitObserver;

pub use metrics::Metrics;

/// The metrics and the registry they are encoded from, one per server.
#[derive(Debug)]
pub struct Telemetry {
    /// Recorded into by the middleware, the executor and the store.
    pub metrics: Arc<Metrics>,
    registry: Registry,
}

impl Telemetry {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let metrics = Arc::new(Metrics::register(&mut registry));
        Self { metrics, registry }
    }

    /// The registry, for encoding.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

/// The store reports each commit into the metrics.
impl CommitObserver for Metrics {
    fn committed(&self, writes: usize, took: Duration) {
        self.commit(writes, took);
    }
}
