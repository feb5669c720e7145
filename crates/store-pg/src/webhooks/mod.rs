//! Trigger webhooks on PostgreSQL ([`WebhookRepo`]): capability URLs bound to a block or a doc,
//! with their signature checks sealed as on SQLite. A regenerated or deleted URL id is kept in
//! `removed_webhooks`, so it answers "removed" rather than "not found".

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use wasmhook_domain::ids::{TeamId, WebhookId};
use wasmhook_domain::signature::SignatureConfig;
use wasmhook_store::repo::{SecretHash, WebhookRepo};
use wasmhook_store::sealing::Sealer;
use wasmhook_store::webhooks::{
    AuthMode, NewWebhook, Target, Webhook, WebhookSettings, WebhookState, decode, encode, open_signature,
    signature_text,
};
use wasmhook_store::{StoreError, now_ms};

mod targets;

use crate::PgStore;
use crate::pg::{self, RowExt, commit, db};
use targets::{refuse_second_active, validate_target};

/// Every column of a webhook, in the order [`webhook_from`] reads them.
const COLUMNS: &str = "id, team_id, name, target_kind, target_id, auth_mode, secret_hash, secret_hint,
    previous_secret_hash, previous_secret_expires_at, state, armed_until, settings, created_at, updated_at, signature";

/// A stored SHA-256 (`bytea`); any other length is a corrupt row, not a panic.
fn hash_at(row: &Row, idx: usize) -> Result<Option<[u8; 32]>, StoreError> {
    let bytes: Option<Vec<u8>> = row.at(idx)?;
    bytes
        .map(|b| <[u8; 32]>::try_from(b.as_slice()).map_err(|e| StoreError::Corrupt(format!("column {idx}: {e}"))))
        .transpose()
}

/// A row of [`COLUMNS`], its signature check opened with `sealer`.
fn webhook_from(row: &Row, sealer: &Sealer) -> Result<Webhook, StoreError> {
    let team_id: TeamId = row.at(1)?;
    let settings: String = row.at(12)?;
    let signature: Option<String> = row.at(15)?;
    Ok(Webhook {
        id: row.at(0)?,
        team_id,
        name: row.at(2)?,
        target: Target { kind: decode(row.at(3)?, "target")?, id: row.at(4)? },
        auth_mode: decode(row.at(5)?, "auth mode")?,
        secret_hash: hash_at(row, 6)?,
        secret_hint: row.at(7)?,
        previous_secret_hash: hash_at(row, 8)?,
        previous_secret_expires_at: row.at(9)?,
        state: decode(row.at(10)?, "state")?,
        armed_until: row.at(11)?,
        settings: serde_json::from_str(&settings).map_err(|e| StoreError::Corrupt(format!("webhook settings: {e}")))?,
        signature: signature.map(|sealed| open_signature(sealer, team_id, &sealed)).transpose()?,
        created_at: row.at(13)?,
        updated_at: row.at(14)?,
    })
}

/// The row a write returned (`RETURNING {COLUMNS}`), or "not found" when it matched none (no
/// such webhook, or another team's).
fn written(row: Option<Row>, sealer: &Sealer) -> Result<Webhook, StoreError> {
    row.as_ref().map(|row| webhook_from(row, sealer)).transpose()?.ok_or(StoreError::NotFound("webhook"))
}

/// Settings as stored: the same JSON text SQLite keeps.
fn settings_text(settings: &WebhookSettings) -> Result<String, StoreError> {
    serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The webhook with this id, whatever its team (the trigger path: the id is the capability).
async fn by_id(c: &impl GenericClient, sealer: &Sealer, id: WebhookId) -> Result<Option<Webhook>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1");
    pg::query_opt(c, &sql, &[&id]).await?.as_ref().map(|row| webhook_from(row, sealer)).transpose()
}

/// A webhook of the team, locked until the transaction ends, for a write that depends on what
/// it reads (the current secret, the target): a concurrent write to it waits, and a concurrent
/// regenerate or delete makes this "not found".
async fn locked(
    c: &impl GenericClient,
    sealer: &Sealer,
    team_id: TeamId,
    id: WebhookId,
) -> Result<Webhook, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1 AND team_id = $2 FOR UPDATE");
    written(pg::query_opt(c, &sql, &[&id, &team_id]).await?, sealer)
}

/// Creates a webhook (deployed) on a target of its team, refusing a second active one on the
/// target unless `allow_multiple`.
async fn insert(c: &impl GenericClient, sealer: &Sealer, new: &NewWebhook) -> Result<Webhook, StoreError> {
    validate_target(c, new.team_id, new.target, &new.settings).await?;
    if !new.allow_multiple {
        refuse_second_active(c, new.team_id, new.target.id).await?;
    }
    let sql = format!(
        "INSERT INTO webhooks (id, team_id, name, target_kind, target_id, auth_mode, secret_hash, secret_hint, state,
            settings, created_at, updated_at, signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'deployed', $9, $10, $10, $11) RETURNING {COLUMNS}"
    );
    let row = pg::query_opt(
        c,
        &sql,
        &[
            &WebhookId::new_v4(),
            &new.team_id,
            &new.name,
            &encode(&new.target.kind),
            &new.target.id,
            &encode(&new.auth_mode),
            &new.secret.as_ref().map(|(hash, _)| hash.as_slice()),
            &new.secret.as_ref().map(|(_, hint)| hint.as_str()),
            &settings_text(&new.settings)?,
            &now_ms(),
            &signature_text(sealer, new.team_id, new.signature.as_ref())?,
        ],
    )
    .await?;
    written(row, sealer)
}

