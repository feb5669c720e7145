//! What a webhook may target, checked inside its write: a block or doc of its own team (and
//! the doc's dataset keys), and at most one active webhook per target unless asked, decided
//! under a lock so that two concurrent creates cannot both pass.

use deadpool_postgres::GenericClient;
use uuid::Uuid;
use wasmhook_domain::ids::{TeamId, WebhookId};
use wasmhook_store::StoreError;
use wasmhook_store::webhooks::{Target, TargetKind, WebhookSettings, check_target};

use crate::pg::{self, RowExt};

/// Checks the target is the team's block or doc, and the dataset keys are the doc's (the rules
/// are the store's `check_target`; this reads what they need).
pub(super) async fn validate_target(
    c: &impl GenericClient,
    team_id: TeamId,
    target: Target,
    settings: &WebhookSettings,
) -> Result<(), StoreError> {
    let table = match target.kind {
        TargetKind::Block => "blocks",
        TargetKind::Doc => "docs",
    };
    let sql = format!("SELECT 1 FROM {table} WHERE id = $1 AND team_id = $2");
    let found = match pg::query_opt(c, &sql, &[&target.id, &team_id]).await? {
        None => None,
        Some(_) if target.kind == TargetKind::Block => Some(Vec::new()),
        Some(_) => {
            let rows = pg::query(c, "SELECT key FROM datasets WHERE doc_id = $1", &[&target.id]).await?;
            Some(rows.iter().map(|row| row.at(0)).collect::<Result<Vec<String>, _>>()?)
        }
    };
    check_target(target, settings, found.as_deref())
}

/// The advisory lock key of a target: its id's first 64 bits (random in a v4 UUID). The single
/// `bigint` key space does not overlap `locks::CLASS`'s two-integer keys; a collision would
/// only make two creates wait for each other.
fn target_lock_key(target: Uuid) -> i64 {
    let [a, b, c, d, e, f, g, h, ..] = *target.as_bytes();
    i64::from_be_bytes([a, b, c, d, e, f, g, h])
}

/// `Conflict` when the target already has an active webhook of the team. Two creates on one
/// target serialise on the target's advisory lock (held until the transaction ends), so the
/// second sees the first's row: a check of existing rows alone cannot see a concurrent insert.
pub(super) async fn refuse_second_active(
    c: &impl GenericClient,
    team_id: TeamId,
    target: Uuid,
) -> Result<(), StoreError> {
    pg::execute(c, "SELECT pg_advisory_xact_lock($1)", &[&target_lock_key(target)]).await?;
    let existing = pg::query_opt(
        c,
        "SELECT id FROM webhooks WHERE team_id = $1 AND target_id = $2 AND state <> 'disabled'
         ORDER BY created_at, seq LIMIT 1",
        &[&team_id, &target],
    )
    .await?;
    match existing {
        Some(row) => {
            let existing: WebhookId = row.at(0)?;
            Err(StoreError::Conflict(format!(
                "webhook {existing} is already active for this target; disable it first or send \"allowMultiple\": true"
            )))
        }
        None => Ok(()),
    }
}
