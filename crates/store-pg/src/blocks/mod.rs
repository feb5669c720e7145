//! Blocks on PostgreSQL ([`BlockRepo`]); their versions are in [`versions`], the wasm bytes
//! behind them in [`wasm`].
//!
//! Writes that read the block first (`update`, `add_version`, `activate`) lock its row
//! (`SELECT … FOR UPDATE`) in their transaction: two updates then cannot lose one another's
//! changes, and two uploads cannot take the same version number.

mod versions;
mod wasm;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use wasmhook_domain::ids::{BlockId, TeamId};
use wasmhook_domain::{BlockDigest, BlockShape};
use wasmhook_store::blocks::{
    self, BlockPatch, BlockVersion, KeyValueSettings, NetworkSettings, StoredBlob, missing_secret,
};
use wasmhook_store::repo::{BlockCheck, BlockRepo};
use wasmhook_store::{Block, StoreError, now_ms};

use crate::pg::{self, RowExt, commit, db};
use crate::{PgStore, secrets};

pub(crate) use versions::version;

const COLUMNS: &str = "id, team_id, name, language, active_version, env, timeout_ms, fuel, memory_bytes, \
                       idempotency_pointer, store_payload, network, key_value, retry, created_at, updated_at";

/// A block read with [`COLUMNS`].
fn block_from(row: &Row) -> Result<Block, StoreError> {
    let block = Block {
        id: row.at(0)?,
        team_id: row.at(1)?,
        name: row.at(2)?,
        language: row.at(3)?,
        active_version: row.at(4)?,
        env: BTreeMap::new(),
        timeout_ms: from_bigint(row.at(6)?, "block timeout_ms")?,
        fuel: from_bigint(row.at(7)?, "block fuel")?,
        memory_bytes: from_bigint(row.at(8)?, "block memory_bytes")?,
        idempotency_pointer: row.at(9)?,
        store_payload: row.at(10)?,
        network: NetworkSettings::default(),
        key_value: KeyValueSettings::default(),
        retry: None,
        created_at: row.at(14)?,
        updated_at: row.at(15)?,
    };
    // The JSON columns are decoded by the SQLite store's own code, so both read them alike.
    blocks::decode((block, row.at(5)?, row.at(11)?, row.at(12)?, row.at(13)?))
}

/// An unsigned limit as its `bigint` column. One past `i64::MAX` fails as SQLite's driver
/// fails it: a `Database` error, nothing written.
pub(crate) fn to_bigint(value: Option<u64>) -> Result<Option<i64>, StoreError> {
    value.map(i64::try_from).transpose().map_err(|e| StoreError::Database(Arc::new(e)))
}

/// A `bigint` column back to its unsigned limit; a negative one was not written by us.
pub(crate) fn from_bigint(value: Option<i64>, column: &str) -> Result<Option<u64>, StoreError> {
    value.map(u64::try_from).transpose().map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// Stores a new block. Its version is not taken from `block` (a new block has none) and
/// `updated_at` starts as `created_at`, as on SQLite.
async fn insert(c: &impl GenericClient, block: &Block) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO blocks ({COLUMNS})
         VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"
    );
    pg::execute(
        c,
        &sql,
        &[
            &block.id,
            &block.team_id,
            &block.name,
            &block.language,
            &blocks::encode_env(&block.env)?,
            &to_bigint(block.timeout_ms)?,
            &to_bigint(block.fuel)?,
            &to_bigint(block.memory_bytes)?,
            &block.idempotency_pointer,
            &block.store_payload,
            &blocks::encode_json(&block.network)?,
            &blocks::encode_json(&block.key_value)?,
            &blocks::RetrySettings::to_column(block.retry.as_ref())?,
            &block.created_at,
        ],
    )
    .await?;
    Ok(())
}

/// Writes every setting of a block read (and locked) earlier in the transaction.
async fn store(c: &impl GenericClient, block: &Block) -> Result<(), StoreError> {
    pg::execute(
        c,
        "UPDATE blocks SET name = $2, language = $3, env = $4, timeout_ms = $5, fuel = $6, memory_bytes = $7,
         updated_at = $8, idempotency_pointer = $9, store_payload = $10, network = $11, key_value = $12, retry = $13
         WHERE id = $1",
        &[
            &block.id,
            &block.name,
            &block.language,
            &blocks::encode_env(&block.env)?,
            &to_bigint(block.timeout_ms)?,
            &to_bigint(block.fuel)?,
            &to_bigint(block.memory_bytes)?,
            &block.updated_at,
            &block.idempotency_pointer,
            &block.store_payload,
            &blocks::encode_json(&block.network)?,
            &blocks::encode_json(&block.key_value)?,
            &blocks::RetrySettings::to_column(block.retry.as_ref())?,
        ],
    )
    .await?;
    Ok(())
}

