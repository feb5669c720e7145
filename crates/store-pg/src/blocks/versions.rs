//! A block's immutable versions on PostgreSQL: numbered 1, 2, 3, … per block, each naming a
//! sealed wasm blob.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use wasmhook_domain::BlockShape;
use wasmhook_domain::ids::BlockId;
use wasmhook_store::blocks::{BlockVersion, StoredBlob};
use wasmhook_store::{StoreError, now_ms};

use super::COLUMNS;
use crate::pg::{self, RowExt};

const VERSION_COLUMNS: &str = "block_id, version, digest, size, shape, created_at";

/// A version read with [`VERSION_COLUMNS`]; an unreadable digest or shape is `Corrupt`.
fn version_from(row: &Row) -> Result<BlockVersion, StoreError> {
    let digest: String = row.at(2)?;
    let shape: String = row.at(4)?;
    Ok(BlockVersion {
        block_id: row.at(0)?,
        version: row.at(1)?,
        digest: digest.parse().map_err(|e| StoreError::Corrupt(format!("block version digest: {e}")))?,
        size: row.at(3)?,
        shape: BlockShape::parse(&shape).ok_or_else(|| StoreError::Corrupt("unknown block shape".to_owned()))?,
        created_at: row.at(5)?,
    })
}

/// Appends the block's next version. The caller holds the block's row lock, so no concurrent
/// upload reads the same `max(version)`.
pub(super) async fn insert(
    c: &impl GenericClient,
    block_id: BlockId,
    blob: StoredBlob,
    shape: BlockShape,
) -> Result<BlockVersion, StoreError> {
    let StoredBlob { digest, size, chunks: _ } = blob;
    let next: i64 =
        pg::query_one(c, "SELECT coalesce(max(version), 0) + 1 FROM block_versions WHERE block_id = $1", &[&block_id])
            .await?
            .at(0)?;
    let version = BlockVersion { block_id, version: next, digest, size: pg::to_i64(size), shape, created_at: now_ms() };
    pg::execute(
        c,
        &format!("INSERT INTO block_versions ({VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
        &[&block_id, &version.version, &digest.to_string(), &version.size, &shape.as_str(), &version.created_at],
    )
    .await?;
    Ok(version)
}

/// Points the block at `version` and returns the block as it now is (no row: no such block).
pub(super) async fn set_active(
    c: &impl GenericClient,
    block_id: BlockId,
    version: i64,
) -> Result<Option<Row>, StoreError> {
    let sql = format!("UPDATE blocks SET active_version = $2, updated_at = $3 WHERE id = $1 RETURNING {COLUMNS}");
    pg::query_opt(c, &sql, &[&block_id, &version, &now_ms()]).await
}

/// One version of a block, whatever its team (the caller checked the block is the team's, or
/// has it from a webhook that is).
pub(crate) async fn version(
    c: &impl GenericClient,
    block_id: BlockId,
    version: i64,
) -> Result<BlockVersion, StoreError> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM block_versions WHERE block_id = $1 AND version = $2");
    pg::query_opt(c, &sql, &[&block_id, &version])
        .await?
        .as_ref()
        .map(version_from)
        .transpose()?
        .ok_or(StoreError::NotFound("block version"))
}

/// Every version of a block, oldest first.
pub(super) async fn of_block(c: &impl GenericClient, block_id: BlockId) -> Result<Vec<BlockVersion>, StoreError> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM block_versions WHERE block_id = $1 ORDER BY version");
    pg::query(c, &sql, &[&block_id]).await?.iter().map(version_from).collect()
}
