//! A run's key-value state: its team's rows of the store, behind the sandbox's [`KeyValue`]
//! trait. Reads go to the read pool; writes (and `increment`, compare-and-swap) go through the
//! single writer, which makes each of them atomic.

use std::sync::Arc;
use wasmhook_domain::ids::TeamId;

use wasmhook_sandbox::keyvalue::{KeyValue, KvAccess, KvError, Versioned};
use wasmhook_store::block_settings::KeyValueSettings;
use wasmhook_store::kv::Place;

use wasmhook_store::StoreError;
use wasmhook_store::repo::SharedDatabase;

/// One team's state, as one run may use it.
pub(crate) struct TeamKv {
    store: SharedDatabase,
    team_id: TeamId,
    /// Key + value bytes the team may hold.
    quota: u64,
    /// Expiry of the values this run writes.
    ttl_ms: Option<u64>,
}

impl TeamKv {
    /// The access of a run of a block with `settings`; `None` when it may open no bucket.
    pub(crate) fn access(
        store: &SharedDatabase,
        team_id: TeamId,
        quota: u64,
        settings: &KeyValueSettings,
    ) -> Option<KvAccess> {
        if settings.buckets.is_empty() {
            return None;
        }
        let ttl_ms = settings.ttl_seconds.map(|s| s.saturating_mul(1000));
        let team = Self { store: store.clone(), team_id, quota, ttl_ms };
        Some(KvAccess { store: Arc::new(team), buckets: settings.buckets.clone() })
    }
}

fn failed(error: StoreError) -> KvError {
    match error {
        StoreError::Invalid(message) => KvError::Other(message),
        other => KvError::Other(format!("the key-value store failed: {other}")),
    }
}

#[async_trait::async_trait]
impl KeyValue for TeamKv {
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Versioned>, KvError> {
        self.store.kv().get(self.team_id, bucket, key).await.map_err(failed)
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        value: Vec<u8>,
        expected: Option<Option<i64>>,
    ) -> Result<bool, KvError> {
        let place = Place { team_id: self.team_id, bucket, quota: self.quota };
        self.store.kv().put(place, key, value, self.ttl_ms, expected).await.map_err(failed)
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError> {
        self.store.kv().delete(self.team_id, bucket, key).await.map(drop).map_err(failed)
    }

    async fn keys(&self, bucket: &str, after: Option<String>, limit: usize) -> Result<Vec<String>, KvError> {
        let keys = self.store.kv().keys(self.team_id, bucket, after.as_deref(), limit).await.map_err(failed)?;
        Ok(keys.into_iter().map(|k| k.key).collect())
    }

    async fn increment(&self, bucket: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        let place = Place { team_id: self.team_id, bucket, quota: self.quota };
        self.store.kv().increment(place, key, delta, self.ttl_ms).await.map_err(failed)
    }
}
