//! Trigger webhooks: capability URLs (`/api/webhooks/{id}`) bound to a block or a doc, each
//! with its own secret (stored as a SHA-256 hash), state and settings.
//!
//! A webhook's id *is* its URL: regenerating the URL gives the webhook a new id and leaves a
//! row in `removed_webhooks`, so the old URL answers "removed" rather than "not found". The
//! same happens on delete.

mod model;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use wasmhook_domain::ids::{BlockId, DocId, TeamId, WebhookId};

pub use model::{
    AuthMode, DEFAULT_MAX_BODY_BYTES, NewWebhook, RateLimit, ResponseMode, Target, TargetKind, Webhook,
    WebhookSettings, WebhookState,
};

use super::{StoreError, blocks, docs, now_ms, uuid_at};
use crate::sealing::{Sealer, signature_context};
use wasmhook_domain::signature::SignatureConfig;
use zeroize::Zeroizing;

const COLUMNS: &str = "id, team_id, name, target_kind, target_id, auth_mode, secret_hash, secret_hint,
    previous_secret_hash, previous_secret_expires_at, state, armed_until, settings, created_at, updated_at, signature";

fn hash_at(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<[u8; 32]>> {
    let bytes: Option<Vec<u8>> = row.get(idx)?;
    bytes
        .map(|b| {
            <[u8; 32]>::try_from(b.as_slice())
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Blob, Box::new(e)))
        })
        .transpose()
}

/// A stored enum (target kind, auth mode, state) from its serde name, as every backend stores
/// it; a name no variant has is `Corrupt`.
pub fn decode<T: for<'de> Deserialize<'de>>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| StoreError::Corrupt(format!("webhook {what} {text:?}: {e}")))
}

/// The stored text of an enum (target kind, auth mode, state): its serde name, so every backend
/// writes the same values.
pub fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn row_to_webhook(row: &rusqlite::Row<'_>, sealer: &Sealer) -> Result<Webhook, StoreError> {
    let team_id = uuid_at(row, 1)?;
    let target_kind: String = row.get(3)?;
    let auth_mode: String = row.get(5)?;
    let state: String = row.get(10)?;
    let settings: String = row.get(12)?;
    let signature: Option<String> = row.get(15)?;
    Ok(Webhook {
        id: uuid_at(row, 0)?,
        team_id,
        name: row.get(2)?,
        target: Target { kind: decode(&target_kind, "target")?, id: uuid_at(row, 4)? },
        auth_mode: decode(&auth_mode, "auth mode")?,
        secret_hash: hash_at(row, 6)?,
        secret_hint: row.get(7)?,
        previous_secret_hash: hash_at(row, 8)?,
        previous_secret_expires_at: row.get(9)?,
        state: decode(&state, "state")?,
        armed_until: row.get(11)?,
        settings: serde_json::from_str(&settings).map_err(|e| StoreError::Corrupt(format!("webhook settings: {e}")))?,
        signature: signature.map(|sealed| open_signature(sealer, team_id, &sealed)).transpose()?,
        created_at: row.get(13)?,
        updated_at: row.get(14)?,
    })
}

/// The webhook with this id, whatever its team (the trigger path: the id is the capability).
pub(crate) fn by_id(conn: &Connection, sealer: &Sealer, id: WebhookId) -> Result<Option<Webhook>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = ?1"))?;
    let mut rows = stmt.query([id.to_string()])?;
    rows.next()?.map(|row| row_to_webhook(row, sealer)).transpose()
}

/// A webhook of `team_id`; another team's is "not found".
pub(crate) fn webhook(
    conn: &Connection,
    sealer: &Sealer,
    team_id: TeamId,
    id: WebhookId,
) -> Result<Webhook, StoreError> {
    by_id(conn, sealer, id)?.filter(|w| w.team_id == team_id).ok_or(StoreError::NotFound("webhook"))
}

