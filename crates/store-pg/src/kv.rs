//! Key-value state on PostgreSQL ([`KvRepo`]): per team and bucket, versions for
//! compare-and-swap, expiry, and the per-team byte quota kept in `kv_usage`.
//!
//! Several nodes write at once, so every write first locks the team's `kv_usage` row and only
//! then reads the key, charges the quota and writes, all in one transaction: writers of a team
//! take turns, which makes a compare-and-swap exactly-once and keeps the usage exact (SQLite gets
//! the same from its single writer thread).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use wasmhook_domain::Versioned;
use wasmhook_domain::ids::TeamId;
use wasmhook_store::kv::{KeyInfo, Place, counter_base, expiry, over_quota};
use wasmhook_store::repo::KvRepo;
use wasmhook_store::{StoreError, now_ms};

use crate::PgStore;
use crate::pg::{self, RowExt, commit, db};

/// A stored value (expired or not) and whether it has expired.
type Stored = Option<(Versioned, bool)>;

/// Takes the team's usage row lock (creating the row at 0 first), so that this transaction's
/// read of a key and its charge cannot interleave with another writer of the team.
async fn lock_usage(c: &impl GenericClient, team_id: TeamId) -> Result<(), StoreError> {
    pg::execute(
        c,
        "INSERT INTO kv_usage (team_id, bytes) VALUES ($1, 0) ON CONFLICT (team_id) DO NOTHING",
        &[&team_id],
    )
    .await?;
    pg::execute(c, "SELECT 1 FROM kv_usage WHERE team_id = $1 FOR UPDATE", &[&team_id]).await?;
    Ok(())
}

/// The stored value of `key` and whether it has expired at `now` (an expired row still holds
/// its version and its bytes in the usage until it is replaced or purged).
async fn stored(
    c: &impl GenericClient,
    team_id: TeamId,
    bucket: &str,
    key: &str,
    now: i64,
) -> Result<Stored, StoreError> {
    let row = pg::query_opt(
        c,
        "SELECT value, version, expires_at FROM kv WHERE team_id = $1 AND bucket = $2 AND key = $3",
        &[&team_id, &bucket, &key],
    )
    .await?;
    let Some(row) = row else { return Ok(None) };
    let expires_at: Option<i64> = row.at(2)?;
    Ok(Some((Versioned { value: row.at(0)?, version: row.at(1)? }, expires_at.is_some_and(|at| at <= now))))
}

/// The value an increment starts from: 0 when the key is absent or expired, else its decimal
/// text (surrounding whitespace allowed), as SQLite reads it.
fn counter(key: &str, current: &Stored) -> Result<i64, StoreError> {
    counter_base(key, current.as_ref().filter(|(_, expired)| !expired).map(|(v, _)| v))
}

/// Replaces the row `current` (as read under the usage lock, expired or not) with `value`: the
/// team's usage moves by the difference, refused over the quota (the caller's transaction is
/// then dropped, undoing the charge), and the version goes up by one.
async fn replace(
    c: &impl GenericClient,
    place: &Place<'_>,
    key: &str,
    value: &[u8],
    ttl_ms: Option<u64>,
    current: Option<&Versioned>,
    now: i64,
) -> Result<(), StoreError> {
    let old_bytes = current.map_or(0, |v| key.len() + v.value.len());
    let delta = pg::to_i64(key.len() + value.len()) - pg::to_i64(old_bytes);
    let used = charge(c, place.team_id, delta).await?;
    if let Some(refused) = over_quota(used, delta, place.quota) {
        return Err(refused);
    }
    let version = current.map_or(1, |v| v.version + 1);
    let expires_at = expiry(now, ttl_ms);
    pg::execute(
        c,
        "INSERT INTO kv (team_id, bucket, key, value, version, expires_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (team_id, bucket, key) DO UPDATE SET value = excluded.value, version = excluded.version,
            expires_at = excluded.expires_at, updated_at = excluded.updated_at",
        &[&place.team_id, &place.bucket, &key, &value, &version, &expires_at, &now],
    )
    .await?;
    Ok(())
}

/// Adds `delta` bytes to the team's (locked) usage, never below zero; the new total.
async fn charge(c: &impl GenericClient, team_id: TeamId, delta: i64) -> Result<i64, StoreError> {
    pg::query_one(
        c,
        "UPDATE kv_usage SET bytes = GREATEST(bytes + $2, 0) WHERE team_id = $1 RETURNING bytes",
        &[&team_id, &delta],
    )
    .await?
    .at(0)
}

