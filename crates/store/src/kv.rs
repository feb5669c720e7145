//! Key-value state: team-scoped buckets of byte values, each with a version (for
//! compare-and-swap) and an optional expiry. An expired value reads as absent and is purged by
//! the retention task. Every write keeps `kv_usage` (key + value bytes per team) exact, in the
//! same savepoint, so the per-team quota is checked without summing the table.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use wasmhook_domain::ids::TeamId;

use super::{StoreError, now_ms};
pub use wasmhook_domain::Versioned;

/// A key as `/v1/kv/{bucket}` lists it.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    /// The key.
    pub key: String,
    /// Value bytes.
    pub size: i64,
    /// Expiry, ms since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Last write, ms since the epoch.
    pub updated_at: i64,
}

/// Where a write lands and what it may use.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The team.
    pub team_id: TeamId,
    /// The bucket.
    pub bucket: &'a str,
    /// Key + value bytes the team may hold in all its buckets.
    pub quota: u64,
}

/// The stored value of `key` and whether it has expired.
fn stored(
    conn: &Connection,
    team_id: TeamId,
    bucket: &str,
    key: &str,
    now: i64,
) -> Result<Option<(Versioned, bool)>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value, version, expires_at FROM kv WHERE team_id = ?1 AND bucket = ?2 AND key = ?3")?
        .query_row(params![team_id.to_string(), bucket, key], |row| {
            Ok((Versioned { value: row.get(0)?, version: row.get(1)? }, row.get::<_, Option<i64>>(2)?))
        })
        .optional()?
        .map(|(versioned, expires_at)| (versioned, expires_at.is_some_and(|at| at <= now))))
}

/// The live value of `key`.
pub(crate) fn get(
    conn: &Connection,
    team_id: TeamId,
    bucket: &str,
    key: &str,
) -> Result<Option<Versioned>, StoreError> {
    Ok(stored(conn, team_id, bucket, key, now_ms())?.filter(|(_, expired)| !expired).map(|(v, _)| v))
}

/// Writes `value` (with `ttl_ms`, if any) when the key's version is still `expected` (`None`:
/// any; `Some(None)`: absent). Returns whether it was written.
pub(crate) fn put(
    conn: &Connection,
    place: &Place<'_>,
    key: &str,
    value: &[u8],
    ttl_ms: Option<u64>,
    expected: Option<Option<i64>>,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let current = stored(conn, place.team_id, place.bucket, key, now)?;
    let live_version = current.as_ref().filter(|(_, expired)| !expired).map(|(v, _)| v.version);
    if expected.is_some_and(|expected| expected != live_version) {
        return Ok(false);
    }
    replace(conn, place, key, value, ttl_ms, current.as_ref().map(|(v, _)| v), now)?;
    Ok(true)
}

/// The integer an increment of `key` starts from: 0 when absent (or expired), else its value
/// read as decimal text (surrounding whitespace allowed). Both backends count the same way.
pub fn counter_base(key: &str, live: Option<&Versioned>) -> Result<i64, StoreError> {
    match live {
        None => Ok(0),
        Some(versioned) => std::str::from_utf8(&versioned.value)
            .ok()
            .and_then(|text| text.trim().parse::<i64>().ok())
            .ok_or_else(|| StoreError::Invalid(format!("the value of {key:?} is not an integer"))),
    }
}

/// The refusal of a write that would take the team's usage to `used` bytes, over `quota`
/// (`None` within it); only a write that grows the usage (`delta > 0`) is refused.
pub fn over_quota(used: i64, delta: i64, quota: u64) -> Option<StoreError> {
    (delta > 0 && u64::try_from(used).unwrap_or(0) > quota).then(|| {
        StoreError::Invalid(format!(
            "the team's key-value state would hold {used} bytes, over its quota of {quota} (kv_team_max_bytes)"
        ))
    })
}

/// When a value written at `now` with `ttl_ms` expires, ms.
pub fn expiry(now: i64, ttl_ms: Option<u64>) -> Option<i64> {
    ttl_ms.map(|ttl| now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)))
}

