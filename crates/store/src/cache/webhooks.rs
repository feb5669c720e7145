//! Trigger webhooks by the id in their URL, cached; an entry goes with every write to its
//! webhook, including the executor's use of an armed webhook's single call.

use std::future::Future;
use std::sync::Arc;
use wasmhook_domain::ids::{TeamId, WebhookId};

use async_trait::async_trait;
use wasmhook_domain::signature::SignatureConfig;

use super::map::{MAX_ENTRIES, Map};
use super::write_then_invalidate;
use crate::StoreError;
use crate::repo::{SecretHash, SharedDatabase, WebhookRepo};
use crate::webhooks::{NewWebhook, Webhook, WebhookSettings, WebhookState};

#[derive(Debug)]
pub(super) struct CachedWebhooks {
    inner: SharedDatabase,
    webhooks: Arc<Map<WebhookId, Arc<Webhook>>>,
}

impl CachedWebhooks {
    pub(super) fn new(inner: SharedDatabase) -> Self {
        Self { inner, webhooks: Arc::new(Map::new(MAX_ENTRIES)) }
    }

    /// Drops webhook `id`'s entry (after a write that changed it elsewhere).
    pub(super) fn forget(&self, id: WebhookId) {
        self.webhooks.remove(&id);
    }

    /// Drops every entry.
    pub(super) fn forget_all(&self) {
        self.webhooks.clear();
    }

    /// Runs a write to webhook `id`, then drops its entry.
    async fn changing<R: Send + 'static>(
        &self,
        id: WebhookId,
        write: impl Future<Output = Result<R, StoreError>> + Send + 'static,
    ) -> Result<R, StoreError> {
        let webhooks = Arc::clone(&self.webhooks);
        write_then_invalidate(write, move |_| webhooks.remove(&id)).await
    }
}

#[async_trait]
impl WebhookRepo for CachedWebhooks {
    async fn by_id(&self, id: WebhookId) -> Result<Option<Arc<Webhook>>, StoreError> {
        self.webhooks.get_or_load(id, || self.inner.webhooks().by_id(id)).await
    }

    async fn removed(&self, id: WebhookId) -> Result<bool, StoreError> {
        self.inner.webhooks().removed(id).await
    }

    async fn get(&self, team_id: TeamId, id: WebhookId) -> Result<Webhook, StoreError> {
        self.inner.webhooks().get(team_id, id).await
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<Webhook>, StoreError> {
        self.inner.webhooks().list(team_id).await
    }

    async fn create(&self, new: NewWebhook) -> Result<Webhook, StoreError> {
        self.inner.webhooks().create(new).await
    }

    async fn update(
        &self,
        team_id: TeamId,
        id: WebhookId,
        name: String,
        settings: WebhookSettings,
    ) -> Result<Webhook, StoreError> {
        let inner = self.inner.clone();
        self.changing(id, async move { inner.webhooks().update(team_id, id, name, settings).await }).await
    }

    async fn set_signature(
        &self,
        team_id: TeamId,
        id: WebhookId,
        signature: Option<SignatureConfig>,
    ) -> Result<Webhook, StoreError> {
        let inner = self.inner.clone();
        self.changing(id, async move { inner.webhooks().set_signature(team_id, id, signature).await }).await
    }

    async fn set_state(
        &self,
        team_id: TeamId,
        id: WebhookId,
        state: WebhookState,
        armed_until: Option<i64>,
    ) -> Result<Webhook, StoreError> {
        let inner = self.inner.clone();
        self.changing(id, async move { inner.webhooks().set_state(team_id, id, state, armed_until).await }).await
    }

    async fn rotate_secret(
        &self,
        team_id: TeamId,
        id: WebhookId,
        secret: SecretHash,
        previous_until: Option<i64>,
    ) -> Result<Webhook, StoreError> {
        let inner = self.inner.clone();
        self.changing(id, async move { inner.webhooks().rotate_secret(team_id, id, secret, previous_until).await })
            .await
    }

    async fn regenerate(&self, team_id: TeamId, id: WebhookId) -> Result<Webhook, StoreError> {
        let inner = self.inner.clone();
        self.changing(id, async move { inner.webhooks().regenerate(team_id, id).await }).await
    }

    async fn delete(&self, team_id: TeamId, id: WebhookId) -> Result<(), StoreError> {
        let inner = self.inner.clone();
        self.changing(id, async move { inner.webhooks().delete(team_id, id).await }).await
    }
}
