//! Idempotency records: which executions a keyed delivery created, so that a repeat within the
//! window is answered with the same executions instead of running again.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;
use wasmhook_domain::ids::{ExecutionId, TeamId};

use super::StoreError;

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key is new (or its previous use fell out of the window): go ahead.
    New,
    /// Seen within the window with the same request: these are its executions.
    Existing(Vec<ExecutionId>),
    /// Seen within the window with a different request body.
    Reused,
}

/// One use of an idempotency key.
#[derive(Debug, Clone, Copy)]
pub struct KeyUse<'a> {
    /// The caller's team.
    pub team_id: TeamId,
    /// The block or doc addressed (keys are scoped to it).
    pub target: Uuid,
    /// The key.
    pub key: &'a str,
    /// SHA-256 of the request body.
    pub request_hash: &'a [u8],
    /// The executions this delivery creates if the key is new.
    pub execution_ids: &'a [ExecutionId],
}

/// Claims a key, atomically with the caller's other writes in the same savepoint. A record
/// older than `window_start` (ms) is replaced.
pub(crate) fn claim_key(
    conn: &Connection,
    key_use: &KeyUse<'_>,
    now: i64,
    window_start: i64,
) -> Result<KeyClaim, StoreError> {
    let KeyUse { team_id, target, key, request_hash, execution_ids } = *key_use;
    let (team, target) = (team_id.to_string(), target.to_string());
    let existing: Option<(Vec<u8>, String, i64)> = conn
        .prepare_cached(
            "SELECT request_hash, execution_ids, created_at FROM deliveries
             WHERE team_id = ?1 AND target = ?2 AND idempotency_key = ?3",
        )?
        .query_row(params![team, target, key], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    if let Some((hash, ids, created_at)) = existing
        && created_at >= window_start
    {
        if hash != request_hash {
            return Ok(KeyClaim::Reused);
        }
        let ids: Vec<ExecutionId> =
            serde_json::from_str(&ids).map_err(|e| StoreError::Corrupt(format!("delivery ids: {e}")))?;
        return Ok(KeyClaim::Existing(ids));
    }
    let ids = serde_json::to_string(execution_ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO deliveries (team_id, target, idempotency_key, request_hash, execution_ids, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (team_id, target, idempotency_key) DO UPDATE SET request_hash = excluded.request_hash,
            execution_ids = excluded.execution_ids, created_at = excluded.created_at",
    )?
    .execute(params![team, target, key, request_hash, ids, now])?;
    Ok(KeyClaim::New)
}

/// Forgets idempotency records created before `cutoff` (ms).
pub(crate) fn purge(conn: &Connection, cutoff: i64) -> Result<usize, StoreError> {
    Ok(conn.execute("DELETE FROM deliveries WHERE created_at < ?1", [cutoff])?)
}