/// The team's webhooks, oldest first.
pub(crate) fn webhooks_of_team(
    conn: &Connection,
    sealer: &Sealer,
    team_id: TeamId,
) -> Result<Vec<Webhook>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks WHERE team_id = ?1 ORDER BY created_at, rowid"))?;
    let mut rows = stmt.query([team_id.to_string()])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(row_to_webhook(row, sealer)?);
    }
    Ok(out)
}

/// Whether `id` is a URL that was regenerated or deleted.
pub(crate) fn removed(conn: &Connection, id: WebhookId) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT 1 FROM removed_webhooks WHERE id = ?1")?;
    Ok(stmt.exists([id.to_string()])?)
}

/// What a webhook may target, whatever the backend: `found` is what the backend read of the
/// target in the webhook's team (`None`: it is not the team's; for a doc, its dataset keys;
/// for a block, none). The errors are the 422s of `POST`/`PATCH /v1/webhooks`.
pub fn check_target(target: Target, settings: &WebhookSettings, found: Option<&[String]>) -> Result<(), StoreError> {
    let Some(dataset_keys) = found else {
        let kind = match target.kind {
            TargetKind::Block => "block",
            TargetKind::Doc => "doc",
        };
        return Err(StoreError::Invalid(format!("target.id {} is not a {kind} of this team", target.id)));
    };
    match target.kind {
        TargetKind::Block if settings.dataset_keys.is_some() => {
            Err(StoreError::Invalid("settings.datasetKeys only applies to a doc target".into()))
        }
        TargetKind::Block => Ok(()),
        TargetKind::Doc => {
            for (i, key) in settings.dataset_keys.iter().flatten().enumerate() {
                if !dataset_keys.contains(key) {
                    return Err(StoreError::Invalid(format!(
                        "settings.datasetKeys[{i}] {key:?} is not a dataset of doc {}",
                        target.id
                    )));
                }
            }
            Ok(())
        }
    }
}

/// Checks the target is the team's and the dataset keys are the doc's.
fn validate_target(
    conn: &Connection,
    team_id: TeamId,
    target: Target,
    settings: &WebhookSettings,
) -> Result<(), StoreError> {
    let found = match target.kind {
        TargetKind::Block => blocks::block(conn, team_id, BlockId::from(target.id)).ok().map(|_| Vec::new()),
        TargetKind::Doc => docs::doc(conn, team_id, DocId::from(target.id))
            .ok()
            .map(|doc| doc.datasets.into_iter().map(|dataset| dataset.key).collect()),
    };
    check_target(target, settings, found.as_deref())
}

/// Creates a webhook (deployed). Refuses a second active webhook on the same target unless
/// `allow_multiple`.
pub(crate) fn insert(conn: &Connection, sealer: &Sealer, new: &NewWebhook) -> Result<Webhook, StoreError> {
    validate_target(conn, new.team_id, new.target, &new.settings)?;
    if !new.allow_multiple {
        let existing: Option<String> = conn
            .prepare_cached("SELECT id FROM webhooks WHERE team_id = ?1 AND target_id = ?2 AND state != 'disabled'")?
            .query_row([new.team_id.to_string(), new.target.id.to_string()], |row| row.get(0))
            .optional()?;
        if let Some(existing) = existing {
            return Err(StoreError::Conflict(format!(
                "webhook {existing} is already active for this target; disable it first or send \"allowMultiple\": true"
            )));
        }
    }
    let id = WebhookId::new_v4();
    let now = now_ms();
    let settings = serde_json::to_string(&new.settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.execute(
        "INSERT INTO webhooks (id, team_id, name, target_kind, target_id, auth_mode, secret_hash, secret_hint, state,
            settings, created_at, updated_at, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'deployed', ?9, ?10, ?10, ?11)",
        params![
            id.to_string(),
            new.team_id.to_string(),
            new.name,
            encode(&new.target.kind),
            new.target.id.to_string(),
            encode(&new.auth_mode),
            new.secret.as_ref().map(|(hash, _)| hash.to_vec()),
            new.secret.as_ref().map(|(_, hint)| hint.as_str()),
            settings,
            now,
            signature_text(sealer, new.team_id, new.signature.as_ref())?,
        ],
    )?;
    webhook(conn, sealer, new.team_id, id)
}

