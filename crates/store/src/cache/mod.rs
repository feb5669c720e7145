//! The caches of what every webhook call reads (verified keys, blocks, docs, trigger webhooks,
//! block versions), kept by the repositories themselves: [`CachedDatabase`] wraps any
//! [`Database`] and invalidates an entry on every write through it that changes the row.
//! Handlers never touch a cache.
//!
//! Without them each call costs two or three reads on blocking threads before any work
//! starts. On SQLite this process is the only writer, so its own writes are every write; on a
//! shared database the other nodes' writes arrive as [`Invalidation`]s
//! ([`CachedDatabase::invalidate`], fed by the PostgreSQL store's listener).
//!
//! An invalidating write runs in a task of its own, and invalidates once it committed: a
//! caller cancelled between the two (its client gone) must not leave a revoked key, an old
//! secret or a disabled webhook in the cache, where an entry that keeps being used would never
//! be evicted.

mod blocks;
mod docs;
mod executions;
mod invalidation;
mod map;
mod tenancy;
mod webhooks;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;

pub use invalidation::Invalidation;

use crate::StoreError;
use crate::repo::{
    BlockRepo, CallbackRepo, Database, DocRepo, ExecutionRepo, KvRepo, ReplayJobRepo, SealingRepo, SecretRepo,
    SharedDatabase, TenancyRepo, WebhookRepo,
};

/// A [`Database`] whose hot reads are cached and whose writes keep the caches true.
#[derive(Debug)]
pub struct CachedDatabase {
    inner: SharedDatabase,
    blocks: blocks::CachedBlocks,
    docs: docs::CachedDocs,
    webhooks: Arc<webhooks::CachedWebhooks>,
    tenancy: tenancy::CachedTenancy,
    executions: executions::CachedExecutions,
}

impl CachedDatabase {
    /// Caches over `inner`.
    pub fn new(inner: SharedDatabase) -> Self {
        let webhooks = Arc::new(webhooks::CachedWebhooks::new(inner.clone()));
        Self {
            blocks: blocks::CachedBlocks::new(inner.clone()),
            docs: docs::CachedDocs::new(inner.clone()),
            tenancy: tenancy::CachedTenancy::new(inner.clone()),
            executions: executions::CachedExecutions::new(inner.clone(), Arc::clone(&webhooks)),
            webhooks,
            inner,
        }
    }
}

impl Database for CachedDatabase {
    fn secrets(&self) -> &dyn SecretRepo {
        self.inner.secrets()
    }

    fn kv(&self) -> &dyn KvRepo {
        self.inner.kv()
    }

    fn callbacks(&self) -> &dyn CallbackRepo {
        self.inner.callbacks()
    }

    fn tenancy(&self) -> &dyn TenancyRepo {
        &self.tenancy
    }

    fn blocks(&self) -> &dyn BlockRepo {
        &self.blocks
    }

    fn docs(&self) -> &dyn DocRepo {
        &self.docs
    }

    fn webhooks(&self) -> &dyn WebhookRepo {
        &*self.webhooks
    }

    fn executions(&self) -> &dyn ExecutionRepo {
        &self.executions
    }

    fn replay_jobs(&self) -> &dyn ReplayJobRepo {
        self.inner.replay_jobs()
    }

    fn sealing(&self) -> &dyn SealingRepo {
        self.inner.sealing()
    }
}

/// Runs `write` in a task of its own, then `invalidate` once it succeeded, whether or not the
/// caller still waits.
async fn write_then_invalidate<R: Send + 'static>(
    write: impl Future<Output = Result<R, StoreError>> + Send + 'static,
    invalidate: impl FnOnce(&R) + Send + 'static,
) -> Result<R, StoreError> {
    tokio::spawn(async move {
        let written = write.await;
        if let Ok(value) = &written {
            invalidate(value);
        }
        written
    })
    .await
    .map_err(StoreError::Task)?
}
