//! Server configuration: defaults → TOML file → `WASMHOOK_*` environment → command-line flags,
//! each layer overriding the one before, validated once at boot.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use layer::{Layer, env_layer, read_file};

use crate::secrets::KeyText;

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
    /// Directory for the SQLite file (unless `database_url` is set), the compiled artifacts
    /// and the master key file.
    pub data_dir: PathBuf,
    /// `postgres://user:password@host:port/database`: keep everything in PostgreSQL, shared
    /// by every node that names it (`WASMHOOK_DATABASE_URL`); `None`: the SQLite file in
    /// `data_dir`. Redacted in logs (it may carry a password).
    pub database_url: Option<KeyText>,
    /// Connections each node keeps to PostgreSQL at most.
    pub database_pool_size: usize,
    /// PostgreSQL: how long a node's claim on the executions it queued or runs lasts without
    /// renewal (renewed every third of it). A node that dies has its runs started again by
    /// another node this long after its last renewal.
    pub lease: Duration,
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
    /// Copy-on-write memory images (see [`wasmhook_sandbox::SandboxConfig::memory_init_cow`]).
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
    /// Let blocks connect to loopback, private, link-local, … addresses. Off: such addresses
    /// are refused whatever a block's `allowedHosts` says (SSRF protection).
    pub outbound_allow_private: bool,
    /// The most requests per run a block's `network.maxRequests` may set.
    pub outbound_max_requests: u32,
    /// The most bytes a block's `network.maxRequestBytes` / `maxResponseBytes` may set.
    pub outbound_max_body_bytes: u64,
    /// The master key sealing secrets at rest (32 bytes, base64 or hex; usually the
    /// `WASMHOOK_MASTER_KEY` env var). `None`: the key in [`Config::master_key_path`].
    pub master_key: Option<KeyText>,
    /// The master key before a rotation: values still sealed under it are resealed at boot.
    pub master_key_previous: Option<KeyText>,
    /// Where the master key file is (default `{data_dir}/master.key`).
    pub master_key_file: Option<PathBuf>,
    /// Key-value bytes (keys + values) one team may hold across its buckets.
    pub kv_team_max_bytes: u64,
    /// The URL runs reach this server's API at (`WASMHOOK_API_BASE_URL`); `None`:
    /// `public_url`, else `http://` + `listen` (an unspecified address as loopback). See
    /// [`Config::api_base_url`].
    pub api_base_url: Option<String>,
    /// Attempts of a queued delivery whose block or dataset sets no `retry.maxAttempts`
    /// (1: no retries unless a block opts in; see README "Retries").
    pub retry_default_max_attempts: u32,
    /// The most attempts a retry policy may set.
    pub retry_max_attempts_limit: u32,
    /// The longest delay between attempts a retry policy may set, ms.
    pub retry_max_delay_ms: u64,
    /// Delays before each further attempt of a completion callback (the first goes at once);
    /// after the last, the message is `failed`.
    pub callback_retry_schedule: Vec<Duration>,
    /// How long one callback POST may take, connect to response head.
    pub callback_timeout: Duration,
    /// Executions a bulk replay submits per second, at most.
    pub replay_rate_per_second: u32,
    /// The most executions one bulk replay may match.
    pub replay_max_executions: usize,
    /// Serve Prometheus metrics at `GET /metrics` and count into them; off: 404 and no
    /// counting.
    pub metrics: bool,
    /// When set, `GET /metrics` needs `Authorization: Bearer <token>` (compared in constant
    /// time); unset: open, like most exporters (the figures carry no team's data).
    pub metrics_token: Option<KeyText>,
}