/// Replaces name and settings.
pub(crate) fn update(
    conn: &Connection,
    sealer: &Sealer,
    team_id: TeamId,
    id: WebhookId,
    name: &str,
    settings: &WebhookSettings,
) -> Result<Webhook, StoreError> {
    let current = webhook(conn, sealer, team_id, id)?;
    validate_target(conn, team_id, current.target, settings)?;
    let text = serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.execute(
        "UPDATE webhooks SET name = ?2, settings = ?3, updated_at = ?4 WHERE id = ?1",
        params![id.to_string(), name, text, now_ms()],
    )?;
    webhook(conn, sealer, team_id, id)
}

/// A signature check (with its signing secrets) sealed under the master key: an HMAC secret
/// cannot be hashed, since the server must compute with it. Public so every backend stores the
/// same sealed text.
pub fn signature_text(
    sealer: &Sealer,
    team_id: TeamId,
    signature: Option<&SignatureConfig>,
) -> Result<Option<String>, StoreError> {
    let Some(signature) = signature else { return Ok(None) };
    let json = Zeroizing::new(serde_json::to_string(signature).map_err(|e| StoreError::Corrupt(e.to_string()))?);
    let sealed = sealer
        .seal(&signature_context(team_id), json.as_bytes())
        .map_err(|e| StoreError::Corrupt(format!("webhook signature: {e}")))?;
    Ok(Some(sealed))
}

