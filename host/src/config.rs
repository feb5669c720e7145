//! Server configuration: defaults → TOML file → `WASMHOOK_*` environment → command-line flags,
//! each layer overriding the one before, validated once at boot.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Why the configuration cannot be used; the message names the setting and its source.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for this schema.
    #[error("invalid config file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A setting has an unusable value.
    #[error("invalid setting `{key}` (from {origin}): {message}")]
    Invalid {
        /// The setting.
        key: String,
        /// Where it came from (file, env var, flag).
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the SQLite file and compiled artifacts.
    pub data_dir: PathBuf,
    /// The externally visible base URL (`https://hooks.example.com`) used in trigger webhook
    /// URLs; when unset, `http://` plus the request's `Host` header.
    pub public_url: Option<String>,
    /// Largest webhook/API JSON body.
    pub max_body_bytes: usize,
    /// Largest block upload.
    pub max_wasm_bytes: usize,
    /// Runs executing at once across the server.
    pub max_concurrent_runs: u32,
    /// Prepared blocks kept in memory (LRU); the rest load lazily from disk.
    pub prepared_cache: usize,
    /// Copy-on-write memory images (see [`crate::sandbox::SandboxConfig::memory_init_cow`]).
    pub memory_cow: bool,
    /// Datasets of one v4 call run concurrently, at most this many at a time.
    pub doc_concurrency: usize,
    /// Memory cap of a run when the block sets none.
    pub default_memory_bytes: u64,
    /// The largest memory cap a block may set.
    pub max_memory_bytes: u64,
    /// The largest `timeoutMs` a block or dataset may set.
    pub max_timeout_ms: u64,
    /// How long a sync call waits for its runs before answering 202 and letting them finish
    /// in the background.
    pub sync_wait: Duration,
    /// How long the store writer holds a batch of sync-run records open for more before
    /// committing (see `store/writer.rs`); zero commits each at once.
    pub record_linger: Duration,
    /// Workers running queued executions.
    pub workers: usize,
    /// Deliveries the queue holds before async calls get 503 + `Retry-After`.
    pub queue_depth: usize,
    /// Executions one team may have queued; `None`: a quarter of `queue_depth` (see
    /// [`Config::team_queue_depth`]).
    pub team_queue_depth: Option<usize>,
    /// How long an idempotency key is remembered.
    pub idempotency_window: Duration,
    /// How long executions (with logs and inputs) are kept.
    pub retention: Duration,
    /// How often the retention purge runs.
    pub retention_interval: Duration,
    /// How long shutdown waits for runs in flight.
    pub shutdown_grace: Duration,
    /// How long a client may take to send a request's head; also the idle timeout of a
    /// kept-alive connection.
    pub header_timeout: Duration,
    /// How long a client may take to send a whole request body (408 after).
    pub body_timeout: Duration,
    /// Connections open at once; past it new ones wait in the listen backlog.
    pub max_connections: usize,
    /// Components compiled at once (each on every core, at a low priority).
    pub max_concurrent_compiles: usize,
    /// Guest memory all runs together may reserve (each reserves its memory cap); `None`:
    /// three quarters of the machine's (or cgroup's) memory, see [`Config::memory_budget`].
    pub memory_budget_bytes: Option<u64>,
    /// Sync runs waiting or running at once; `None`: 4 × `max_concurrent_runs` (see
    /// [`Config::sync_run_limit`]). Past it a sync call is a 503 with `Retry-After`.
    pub max_sync_runs: Option<usize>,
}

/// Sync runs allowed per run slot by default: enough to keep every slot busy with a queue
/// behind it, few enough that waiting payloads stay bounded.
const SYNC_RUNS_PER_SLOT: usize = 4;
/// Uploads admitted per compile slot (one compiling, the rest reading or waiting).
const UPLOADS_PER_COMPILE: usize = 4;

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./wasmhook-data"),
            public_url: None,
            max_body_bytes: 16 << 20,
            max_wasm_bytes: 64 << 20,
            max_concurrent_runs: 256,
            prepared_cache: 128,
            memory_cow: true,
            doc_concurrency: 4,
            default_memory_bytes: crate::sandbox::DEFAULT_MEMORY_BYTES,
            max_memory_bytes: 1 << 30,
            max_timeout_ms: 300_000,
            sync_wait: Duration::from_secs(30),
            record_linger: crate::store::RECORD_LINGER,
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            queue_depth: 10_000,
            team_queue_depth: None,
            idempotency_window: Duration::from_secs(24 * 3600),
            retention: Duration::from_secs(30 * 24 * 3600),
            retention_interval: Duration::from_secs(3600),
            shutdown_grace: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_sync_runs: None,
            memory_budget_bytes: None,
            max_concurrent_compiles: 1,
        }
    }
}

/// Every setting, as optional values from one layer.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layer {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
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
}

/// Values given as command-line flags.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    /// `--config`.
    pub config_file: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
}

