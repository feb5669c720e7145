//! Each user's active API keys, cached; a revocation drops them all (revocations are rare).

use std::sync::Arc;
use wasmhook_domain::ids::{KeyId, TeamId, UserId};

use async_trait::async_trait;

use super::map::{MAX_ENTRIES, Map};
use super::write_then_invalidate;
use crate::StoreError;
use crate::repo::{NewUserKey, SharedDatabase, TeamRef, TenancyRepo};
use crate::tenancy::{ApiKeyRecord, Team, User};

#[derive(Debug)]
pub(super) struct CachedTenancy {
    inner: SharedDatabase,
    /// Only users that have active keys: a miss is never remembered.
    keys: Arc<Map<UserId, Arc<Vec<ApiKeyRecord>>>>,
}

impl CachedTenancy {
    pub(super) fn new(inner: SharedDatabase) -> Self {
        Self { inner, keys: Arc::new(Map::new(MAX_ENTRIES)) }
    }

    /// Drops a user's keys (another node revoked one).
    pub(super) fn forget(&self, user: UserId) {
        self.keys.remove(&user);
    }

    /// Drops every user's keys.
    pub(super) fn forget_all(&self) {
        self.keys.clear();
    }
}

#[async_trait]
impl TenancyRepo for CachedTenancy {
    async fn bootstrap(&self, name: &str, admin: NewUserKey) -> Result<Option<(Team, User, ApiKeyRecord)>, StoreError> {
        self.inner.tenancy().bootstrap(name, admin).await
    }

    async fn create_team(&self, name: &str, admin: NewUserKey) -> Result<(Team, User, ApiKeyRecord), StoreError> {
        self.inner.tenancy().create_team(name, admin).await
    }

    /// A new user's keys were never cached: nothing to drop.
    async fn create_user(&self, team: TeamRef, user: NewUserKey) -> Result<(User, ApiKeyRecord), StoreError> {
        self.inner.tenancy().create_user(team, user).await
    }

    async fn team(&self, id: TeamId) -> Result<Team, StoreError> {
        self.inner.tenancy().team(id).await
    }

    async fn active_keys_of_user(&self, user_id: UserId) -> Result<Arc<Vec<ApiKeyRecord>>, StoreError> {
        let load = || async {
            let keys = self.inner.tenancy().active_keys_of_user(user_id).await?;
            Ok::<_, StoreError>((!keys.is_empty()).then_some(keys))
        };
        Ok(self.keys.get_or_load(user_id, load).await?.unwrap_or_default())
    }

    async fn keys_of_team(&self, team_id: TeamId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.inner.tenancy().keys_of_team(team_id).await
    }

    async fn revoke_key(&self, team_id: TeamId, key_id: KeyId) -> Result<(), StoreError> {
        let (inner, keys) = (self.inner.clone(), Arc::clone(&self.keys));
        write_then_invalidate(async move { inner.tenancy().revoke_key(team_id, key_id).await }, move |_| keys.clear())
            .await
    }

    async fn end_sessions(&self, key_id: KeyId, at: i64) -> Result<(), StoreError> {
        let (inner, keys) = (self.inner.clone(), Arc::clone(&self.keys));
        write_then_invalidate(async move { inner.tenancy().end_sessions(key_id, at).await }, move |_| keys.clear())
            .await
    }
}