/// The stored signature checks not sealed under the current key (whose prefix is `current`):
/// plain ones written before they were sealed, and those to reseal after a master-key
/// rotation: (webhook, team, stored text). Locked until the transaction ends, so a concurrent
/// change of a check is not overwritten by its resealed old value, and a second node resealing
/// at the same time waits, then finds them sealed.
pub(crate) async fn signatures_sealed_elsewhere(
    c: &impl GenericClient,
    current: &str,
) -> Result<Vec<(WebhookId, TeamId, String)>, StoreError> {
    let rows = pg::query(
        c,
        "SELECT id, team_id, signature FROM webhooks
         WHERE signature IS NOT NULL AND NOT starts_with(signature, $1) ORDER BY id FOR UPDATE",
        &[&current],
    )
    .await?;
    rows.iter().map(|row| Ok((row.at(0)?, row.at(1)?, row.at(2)?))).collect()
}

/// Replaces a stored signature check's text with `sealed` (the same check, sealed anew),
/// without touching `updated_at`: a reseal is not a change.
pub(crate) async fn reseal_signature(c: &impl GenericClient, id: WebhookId, sealed: &str) -> Result<(), StoreError> {
    pg::execute(c, "UPDATE webhooks SET signature = $2 WHERE id = $1", &[&id, &sealed]).await?;
    Ok(())
}

/// Takes the single call of an armed webhook: `Ok` for exactly one caller per arming, else
/// [`StoreError::NotArmed`]. One conditional UPDATE: concurrent takers queue on the row lock
/// and the losers re-check the condition on the winner's row (`armed_until` now NULL), so
/// exactly one succeeds. Runs in the caller's transaction, so the arm is spent only if the
/// delivery's rows commit.
pub(crate) async fn take_arm(c: &impl GenericClient, id: WebhookId, now: i64) -> Result<(), StoreError> {
    let changed = pg::execute(
        c,
        "UPDATE webhooks SET armed_until = NULL, updated_at = $2
         WHERE id = $1 AND state = 'armed' AND armed_until > $2",
        &[&id, &now],
    )
    .await?;
    if changed == 1 { Ok(()) } else { Err(StoreError::NotArmed) }
}