/// A record may wait at most this long for its batch: beyond it, a crash loses too much.
const MAX_RECORD_LINGER_US: u64 = 1_000_000;

/// Env var prefix of every setting (`WASMHOOK_LISTEN`, `WASMHOOK_DATA_DIR`, …).
pub const ENV_PREFIX: &str = "WASMHOOK_";

impl Config {
    /// Builds the configuration from all layers. `env` is usually `std::env::vars()`.
    pub fn load(flags: &Flags, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
        let file = flags
            .config_file
            .clone()
            .or_else(|| env.iter().find(|(k, _)| k == "WASMHOOK_CONFIG").map(|(_, v)| PathBuf::from(v)));
        let mut config = Self::default();
        if let Some(path) = file {
            config.apply(read_file(&path)?, &format!("config file {}", path.display()))?;
        }
        for (key, value) in &env {
            if key == "WASMHOOK_CONFIG" || key == "WASMHOOK_LOG" {
                continue;
            }
            let name = key[ENV_PREFIX.len()..].to_ascii_lowercase();
            let layer = env_layer(&name, value).map_err(|message| ConfigError::Invalid {
                key: name.clone(),
                origin: format!("env {key}"),
                message,
            })?;
            config.apply(layer, &format!("env {key}"))?;
        }
        let flag_layer = Layer { listen: flags.listen.clone(), data_dir: flags.data_dir.clone(), ..Layer::default() };
        config.apply(flag_layer, "command-line flags")?;
        config.validate()?;
        Ok(config)
    }

    fn apply(&mut self, layer: Layer, source: &str) -> Result<(), ConfigError> {
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
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::Invalid {
            key: key.into(),
            origin: "the merged configuration".into(),
            message: message.into(),
        };
        if self.max_body_bytes == 0 {
            return Err(invalid("max_body_bytes", "must be greater than 0"));
        }
        if self.max_concurrent_runs == 0 || self.max_concurrent_runs > 10_000 {
            return Err(invalid("max_concurrent_runs", "must be between 1 and 10000"));
        }
        if self.prepared_cache == 0 {
            return Err(invalid("prepared_cache", "must be greater than 0"));
        }
        if self.doc_concurrency == 0 {
            return Err(invalid("doc_concurrency", "must be greater than 0"));
        }
        if self.default_memory_bytes > self.max_memory_bytes {
            return Err(invalid("default_memory_bytes", "must not exceed max_memory_bytes"));
        }
        if self.max_memory_bytes < (1 << 20) {
            return Err(invalid("max_memory_bytes", "must be at least 1 MiB"));
        }
        if self.max_timeout_ms == 0 {
            return Err(invalid("max_timeout_ms", "must be greater than 0"));
        }
        if self.workers == 0 {
            return Err(invalid("workers", "must be greater than 0"));
        }
        if self.queue_depth == 0 {
            return Err(invalid("queue_depth", "must be greater than 0"));
        }
        if self.header_timeout.is_zero() {
            return Err(invalid("header_timeout_ms", "must be greater than 0"));
        }
        if self.body_timeout.is_zero() {
            return Err(invalid("body_timeout_ms", "must be greater than 0"));
        }
        if self.memory_budget_bytes.is_some_and(|b| b < self.default_memory_bytes) {
            return Err(invalid("memory_budget_bytes", "must be at least default_memory_bytes (one default run)"));
        }
        if self.team_queue_depth == Some(0) {
            return Err(invalid("team_queue_depth", "must be greater than 0"));
        }
        if self.max_concurrent_compiles == 0 {
            return Err(invalid("max_concurrent_compiles", "must be greater than 0"));
        }
        if self.max_sync_runs == Some(0) {
            return Err(invalid("max_sync_runs", "must be greater than 0"));
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections", "must be greater than 0"));
        }
        if self.retention_interval.is_zero() {
            return Err(invalid("retention_interval_ms", "must be greater than 0"));
        }
        // An idempotent repeat answers with the original execution ids: they must still exist.
        if self.retention < self.idempotency_window {
            return Err(invalid(
                "retention_secs",
                "must be at least idempotency_window_secs (a repeat answers with the original executions)",
            ));
        }
        Ok(())
    }

    /// Executions one team may have queued: `team_queue_depth`, else a quarter of
    /// `queue_depth` (at least 1), so at least four teams can always enqueue.
    pub fn team_queue_depth(&self) -> usize {
        self.team_queue_depth.unwrap_or((self.queue_depth / 4).max(1))
    }

    /// Uploads read or compiled at once, waiting ones included: 4 per compile slot. More are
    /// refused before their body is read, so 64 MiB bodies cannot pile up in memory.
    pub fn upload_limit(&self) -> usize {
        self.max_concurrent_compiles.saturating_mul(UPLOADS_PER_COMPILE)
    }

