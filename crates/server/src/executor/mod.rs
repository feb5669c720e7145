//! Runs deliveries and records executions: synchronously (the default), or through the
//! durable queue (async, or a sync call that outlived the sync wait limit).
//!
//! - [`delivery`]: accepting a delivery — idempotency keys, queue or inline, the sync-wait
//!   handoff to async.
//! - `queue`: the in-memory dispatch channel in front of the durable `queued` rows, the
//!   worker pool and crash recovery at boot.
//! - [`job`]: one run of one block version, recorded in the store's next group commit.
//! - [`retry`]: retry policies (what is retried, after how long); `retries`: the scheduler
//!   that queues each `scheduled` attempt when its time comes.
//! - `bulk_replay`: re-running a fixed list of executions at a bounded rate.
//! - `stored_input`: the input an execution keeps to be run again.
//! - `retention`: the background purge of old executions and idempotency records.
//! - `versions`: adding a block version (the sandbox compiles it before the store keeps it).
//! - `workers`: the queue workers' own low-priority runtime.

mod bulk_replay;
pub mod delivery;
pub mod job;
mod leases;
mod queue;
mod retention;
mod retries;
pub mod retry;
mod run_secrets;
mod stored_input;
mod team_kv;
mod versions;
mod workers;

use std::sync::Arc;
use std::time::Duration;
use wasmhook_domain::ids::BlockId;

use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use delivery::{Delivery, Dispatched, IdempotencyKey, Mode};
pub use job::{Job, RunSummary, StoredInput};

use crate::auth::run_keys::RunKeys;
use crate::callbacks::Callbacks;
use crate::config::Config;
use crate::secrets::Sealer;
use crate::telemetry::Metrics;
use queue::Lane;
use queue::Queue;
use wasmhook_sandbox::{PreparedBlock, Sandbox, SandboxError};

use wasmhook_store::StoreError;
use wasmhook_store::repo::SharedDatabase;

