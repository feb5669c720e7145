//! wasmhook's PostgreSQL backend (#17): the store's repositories (`wasmhook_store::repo`) on a
//! pool of `tokio-postgres` connections, so several wasmhook nodes share one database.
//!
//! Each repository call is one transaction (READ COMMITTED), the unit of work the traits
//! promise. Rows are the SQLite store's types; ids bind as `uuid` through the domain's
//! `postgres` feature. The schema is brought up to date at start, safely when several nodes
//! start at once (`migrate.rs`). The plan and what is still to come: `docs/postgres-plan.md`.

#![warn(missing_docs)]

mod blocks;
mod callbacks;
mod database;
mod deliveries;
mod docs;
mod executions;
mod kv;
mod listen;
mod locks;
mod migrate;
mod pg;
mod replay_jobs;
mod sealing;
mod secrets;
mod tenancy;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use uuid::Uuid;
use wasmhook_store::StoreError;
use wasmhook_store::commits::CommitReports;
use wasmhook_store::sealing::Sealer;

pub use listen::{LISTENER_NAME, PROBE_EVERY, PROBE_TIMEOUT};
pub use migrate::KNOWN_VERSION;

/// How long a node's claim on an execution lasts without renewal by default: a dead node's
/// runs start again elsewhere at most this long after its last renewal.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// Why the PostgreSQL store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// `database_url` is not a PostgreSQL connection string.
    #[error("database_url is not a valid PostgreSQL URL: {0}")]
    Url(#[source] tokio_postgres::Error),
    /// The pool could not be built.
    #[error("cannot build the PostgreSQL pool: {0}")]
    Build(#[from] deadpool_postgres::BuildError),
    /// No connection could be had from the pool (the server is down, refused us, or the pool
    /// timed out).
    #[error("cannot connect to PostgreSQL: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A statement failed.
    #[error("PostgreSQL error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// The database was migrated by a newer wasmhook: this binary must not write to it.
    #[error("the database is at schema version {found}, newer than this binary ({known}); upgrade wasmhook")]
    NewerSchema {
        /// The database's version.
        found: i64,
        /// The newest version this binary knows.
        known: i64,
    },
}

/// A pool of connections to one PostgreSQL database, migrated to [`KNOWN_VERSION`]. Clones
/// share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Where the pool connects: also where the invalidation feed listens (`listen.rs`).
    config: Arc<tokio_postgres::Config>,
    /// Seals what is stored encrypted (webhook signature checks) and opens it on reads, as the
    /// SQLite store does.
    sealer: Arc<Sealer>,
    /// Sync runs' records being written in the background.
    detached: executions::Detached,
    /// This node's claim on the executions it queues and runs (see `executions/leases.rs`).
    lease: executions::leases::Lease,
    /// How often the cluster purges (each node tries at this interval; one does it).
    retention_every: Duration,
    /// Where the execution writes (accept, pending rows, records) report their commits.
    commits: CommitReports,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool.status()).finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) with at most
    /// `max_connections`, and migrates the schema before returning. Every node runs this at
    /// start; the migrations serialise on a transaction-scoped advisory lock, so concurrent
    /// starts apply each version once.
    pub async fn connect(url: &str, max_connections: usize, sealer: Arc<Sealer>) -> Result<Self, PgError> {
        let config: tokio_postgres::Config = url.parse().map_err(PgError::Url)?;
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(max_connections.max(1)).build()?;
        let mut client = pool.get().await?;
        let applied = migrate::run(&mut client).await?;
        if applied > 0 {
            tracing::info!(applied, version = KNOWN_VERSION, "PostgreSQL schema migrated");
        }
        let lease = executions::leases::Lease { node: Uuid::new_v4(), ms: millis(DEFAULT_LEASE) };
        Ok(Self {
            pool,
            config: Arc::new(config),
            sealer,
            detached: executions::Detached::default(),
            lease,
            retention_every: Duration::ZERO,
            commits: CommitReports::default(),
        })
    }

    /// The same store with leases of `lease` (default [`DEFAULT_LEASE`]): how long after a
    /// node's death its runs are taken over. The node must call
    /// [`ExecutionRepo::renew_leases`](wasmhook_store::repo::ExecutionRepo::renew_leases)
    /// well within it (the server does every third of it).
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease.ms = millis(lease);
        self
    }

    /// The same store purging at most about once per `interval` cluster-wide (default: every
    /// time a node asks): each node's retention task asks at this interval, and the first to
    /// ask in a period does it (see `executions/retention.rs`).
    #[must_use]
    pub fn with_retention_interval(mut self, interval: Duration) -> Self {
        self.retention_every = interval;
        self
    }

    /// Where the execution writes report their commits (one write each; a delivery's pending
    /// rows together), for metrics. PostgreSQL has no group-commit writer: these are the
    /// commits on the delivery path.
    pub fn commit_reports(&self) -> &CommitReports {
        &self.commits
    }

    /// This node's id in `lease_owner` (random per start).
    pub fn node_id(&self) -> Uuid {
        self.lease.node
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64, PgError> {
        let client = self.pool.get().await?;
        migrate::current(&**client).await
    }

    /// The sealer this store encrypts with.
    pub fn sealer(&self) -> &Arc<Sealer> {
        &self.sealer
    }

    /// A pooled connection; a transaction is `client.transaction()` on it.
    pub(crate) async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(pg::pool)
    }
}
