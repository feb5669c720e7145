//! Teams, their users and API keys (stored as hashes: the key text never reaches the store).

use std::sync::Arc;
use wasmhook_domain::ids::{KeyId, TeamId, UserId};

use async_trait::async_trait;
use rusqlite::Connection;

use crate::tenancy::{self as sql, ApiKeyRecord, KeyScope, Team, User};
use crate::{Store, StoreError};

/// A user to create with their first key, minted by the caller (the key text embeds the user's
/// id, so the caller picks it).
#[derive(Debug, Clone)]
pub struct NewUserKey {
    /// The new user's id.
    pub user_id: UserId,
    /// The new user's name.
    pub user_name: String,
    /// SHA-256 of the key's secret part.
    pub hash: [u8; 32],
    /// The secret's last characters, for listings.
    pub hint: String,
    /// What the key may do.
    pub scope: KeyScope,
    /// Free-form label.
    pub label: Option<String>,
}

/// Which team a new user joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamRef {
    /// This team (`NotFound` if it does not exist).
    Id(TeamId),
    /// The operator team.
    Operator,
}

/// Teams, users and keys.
#[async_trait]
pub trait TenancyRepo: Send + Sync {
    /// First start: creates the operator team `name` with `admin`, only when no team exists yet
    /// (`None` otherwise), in one write.
    async fn bootstrap(&self, name: &str, admin: NewUserKey) -> Result<Option<(Team, User, ApiKeyRecord)>, StoreError>;
    /// Creates a (non-operator) team with its first admin.
    async fn create_team(&self, name: &str, admin: NewUserKey) -> Result<(Team, User, ApiKeyRecord), StoreError>;
    /// Creates a user of `team` with their first key.
    async fn create_user(&self, team: TeamRef, user: NewUserKey) -> Result<(User, ApiKeyRecord), StoreError>;
    /// A team by id.
    async fn team(&self, id: TeamId) -> Result<Team, StoreError>;
    /// The user's keys that are not revoked (candidates for authentication).
    async fn active_keys_of_user(&self, user_id: UserId) -> Result<Arc<Vec<ApiKeyRecord>>, StoreError>;
    /// Every key of a team, revoked ones included.
    async fn keys_of_team(&self, team_id: TeamId) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revokes a key of the team; revoking twice is harmless.
    async fn revoke_key(&self, team_id: TeamId, key_id: KeyId) -> Result<(), StoreError>;
    /// Ends the key's dashboard sessions signed in up to `at` (ms): sign-out.
    async fn end_sessions(&self, key_id: KeyId, at: i64) -> Result<(), StoreError>;
}

fn insert_user_key(conn: &Connection, team_id: TeamId, new: &NewUserKey) -> Result<(User, ApiKeyRecord), StoreError> {
    let user = sql::insert_user(conn, new.user_id, team_id, &new.user_name)?;
    let key = sql::insert_key(conn, &user, &new.hash, new.scope, new.label.as_deref(), &new.hint)?;
    Ok((user, key))
}

fn insert_team(
    conn: &Connection,
    name: &str,
    operator: bool,
    admin: &NewUserKey,
) -> Result<(Team, User, ApiKeyRecord), StoreError> {
    let team = sql::insert_team(conn, name, operator)?;
    let (user, key) = insert_user_key(conn, team.id, admin)?;
    Ok((team, user, key))
}

#[async_trait]
impl TenancyRepo for Store {
    async fn bootstrap(&self, name: &str, admin: NewUserKey) -> Result<Option<(Team, User, ApiKeyRecord)>, StoreError> {
        let name = name.to_owned();
        self.write(move |conn| {
            if sql::count_teams(conn)? > 0 {
                return Ok(None);
            }
            insert_team(conn, &name, true, &admin).map(Some)
        })
        .await
    }

    async fn create_team(&self, name: &str, admin: NewUserKey) -> Result<(Team, User, ApiKeyRecord), StoreError> {
        let name = name.to_owned();
        self.write(move |conn| insert_team(conn, &name, false, &admin)).await
    }

    async fn create_user(&self, team: TeamRef, user: NewUserKey) -> Result<(User, ApiKeyRecord), StoreError> {
        self.write(move |conn| {
            let team = match team {
                TeamRef::Id(id) => sql::team(conn, id)?,
                TeamRef::Operator => sql::operator_team(conn)?,
            };
            insert_user_key(conn, team.id, &user)
        })
        .await
    }

    async fn team(&self, id: TeamId) -> Result<Team, StoreError> {
        self.read(move |conn| sql::team(conn, id)).await
    }

    async fn active_keys_of_user(&self, user_id: UserId) -> Result<Arc<Vec<ApiKeyRecord>>, StoreError> {
        Ok(Arc::new(self.read(move |conn| sql::active_keys_of_user(conn, user_id)).await?))
    }

    async fn keys_of_team(&self, team_id: TeamId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.read(move |conn| sql::keys_of_team(conn, team_id)).await
    }

    async fn revoke_key(&self, team_id: TeamId, key_id: KeyId) -> Result<(), StoreError> {
        self.write(move |conn| sql::revoke_key(conn, team_id, key_id)).await
    }

    async fn end_sessions(&self, key_id: KeyId, at: i64) -> Result<(), StoreError> {
        self.write(move |conn| sql::end_sessions(conn, key_id, at)).await
    }
}