/// Removes expired values (the retention task); returns how many. Only teams whose usage rows
/// it has locked are purged, so a writer that read an expired row before the purge cannot
/// have its bytes taken off twice; every team with values has a usage row (a write creates it
/// first). The locks are taken in team order, so two purges cannot deadlock.
pub(crate) async fn purge_expired(c: &impl GenericClient, now: i64) -> Result<usize, StoreError> {
    let locked = pg::query(
        c,
        "SELECT team_id FROM kv_usage WHERE team_id IN (SELECT team_id FROM kv WHERE expires_at <= $1)
         ORDER BY team_id FOR UPDATE",
        &[&now],
    )
    .await?;
    let teams = locked.iter().map(|row| row.at(0)).collect::<Result<Vec<TeamId>, _>>()?;
    let purged: i64 = pg::query_one(
        c,
        "WITH gone AS (DELETE FROM kv WHERE expires_at <= $1 AND team_id = ANY($2)
                       RETURNING team_id, length(key) + length(value) AS bytes),
              per_team AS (SELECT team_id, sum(bytes) AS bytes, count(*) AS n FROM gone GROUP BY team_id),
              charged AS (UPDATE kv_usage u SET bytes = GREATEST(u.bytes - p.bytes, 0)
                          FROM per_team p WHERE u.team_id = p.team_id)
         SELECT coalesce(sum(n), 0)::bigint FROM per_team",
        &[&now, &teams],
    )
    .await?
    .at(0)?;
    Ok(pg::to_usize(purged))
}

#[async_trait]
impl KvRepo for PgStore {
    async fn get(&self, team_id: TeamId, bucket: &str, key: &str) -> Result<Option<Versioned>, StoreError> {
        let current = stored(&self.client().await?, team_id, bucket, key, now_ms()).await?;
        Ok(current.filter(|(_, expired)| !expired).map(|(v, _)| v))
    }

    async fn put(
        &self,
        place: Place<'_>,
        key: &str,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
        expected: Option<Option<i64>>,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        lock_usage(&tx, place.team_id).await?;
        let now = now_ms();
        let current = stored(&tx, place.team_id, place.bucket, key, now).await?;
        let live_version = current.as_ref().filter(|(_, expired)| !expired).map(|(v, _)| v.version);
        if expected.is_some_and(|expected| expected != live_version) {
            return Ok(false);
        }
        replace(&tx, &place, key, &value, ttl_ms, current.as_ref().map(|(v, _)| v), now).await?;
        tx.commit().await.map_err(commit)?;
        Ok(true)
    }

    async fn increment(&self, place: Place<'_>, key: &str, delta: i64, ttl_ms: Option<u64>) -> Result<i64, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        lock_usage(&tx, place.team_id).await?;
        let now = now_ms();
        let current = stored(&tx, place.team_id, place.bucket, key, now).await?;
        let base = counter(key, &current)?;
        let next = base.checked_add(delta).ok_or_else(|| StoreError::Invalid(format!("{key:?} would overflow")))?;
        let value = next.to_string();
        replace(&tx, &place, key, value.as_bytes(), ttl_ms, current.as_ref().map(|(v, _)| v), now).await?;
        tx.commit().await.map_err(commit)?;
        Ok(next)
    }

    async fn delete(&self, team_id: TeamId, bucket: &str, key: &str) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        lock_usage(&tx, team_id).await?;
        let removed = pg::query_opt(
            &tx,
            "DELETE FROM kv WHERE team_id = $1 AND bucket = $2 AND key = $3 RETURNING (length(key) + length(value))::bigint",
            &[&team_id, &bucket, &key],
        )
        .await?;
        let Some(removed) = removed else { return Ok(false) };
        let bytes: i64 = removed.at(0)?;
        charge(&tx, team_id, -bytes).await?;
        tx.commit().await.map_err(commit)?;
        Ok(true)
    }

    async fn keys(
        &self,
        team_id: TeamId,
        bucket: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KeyInfo>, StoreError> {
        let rows = pg::query(
            &self.client().await?,
            "SELECT key, length(value)::bigint, expires_at, updated_at FROM kv
             WHERE team_id = $1 AND bucket = $2 AND key > $3 AND (expires_at IS NULL OR expires_at > $4)
             ORDER BY key LIMIT $5",
            &[&team_id, &bucket, &after.unwrap_or(""), &now_ms(), &pg::to_i64(limit)],
        )
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeyInfo { key: row.at(0)?, size: row.at(1)?, expires_at: row.at(2)?, updated_at: row.at(3)? })
            })
            .collect()
    }

    async fn buckets(&self, team_id: TeamId) -> Result<Vec<String>, StoreError> {
        let rows = pg::query(
            &self.client().await?,
            "SELECT DISTINCT bucket FROM kv WHERE team_id = $1 AND (expires_at IS NULL OR expires_at > $2)
             ORDER BY bucket",
            &[&team_id, &now_ms()],
        )
        .await?;
        rows.iter().map(|row| row.at(0)).collect()
    }
}