/// Installs a new secret; the old one stays valid until `previous_until` (ms), if given and if
/// there was one. The row is locked while its current secret is read.
async fn rotate_secret(
    c: &impl GenericClient,
    sealer: &Sealer,
    team_id: TeamId,
    id: WebhookId,
    secret: SecretHash,
    previous_until: Option<i64>,
) -> Result<Webhook, StoreError> {
    let current = locked(c, sealer, team_id, id).await?;
    if current.auth_mode != AuthMode::Secret {
        return Err(StoreError::Conflict("this webhook has auth \"none\": it has no secret to rotate".into()));
    }
    let previous = previous_until.and(current.secret_hash);
    let sql = format!(
        "UPDATE webhooks SET secret_hash = $2, secret_hint = $3, previous_secret_hash = $4,
            previous_secret_expires_at = $5, updated_at = $6 WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = pg::query_opt(
        c,
        &sql,
        &[
            &id,
            &secret.0.as_slice(),
            &secret.1,
            &previous.as_ref().map(<[u8; 32]>::as_slice),
            &previous_until.filter(|_| current.secret_hash.is_some()),
            &now_ms(),
        ],
    )
    .await?;
    written(row, sealer)
}

/// Moves the webhook to a new id (URL); the old id answers "removed". Its executions follow,
/// so they stay pollable from the new URL, and so do its completion callback and the
/// callback's messages.
async fn regenerate(
    c: &impl GenericClient,
    sealer: &Sealer,
    team_id: TeamId,
    id: WebhookId,
) -> Result<Webhook, StoreError> {
    locked(c, sealer, team_id, id).await?;
    let new_id = WebhookId::new_v4();
    let now = now_ms();
    let sql = format!("UPDATE webhooks SET id = $2, updated_at = $3 WHERE id = $1 RETURNING {COLUMNS}");
    let row = pg::query_opt(c, &sql, &[&id, &new_id, &now]).await?;
    pg::execute(
        c,
        "INSERT INTO removed_webhooks (id, team_id, replaced_by, removed_at) VALUES ($1, $2, $3, $4)",
        &[&id, &team_id, &new_id, &now],
    )
    .await?;
    pg::execute(c, "UPDATE executions SET webhook_id = $2 WHERE webhook_id = $1", &[&id, &new_id]).await?;
    for sql in [
        "UPDATE callbacks SET target_id = $2 WHERE target_id = $1 AND team_id = $3",
        "UPDATE callback_messages SET target_id = $2 WHERE target_id = $1 AND team_id = $3",
    ] {
        pg::execute(c, sql, &[&id, &new_id, &team_id]).await?;
    }
    written(row, sealer)
}

/// Deletes the webhook; its URL answers "removed" from now on.
async fn delete(c: &impl GenericClient, team_id: TeamId, id: WebhookId) -> Result<(), StoreError> {
    let deleted = pg::execute(c, "DELETE FROM webhooks WHERE id = $1 AND team_id = $2", &[&id, &team_id]).await?;
    if deleted == 0 {
        return Err(StoreError::NotFound("webhook"));
    }
    pg::execute(
        c,
        "INSERT INTO removed_webhooks (id, team_id, replaced_by, removed_at) VALUES ($1, $2, NULL, $3)",
        &[&id, &team_id, &now_ms()],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl WebhookRepo for PgStore {
    async fn by_id(&self, id: WebhookId) -> Result<Option<Arc<Webhook>>, StoreError> {
        Ok(by_id(&self.client().await?, self.sealer(), id).await?.map(Arc::new))
    }

    async fn removed(&self, id: WebhookId) -> Result<bool, StoreError> {
        let found =
            pg::query_opt(&self.client().await?, "SELECT 1 FROM removed_webhooks WHERE id = $1", &[&id]).await?;
        Ok(found.is_some())
    }

    async fn get(&self, team_id: TeamId, id: WebhookId) -> Result<Webhook, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1 AND team_id = $2");
        written(pg::query_opt(&self.client().await?, &sql, &[&id, &team_id]).await?, self.sealer())
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<Webhook>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE team_id = $1 ORDER BY created_at, seq");
        let rows = pg::query(&self.client().await?, &sql, &[&team_id]).await?;
        rows.iter().map(|row| webhook_from(row, self.sealer())).collect()
    }

    async fn create(&self, new: NewWebhook) -> Result<Webhook, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let created = insert(&tx, self.sealer(), &new).await?;
        tx.commit().await.map_err(commit)?;
        Ok(created)
    }

    async fn update(
        &self,
        team_id: TeamId,
        id: WebhookId,
        name: String,
        settings: WebhookSettings,
    ) -> Result<Webhook, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let current = locked(&tx, self.sealer(), team_id, id).await?;
        validate_target(&tx, team_id, current.target, &settings).await?;
        let sql =
            format!("UPDATE webhooks SET name = $2, settings = $3, updated_at = $4 WHERE id = $1 RETURNING {COLUMNS}");
        let row = pg::query_opt(&tx, &sql, &[&id, &name, &settings_text(&settings)?, &now_ms()]).await?;
        let updated = written(row, self.sealer())?;
        tx.commit().await.map_err(commit)?;
        Ok(updated)
    }

    async fn set_signature(
        &self,
        team_id: TeamId,
        id: WebhookId,
        signature: Option<SignatureConfig>,
    ) -> Result<Webhook, StoreError> {
        let sql = format!(
            "UPDATE webhooks SET signature = $3, updated_at = $4 WHERE id = $1 AND team_id = $2 RETURNING {COLUMNS}"
        );
        let sealed = signature_text(self.sealer(), team_id, signature.as_ref())?;
        let row = pg::query_opt(&self.client().await?, &sql, &[&id, &team_id, &sealed, &now_ms()]).await?;
        written(row, self.sealer())
    }

    async fn set_state(
        &self,
        team_id: TeamId,
        id: WebhookId,
        state: WebhookState,
        armed_until: Option<i64>,
    ) -> Result<Webhook, StoreError> {
        let sql = format!(
            "UPDATE webhooks SET state = $3, armed_until = $4, updated_at = $5 WHERE id = $1 AND team_id = $2
             RETURNING {COLUMNS}"
        );
        let row =
            pg::query_opt(&self.client().await?, &sql, &[&id, &team_id, &encode(&state), &armed_until, &now_ms()])
                .await?;
        written(row, self.sealer())
    }

    async fn rotate_secret(
        &self,
        team_id: TeamId,
        id: WebhookId,
        secret: SecretHash,
        previous_until: Option<i64>,
    ) -> Result<Webhook, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let rotated = rotate_secret(&tx, self.sealer(), team_id, id, secret, previous_until).await?;
        tx.commit().await.map_err(commit)?;
        Ok(rotated)
    }

    async fn regenerate(&self, team_id: TeamId, id: WebhookId) -> Result<Webhook, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let moved = regenerate(&tx, self.sealer(), team_id, id).await?;
        tx.commit().await.map_err(commit)?;
        Ok(moved)
    }

    async fn delete(&self, team_id: TeamId, id: WebhookId) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        delete(&tx, team_id, id).await?;
        tx.commit().await.map_err(commit)
    }
}
