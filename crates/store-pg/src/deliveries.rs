//! Idempotency records on PostgreSQL: which executions a keyed delivery created.
//!
//! A key is claimed by one `INSERT … ON CONFLICT DO UPDATE … WHERE` instead of SQLite's read
//! then write, which is only safe with one writer: of concurrent first uses of a key (on any
//! nodes), one inserts and the others wait on the unique index until it commits, then see its
//! row. A use outside the window replaces the record in the same statement.

use deadpool_postgres::GenericClient;
use wasmhook_store::StoreError;
use wasmhook_store::deliveries::{KeyClaim, KeyUse};

use crate::pg::{self, RowExt};

/// Claims a key inside the caller's transaction. A record older than `window_start` (ms) is
/// replaced.
pub(crate) async fn claim_key(
    c: &impl GenericClient,
    key_use: &KeyUse<'_>,
    now: i64,
    window_start: i64,
) -> Result<KeyClaim, StoreError> {
    let KeyUse { team_id, target, key, request_hash, execution_ids } = *key_use;
    let claimed = pg::query_opt(
        c,
        "INSERT INTO deliveries AS d (team_id, target, idempotency_key, request_hash, execution_ids, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (team_id, target, idempotency_key) DO UPDATE SET request_hash = excluded.request_hash,
            execution_ids = excluded.execution_ids, created_at = excluded.created_at
         WHERE d.created_at < $7
         RETURNING 1",
        &[&team_id, &target, &key, &request_hash, &execution_ids, &now, &window_start],
    )
    .await?;
    if claimed.is_some() {
        return Ok(KeyClaim::New);
    }
    // A live record (locked by the statement above until this transaction ends).
    let row = pg::query_one(
        c,
        "SELECT request_hash, execution_ids FROM deliveries WHERE team_id = $1 AND target = $2 AND idempotency_key = $3",
        &[&team_id, &target, &key],
    )
    .await?;
    if row.at::<&[u8]>(0)? != request_hash {
        return Ok(KeyClaim::Reused);
    }
    Ok(KeyClaim::Existing(row.at(1)?))
}

/// Forgets idempotency records created before `cutoff` (ms).
pub(crate) async fn purge(c: &impl GenericClient, cutoff: i64) -> Result<usize, StoreError> {
    let deleted = pg::execute(c, "DELETE FROM deliveries WHERE created_at < $1", &[&cutoff]).await?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}
