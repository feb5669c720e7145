//! One layer of settings (a TOML file, one `WASMHOOK_*` variable, the flags) and how it
//! is applied over the layers before it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{Config, ConfigError, MAX_RECORD_LINGER_US};
use crate::secrets::KeyText;

/// Every setting, as optional values from one layer.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Layer {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_pool_size: Option<u64>,
    lease_ms: Option<u64>,
    public_url: Option<String>,
    max_body_bytes: Option<u64>,
    max_wasm_bytes: Option<u64>,
    max_concurrent_runs: Option<u64>,
    prepared_cache: Option<u64>,
    memory_cow: Option<bool>,
    doc_concurrency: Option<u64>,
    default_memory_bytes: Option<u64>,
    max_memory_bytes: Option<u64>,
    max_timeout_ms: Option<u64>,
    sync_wait_ms: Option<u64>,
    record_linger_us: Option<u64>,
    workers: Option<u64>,
    queue_depth: Option<u64>,
    team_queue_depth: Option<u64>,
    idempotency_window_secs: Option<u64>,
    retention_secs: Option<u64>,
    retention_interval_ms: Option<u64>,
    shutdown_grace_ms: Option<u64>,
    header_timeout_ms: Option<u64>,
    body_timeout_ms: Option<u64>,
    max_connections: Option<u64>,
    max_sync_runs: Option<u64>,
    memory_budget_bytes: Option<u64>,
    max_concurrent_compiles: Option<u64>,
    outbound_allow_private: Option<bool>,
    outbound_max_requests: Option<u64>,
    outbound_max_body_bytes: Option<u64>,
    master_key: Option<String>,
    master_key_previous: Option<String>,
    master_key_file: Option<PathBuf>,
    kv_team_max_bytes: Option<u64>,
    api_base_url: Option<String>,
    retry_default_max_attempts: Option<u64>,
    retry_max_attempts_limit: Option<u64>,
    retry_max_delay_ms: Option<u64>,
    callback_retry_schedule: Option<String>,
    callback_timeout_ms: Option<u64>,
    replay_rate_per_second: Option<u64>,
    replay_max_executions: Option<u64>,
    metrics: Option<bool>,
    metrics_token: Option<String>,
}

impl Layer {
    /// The settings given as command-line flags.
    pub(super) fn of_flags(listen: Option<String>, data_dir: Option<PathBuf>) -> Self {
        Self { listen, data_dir, ..Self::default() }
    }
}

