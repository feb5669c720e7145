//! Logs and traces: the process's `tracing` subscriber. Logs go to stderr, filtered by
//! `WASMHOOK_LOG` (default `info`). The spans (one per request, one per run; see
//! [`crate::app`] and the executor) are at `debug`: they decorate logs at `WASMHOOK_LOG=debug`,
//! and cost nothing else unless exported. They are exported over OTLP when the standard
//! variables ask for it: `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set, and
//! `OTEL_TRACES_EXPORTER` not `none`. `…_PROTOCOL` is read here (`http/protobuf`, the default,
//! or `http/json`; `grpc` is refused); the SDK reads the rest (`…_HEADERS`, `…_TIMEOUT`,
//! `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`).
//!
//! Spans carry ids (execution, block, team), route templates and figures, never a payload, a
//! header or a secret. Export is batched on the SDK's own thread; a collector that is down
//! costs dropped spans, never a slower request.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// The variable holding the log filter.
pub const LOG_FILTER_VAR: &str = "WASMHOOK_LOG";
/// The crate whose spans (and `info` events, as span events) are exported.
const EXPORTED_TARGET: &str = "wasmhook_server";
/// The service name when `OTEL_SERVICE_NAME` does not give one.
const SERVICE_NAME: &str = "wasmhook";

/// Why tracing could not start.
#[derive(Debug, thiserror::Error)]
pub enum TracesError {
    /// The OTLP exporter refused its settings (e.g. `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`, which
    /// this build does not speak).
    #[error("cannot export traces over OTLP: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` names one this build does not speak.
    #[error("OTLP protocol {0:?} is not supported: use http/protobuf or http/json (gRPC through a local collector)")]
    Protocol(String),
    /// A subscriber was already installed.
    #[error("cannot install the tracing subscriber: {0}")]
    Install(#[from] tracing_subscriber::util::TryInitError),
}

/// Flushes and stops the OTLP exporter when dropped (at the end of `main`).
#[derive(Debug)]
pub struct TracingGuard(Option<SdkTracerProvider>);

impl Drop for TracingGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("traces not flushed at exit: {error}");
        }
    }
}

/// What the OTLP layer gets: this server's spans at any level (they are `debug`, so that
/// without export no layer wants them and they cost a cached callsite check), and its events
/// at `info` and above only (debug events may carry details no trace should hold).
fn exported(metadata: &tracing::Metadata<'_>) -> bool {
    metadata.target().starts_with(EXPORTED_TARGET) && (metadata.is_span() || *metadata.level() <= tracing::Level::INFO)
}

/// The protocol the standard variables ask for: `http/protobuf` when they name none (the
/// OpenTelemetry default; the SDK would pick `http/json`, with both encodings built in), and a
/// clear refusal of `grpc`, which this build does not speak (the SDK would ignore it).
fn protocol(env: &dyn Fn(&str) -> Option<String>) -> Result<Protocol, TracesError> {
    let asked = env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"));
    match asked.as_deref().map(str::trim) {
        None | Some("" | "http/protobuf") => Ok(Protocol::HttpBinary),
        Some("http/json") => Ok(Protocol::HttpJson),
        Some(other) => Err(TracesError::Protocol(other.to_owned())),
    }
}

/// Whether the environment asks for OTLP export of traces.
pub fn otlp_requested(env: &dyn Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| env(name).is_some_and(|value| !value.trim().is_empty());
    let exporter = env("OTEL_TRACES_EXPORTER").unwrap_or_default();
    let disabled = env("OTEL_SDK_DISABLED").is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        && !exporter.trim().eq_ignore_ascii_case("none")
        && !disabled
}

/// Installs the subscriber: stderr logs, and OTLP export when asked for. Call it once, outside
/// any async runtime: the OTLP exporter's HTTP client is a blocking one, which must not be
/// built on a runtime thread.
pub fn init() -> Result<TracingGuard, TracesError> {
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(EnvFilter::try_from_env(LOG_FILTER_VAR).unwrap_or_else(|_| EnvFilter::new("info")));
    let env = |name: &str| std::env::var(name).ok();
    if !otlp_requested(&env) {
        tracing_subscriber::registry().with(logs).try_init()?;
        return Ok(TracingGuard(None));
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().with_protocol(protocol(&env)?).build()?;
    let mut resource = Resource::builder();
    if env("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(SERVICE_NAME);
    }
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource.build()).build();
    let spans =
        tracing_opentelemetry::layer().with_tracer(provider.tracer("wasmhook")).with_filter(filter_fn(exported));
    tracing_subscriber::registry().with(logs).with(spans).try_init()?;
    Ok(TracingGuard(Some(provider)))
}