/// Why a delivery could not be accepted or run (a failing guest is not an error: its
/// outcome is recorded).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The block has no uploaded version to run.
    #[error("block {0} has no active version: upload one with POST /v1/blocks/{0}/versions")]
    NoActiveVersion(BlockId),
    /// The idempotency key was used for another request body within the window.
    #[error("the idempotency key {0:?} was already used for a different request within the idempotency window")]
    KeyReused(String),
    /// The queue holds `queue_depth` deliveries already.
    #[error("the execution queue is full; retry later")]
    QueueFull,
    /// One delivery has more runs than could ever be queued or run at once.
    #[error("this delivery has {runs} runs, more than the {capacity} one delivery can have")]
    TooManyRuns {
        /// Runs in the delivery.
        runs: usize,
        /// The most it may have.
        capacity: usize,
    },
    /// The caller's team has `team_queue_depth` executions queued already.
    #[error("your team has {0} executions queued, its share of the queue; retry later")]
    TeamQueueFull(usize),
    /// `max_sync_runs` sync runs are waiting or running already.
    #[error("too many synchronous runs are in progress ({0} at most); retry later or send it async")]
    SyncOverloaded(usize),
    /// The server is shutting down and takes no new work.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The block references a secret its team does not have.
    #[error("the block references secret {0:?}, which its team does not have (create it with PUT /v1/secrets/{0})")]
    MissingSecret(String),
    /// A credential does not make a valid header.
    #[error("{0}")]
    InvalidCredential(String),
    /// A secret did not open (master key changed without rotation, or tampering).
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretsError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sandbox could not run it.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The queue workers' threads could not be started.
    #[error("cannot start the queue workers: {0}")]
    Workers(#[source] std::io::Error),
    /// A task accepting or running a delivery panicked or was cancelled (a bug, not the
    /// caller's fault).
    #[error("a delivery task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// Runs and records; cheap to clone.
#[derive(Debug, Clone)]
pub struct Executor {
    store: SharedDatabase,
    sandbox: Arc<Sandbox>,
    config: Arc<Config>,
    queue: Arc<Queue>,
    /// Every run in flight (workers' and detached sync runs), so shutdown can wait for them.
    tasks: TaskTracker,
    stopping: CancellationToken,
    /// One permit per sync run waiting or running, held by its task until the run is recorded
    /// (also past the sync wait): bounds the payloads and tasks of sync work in memory.
    sync_slots: Arc<Semaphore>,
    /// Opens the secrets a run's block uses.
    sealer: Arc<Sealer>,
    /// Issues each run its `WASMHOOK_API_KEY`.
    run_keys: Arc<RunKeys>,
    /// Every run's `WASMHOOK_API_BASE_URL`.
    api_base_url: Arc<str>,
    /// Wakes the retry scheduler when an attempt is scheduled.
    retry_wake: Arc<Notify>,
    /// Completion callbacks: which targets have one, and the sender of their messages.
    callbacks: Arc<Callbacks>,
    /// Where finished runs are counted (`None`: metrics off).
    metrics: Option<Arc<Metrics>>,
}

impl Executor {
    /// An executor over the shared store and sandbox. Call [`Executor::start`] to recover
    /// and start the workers.
    pub fn new(
        store: SharedDatabase,
        sandbox: Arc<Sandbox>,
        config: Arc<Config>,
        sealer: Arc<Sealer>,
        run_keys: Arc<RunKeys>,
        callbacks: Arc<Callbacks>,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        let queue = Arc::new(Queue::new(config.queue_depth, config.team_queue_depth()));
        let sync_slots = Arc::new(Semaphore::new(config.sync_run_limit()));
        let api_base_url = config.api_base_url().into();
        Self {
            store,
            sandbox,
            config,
            queue,
            tasks: TaskTracker::new(),
            stopping: CancellationToken::new(),
            sync_slots,
            sealer,
            run_keys,
            api_base_url,
            retry_wake: Arc::new(Notify::new()),
            callbacks,
            metrics,
        }
    }

    /// Re-queues what a crash left `queued` or `running`, then starts the workers and the
    /// retention task. Returns how many executions were recovered.
    pub async fn start(&self) -> Result<usize, ExecError> {
        let recovered = self.store.executions().recover().await?;
        let count = recovered.len();
        if count > 0 {
            tracing::info!(count, "re-queued executions left unfinished by the last run");
        }
        for (team, id) in recovered {
            self.queue.push(Lane::Team(team), id);
        }
        workers::start(self, self.config.workers).map_err(ExecError::Workers)?;
        let this = self.clone();
        tokio::spawn(async move { this.retain().await });
        let this = self.clone();
        tokio::spawn(async move { this.schedule_retries().await });
        let this = self.clone();
        tokio::spawn(async move { this.keep_leases().await });
        self.resume_replays().await?;
        Ok(count)
    }

    /// Stops taking queued work and waits up to `grace` for runs in flight. Queued work stays
    /// queued in the store and runs after the next start.
    pub async fn shutdown(&self, grace: Duration) {
        self.stopping.cancel();
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait()).await.is_err() {
            tracing::warn!(in_flight = self.tasks.len(), "shutdown grace period over with runs in flight");
        }
        // What this node still holds is another node's (or the next start's) at once, not after
        // its leases lapse.
        if let Err(error) = self.store.executions().release_leases().await {
            tracing::warn!(%error, "cannot release this node's leases; they lapse on their own");
        }
    }

    /// Cancelled at shutdown: background tasks beside the executor stop with it.
    pub fn stopping(&self) -> CancellationToken {
        self.stopping.clone()
    }

    /// Deliveries waiting in the queue.
    pub fn queued(&self) -> usize {
        self.queue.depth()
    }

    /// Sync runs waiting for or holding a run slot now.
    pub fn sync_runs_in_flight(&self) -> usize {
        self.config.sync_run_limit().saturating_sub(self.sync_slots.available_permits())
    }

    /// How long the longest-waiting queued delivery has waited on this node.
    pub fn oldest_queued_wait(&self) -> Duration {
        self.queue.oldest_wait()
    }

    /// The prepared block of a block version: the digest from the store (whose cache keeps
    /// versions, which are immutable), then the prepared block from memory, the artifact on
    /// disk, or a compile of the stored bytes (after the artifact cache was wiped or the
    /// engine changed).
    async fn prepared(&self, block_id: BlockId, version: i64) -> Result<Arc<PreparedBlock>, ExecError> {
        let digest = self.store.blocks().version(block_id, version).await?.digest;
        if let Some(prepared) = self.sandbox.cached(&digest)? {
            return Ok(prepared);
        }
        let bytes = self.store.blocks().wasm_bytes(digest).await?;
        Ok(self.sandbox.prepare(&bytes).await?)
    }
}
