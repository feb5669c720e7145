//! The Prometheus metrics: one registry per server (tests run several servers in one process,
//! so nothing is global), families with typed, bounded labels, and the recording calls the
//! request middleware, the executor and the store make.
//!
//! **Label cardinality is bounded by the code and the configuration, never by traffic:**
//! `route` is the router's template (`/v1/blocks/{block_id}`, or `unmatched`), never the URI;
//! `method` is one of eight; `status` is a status code the server sends; `outcome` is
//! `succeeded` or one of the failure kinds; outbound `result` is a status class or
//! `refused`/`failed`. No label carries a team, block, execution or webhook id: per-tenant
//! figures are what `GET /v1/executions` answers, and an id label would grow a series per
//! tenant for the life of the process.

use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use wasmhook_domain::Outcome;

/// An HTTP method, as a bounded label.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(clippy::upper_case_acronyms, missing_docs)] // the methods' own names, as labels
pub enum Method {
    GET,
    POST,
    PUT,
    PATCH,
    DELETE,
    HEAD,
    OPTIONS,
    /// Any other method (the router answers them 405).
    OTHER,
}

impl From<&http::Method> for Method {
    fn from(method: &http::Method) -> Self {
        match *method {
            http::Method::GET => Self::GET,
            http::Method::POST => Self::POST,
            http::Method::PUT => Self::PUT,
            http::Method::PATCH => Self::PATCH,
            http::Method::DELETE => Self::DELETE,
            http::Method::HEAD => Self::HEAD,
            http::Method::OPTIONS => Self::OPTIONS,
            _ => Self::OTHER,
        }
    }
}

/// Labels of a request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The method.
    pub method: Method,
    /// The route template, or `unmatched`.
    pub route: String,
    /// The status code sent.
    pub status: u16,
}

/// Labels of the request latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The method.
    pub method: Method,
    /// The route template, or `unmatched`.
    pub route: String,
}

/// Labels of the run counter: `succeeded`, or the failure's kind.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    /// `succeeded`, `guest_error`, `trap`, `panic`, `timeout`, `out_of_fuel`, `memory_limit`,
    /// `invalid_output`, `exit` or `internal`.
    pub outcome: &'static str,
}

/// Labels of the outbound request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutboundLabels {
    /// `2xx` … `5xx` when a response came, `refused` when the host refused the call (host not
    /// allowed, private address, over a limit), `failed` when no response came.
    pub result: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric the server keeps.
#[derive(Debug)]
pub struct Metrics {
    http_requests: Family<RequestLabels, Counter>,
    http_duration: HistogramFamily<RouteLabels>,
    runs: Family<RunLabels, Counter>,
    run_duration: Histogram,
    run_fuel: Histogram,
    run_memory: Histogram,
    outbound: Family<OutboundLabels, Counter>,
    commit_writes: Histogram,
    commit_duration: Histogram,
    /// Set at scrape time from the executor and the sandbox.
    pub(super) gauges: Gauges,
}

/// Gauges read from the executor and sandbox when scraped (a read of a few atomics and one
/// lock, instead of updates on every push and pop).
#[derive(Debug, Default)]
pub(super) struct Gauges {
    pub(super) queue_depth: Gauge,
    pub(super) queue_oldest_age: Gauge<f64, AtomicU64>,
    pub(super) run_slots: Gauge,
    pub(super) run_slots_in_use: Gauge,
    pub(super) memory_budget: Gauge,
    pub(super) memory_budget_in_use: Gauge,
    pub(super) compiles_in_progress: Gauge,
    pub(super) sync_runs_in_flight: Gauge,
}

/// Request latency: 100 µs to ~52 s.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 20))
}

