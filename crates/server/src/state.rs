//! What every handler shares: the store, the sandbox, the executor and the config.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::auth::Authenticator;
use crate::auth::issue;
use crate::auth::run_keys::RunKeys;
use crate::auth::session::Sessions;
use crate::callbacks::Callbacks;
use crate::callbacks::sender::Sender;
use crate::config::Config;
use crate::executor::Executor;
use crate::ratelimit::RateLimiters;
use crate::secrets::{Sealer, SecretsError, master_key};
use crate::telemetry::Telemetry;
use wasmhook_sandbox::{HostClient, Sandbox, SandboxConfig, SandboxError};

use wasmhook_store::cache::CachedDatabase;
use wasmhook_store::commits::CommitReports;
use wasmhook_store::repo::SharedDatabase;
use wasmhook_store::{Store, StoreError};
use wasmhook_store_pg::{PgError, PgStore};

/// Shared application state; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Persistence.
    pub store: SharedDatabase,
    /// The wasmtime sandbox, built once.
    pub sandbox: Arc<Sandbox>,
    /// Runs blocks and records executions.
    pub executor: Executor,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Trigger webhooks' token buckets.
    pub limiters: Arc<RateLimiters>,
    /// Uploads being read or compiled; past [`Config::upload_limit`] an upload is a 503 before
    /// its body is read.
    pub uploads: Arc<tokio::sync::Semaphore>,
    /// Seals and opens secrets under the master key.
    pub sealer: Arc<Sealer>,
    /// Which targets have completion callbacks (kept current by `/v1/.../callback`).
    pub callbacks: Arc<Callbacks>,
    /// The keys of the runs in progress (`WASMHOOK_API_KEY`).
    pub run_keys: Arc<RunKeys>,
    /// Prometheus metrics; `None` when `metrics = false`.
    pub telemetry: Option<Arc<Telemetry>>,
    /// Signs and checks dashboard session cookies (keyed from the master key).
    pub sessions: Arc<Sessions>,
}

