//! Trigger webhooks: their URL ids, auth, settings, lifecycle and (sealed) signature checks.

use std::sync::Arc;
use wasmhook_domain::ids::{TeamId, WebhookId};

use async_trait::async_trait;
use wasmhook_domain::signature::SignatureConfig;

use crate::webhooks::{self as sql, NewWebhook, Webhook, WebhookSettings, WebhookState};
use crate::{Store, StoreError};

/// A webhook's new shared secret: its SHA-256 and the hint shown in listings.
pub type SecretHash = ([u8; 32], String);

/// Trigger webhooks.
#[async_trait]
pub trait WebhookRepo: Send + Sync {
    /// The webhook with this id, whatever its team (the trigger path: the id is the capability).
    async fn by_id(&self, id: WebhookId) -> Result<Option<Arc<Webhook>>, StoreError>;
    /// Whether `id` is a URL that was regenerated or deleted.
    async fn removed(&self, id: WebhookId) -> Result<bool, StoreError>;
    /// A webhook of the team; another team's is "not found".
    async fn get(&self, team_id: TeamId, id: WebhookId) -> Result<Webhook, StoreError>;
    /// The team's webhooks, oldest first.
    async fn list(&self, team_id: TeamId) -> Result<Vec<Webhook>, StoreError>;
    /// Creates a webhook (deployed); `Conflict` for a second active one on a target unless
    /// `allow_multiple`.
    async fn create(&self, new: NewWebhook) -> Result<Webhook, StoreError>;
    /// Replaces name and settings.
    async fn update(
        &self,
        team_id: TeamId,
        id: WebhookId,
        name: String,
        settings: WebhookSettings,
    ) -> Result<Webhook, StoreError>;
    /// Replaces (or removes) the signature check.
    async fn set_signature(
        &self,
        team_id: TeamId,
        id: WebhookId,
        signature: Option<SignatureConfig>,
    ) -> Result<Webhook, StoreError>;
    /// Deploys, disables or arms (until `armed_until`) a webhook.
    async fn set_state(
        &self,
        team_id: TeamId,
        id: WebhookId,
        state: WebhookState,
        armed_until: Option<i64>,
    ) -> Result<Webhook, StoreError>;
    /// Replaces the shared secret; the previous one keeps working until `previous_until`.
    async fn rotate_secret(
        &self,
        team_id: TeamId,
        id: WebhookId,
        secret: SecretHash,
        previous_until: Option<i64>,
    ) -> Result<Webhook, StoreError>;
    /// Gives the webhook a new URL id; the old one answers "removed".
    async fn regenerate(&self, team_id: TeamId, id: WebhookId) -> Result<Webhook, StoreError>;
    /// Deletes a webhook; its URL answers "removed".
    async fn delete(&self, team_id: TeamId, id: WebhookId) -> Result<(), StoreError>;
}

#[async_trait]
impl WebhookRepo for Store {
    async fn by_id(&self, id: WebhookId) -> Result<Option<Arc<Webhook>>, StoreError> {
        let sealer = self.sealer().clone();
        Ok(self.read(move |conn| sql::by_id(conn, &sealer, id)).await?.map(Arc::new))
    }

    async fn removed(&self, id: WebhookId) -> Result<bool, StoreError> {
        self.read(move |conn| sql::removed(conn, id)).await
    }

    async fn get(&self, team_id: TeamId, id: WebhookId) -> Result<Webhook, StoreError> {
        let sealer = self.sealer().clone();
        self.read(move |conn| sql::webhook(conn, &sealer, team_id, id)).await
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<Webhook>, StoreError> {
        let sealer = self.sealer().clone();
        self.read(move |conn| sql::webhooks_of_team(conn, &sealer, team_id)).await
    }

    async fn create(&self, new: NewWebhook) -> Result<Webhook, StoreError> {
        let sealer = self.sealer().clone();
        self.write(move |conn| sql::insert(conn, &sealer, &new)).await
    }

    async fn update(
        &self,
        team_id: TeamId,
        id: WebhookId,
        name: String,
        settings: WebhookSettings,
    ) -> Result<Webhook, StoreError> {
        let sealer = self.sealer().clone();
        self.write(move |conn| sql::update(conn, &sealer, team_id, id, &name, &settings)).await
    }

    async fn set_signature(
        &self,
        team_id: TeamId,
        id: WebhookId,
        signature: Option<SignatureConfig>,
    ) -> Result<Webhook, StoreError> {
        let sealer = self.sealer().clone();
        self.write(move |conn| sql::set_signature(conn, &sealer, team_id, id, signature.as_ref())).await
    }

    async fn set_state(
        &self,
        team_id: TeamId,
        id: WebhookId,
        state: WebhookState,
        armed_until: Option<i64>,
    ) -> Result<Webhook, StoreError> {
        let sealer = self.sealer().clone();
        self.write(move |conn| sql::set_state(conn, &sealer, team_id, id, state, armed_until)).await
    }

    async fn rotate_secret(
        &self,
        team_id: TeamId,
        id: WebhookId,
        secret: SecretHash,
        previous_until: Option<i64>,
    ) -> Result<Webhook, StoreError> {
        let sealer = self.sealer().clone();
        self.write(move |conn| sql::rotate_secret(conn, &sealer, team_id, id, secret, previous_until)).await
    }

    async fn regenerate(&self, team_id: TeamId, id: WebhookId) -> Result<Webhook, StoreError> {
        let sealer = self.sealer().clone();
        self.write(move |conn| sql::regenerate(conn, &sealer, team_id, id)).await
    }

    async fn delete(&self, team_id: TeamId, id: WebhookId) -> Result<(), StoreError> {
        self.write(move |conn| sql::delete(conn, team_id, id)).await
    }
}
