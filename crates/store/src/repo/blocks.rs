//! Blocks, their immutable versions, and the content-addressed wasm bytes behind them.

use std::sync::Arc;
use wasmhook_domain::ids::{BlockId, TeamId};

use async_trait::async_trait;
use bytes::Bytes;
use rusqlite::Connection;
use wasmhook_domain::{BlockDigest, BlockShape};

use crate::blocks::{self as sql, Block, BlockPatch, BlockVersion, StoredBlob};
use crate::{Store, StoreError, secrets};

/// A check of a block's merged settings, run inside its write before anything is written; its
/// error is the 422 message.
pub type BlockCheck = Box<dyn FnOnce(&Block) -> Result<(), String> + Send>;

/// Blocks and their versions.
#[async_trait]
pub trait BlockRepo: Send + Sync {
    /// Creates a block. Every secret it references must exist in its team (`Invalid`).
    async fn create(&self, block: Block) -> Result<Block, StoreError>;
    /// Applies `patch`; the merged block must pass `check` and reference only secrets its team
    /// has, else nothing is written.
    async fn update(
        &self,
        team_id: TeamId,
        id: BlockId,
        patch: BlockPatch,
        check: BlockCheck,
    ) -> Result<Block, StoreError>;
    /// A block of the team; another team's is "not found".
    async fn get(&self, team_id: TeamId, id: BlockId) -> Result<Block, StoreError>;
    /// A block by id, whatever its team (the id comes from a route the caller may use).
    /// Shared: every run of a block reads it.
    async fn get_any_team(&self, id: BlockId) -> Result<Option<Arc<Block>>, StoreError>;
    /// A block of the team, shared (another team's is "not found"): what every run of it reads.
    async fn shared(&self, team_id: TeamId, id: BlockId) -> Result<Arc<Block>, StoreError> {
        self.get_any_team(id).await?.filter(|block| block.team_id == team_id).ok_or(StoreError::NotFound("block"))
    }
    /// The team's blocks, oldest first.
    async fn list(&self, team_id: TeamId) -> Result<Vec<Block>, StoreError>;
    /// Stores a component's bytes (in chunks, each its own write, unless stored already);
    /// returns the chunk count [`BlockRepo::add_version`] seals.
    async fn put_wasm(&self, digest: BlockDigest, bytes: &Bytes) -> Result<usize, StoreError>;
    /// Seals stored bytes as the block's next version; activates it when asked.
    async fn add_version(
        &self,
        team_id: TeamId,
        id: BlockId,
        blob: StoredBlob,
        shape: BlockShape,
        activate: bool,
    ) -> Result<BlockVersion, StoreError>;
    /// Points the block at an existing version (upgrade or rollback).
    async fn activate(&self, team_id: TeamId, id: BlockId, version: i64) -> Result<Block, StoreError>;
    /// One version of a block.
    async fn version(&self, block_id: BlockId, version: i64) -> Result<BlockVersion, StoreError>;
    /// Every version of the team's block.
    async fn versions(&self, team_id: TeamId, id: BlockId) -> Result<Vec<BlockVersion>, StoreError>;
    /// The wasm bytes of a digest (to recompile when no artifact is cached).
    async fn wasm_bytes(&self, digest: BlockDigest) -> Result<Vec<u8>, StoreError>;
}

/// Every secret the block references exists in its team.
fn check_secrets(conn: &Connection, block: &Block) -> Result<(), StoreError> {
    if let Some(name) = secrets::first_missing(conn, block.team_id, &block.secret_names())? {
        return Err(sql::missing_secret(&name));
    }
    Ok(())
}

#[async_trait]
impl BlockRepo for Store {
    async fn create(&self, block: Block) -> Result<Block, StoreError> {
        self.write(move |conn| {
            sql::insert_block(conn, &block)?;
            // The savepoint rolls the insert back when a referenced secret is missing.
            check_secrets(conn, &block)?;
            Ok(block)
        })
        .await
    }

    async fn update(
        &self,
        team_id: TeamId,
        id: BlockId,
        patch: BlockPatch,
        check: BlockCheck,
    ) -> Result<Block, StoreError> {
        self.write(move |conn| {
            sql::update_block(conn, team_id, id, &patch, |merged| {
                check(merged).map_err(StoreError::Invalid)?;
                check_secrets(conn, merged)
            })
        })
        .await
    }

    async fn get(&self, team_id: TeamId, id: BlockId) -> Result<Block, StoreError> {
        self.read(move |conn| sql::block(conn, team_id, id)).await
    }

    async fn get_any_team(&self, id: BlockId) -> Result<Option<Arc<Block>>, StoreError> {
        Ok(self.read(move |conn| sql::block_by_id(conn, id)).await?.map(Arc::new))
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<Block>, StoreError> {
        self.read(move |conn| sql::blocks_of_team(conn, team_id)).await
    }

    async fn put_wasm(&self, digest: BlockDigest, bytes: &Bytes) -> Result<usize, StoreError> {
        self.put_wasm_chunks(&digest.to_string(), bytes).await
    }

    async fn add_version(
        &self,
        team_id: TeamId,
        id: BlockId,
        blob: StoredBlob,
        shape: BlockShape,
        activate: bool,
    ) -> Result<BlockVersion, StoreError> {
        self.write(move |conn| sql::insert_version(conn, team_id, id, blob, shape, activate)).await
    }

    async fn activate(&self, team_id: TeamId, id: BlockId, version: i64) -> Result<Block, StoreError> {
        self.write(move |conn| sql::activate_version(conn, team_id, id, version)).await
    }

    async fn version(&self, block_id: BlockId, version: i64) -> Result<BlockVersion, StoreError> {
        self.read(move |conn| sql::version(conn, block_id, version)).await
    }

    async fn versions(&self, team_id: TeamId, id: BlockId) -> Result<Vec<BlockVersion>, StoreError> {
        self.read(move |conn| sql::versions(conn, team_id, id)).await
    }

    async fn wasm_bytes(&self, digest: BlockDigest) -> Result<Vec<u8>, StoreError> {
        self.read(move |conn| sql::wasm_bytes(conn, digest)).await
    }
}
