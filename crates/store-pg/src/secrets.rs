//! Team secrets on PostgreSQL ([`SecretRepo`]), as sealed text: never a plain value.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use wasmhook_domain::ids::TeamId;
use wasmhook_store::repo::SecretRepo;
use wasmhook_store::secrets::SecretInfo;
use wasmhook_store::{StoreError, now_ms};

use crate::PgStore;
use crate::pg::{self, RowExt};

fn info_from(row: &Row) -> Result<SecretInfo, StoreError> {
    Ok(SecretInfo { name: row.at(0)?, created_at: row.at(1)?, updated_at: row.at(2)? })
}

/// Creates or replaces a secret; `true` when it was created. `xmax = 0` tells an inserted row
/// from an updated one in the same statement, so no read can race the write.
async fn put(
    c: &impl GenericClient,
    team_id: TeamId,
    name: &str,
    sealed: &str,
) -> Result<(SecretInfo, bool), StoreError> {
    let now = now_ms();
    let row = pg::query_one(
        c,
        "INSERT INTO secrets (team_id, name, sealed, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (team_id, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at
         RETURNING created_at, xmax = 0",
        &[&team_id, &name, &sealed, &now],
    )
    .await?;
    Ok((SecretInfo { name: name.to_owned(), created_at: row.at(0)?, updated_at: now }, row.at(1)?))
}

/// The first of `names` the team has no secret for (a block may reference only secrets its
/// team has).
pub(crate) async fn first_missing<'a>(
    c: &impl GenericClient,
    team_id: TeamId,
    names: impl IntoIterator<Item = &'a String>,
) -> Result<Option<String>, StoreError> {
    for name in names {
        let found =
            pg::query_opt(c, "SELECT 1 FROM secrets WHERE team_id = $1 AND name = $2", &[&team_id, name]).await?;
        if found.is_none() {
            return Ok(Some(name.clone()));
        }
    }
    Ok(None)
}

/// Secrets whose sealed text does not begin with `current`: (team, name, sealed).
pub(crate) async fn sealed_elsewhere(
    c: &impl GenericClient,
    current: &str,
) -> Result<Vec<(TeamId, String, String)>, StoreError> {
    let rows = pg::query(c, "SELECT team_id, name, sealed FROM secrets WHERE NOT starts_with(sealed, $1)", &[&current])
        .await?;
    rows.iter().map(|row| Ok((row.at(0)?, row.at(1)?, row.at(2)?))).collect()
}

/// Replaces a secret's sealed text without touching its times (a reseal, not a change).
pub(crate) async fn reseal(
    c: &impl GenericClient,
    team_id: TeamId,
    name: &str,
    sealed: &str,
) -> Result<(), StoreError> {
    pg::execute(c, "UPDATE secrets SET sealed = $3 WHERE team_id = $1 AND name = $2", &[&team_id, &name, &sealed])
        .await?;
    Ok(())
}

#[async_trait]
impl SecretRepo for PgStore {
    async fn create(&self, team_id: TeamId, name: &str, sealed: &str) -> Result<SecretInfo, StoreError> {
        let now = now_ms();
        let inserted = pg::query_opt(
            &self.client().await?,
            "INSERT INTO secrets (team_id, name, sealed, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (team_id, name) DO NOTHING RETURNING created_at",
            &[&team_id, &name, &sealed, &now],
        )
        .await?;
        match inserted {
            Some(_) => Ok(SecretInfo { name: name.to_owned(), created_at: now, updated_at: now }),
            None => Err(StoreError::Conflict(format!(
                "a secret named {name:?} exists; PUT /v1/secrets/{name} replaces its value"
            ))),
        }
    }

    async fn put(&self, team_id: TeamId, name: &str, sealed: &str) -> Result<(SecretInfo, bool), StoreError> {
        put(&self.client().await?, team_id, name, sealed).await
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<SecretInfo>, StoreError> {
        let rows = pg::query(
            &self.client().await?,
            "SELECT name, created_at, updated_at FROM secrets WHERE team_id = $1 ORDER BY name",
            &[&team_id],
        )
        .await?;
        rows.iter().map(info_from).collect()
    }

    async fn info(&self, team_id: TeamId, name: &str) -> Result<SecretInfo, StoreError> {
        pg::query_opt(
            &self.client().await?,
            "SELECT name, created_at, updated_at FROM secrets WHERE team_id = $1 AND name = $2",
            &[&team_id, &name],
        )
        .await?
        .as_ref()
        .map(info_from)
        .transpose()?
        .ok_or(StoreError::NotFound("secret"))
    }

    async fn delete(&self, team_id: TeamId, name: &str) -> Result<(), StoreError> {
        let deleted = pg::execute(
            &self.client().await?,
            "DELETE FROM secrets WHERE team_id = $1 AND name = $2",
            &[&team_id, &name],
        )
        .await?;
        if deleted == 0 { Err(StoreError::NotFound("secret")) } else { Ok(()) }
    }

    async fn sealed(&self, team_id: TeamId, names: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        // One round trip for all names, in the order asked.
        let rows = pg::query(
            &self.client().await?,
            "SELECT s.name, s.sealed FROM unnest($2::text[]) WITH ORDINALITY AS n(name, position)
             JOIN secrets s ON s.team_id = $1 AND s.name = n.name ORDER BY n.position",
            &[&team_id, &names],
        )
        .await?;
        rows.iter().map(|row| Ok((row.at(0)?, row.at(1)?))).collect()
    }
}