/// Adds `delta` to the integer (decimal text) at `key`, 0 when absent; returns the new value.
pub(crate) fn increment(
    conn: &Connection,
    place: &Place<'_>,
    key: &str,
    delta: i64,
    ttl_ms: Option<u64>,
) -> Result<i64, StoreError> {
    let now = now_ms();
    let current = stored(conn, place.team_id, place.bucket, key, now)?;
    let base = counter_base(key, current.as_ref().filter(|(_, expired)| !expired).map(|(v, _)| v))?;
    let next = base.checked_add(delta).ok_or_else(|| StoreError::Invalid(format!("{key:?} would overflow")))?;
    replace(conn, place, key, next.to_string().as_bytes(), ttl_ms, current.as_ref().map(|(v, _)| v), now)?;
    Ok(next)
}

/// Replaces the row `current` (as read by the caller, expired or not) with `value`: the
/// team's usage moves by the difference, and the version goes up by one.
fn replace(
    conn: &Connection,
    place: &Place<'_>,
    key: &str,
    value: &[u8],
    ttl_ms: Option<u64>,
    current: Option<&Versioned>,
    now: i64,
) -> Result<(), StoreError> {
    let old_bytes = current.map_or(0, |v| key.len() + v.value.len());
    let delta = (key.len() + value.len()) as i64 - old_bytes as i64;
    let used = charge(conn, place.team_id, delta)?;
    if let Some(refused) = over_quota(used, delta, place.quota) {
        return Err(refused);
    }
    let version = current.map_or(1, |v| v.version + 1);
    let expires_at = expiry(now, ttl_ms);
    conn.prepare_cached(
        "INSERT INTO kv (team_id, bucket, key, value, version, expires_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (team_id, bucket, key) DO UPDATE SET value = excluded.value, version = excluded.version,
            expires_at = excluded.expires_at, updated_at = excluded.updated_at",
    )?
    .execute(params![place.team_id.to_string(), place.bucket, key, value, version, expires_at, now])?;
    Ok(())
}

/// Removes `key`; `true` if it held a value.
pub(crate) fn delete(conn: &Connection, team_id: TeamId, bucket: &str, key: &str) -> Result<bool, StoreError> {
    let removed: Option<i64> = conn
        .prepare_cached(
            "DELETE FROM kv WHERE team_id = ?1 AND bucket = ?2 AND key = ?3 RETURNING length(key) + length(value)",
        )?
        .query_row(params![team_id.to_string(), bucket, key], |row| row.get(0))
        .optional()?;
    if let Some(bytes) = removed {
        charge(conn, team_id, -bytes)?;
    }
    Ok(removed.is_some())
}

/// Adds `delta` bytes to the team's usage (never below zero) and returns the new total; the
/// caller that grows it compares the total with the quota (the savepoint undoes a refusal).
fn charge(conn: &Connection, team_id: TeamId, delta: i64) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO kv_usage (team_id, bytes) VALUES (?1, MAX(?2, 0))
             ON CONFLICT (team_id) DO UPDATE SET bytes = MAX(bytes + ?2, 0) RETURNING bytes",
        )?
        .query_row(params![team_id.to_string(), delta], |row| row.get(0))?)
}

/// Live keys of a bucket after `after`, in order, at most `limit`.
pub(crate) fn keys(
    conn: &Connection,
    team_id: TeamId,
    bucket: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<KeyInfo>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, length(value), expires_at, updated_at FROM kv
         WHERE team_id = ?1 AND bucket = ?2 AND key > ?3 AND (expires_at IS NULL OR expires_at > ?4)
         ORDER BY key LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![team_id.to_string(), bucket, after.unwrap_or(""), now_ms(), i64::try_from(limit).unwrap_or(i64::MAX)],
        |row| Ok(KeyInfo { key: row.get(0)?, size: row.get(1)?, expires_at: row.get(2)?, updated_at: row.get(3)? }),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The team's buckets that hold live keys.
pub(crate) fn buckets(conn: &Connection, team_id: TeamId) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT bucket FROM kv WHERE team_id = ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY bucket",
    )?;
    let rows = stmt.query_map(params![team_id.to_string(), now_ms()], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Removes expired values (the retention task); returns how many.
pub(crate) fn purge_expired(conn: &Connection, now: i64) -> Result<usize, StoreError> {
    let expired: Vec<(String, i64)> = conn
        .prepare("DELETE FROM kv WHERE expires_at <= ?1 RETURNING team_id, length(key) + length(value)")?
        .query_map([now], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare_cached("UPDATE kv_usage SET bytes = MAX(bytes - ?2, 0) WHERE team_id = ?1")?;
    for (team, bytes) in &expired {
        stmt.execute(params![team, bytes])?;
    }
    Ok(expired.len())
}
