//! Teams, users and API keys on PostgreSQL ([`TenancyRepo`]).

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use wasmhook_domain::ids::{KeyId, TeamId, UserId};
use wasmhook_store::repo::{NewUserKey, TeamRef, TenancyRepo};
use wasmhook_store::{ApiKeyRecord, KeyScope, StoreError, Team, User, now_ms};

use crate::pg::{self, RowExt, commit, db};
use crate::{PgStore, locks};

const TEAM_COLUMNS: &str = "id, name, operator, created_at";

fn team_from(row: &Row) -> Result<Team, StoreError> {
    Ok(Team { id: row.at(0)?, name: row.at(1)?, operator: row.at(2)?, created_at: row.at(3)? })
}

const KEY_COLUMNS: &str =
    "k.id, k.user_id, u.team_id, k.scope, k.label, k.hint, k.created_at, k.revoked_at, k.secret_hash, k.sessions_after";

fn key_from(row: &Row) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: row.at(0)?,
        user_id: row.at(1)?,
        team_id: row.at(2)?,
        scope: KeyScope::parse(row.at(3)?)?,
        label: row.at(4)?,
        hint: row.at(5)?,
        created_at: row.at(6)?,
        revoked_at: row.at(7)?,
        secret_hash: row.at(8)?,
        sessions_after: row.at(9)?,
    })
}

async fn insert_team(
    c: &impl GenericClient,
    name: &str,
    operator: bool,
    admin: &NewUserKey,
) -> Result<(Team, User, ApiKeyRecord), StoreError> {
    let team = Team { id: TeamId::new_v4(), name: name.to_owned(), operator, created_at: now_ms() };
    pg::execute(
        c,
        "INSERT INTO teams (id, name, operator, created_at) VALUES ($1, $2, $3, $4)",
        &[&team.id, &team.name, &team.operator, &team.created_at],
    )
    .await?;
    let (user, key) = insert_user_key(c, team.id, admin).await?;
    Ok((team, user, key))
}

async fn insert_user_key(
    c: &impl GenericClient,
    team_id: TeamId,
    new: &NewUserKey,
) -> Result<(User, ApiKeyRecord), StoreError> {
    let now = now_ms();
    let user = User { id: new.user_id, team_id, name: new.user_name.clone(), created_at: now };
    pg::execute(
        c,
        "INSERT INTO users (id, team_id, name, created_at) VALUES ($1, $2, $3, $4)",
        &[&user.id, &team_id, &user.name, &now],
    )
    .await?;
    let key = ApiKeyRecord {
        id: KeyId::new_v4(),
        user_id: user.id,
        team_id,
        scope: new.scope,
        label: new.label.clone(),
        hint: new.hint.clone(),
        created_at: now,
        revoked_at: None,
        secret_hash: new.hash.to_vec(),
        sessions_after: None,
    };
    pg::execute(
        c,
        "INSERT INTO api_keys (id, user_id, secret_hash, scope, label, hint, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&key.id, &user.id, &key.secret_hash, &key.scope.as_str(), &key.label, &key.hint, &now],
    )
    .await?;
    Ok((user, key))
}

async fn team(c: &impl GenericClient, id: TeamId) -> Result<Team, StoreError> {
    let sql = format!("SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1");
    pg::query_opt(c, &sql, &[&id]).await?.as_ref().map(team_from).transpose()?.ok_or(StoreError::NotFound("team"))
}

async fn operator_team(c: &impl GenericClient) -> Result<Team, StoreError> {
    let sql = format!("SELECT {TEAM_COLUMNS} FROM teams WHERE operator ORDER BY created_at LIMIT 1");
    pg::query_opt(c, &sql, &[])
        .await?
        .as_ref()
        .map(team_from)
        .transpose()?
        .ok_or(StoreError::NotFound("operator team (start the server once first)"))
}

#[async_trait]
impl TenancyRepo for PgStore {
    async fn bootstrap(&self, name: &str, admin: NewUserKey) -> Result<Option<(Team, User, ApiKeyRecord)>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // Nodes starting together: the first one to take the lock creates the team, the others
        // then see it.
        pg::execute(&tx, "SELECT pg_advisory_xact_lock($1, $2)", &[&locks::CLASS, &locks::BOOTSTRAP]).await?;
        let teams: i64 = pg::query_one(&tx, "SELECT count(*) FROM teams", &[]).await?.at(0)?;
        if teams > 0 {
            return Ok(None);
        }
        let created = insert_team(&tx, name, true, &admin).await?;
        tx.commit().await.map_err(commit)?;
        Ok(Some(created))
    }

    async fn create_team(&self, name: &str, admin: NewUserKey) -> Result<(Team, User, ApiKeyRecord), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let created = insert_team(&tx, name, false, &admin).await?;
        tx.commit().await.map_err(commit)?;
        Ok(created)
    }

    async fn create_user(&self, team_ref: TeamRef, user: NewUserKey) -> Result<(User, ApiKeyRecord), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let team = match team_ref {
            TeamRef::Id(id) => team(&tx, id).await?,
            TeamRef::Operator => operator_team(&tx).await?,
        };
        let created = insert_user_key(&tx, team.id, &user).await?;
        tx.commit().await.map_err(commit)?;
        Ok(created)
    }

    async fn team(&self, id: TeamId) -> Result<Team, StoreError> {
        team(&self.client().await?, id).await
    }

    async fn active_keys_of_user(&self, user_id: UserId) -> Result<Arc<Vec<ApiKeyRecord>>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id
             WHERE k.user_id = $1 AND k.revoked_at IS NULL"
        );
        let rows = pg::query(&self.client().await?, &sql, &[&user_id]).await?;
        Ok(Arc::new(rows.iter().map(key_from).collect::<Result<_, _>>()?))
    }

    async fn keys_of_team(&self, team_id: TeamId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id
             WHERE u.team_id = $1 ORDER BY k.created_at, k.seq"
        );
        let rows = pg::query(&self.client().await?, &sql, &[&team_id]).await?;
        rows.iter().map(key_from).collect()
    }

    async fn end_sessions(&self, key_id: KeyId, at: i64) -> Result<(), StoreError> {
        pg::execute(
            &self.client().await?,
            "UPDATE api_keys SET sessions_after = greatest(coalesce(sessions_after, 0), $2) WHERE id = $1",
            &[&key_id, &at],
        )
        .await?;
        Ok(())
    }

    async fn revoke_key(&self, team_id: TeamId, key_id: KeyId) -> Result<(), StoreError> {
        let changed = pg::execute(
            &self.client().await?,
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3)
             WHERE id = $1 AND user_id IN (SELECT id FROM users WHERE team_id = $2)",
            &[&key_id, &team_id, &now_ms()],
        )
        .await?;
        if changed == 0 { Err(StoreError::NotFound("api key")) } else { Ok(()) }
    }
}