impl Metrics {
    /// Creates every metric and registers it (names prefixed `wasmhook_`) in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_buckets),
            runs: Family::default(),
            run_duration: latency_buckets(),
            // 1k to ~1.1e12 instructions' worth of fuel, ×4 per bucket.
            run_fuel: Histogram::new(exponential_buckets(1_000.0, 4.0, 16)),
            // 64 KiB (one wasm page) to 16 GiB, ×4 per bucket.
            run_memory: Histogram::new(exponential_buckets(65_536.0, 4.0, 10)),
            outbound: Family::default(),
            // 1 to 4096 writes, ×2 (the SQLite writer's batch is at most 4096 jobs).
            commit_writes: Histogram::new(exponential_buckets(1.0, 2.0, 13)),
            commit_duration: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            gauges: Gauges::default(),
        };
        let r = registry.sub_registry_with_prefix("wasmhook");
        r.register(
            "http_requests",
            "HTTP requests answered, by route template and status",
            metrics.http_requests.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "Time from a request's head to its response's head, by route template",
            Unit::Seconds,
            metrics.http_duration.clone(),
        );
        r.register("runs", "Block runs finished, by outcome", metrics.runs.clone());
        r.register_with_unit(
            "run_duration",
            "Wall time of a run, setup to cleanup",
            Unit::Seconds,
            metrics.run_duration.clone(),
        );
        r.register("run_fuel_consumed", "Fuel a run burned", metrics.run_fuel.clone());
        r.register_with_unit(
            "run_peak_memory",
            "Largest linear memory a run held",
            Unit::Bytes,
            metrics.run_memory.clone(),
        );
        r.register("outbound_requests", "HTTP requests runs sent, by result", metrics.outbound.clone());
        r.register(
            "store_commit_writes",
            "Writes per commit (SQLite: the writer's group-commit batch; PostgreSQL: a delivery's execution writes)",
            metrics.commit_writes.clone(),
        );
        r.register_with_unit(
            "store_commit_duration",
            "Time from a commit's first write to the end of its COMMIT",
            Unit::Seconds,
            metrics.commit_duration.clone(),
        );
        let g = &metrics.gauges;
        r.register("queue_depth", "Deliveries queued on this node", g.queue_depth.clone());
        r.register_with_unit(
            "queue_oldest_age",
            "How long the longest-waiting queued delivery has waited on this node",
            Unit::Seconds,
            g.queue_oldest_age.clone(),
        );
        r.register("sandbox_run_slots", "Run slots of the pooling allocator", g.run_slots.clone());
        r.register("sandbox_run_slots_in_use", "Run slots held by runs now", g.run_slots_in_use.clone());
        r.register_with_unit("sandbox_memory_budget", "Guest-memory budget", Unit::Bytes, g.memory_budget.clone());
        r.register_with_unit(
            "sandbox_memory_budget_in_use",
            "Guest memory reserved by runs now (each reserves its cap)",
            Unit::Bytes,
            g.memory_budget_in_use.clone(),
        );
        r.register("sandbox_compiles_in_progress", "Components being compiled now", g.compiles_in_progress.clone());
        r.register("sync_runs_in_flight", "Sync runs waiting for or holding a run slot", g.sync_runs_in_flight.clone());
        metrics
    }

    /// One answered request.
    pub fn request(&self, method: Method, route: String, status: u16, took: Duration) {
        self.http_duration.get_or_create(&RouteLabels { method, route: route.clone() }).observe(took.as_secs_f64());
        self.http_requests.get_or_create(&RequestLabels { method, route, status }).inc();
    }

    /// One finished run, with the outbound calls it made.
    pub fn run(&self, outcome: &Outcome) {
        self.runs.get_or_create(&RunLabels { outcome: outcome_label(outcome) }).inc();
        self.run_duration.observe(outcome.duration.as_secs_f64());
        self.run_fuel.observe(outcome.fuel_consumed as f64);
        self.run_memory.observe(outcome.peak_memory_bytes as f64);
        for call in &outcome.outbound {
            let result = match (call.status, &call.error) {
                (Some(status), _) => status_class(status),
                (None, Some(error)) if error.starts_with(wasmhook_domain::outbound::REFUSED) => "refused",
                (None, _) => "failed",
            };
            self.outbound.get_or_create(&OutboundLabels { result }).inc();
        }
    }

    /// One store commit.
    pub fn commit(&self, writes: usize, took: Duration) {
        self.commit_writes.observe(writes as f64);
        self.commit_duration.observe(took.as_secs_f64());
    }
}

/// `succeeded`, or the name of the run's failure kind.
pub fn outcome_label(outcome: &Outcome) -> &'static str {
    outcome.failure().map_or("succeeded", |failure| failure.kind.as_str())
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use wasmhook_domain::FailureKind;

    /// Every kind's label is the name it has in execution records (`serde` snake_case).
    #[test]
    fn failure_labels_match_the_recorded_kind_names() {
        for kind in [
            FailureKind::GuestError,
            FailureKind::Trap,
            FailureKind::Panic,
            FailureKind::Timeout,
            FailureKind::OutOfFuel,
            FailureKind::MemoryLimit,
            FailureKind::InvalidOutput,
            FailureKind::Exit,
            FailureKind::Internal,
        ] {
            let recorded = serde_json::to_value(kind).expect("serializes");
            assert_eq!(recorded.as_str(), Some(kind.as_str()));
        }
    }
}
