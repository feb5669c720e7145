//! Blocks by id and block versions, cached; a block's entry goes with every write to it.

use std::future::Future;
use std::sync::Arc;
use wasmhook_domain::ids::{BlockId, TeamId};

use async_trait::async_trait;
use bytes::Bytes;
use wasmhook_domain::{BlockDigest, BlockShape};

use super::map::{MAX_ENTRIES, Map};
use super::write_then_invalidate;
use crate::StoreError;
use crate::blocks::{Block, BlockPatch, BlockVersion, StoredBlob};
use crate::repo::{BlockCheck, BlockRepo, SharedDatabase};

#[derive(Debug)]
pub(super) struct CachedBlocks {
    inner: SharedDatabase,
    blocks: Arc<Map<BlockId, Arc<Block>>>,
    /// Versions never change once stored: never invalidated.
    versions: Map<(BlockId, i64), BlockVersion>,
}

impl CachedBlocks {
    pub(super) fn new(inner: SharedDatabase) -> Self {
        Self { inner, blocks: Arc::new(Map::new(MAX_ENTRIES)), versions: Map::new(MAX_ENTRIES) }
    }

    /// Drops block `id`'s entry (another node changed it).
    pub(super) fn forget(&self, id: BlockId) {
        self.blocks.remove(&id);
    }

    /// Drops every entry but versions, which never change.
    pub(super) fn forget_all(&self) {
        self.blocks.clear();
    }

    /// Runs a write to block `id`, then drops its entry.
    async fn changing<R: Send + 'static>(
        &self,
        id: BlockId,
        write: impl Future<Output = Result<R, StoreError>> + Send + 'static,
    ) -> Result<R, StoreError> {
        let blocks = Arc::clone(&self.blocks);
        write_then_invalidate(write, move |_| blocks.remove(&id)).await
    }
}

#[async_trait]
impl BlockRepo for CachedBlocks {
    async fn create(&self, block: Block) -> Result<Block, StoreError> {
        self.inner.blocks().create(block).await
    }

    async fn update(
        &self,
        team_id: TeamId,
        id: BlockId,
        patch: BlockPatch,
        check: BlockCheck,
    ) -> Result<Block, StoreError> {
        let inner = self.inner.clone();
        self.changing(id, async move { inner.blocks().update(team_id, id, patch, check).await }).await
    }

    async fn get(&self, team_id: TeamId, id: BlockId) -> Result<Block, StoreError> {
        self.inner.blocks().get(team_id, id).await
    }

    async fn get_any_team(&self, id: BlockId) -> Result<Option<Arc<Block>>, StoreError> {
        self.blocks.get_or_load(id, || self.inner.blocks().get_any_team(id)).await
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<Block>, StoreError> {
        self.inner.blocks().list(team_id).await
    }

    async fn put_wasm(&self, digest: BlockDigest, bytes: &Bytes) -> Result<usize, StoreError> {
        self.inner.blocks().put_wasm(digest, bytes).await
    }

    async fn add_version(
        &self,
        team_id: TeamId,
        id: BlockId,
        blob: StoredBlob,
        shape: BlockShape,
        activate: bool,
    ) -> Result<BlockVersion, StoreError> {
        let inner = self.inner.clone();
        self.changing(id, async move { inner.blocks().add_version(team_id, id, blob, shape, activate).await }).await
    }

    async fn activate(&self, team_id: TeamId, id: BlockId, version: i64) -> Result<Block, StoreError> {
        let inner = self.inner.clone();
        self.changing(id, async move { inner.blocks().activate(team_id, id, version).await }).await
    }

    async fn version(&self, block_id: BlockId, version: i64) -> Result<BlockVersion, StoreError> {
        let load = || async { self.inner.blocks().version(block_id, version).await.map(Some) };
        self.versions.get_or_load((block_id, version), load).await?.ok_or(StoreError::NotFound("block version"))
    }

    async fn versions(&self, team_id: TeamId, id: BlockId) -> Result<Vec<BlockVersion>, StoreError> {
        self.inner.blocks().versions(team_id, id).await
    }

    async fn wasm_bytes(&self, digest: BlockDigest) -> Result<Vec<u8>, StoreError> {
        self.inner.blocks().wasm_bytes(digest).await
    }
}
