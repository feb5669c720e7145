//! Blocks' key-value state (`wasi:keyvalue` and `/v1/kv`), per team and bucket, under the
//! team's byte quota.

use async_trait::async_trait;
use wasmhook_domain::Versioned;
use wasmhook_domain::ids::TeamId;

use crate::kv::{self as sql, KeyInfo, Place};
use crate::{Store, StoreError};

/// Key-value state.
#[async_trait]
pub trait KvRepo: Send + Sync {
    /// The live value of `key`.
    async fn get(&self, team_id: TeamId, bucket: &str, key: &str) -> Result<Option<Versioned>, StoreError>;
    /// Writes `value` (with `ttl_ms`, if any) when the key's version is still `expected`
    /// (`None`: any; `Some(None)`: absent); whether it was written. Over the quota: `Invalid`.
    async fn put(
        &self,
        place: Place<'_>,
        key: &str,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
        expected: Option<Option<i64>>,
    ) -> Result<bool, StoreError>;
    /// Adds `delta` to the integer at `key` (0 when absent); the new value.
    async fn increment(&self, place: Place<'_>, key: &str, delta: i64, ttl_ms: Option<u64>) -> Result<i64, StoreError>;
    /// Removes `key`; `true` if it held a value.
    async fn delete(&self, team_id: TeamId, bucket: &str, key: &str) -> Result<bool, StoreError>;
    /// Live keys of a bucket after `after`, in order, at most `limit`.
    async fn keys(
        &self,
        team_id: TeamId,
        bucket: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KeyInfo>, StoreError>;
    /// The team's buckets that hold live keys.
    async fn buckets(&self, team_id: TeamId) -> Result<Vec<String>, StoreError>;
}

/// A [`Place`] the writer thread can own.
struct OwnedPlace {
    team_id: TeamId,
    bucket: String,
    quota: u64,
}

impl OwnedPlace {
    fn of(place: Place<'_>) -> Self {
        Self { team_id: place.team_id, bucket: place.bucket.to_owned(), quota: place.quota }
    }

    fn place(&self) -> Place<'_> {
        Place { team_id: self.team_id, bucket: &self.bucket, quota: self.quota }
    }
}

#[async_trait]
impl KvRepo for Store {
    async fn get(&self, team_id: TeamId, bucket: &str, key: &str) -> Result<Option<Versioned>, StoreError> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.read(move |conn| sql::get(conn, team_id, &bucket, &key)).await
    }

    async fn put(
        &self,
        place: Place<'_>,
        key: &str,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
        expected: Option<Option<i64>>,
    ) -> Result<bool, StoreError> {
        let (place, key) = (OwnedPlace::of(place), key.to_owned());
        self.write(move |conn| sql::put(conn, &place.place(), &key, &value, ttl_ms, expected)).await
    }

    async fn increment(&self, place: Place<'_>, key: &str, delta: i64, ttl_ms: Option<u64>) -> Result<i64, StoreError> {
        let (place, key) = (OwnedPlace::of(place), key.to_owned());
        self.write(move |conn| sql::increment(conn, &place.place(), &key, delta, ttl_ms)).await
    }

    async fn delete(&self, team_id: TeamId, bucket: &str, key: &str) -> Result<bool, StoreError> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.write(move |conn| sql::delete(conn, team_id, &bucket, &key)).await
    }

    async fn keys(
        &self,
        team_id: TeamId,
        bucket: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KeyInfo>, StoreError> {
        let (bucket, after) = (bucket.to_owned(), after.map(str::to_owned));
        self.read(move |conn| sql::keys(conn, team_id, &bucket, after.as_deref(), limit)).await
    }

    async fn buckets(&self, team_id: TeamId) -> Result<Vec<String>, StoreError> {
        self.read(move |conn| sql::buckets(conn, team_id)).await
    }
}