/// A migrated store on a PostgreSQL database of its own, for this crate's unit tests of
/// functions no repository calls yet (the conformance suite in `tests/` cannot reach them).
#[cfg(test)]
pub(crate) mod scratch {
    use std::sync::Arc;

    use tokio_postgres::NoTls;
    use wasmhook_store::sealing::{MasterKey, Sealer};

    use crate::PgStore;

    /// The store and the database it owns.
    pub(crate) struct Scratch {
        pub(crate) store: PgStore,
        admin: String,
        name: String,
    }

    async fn execute(url: &str, sql: &str) {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
        tokio::spawn(connection);
        client.batch_execute(sql).await.expect(sql);
    }

    /// `None` (skipped, saying so) without `PG_TEST_URL`, unless `PG_TEST_REQUIRED` is set.
    pub(crate) async fn store() -> Option<Scratch> {
        let Ok(admin) = std::env::var("PG_TEST_URL") else {
            assert!(std::env::var_os("PG_TEST_REQUIRED").is_none(), "PG_TEST_REQUIRED is set but PG_TEST_URL is not");
            eprintln!("skipped: set PG_TEST_URL=postgres://… to run the PostgreSQL tests");
            return None;
        };
        let name = format!("wasmhook_unit_{}", uuid::Uuid::new_v4().simple());
        execute(&admin, &format!("CREATE DATABASE {name}")).await;
        let (base, _) = admin.rsplit_once('/').expect("the URL names a database");
        let sealer = Arc::new(Sealer::new(MasterKey::from_bytes(&[7; 32]), None));
        let store = PgStore::connect(&format!("{base}/{name}"), 2, sealer).await.expect("connect and migrate");
        Some(Scratch { store, admin, name })
    }

    impl Scratch {
        /// Drops the database.
        pub(crate) async fn drop_now(self) {
            drop(self.store);
            execute(&self.admin, &format!("DROP DATABASE {} WITH (FORCE)", self.name)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn usage(c: &impl GenericClient, team_id: TeamId) -> i64 {
        let row = pg::query_one(c, "SELECT bytes FROM kv_usage WHERE team_id = $1", &[&team_id]).await.expect("usage");
        row.at(0).expect("bytes")
    }

    #[tokio::test]
    async fn purge_expired_removes_only_expired_values_and_gives_their_bytes_back() {
        let Some(scratch) = scratch::store().await else { return };
        let store = &scratch.store;
        let (team, other) = (TeamId::new_v4(), TeamId::new_v4());
        let place = Place { team_id: team, bucket: "b", quota: 33 };
        store.put(place, "a", vec![1; 10], Some(0), None).await.expect("expired at once");
        store.put(place, "b", vec![2; 10], None, None).await.expect("live");
        store.put(place, "c", vec![3; 10], Some(3_600_000), None).await.expect("live for an hour");
        let other_place = Place { team_id: other, bucket: "b", quota: 30 };
        store.put(other_place, "x", vec![4; 5], Some(0), None).await.expect("other team's, expired");
        let full = store.put(place, "d", vec![5; 1], None, None).await;
        assert!(matches!(full, Err(StoreError::Invalid(_))), "the expired value still counts: {full:?}");

        let client = store.client().await.expect("client");
        assert_eq!(purge_expired(&client, now_ms()).await.expect("purge"), 2);
        assert_eq!((usage(&client, team).await, usage(&client, other).await), (22, 0));
        assert_eq!(purge_expired(&client, now_ms()).await.expect("again"), 0);
        let keys: Vec<String> =
            store.keys(team, "b", None, 10).await.expect("keys").into_iter().map(|k| k.key).collect();
        assert_eq!(keys, ["b", "c"]);
        store.put(place, "d", vec![5; 1], None, None).await.expect("room again");
        assert_eq!(usage(&client, team).await, 24);
        drop(client);
        scratch.drop_now().await;
    }
}