/// Handlers that only read and write the store take `State<SharedDatabase>`: they cannot reach
/// the executor, the sandbox or the config by accident.
impl FromRef<AppState> for SharedDatabase {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

impl FromRef<AppState> for Authenticator {
    fn from_ref(state: &AppState) -> Self {
        Authenticator {
            store: state.store.clone(),
            run_keys: Arc::clone(&state.run_keys),
            sessions: Arc::clone(&state.sessions),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened or bootstrapped.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The PostgreSQL database could not be reached or migrated.
    #[error(transparent)]
    Postgres(#[from] PgError),
    /// The sandbox could not be built.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The executor could not recover the queue or start its workers.
    #[error(transparent)]
    Executor(#[from] crate::executor::ExecError),
    /// The master key could not be loaded, or a sealed value not resealed.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
}

/// The first admin key, created on first start with an empty store. Shown once.
#[derive(Debug)]
pub struct BootstrapKey(pub String);

impl AppState {
    /// Opens the store and builds the sandbox. On an empty store, creates the operator team,
    /// its admin user and an admin key, returned here and never again.
    pub async fn open(config: Config) -> Result<(Self, Option<BootstrapKey>), StartError> {
        let sealer = Arc::new(open_sealer(&config)?);
        let backend = Backend::open(&config, Arc::clone(&sealer)).await?;
        let telemetry = config.metrics.then(|| Arc::new(Telemetry::new()));
        if let Some(telemetry) = &telemetry {
            backend.commit_reports().observe(Arc::clone(&telemetry.metrics) as _);
        }
        let cached = Arc::new(CachedDatabase::new(backend.shared()));
        let store: SharedDatabase = cached.clone();
        let run_keys = Arc::new(RunKeys::default());
        let resealed = store.sealing().reseal_all().await?;
        if resealed > 0 {
            tracing::info!(resealed, "sealed secrets and signing secrets under the current master key");
        }
        let mut sandbox_config = SandboxConfig::new(config.artifacts_dir());
        sandbox_config.max_concurrent_runs = config.max_concurrent_runs;
        sandbox_config.max_memory_bytes = config.max_memory_bytes;
        sandbox_config.memory_budget_bytes = config.memory_budget();
        sandbox_config.max_concurrent_compiles = config.max_concurrent_compiles;
        sandbox_config.prepared_cache_capacity = config.prepared_cache;
        sandbox_config.memory_init_cow = config.memory_cow;
        sandbox_config.outbound_allow_private = config.outbound_allow_private;
        sandbox_config.api_origin = Some(config.api_base_url());
        let sandbox = Arc::new(Sandbox::new(sandbox_config)?);
        let config = Arc::new(config);
        let callbacks = Callbacks::new(store.callbacks().targets().await?);
        let executor = Executor::new(
            store.clone(),
            Arc::clone(&sandbox),
            Arc::clone(&config),
            Arc::clone(&sealer),
            Arc::clone(&run_keys),
            Arc::clone(&callbacks),
            telemetry.as_ref().map(|t| Arc::clone(&t.metrics)),
        );
        if let Backend::Postgres(postgres) = backend {
            // Other nodes' writes drop this node's cached rows.
            let stop = executor.stopping().cancelled_owned();
            tokio::spawn(async move { postgres.follow_invalidations(move |what| cached.invalidate(what), stop).await });
        }
        let bootstrap = bootstrap(&store).await?;
        executor.start().await?;
        let sender = Sender {
            callbacks: Arc::clone(&callbacks),
            store: store.clone(),
            sealer: Arc::clone(&sealer),
            client: HostClient::new(config.outbound_allow_private).map_err(SandboxError::Engine)?,
            schedule: config.callback_retry_schedule.clone(),
            timeout: config.callback_timeout,
        };
        tokio::spawn(sender.run(executor.stopping()));
        let limiters = Arc::new(RateLimiters::default());
        let uploads = Arc::new(tokio::sync::Semaphore::new(config.upload_limit()));
        let sessions = Arc::new(Sessions::new(&sealer));
        let state = Self {
            store,
            sandbox,
            executor,
            config,
            limiters,
            uploads,
            sealer,
            run_keys,
            callbacks,
            telemetry,
            sessions,
        };
        Ok((state, bootstrap))
    }
}

/// The configured database.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The SQLite file in `data_dir` (no `database_url`): this process is its only user.
    Sqlite(Store),
    /// PostgreSQL at `database_url`, shared with other nodes.
    Postgres(PgStore),
}

impl Backend {
    /// Opens the configured database (PostgreSQL is migrated before this returns).
    pub async fn open(config: &Config, sealer: Arc<Sealer>) -> Result<Self, StartError> {
        Ok(match &config.database_url {
            Some(url) => Self::Postgres(
                PgStore::connect(url.reveal(), config.database_pool_size, sealer)
                    .await?
                    .with_lease(config.lease)
                    .with_retention_interval(config.retention_interval),
            ),
            None => Self::Sqlite(Store::open_with_linger(&config.database_path(), config.record_linger, sealer)?),
        })
    }

    /// Where the backend reports its commits.
    pub fn commit_reports(&self) -> &CommitReports {
        match self {
            Self::Sqlite(store) => store.commit_reports(),
            Self::Postgres(store) => store.commit_reports(),
        }
    }

    /// The repositories, uncached.
    pub fn shared(&self) -> SharedDatabase {
        match self {
            Self::Sqlite(store) => Arc::new(store.clone()),
            Self::Postgres(store) => Arc::new(store.clone()),
        }
    }
}

/// The sealer over the configured master key (or the key file, created on first start), also
/// opening values sealed under `master_key_previous`.
pub fn open_sealer(config: &Config) -> Result<Sealer, SecretsError> {
    let current = match &config.master_key {
        Some(text) => master_key::parse(text, "master_key")?,
        None => master_key::load_or_create(&config.master_key_path())?,
    };
    let previous =
        config.master_key_previous.as_ref().map(|text| master_key::parse(text, "master_key_previous")).transpose()?;
    Ok(Sealer::new(current, previous))
}

async fn bootstrap(store: &SharedDatabase) -> Result<Option<BootstrapKey>, StoreError> {
    let (admin, key) = issue::team_admin_key();
    Ok(store.tenancy().bootstrap("default", admin).await?.map(|_| BootstrapKey(key)))
}
