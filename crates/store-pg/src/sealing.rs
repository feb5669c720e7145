//! Keeping sealed values under the current master key on PostgreSQL ([`SealingRepo`]): team
//! secrets, webhook signature checks and callback secrets, resealed in one transaction.
//!
//! Every value to reseal is locked (`FOR UPDATE`) before it is read, so a concurrent write of a
//! new value waits and then wins (it is not overwritten by the old value resealed), and a second
//! node resealing at the same time waits, then finds nothing left to do.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use uuid::Uuid;
use wasmhook_domain::ids::{TeamId, WebhookId};
use wasmhook_store::StoreError;
use wasmhook_store::repo::SealingRepo;
use wasmhook_store::sealing::{SealError, Sealer, callback_context, secret_context, signature_context};

use crate::pg::{self, RowExt, commit, db};
use crate::{PgStore, secrets, webhooks};

/// `sealed` opened under whichever key sealed it and sealed again under the current one.
fn resealed(sealer: &Sealer, context: &str, sealed: &str) -> Result<String, SealError> {
    sealer.open(context, sealed).and_then(|plain| sealer.seal(context, &plain))
}

/// A webhook's stored signature check sealed under the current key. Checks stored before
/// signing secrets were sealed are plain JSON: they are sealed as they are.
fn resealed_signature(sealer: &Sealer, webhook: WebhookId, team: TeamId, stored: &str) -> Result<String, StoreError> {
    let context = signature_context(team);
    let sealed = if stored.starts_with('{') {
        sealer.seal(&context, stored.as_bytes())
    } else {
        let plain = sealer
            .open(&context, stored)
            .map_err(|e| StoreError::Invalid(format!("the signature check of webhook {webhook}: {e}")))?;
        sealer.seal(&context, &plain)
    };
    sealed.map_err(|e| StoreError::Invalid(e.to_string()))
}

/// Locks the secrets not sealed under the current key (whose prefix is `current`), in key
/// order, before `secrets::sealed_elsewhere` reads them.
async fn lock_secrets(c: &impl GenericClient, current: &str) -> Result<(), StoreError> {
    pg::execute(
        c,
        "SELECT 1 FROM secrets WHERE NOT starts_with(sealed, $1) ORDER BY team_id, name FOR UPDATE",
        &[&current],
    )
    .await?;
    Ok(())
}

/// The callback secrets not sealed under the current key, locked: (team, target, sealed).
async fn sealed_elsewhere(c: &impl GenericClient, current: &str) -> Result<Vec<(TeamId, Uuid, String)>, StoreError> {
    let rows = pg::query(
        c,
        "SELECT team_id, target_id, sealed_secret FROM callbacks
         WHERE NOT starts_with(sealed_secret, $1) ORDER BY target_id FOR UPDATE",
        &[&current],
    )
    .await?;
    rows.iter().map(|row| Ok((row.at(0)?, row.at(1)?, row.at(2)?))).collect()
}

/// Stores a resealed callback secret without touching its times (a reseal, not a change).
async fn reseal(c: &impl GenericClient, target_id: Uuid, sealed: &str) -> Result<(), StoreError> {
    pg::execute(c, "UPDATE callbacks SET sealed_secret = $2 WHERE target_id = $1", &[&target_id, &sealed]).await?;
    Ok(())
}

/// Reseals the team secrets still under another key; how many. `Invalid` names the secret
/// that does not open, as on SQLite.
async fn reseal_secrets(c: &impl GenericClient, sealer: &Sealer, current: &str) -> Result<usize, StoreError> {
    lock_secrets(c, current).await?;
    let stale = secrets::sealed_elsewhere(c, current).await?;
    for (team, name, sealed) in &stale {
        let resealed = resealed(sealer, &secret_context(*team, name), sealed)
            .map_err(|e| StoreError::Invalid(format!("secret {name:?} of team {team}: {e}")))?;
        secrets::reseal(c, *team, name, &resealed).await?;
    }
    Ok(stale.len())
}

/// Reseals (or seals, when stored plain) the webhook signature checks not under the current
/// key; how many.
async fn reseal_signatures(c: &impl GenericClient, sealer: &Sealer, current: &str) -> Result<usize, StoreError> {
    let stale = webhooks::signatures_sealed_elsewhere(c, current).await?;
    for (webhook, team, stored) in &stale {
        let sealed = resealed_signature(sealer, *webhook, *team, stored)?;
        webhooks::reseal_signature(c, *webhook, &sealed).await?;
    }
    Ok(stale.len())
}

/// Reseals the callback secrets still under another key; how many.
async fn reseal_callbacks(c: &impl GenericClient, sealer: &Sealer, current: &str) -> Result<usize, StoreError> {
    let stale = sealed_elsewhere(c, current).await?;
    for (team, target, sealed) in &stale {
        let resealed = resealed(sealer, &callback_context(*team), sealed)
            .map_err(|e| StoreError::Invalid(format!("the callback secret of {target}: {e}")))?;
        reseal(c, *target, &resealed).await?;
    }
    Ok(stale.len())
}

#[async_trait]
impl SealingRepo for PgStore {
    async fn reseal_all(&self) -> Result<usize, StoreError> {
        let sealer = self.sealer();
        let current = sealer.current_prefix();
        let mut client = self.client().await?;
        // One transaction: a value that does not open rolls every reseal back.
        let tx = client.transaction().await.map_err(db)?;
        let count = reseal_secrets(&tx, sealer, &current).await?
            + reseal_signatures(&tx, sealer, &current).await?
            + reseal_callbacks(&tx, sealer, &current).await?;
        tx.commit().await.map_err(commit)?;
        Ok(count)
    }
}
