//! The immutable versions of a block and the content-addressed wasm bytes behind them.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use wasmhook_domain::ids::{BlockId, TeamId};
use wasmhook_domain::{BlockDigest, BlockShape};

use super::{Block, block};
use crate::{StoreError, now_ms, uuid_at};

/// One immutable upload of a block.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockVersion {
    /// The block.
    pub block_id: BlockId,
    /// 1, 2, 3, … in upload order.
    pub version: i64,
    /// sha256 of the wasm bytes.
    pub digest: BlockDigest,
    /// Size of the wasm bytes.
    pub size: i64,
    /// `block` (typed world) or `command`.
    pub shape: BlockShape,
    /// Upload time, ms since the epoch.
    pub created_at: i64,
}

/// A component's bytes as written by [`Store::put_wasm_chunks`](crate::Store::put_wasm_chunks).
#[derive(Debug, Clone, Copy)]
pub struct StoredBlob {
    /// Its SHA-256.
    pub digest: BlockDigest,
    /// Its length.
    pub size: usize,
    /// How many chunks hold it.
    pub chunks: usize,
}

/// Seals the stored bytes and appends a version; activates it when asked.
pub(crate) fn insert_version(
    conn: &Connection,
    team_id: TeamId,
    block_id: BlockId,
    blob: StoredBlob,
    shape: BlockShape,
    activate: bool,
) -> Result<BlockVersion, StoreError> {
    block(conn, team_id, block_id)?;
    let StoredBlob { digest, size, chunks } = blob;
    crate::blobs::seal(conn, &digest.to_string(), chunks)?;
    let next: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM block_versions WHERE block_id = ?1",
        [block_id.to_string()],
        |row| row.get(0),
    )?;
    let version = BlockVersion {
        block_id,
        version: next,
        digest,
        size: i64::try_from(size).unwrap_or(i64::MAX),
        shape,
        created_at: now_ms(),
    };
    conn.execute(
        "INSERT INTO block_versions (block_id, version, digest, size, shape, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            block_id.to_string(),
            version.version,
            digest.to_string(),
            version.size,
            shape.as_str(),
            version.created_at
        ],
    )?;
    if activate {
        set_active_version(conn, block_id, next)?;
    }
    Ok(version)
}

fn set_active_version(conn: &Connection, block_id: BlockId, version: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE blocks SET active_version = ?2, updated_at = ?3 WHERE id = ?1",
        params![block_id.to_string(), version, now_ms()],
    )?;
    Ok(())
}

/// Points the block at an existing version (upgrade or rollback).
pub(crate) fn activate_version(
    conn: &Connection,
    team_id: TeamId,
    block_id: BlockId,
    version: i64,
) -> Result<Block, StoreError> {
    block(conn, team_id, block_id)?;
    self::version(conn, block_id, version)?;
    set_active_version(conn, block_id, version)?;
    block(conn, team_id, block_id)
}

const VERSION_COLUMNS: &str = "block_id, version, digest, size, shape, created_at";

fn version_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<BlockVersion> {
    Ok(BlockVersion {
        block_id: uuid_at(row, 0)?,
        version: row.get(1)?,
        digest: row.get::<_, String>(2)?.parse().map_err(|e| conversion(2, e))?,
        size: row.get(3)?,
        shape: BlockShape::parse(&row.get::<_, String>(4)?).ok_or_else(|| conversion(4, UnknownShape))?,
        created_at: row.get(5)?,
    })
}

/// A column that does not decode into its type.
fn conversion(idx: usize, error: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(error))
}

/// A stored shape that is neither `block` nor `command`.
#[derive(Debug, thiserror::Error)]
#[error("unknown block shape")]
struct UnknownShape;

/// One version of a block.
pub(crate) fn version(conn: &Connection, block_id: BlockId, version: i64) -> Result<BlockVersion, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VERSION_COLUMNS} FROM block_versions WHERE block_id = ?1 AND version = ?2"
    ))?;
    stmt.query_row(params![block_id.to_string(), version], version_from_row)
        .optional()?
        .ok_or(StoreError::NotFound("block version"))
}

/// Every version of the team's block.
pub(crate) fn versions(conn: &Connection, team_id: TeamId, block_id: BlockId) -> Result<Vec<BlockVersion>, StoreError> {
    block(conn, team_id, block_id)?;
    let mut stmt =
        conn.prepare(&format!("SELECT {VERSION_COLUMNS} FROM block_versions WHERE block_id = ?1 ORDER BY version"))?;
    let rows = stmt.query_map([block_id.to_string()], version_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The wasm bytes of a digest (to recompile when no artifact is cached).
pub(crate) fn wasm_bytes(conn: &Connection, digest: BlockDigest) -> Result<Vec<u8>, StoreError> {
    crate::blobs::read(conn, &digest.to_string())
}
