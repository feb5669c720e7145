//! What every handler shares: the store, the sandbox, the executor and the config.

use std::sync::Arc;

use uuid::Uuid;

use crate::auth::issue;
use crate::auth::run_keys::RunKeys;
use crate::cache::Cache;
use crate::callbacks::Callbacks;
use crate::callbacks::sender::Sender;
use crate::config::Config;
use crate::executor::Executor;
use crate::ratelimit::RateLimiters;
use crate::secrets::{Sealer, SecretsError, master_key};
use wasmhook_sandbox::{HostClient, Sandbox, SandboxConfig, SandboxError};
use wasmhook_store::blocks::Block;
use wasmhook_store::docs::Doc;

use wasmhook_store::repo::SharedDatabase;
use wasmhook_store::webhooks::Webhook;
use wasmhook_store::{Store, StoreError};

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
    /// Verified keys, blocks, docs and webhooks, so webhook calls skip the database.
    pub cache: Arc<Cache>,
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
}

/// What a trigger webhook's id refers to.
#[derive(Debug, Clone)]
pub enum WebhookLookup {
    /// A live webhook (in any state).
    Found(Arc<Webhook>),
    /// A URL that was regenerated or deleted.
    Removed,
    /// Never a webhook.
    Missing,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened or bootstrapped.
    #[error(transparent)]
    Store(#[from] StoreError),
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
        let store: SharedDatabase =
            Arc::new(Store::open_with_linger(&config.database_path(), config.record_linger, Arc::clone(&sealer))?);
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
        let cache = Arc::new(Cache::default());
        let callbacks = Callbacks::new(store.callbacks().targets().await?);
        let executor = Executor::new(
            store.clone(),
            Arc::clone(&sandbox),
            Arc::clone(&config),
            Arc::clone(&cache),
            Arc::clone(&sealer),
            Arc::clone(&run_keys),
            Arc::clone(&callbacks),
        );
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
        Ok((
            Self { store, sandbox, executor, config, cache, limiters, uploads, sealer, run_keys, callbacks },
            bootstrap,
        ))
    }

    /// A block by id whatever its team, from the cache or the store.
    pub async fn block_by_id(&self, id: Uuid) -> Result<Option<Arc<Block>>, StoreError> {
        self.cache.load_block(&self.store, id).await
    }

    /// A block of `team_id` (another team's is "not found"), from the cache or the store.
    pub async fn block(&self, team_id: Uuid, id: Uuid) -> Result<Arc<Block>, StoreError> {
        self.block_by_id(id).await?.filter(|b| b.team_id == team_id).ok_or(StoreError::NotFound("block"))
    }

    /// A trigger webhook by the id in its URL, from the cache or the store.
    pub async fn webhook_by_id(&self, id: Uuid) -> Result<WebhookLookup, StoreError> {
        let store = &self.store;
        let found =
            self.cache.webhook(id, || async move { Ok(store.webhooks().by_id(id).await?.map(Arc::new)) }).await?;
        if let Some(webhook) = found {
            return Ok(WebhookLookup::Found(webhook));
        }
        let removed = store.webhooks().removed(id).await?;
        Ok(if removed { WebhookLookup::Removed } else { WebhookLookup::Missing })
    }

    /// A doc of `team_id` (archived included), from the cache or the store.
    pub async fn doc(&self, team_id: Uuid, id: Uuid) -> Result<Arc<Doc>, StoreError> {
        let store = &self.store;
        let doc = self
            .cache
            .doc(id, || async move {
                match store.docs().get(team_id, id).await {
                    Ok(doc) => Ok(Some(Arc::new(doc))),
                    Err(StoreError::NotFound(_)) => Ok(None),
                    Err(other) => Err(other),
                }
            })
            .await?;
        doc.filter(|doc| doc.team_id == team_id).ok_or(StoreError::NotFound("doc"))
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