/// A stored signature check, opened (`Corrupt` when it does not open or parse): public so every
/// backend reads it back the same way.
pub fn open_signature(sealer: &Sealer, team_id: TeamId, sealed: &str) -> Result<SignatureConfig, StoreError> {
    let json = sealer
        .open(&signature_context(team_id), sealed)
        .map_err(|e| StoreError::Corrupt(format!("webhook signature: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| StoreError::Corrupt(format!("webhook signature: {e}")))
}

/// The stored signature checks not sealed under the current key (whose prefix is `current`):
/// plain ones written before they were sealed, and those to reseal after a master-key
/// rotation: (webhook, team, stored text).
pub(crate) fn signatures_sealed_elsewhere(
    conn: &Connection,
    current: &str,
) -> Result<Vec<(WebhookId, TeamId, String)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, team_id, signature FROM webhooks
         WHERE signature IS NOT NULL AND substr(signature, 1, length(?1)) <> ?1",
    )?;
    let rows = stmt.query_map([current], |row| Ok((uuid_at(row, 0)?, uuid_at(row, 1)?, row.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Replaces a stored signature check's text with `sealed` (the same check, sealed anew).
pub(crate) fn reseal_signature(conn: &Connection, id: WebhookId, sealed: &str) -> Result<(), StoreError> {
    conn.execute("UPDATE webhooks SET signature = ?2 WHERE id = ?1", params![id.to_string(), sealed])?;
    Ok(())
}

/// Replaces (or removes) the signature check.
pub(crate) fn set_signature(
    conn: &Connection,
    sealer: &Sealer,
    team_id: TeamId,
    id: WebhookId,
    signature: Option<&SignatureConfig>,
) -> Result<Webhook, StoreError> {
    webhook(conn, sealer, team_id, id)?;
    conn.execute(
        "UPDATE webhooks SET signature = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.to_string(), signature_text(sealer, team_id, signature)?, now_ms()],
    )?;
    webhook(conn, sealer, team_id, id)
}

/// Sets the state (and the arm deadline for `Armed`).
pub(crate) fn set_state(
    conn: &Connection,
    sealer: &Sealer,
    team_id: TeamId,
    id: WebhookId,
    state: WebhookState,
    armed_until: Option<i64>,
) -> Result<Webhook, StoreError> {
    webhook(conn, sealer, team_id, id)?;
    conn.execute(
        "UPDATE webhooks SET state = ?2, armed_until = ?3, updated_at = ?4 WHERE id = ?1",
        params![id.to_string(), encode(&state), armed_until, now_ms()],
    )?;
    webhook(conn, sealer, team_id, id)
}

/// Takes the single call of an armed webhook: `Ok` for exactly one caller per arming, else
/// [`StoreError::NotArmed`]. Runs in the writer's savepoint with the delivery's rows, so the
/// arm is spent only if they commit.
pub(crate) fn take_arm(conn: &Connection, id: WebhookId, now: i64) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE webhooks SET armed_until = NULL, updated_at = ?2
             WHERE id = ?1 AND state = 'armed' AND armed_until > ?2",
        )?
        .execute(params![id.to_string(), now])?;
    if changed == 1 { Ok(()) } else { Err(StoreError::NotArmed) }
}

/// Installs a new secret; the old one stays valid until `previous_until` (ms), if given.
pub(crate) fn rotate_secret(
    conn: &Connection,
    sealer: &Sealer,
    team_id: TeamId,
    id: WebhookId,
    secret: ([u8; 32], String),
    previous_until: Option<i64>,
) -> Result<Webhook, StoreError> {
    let current = webhook(conn, sealer, team_id, id)?;
    if current.auth_mode != AuthMode::Secret {
        return Err(StoreError::Conflict("this webhook has auth \"none\": it has no secret to rotate".into()));
    }
    let previous = previous_until.and(current.secret_hash).map(|h| h.to_vec());
    conn.execute(
        "UPDATE webhooks SET secret_hash = ?2, secret_hint = ?3, previous_secret_hash = ?4,
            previous_secret_expires_at = ?5, updated_at = ?6 WHERE id = ?1",
        params![
            id.to_string(),
            secret.0.to_vec(),
            secret.1,
            previous,
            previous_until.filter(|_| current.secret_hash.is_some()),
            now_ms()
        ],
    )?;
    webhook(conn, sealer, team_id, id)
}

/// Moves the webhook to a new id (URL); the old id answers "removed". Executions follow, so
/// they stay pollable from the new URL, and so does its completion callback.
pub(crate) fn regenerate(
    conn: &Connection,
    sealer: &Sealer,
    team_id: TeamId,
    id: WebhookId,
) -> Result<Webhook, StoreError> {
    webhook(conn, sealer, team_id, id)?;
    let new_id = WebhookId::new_v4();
    let now = now_ms();
    conn.execute(
        "UPDATE webhooks SET id = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.to_string(), new_id.to_string(), now],
    )?;
    conn.execute(
        "INSERT INTO removed_webhooks (id, team_id, replaced_by, removed_at) VALUES (?1, ?2, ?3, ?4)",
        params![id.to_string(), team_id.to_string(), new_id.to_string(), now],
    )?;
    conn.execute(
        "UPDATE executions SET webhook_id = ?2 WHERE webhook_id = ?1",
        params![id.to_string(), new_id.to_string()],
    )?;
    // Its completion callback (and messages not yet sent) follow it too.
    for table in ["callbacks", "callback_messages"] {
        conn.execute(
            &format!("UPDATE {table} SET target_id = ?2 WHERE target_id = ?1 AND team_id = ?3"),
            params![id.to_string(), new_id.to_string(), team_id.to_string()],
        )?;
    }
    webhook(conn, sealer, team_id, new_id)
}

/// Deletes the webhook; its URL answers "removed" from now on.
pub(crate) fn delete(conn: &Connection, team_id: TeamId, id: WebhookId) -> Result<(), StoreError> {
    let owned = conn
        .prepare_cached("SELECT 1 FROM webhooks WHERE id = ?1 AND team_id = ?2")?
        .exists(params![id.to_string(), team_id.to_string()])?;
    if !owned {
        return Err(StoreError::NotFound("webhook"));
    }
    conn.execute("DELETE FROM webhooks WHERE id = ?1", [id.to_string()])?;
    conn.execute(
        "INSERT INTO removed_webhooks (id, team_id, replaced_by, removed_at) VALUES (?1, ?2, NULL, ?3)",
        params![id.to_string(), team_id.to_string(), now_ms()],
    )?;
    Ok(())
}