    /// The guest-memory budget: `memory_budget_bytes`, else ¾ of the machine's memory.
    pub fn memory_budget(&self) -> u64 {
        self.memory_budget_bytes.unwrap_or_else(crate::sandbox::default_memory_budget)
    }

    /// The largest memory cap a run can have: `max_memory_bytes`, or the whole budget if less.
    pub fn run_memory_ceiling(&self) -> u64 {
        self.max_memory_bytes.min(self.memory_budget())
    }

    /// Sync runs waiting or running at once: `max_sync_runs`, else 4 per run slot.
    pub fn sync_run_limit(&self) -> usize {
        self.max_sync_runs.unwrap_or(self.max_concurrent_runs as usize * SYNC_RUNS_PER_SLOT)
    }

    /// The SQLite file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("wasmhook.sqlite3")
    }

    /// The compiled-artifact cache.
    pub fn artifacts_dir(&self) -> PathBuf {
        self.data_dir.join("artifacts")
    }
}

fn read_file(path: &Path) -> Result<Layer, ConfigError> {
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
fn env_layer(name: &str, value: &str) -> Result<Layer, String> {
    let literal = if value.parse::<u64>().is_ok() || value == "true" || value == "false" {
        format!("{name} = {value}")
    } else {
        format!("{name} = {}", toml::Value::String(value.to_owned()))
    };
    toml::from_str(&literal).map_err(|e| e.message().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("wasmhook.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nmax_body_bytes = 100\ndoc_concurrency = 2\n")
            .expect("write");
        let flags = Flags { config_file: Some(file), listen: Some("127.0.0.1:9002".into()), data_dir: None };
        let config =
            Config::load(&flags, env(&[("WASMHOOK_MAX_BODY_BYTES", "200"), ("WASMHOOK_LISTEN", "127.0.0.1:9001")]))
                .expect("valid");
        assert_eq!(config.listen.port(), 9002, "flag beats env beats file");
        assert_eq!(config.max_body_bytes, 200, "env beats file");
        assert_eq!(config.doc_concurrency, 2, "file beats default");
        assert_eq!(config.max_timeout_ms, Config::default().max_timeout_ms);
        let config = Config::load(&Flags::default(), env(&[("WASMHOOK_MEMORY_COW", "false")])).expect("bool");
        assert!(!config.memory_cow, "booleans need no quoting in env vars");
    }

    #[test]
    fn bad_values_name_the_setting_and_source() {
        let err = Config::load(&Flags::default(), env(&[("WASMHOOK_MAX_BODY_BYTES", "lots")])).expect_err("invalid");
        assert!(err.to_string().contains("WASMHOOK_MAX_BODY_BYTES"), "{err}");
        let err = Config::load(&Flags::default(), env(&[("WASMHOOK_NOPE", "1")])).expect_err("unknown");
        assert!(err.to_string().contains("nope"), "{err}");
        let err =
            Config::load(&Flags { listen: Some("localhost".into()), ..Flags::default() }, env(&[])).expect_err("addr");
        assert!(err.to_string().contains("listen"), "{err}");
        let err = Config::load(&Flags::default(), env(&[("WASMHOOK_DOC_CONCURRENCY", "0")])).expect_err("zero");
        assert!(err.to_string().contains("doc_concurrency"), "{err}");
        let err = Config::load(&Flags::default(), env(&[("WASMHOOK_RETENTION_SECS", "3600")]))
            .expect_err("retention under the 24 h idempotency window");
        assert!(err.to_string().contains("retention_secs"), "{err}");
    }

    #[test]
    fn the_memory_budget_bounds_a_runs_cap_and_defaults_from_the_machine() {
        let config = Config::load(&Flags::default(), env(&[("WASMHOOK_MEMORY_BUDGET_BYTES", "268435456")]))
            .expect("256 MiB budget");
        assert_eq!(config.run_memory_ceiling(), 256 << 20, "no cap can exceed the whole budget");
        let err = Config::load(&Flags::default(), env(&[("WASMHOOK_MEMORY_BUDGET_BYTES", "1048576")]))
            .expect_err("under one default run");
        assert!(err.to_string().contains("memory_budget_bytes"), "{err}");
        let machine = Config::default().memory_budget();
        assert!(machine >= 64 << 20, "¾ of this machine's memory: {machine}");
    }

    #[test]
    fn record_linger_is_bounded() {
        let config = Config::load(&Flags::default(), env(&[("WASMHOOK_RECORD_LINGER_US", "0")])).expect("zero");
        assert_eq!(config.record_linger, Duration::ZERO, "0 commits every record at once");
        assert_eq!(Config::default().record_linger, crate::store::RECORD_LINGER);
        let err =
            Config::load(&Flags::default(), env(&[("WASMHOOK_RECORD_LINGER_US", "2000000")])).expect_err("too long");
        assert!(err.to_string().contains("record_linger_us"), "{err}");
    }
}