/// Standard Webhooks' (and Svix's) schedule after the first try: 5 s, 5 min, 30 min, 2 h, 5 h,
/// 10 h, 10 h — about 27 h in all.
pub const DEFAULT_CALLBACK_SCHEDULE: [u64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/// Sync runs allowed per run slot by default: enough to keep every slot busy with a queue
/// behind it, few enough that waiting payloads stay bounded.
const SYNC_RUNS_PER_SLOT: usize = 4;
/// PostgreSQL connections per node by default: three nodes stay well inside PostgreSQL's
/// default `max_connections` (100), and a connection is held only for one statement or
/// transaction, never across a run.
pub const DEFAULT_DATABASE_POOL_SIZE: usize = 16;
/// The shortest lease: a renewal every third of it must fit a database round trip with room.
const MIN_LEASE_MS: u64 = 300;
/// Uploads admitted per compile slot (one compiling, the rest reading or waiting).
const UPLOADS_PER_COMPILE: usize = 4;

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./wasmhook-data"),
            database_url: None,
            database_pool_size: DEFAULT_DATABASE_POOL_SIZE,
            lease: wasmhook_store_pg::DEFAULT_LEASE,
            public_url: None,
            max_body_bytes: 16 << 20,
            max_wasm_bytes: 64 << 20,
            max_concurrent_runs: 256,
            prepared_cache: 128,
            memory_cow: true,
            doc_concurrency: 4,
            default_memory_bytes: wasmhook_sandbox::DEFAULT_MEMORY_BYTES,
            max_memory_bytes: 1 << 30,
            max_timeout_ms: 300_000,
            sync_wait: Duration::from_secs(30),
            record_linger: wasmhook_store::RECORD_LINGER,
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
            outbound_allow_private: false,
            outbound_max_requests: 256,
            outbound_max_body_bytes: 64 << 20,
            master_key: None,
            master_key_previous: None,
            master_key_file: None,
            kv_team_max_bytes: 64 << 20,
            api_base_url: None,
            retry_default_max_attempts: 1,
            retry_max_attempts_limit: 50,
            retry_max_delay_ms: 24 * 3600 * 1000,
            callback_retry_schedule: DEFAULT_CALLBACK_SCHEDULE.iter().map(|s| Duration::from_secs(*s)).collect(),
            callback_timeout: Duration::from_secs(15),
            replay_rate_per_second: 50,
            replay_max_executions: 10_000,
            metrics: true,
            metrics_token: None,
        }
    }
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

/// Variables with the prefix that are not settings: the log filter, the config file, and the
/// `wasmhook` client's own (a shell that talks to a server may also start one).
const NOT_SETTINGS: [&str; 5] = ["WASMHOOK_CONFIG", "WASMHOOK_LOG", "WASMHOOK_URL", "WASMHOOK_KEY", "WASMHOOK_PROFILE"];

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
            if NOT_SETTINGS.contains(&key.as_str()) {
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
        let flag_layer = Layer::of_flags(flags.listen.clone(), flags.data_dir.clone());
        config.apply(flag_layer, "command-line flags")?;
        config.validate()?;
        Ok(config)
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
        self.memory_budget_bytes.unwrap_or_else(wasmhook_sandbox::default_memory_budget)
    }

    /// The largest memory cap a run can have: `max_memory_bytes`, or the whole budget if less.
    pub fn run_memory_ceiling(&self) -> u64 {
        self.max_memory_bytes.min(self.memory_budget())
    }

    /// Sync runs waiting or running at once: `max_sync_runs`, else 4 per run slot.
    pub fn sync_run_limit(&self) -> usize {
        self.max_sync_runs.unwrap_or(self.max_concurrent_runs as usize * SYNC_RUNS_PER_SLOT)
    }

    /// The SQLite file (used when `database_url` is unset).
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("wasmhook.sqlite3")
    }

    /// The URL runs call this server's API at: `api_base_url`, else `public_url`, else the
    /// listen address (`0.0.0.0`/`::` as loopback). Blocks may call it without an
    /// `allowedHosts` entry, and reach it even when it is a private address.
    pub fn api_base_url(&self) -> String {
        if let Some(url) = self.api_base_url.as_ref().or(self.public_url.as_ref()) {
            return url.clone();
        }
        let mut listen = self.listen;
        if listen.ip().is_unspecified() {
            listen.set_ip(if listen.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
        }
        format!("http://{listen}")
    }

    /// The master key file, used when no `master_key` is configured.
    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file.clone().unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// The compiled-artifact cache.
    pub fn artifacts_dir(&self) -> PathBuf {
        self.data_dir.join("artifacts")
    }
}

mod layer;
#[cfg(test)]
mod tests;
mod validate;