/// A block of `team_id`; another team's block is "not found".
pub(crate) async fn get(c: &impl GenericClient, team_id: TeamId, id: BlockId) -> Result<Block, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM blocks WHERE id = $1 AND team_id = $2");
    found(pg::query_opt(c, &sql, &[&id, &team_id]).await?)
}

/// A block of `team_id`, its row locked until the transaction ends: the write that follows
/// is based on what no concurrent write can change meanwhile.
async fn locked(c: &impl GenericClient, team_id: TeamId, id: BlockId) -> Result<Block, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM blocks WHERE id = $1 AND team_id = $2 FOR UPDATE");
    found(pg::query_opt(c, &sql, &[&id, &team_id]).await?)
}

/// The block of a row read with [`COLUMNS`]; no row is SQLite's "block not found".
fn found(row: Option<Row>) -> Result<Block, StoreError> {
    row.as_ref().map(block_from).transpose()?.ok_or(StoreError::NotFound("block"))
}

/// Every secret the block references exists in its team (the message is SQLite's).
async fn check_secrets(c: &impl GenericClient, block: &Block) -> Result<(), StoreError> {
    if let Some(name) = secrets::first_missing(c, block.team_id, &block.secret_names()).await? {
        return Err(missing_secret(&name));
    }
    Ok(())
}

#[async_trait]
impl BlockRepo for PgStore {
    async fn create(&self, block: Block) -> Result<Block, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        insert(&tx, &block).await?;
        // Dropping the transaction rolls the insert back when a referenced secret is missing.
        check_secrets(&tx, &block).await?;
        tx.commit().await.map_err(commit)?;
        Ok(block)
    }

    async fn update(
        &self,
        team_id: TeamId,
        id: BlockId,
        patch: BlockPatch,
        check: BlockCheck,
    ) -> Result<Block, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let mut block = locked(&tx, team_id, id).await?;
        patch.apply_to(&mut block);
        block.updated_at = now_ms();
        check(&block).map_err(StoreError::Invalid)?;
        check_secrets(&tx, &block).await?;
        store(&tx, &block).await?;
        tx.commit().await.map_err(commit)?;
        Ok(block)
    }

    async fn get(&self, team_id: TeamId, id: BlockId) -> Result<Block, StoreError> {
        get(&self.client().await?, team_id, id).await
    }

    async fn get_any_team(&self, id: BlockId) -> Result<Option<Arc<Block>>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM blocks WHERE id = $1");
        let row = pg::query_opt(&self.client().await?, &sql, &[&id]).await?;
        Ok(row.as_ref().map(block_from).transpose()?.map(Arc::new))
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<Block>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM blocks WHERE team_id = $1 ORDER BY created_at, seq");
        let rows = pg::query(&self.client().await?, &sql, &[&team_id]).await?;
        rows.iter().map(block_from).collect()
    }

    async fn put_wasm(&self, digest: BlockDigest, bytes: &Bytes) -> Result<usize, StoreError> {
        wasm::put(&self.client().await?, &digest.to_string(), bytes).await
    }

    async fn add_version(
        &self,
        team_id: TeamId,
        id: BlockId,
        blob: StoredBlob,
        shape: BlockShape,
        activate: bool,
    ) -> Result<BlockVersion, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // Locked: a concurrent upload of the same block waits here, then numbers after ours.
        locked(&tx, team_id, id).await?;
        wasm::seal(&tx, &blob.digest.to_string(), blob.chunks).await?;
        let version = versions::insert(&tx, id, blob, shape).await?;
        if activate {
            versions::set_active(&tx, id, version.version).await?;
        }
        tx.commit().await.map_err(commit)?;
        Ok(version)
    }

    async fn activate(&self, team_id: TeamId, id: BlockId, version: i64) -> Result<Block, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        locked(&tx, team_id, id).await?;
        versions::version(&tx, id, version).await?;
        let block = found(versions::set_active(&tx, id, version).await?)?;
        tx.commit().await.map_err(commit)?;
        Ok(block)
    }

    async fn version(&self, block_id: BlockId, version: i64) -> Result<BlockVersion, StoreError> {
        versions::version(&self.client().await?, block_id, version).await
    }

    async fn versions(&self, team_id: TeamId, id: BlockId) -> Result<Vec<BlockVersion>, StoreError> {
        let client = self.client().await?;
        get(&client, team_id, id).await?;
        versions::of_block(&client, id).await
    }

    async fn wasm_bytes(&self, digest: BlockDigest) -> Result<Vec<u8>, StoreError> {
        wasm::read(&self.client().await?, &digest.to_string()).await
    }
}