impl Config {
    pub(super) fn apply(&mut self, layer: Layer, source: &str) -> Result<(), ConfigError> {
        let invalid =
            |key: &str, message: String| ConfigError::Invalid { key: key.into(), origin: source.into(), message };
        if let Some(listen) = layer.listen {
            self.listen = listen
                .parse()
                .map_err(|e| invalid("listen", format!("{listen:?} is not an address like 127.0.0.1:8080 ({e})")))?;
        }
        if let Some(dir) = layer.data_dir {
            self.data_dir = dir;
        }
        if let Some(url) = layer.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid("public_url", format!("{url:?} must start with http:// or https://")));
            }
            self.public_url = Some(url.trim_end_matches('/').to_owned());
        }
        let size = |key: &str, v: u64| usize::try_from(v).map_err(|_| invalid(key, format!("{v} is too large")));
        if let Some(v) = layer.max_body_bytes {
            self.max_body_bytes = size("max_body_bytes", v)?;
        }
        if let Some(v) = layer.max_wasm_bytes {
            self.max_wasm_bytes = size("max_wasm_bytes", v)?;
        }
        if let Some(v) = layer.max_concurrent_runs {
            self.max_concurrent_runs =
                u32::try_from(v).map_err(|_| invalid("max_concurrent_runs", format!("{v} is too large")))?;
        }
        if let Some(v) = layer.memory_cow {
            self.memory_cow = v;
        }
        if let Some(v) = layer.prepared_cache {
            self.prepared_cache = size("prepared_cache", v)?;
        }
        if let Some(v) = layer.doc_concurrency {
            self.doc_concurrency = size("doc_concurrency", v)?;
        }
        if let Some(v) = layer.default_memory_bytes {
            self.default_memory_bytes = v;
        }
        if let Some(v) = layer.max_memory_bytes {
            self.max_memory_bytes = v;
        }
        if let Some(v) = layer.max_timeout_ms {
            self.max_timeout_ms = v;
        }
        if let Some(v) = layer.sync_wait_ms {
            self.sync_wait = Duration::from_millis(v);
        }
        if let Some(v) = layer.record_linger_us {
            if v > MAX_RECORD_LINGER_US {
                return Err(invalid("record_linger_us", format!("{v} is over {MAX_RECORD_LINGER_US} (1 s)")));
            }
            self.record_linger = Duration::from_micros(v);
        }
        if let Some(v) = layer.workers {
            self.workers = size("workers", v)?;
        }
        if let Some(v) = layer.queue_depth {
            self.queue_depth = size("queue_depth", v)?;
        }
        if let Some(v) = layer.team_queue_depth {
            self.team_queue_depth = Some(size("team_queue_depth", v)?);
        }
        if let Some(v) = layer.idempotency_window_secs {
            self.idempotency_window = Duration::from_secs(v);
        }
        if let Some(v) = layer.retention_secs {
            self.retention = Duration::from_secs(v);
        }
        if let Some(v) = layer.retention_interval_ms {
            self.retention_interval = Duration::from_millis(v);
        }
        if let Some(v) = layer.shutdown_grace_ms {
            self.shutdown_grace = Duration::from_millis(v);
        }
        if let Some(v) = layer.header_timeout_ms {
            self.header_timeout = Duration::from_millis(v);
        }
        if let Some(v) = layer.body_timeout_ms {
            self.body_timeout = Duration::from_millis(v);
        }
        if let Some(v) = layer.max_connections {
            self.max_connections = size("max_connections", v)?;
        }
        if let Some(v) = layer.max_concurrent_compiles {
            self.max_concurrent_compiles = size("max_concurrent_compiles", v)?;
        }
        if let Some(v) = layer.memory_budget_bytes {
            self.memory_budget_bytes = Some(v);
        }
        if let Some(v) = layer.max_sync_runs {
            self.max_sync_runs = Some(size("max_sync_runs", v)?);
        }
        if let Some(v) = layer.outbound_allow_private {
            self.outbound_allow_private = v;
        }
        if let Some(v) = layer.outbound_max_requests {
            self.outbound_max_requests =
                u32::try_from(v).map_err(|_| invalid("outbound_max_requests", format!("{v} is too large")))?;
        }
        if let Some(v) = layer.outbound_max_body_bytes {
            self.outbound_max_body_bytes = v;
        }
        if let Some(v) = layer.database_url {
            self.database_url = Some(KeyText::new(v));
        }
        if let Some(v) = layer.database_pool_size {
            self.database_pool_size = size("database_pool_size", v)?;
        }
        if let Some(v) = layer.lease_ms {
            self.lease = Duration::from_millis(v);
        }
        if let Some(v) = layer.master_key {
            self.master_key = Some(KeyText::new(v));
        }
        if let Some(v) = layer.master_key_previous {
            self.master_key_previous = Some(KeyText::new(v));
        }
        if let Some(v) = layer.master_key_file {
            self.master_key_file = Some(v);
        }
        if let Some(v) = layer.kv_team_max_bytes {
            self.kv_team_max_bytes = v;
        }
        let count = |key: &str, v: u64| u32::try_from(v).map_err(|_| invalid(key, format!("{v} is too large")));
        if let Some(v) = layer.retry_default_max_attempts {
            self.retry_default_max_attempts = count("retry_default_max_attempts", v)?;
        }
        if let Some(v) = layer.retry_max_attempts_limit {
            self.retry_max_attempts_limit = count("retry_max_attempts_limit", v)?;
        }
        if let Some(v) = layer.retry_max_delay_ms {
            self.retry_max_delay_ms = v;
        }
        if let Some(text) = layer.callback_retry_schedule {
            self.callback_retry_schedule = parse_schedule(&text).map_err(|m| invalid("callback_retry_schedule", m))?;
        }
        if let Some(v) = layer.callback_timeout_ms {
            self.callback_timeout = Duration::from_millis(v);
        }
        if let Some(v) = layer.replay_rate_per_second {
            self.replay_rate_per_second = count("replay_rate_per_second", v)?;
        }
        if let Some(v) = layer.replay_max_executions {
            self.replay_max_executions = size("replay_max_executions", v)?;
        }
        if let Some(v) = layer.metrics {
            self.metrics = v;
        }
        if let Some(token) = layer.metrics_token {
            if token.is_empty() {
                return Err(invalid("metrics_token", "must not be empty (leave it unset for an open /metrics)".into()));
            }
            self.metrics_token = Some(KeyText::new(token));
        }
        if let Some(url) = layer.api_base_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid("api_base_url", format!("{url:?} must start with http:// or https://")));
            }
            self.api_base_url = Some(url.trim_end_matches('/').to_owned());
        }
        Ok(())
    }
}

/// `"5s, 5m, 30m"`: comma-separated durations (humantime); empty for no retries.
fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            humantime::parse_duration(part).map_err(|e| format!("{part:?} is not a duration like 5s or 30m: {e}"))
        })
        .collect()
}

pub(super) fn read_file(path: &Path) -> Result<Layer, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    toml::from_str(&text).map_err(|e| ConfigError::File { path: path.to_path_buf(), message: e.to_string() })
}

impl Config {
    /// The configuration a config file holding `text` gives (defaults, then the file), for the
    /// `fuzzing` entry points.
    #[cfg(feature = "fuzzing")]
    pub fn from_file_text(text: &str) -> Result<Self, ConfigError> {
        let path = PathBuf::from("<fuzz>");
        let layer: Layer =
            toml::from_str(text).map_err(|e| ConfigError::File { path: path.clone(), message: e.to_string() })?;
        let mut config = Self::default();
        config.apply(layer, "fuzz input")?;
        config.validate()?;
        Ok(config)
    }
}

/// One env var as a layer: parsed as a TOML value of that key, so numbers, booleans and strings
/// work without quoting (`WASMHOOK_MAX_BODY_BYTES=1048576`, `WASMHOOK_LISTEN=0.0.0.0:8080`).
pub(super) fn env_layer(name: &str, value: &str) -> Result<Layer, String> {
    let literal = if value.parse::<u64>().is_ok() || value == "true" || value == "false" {
        format!("{name} = {value}")
    } else {
        format!("{name} = {}", toml::Value::String(value.to_owned()))
    };
    toml::from_str(&literal).map_err(|e| e.message().to_owned())
}
