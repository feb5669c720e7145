//! Teams (the tenant boundary), users and API keys. Keys are stored as hashes only.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use wasmhook_domain::ids::{KeyId, TeamId, UserId};

use super::{StoreError, now_ms, uuid_at};

/// A tenant. Everything else belongs to exactly one team.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    /// Team id.
    pub id: TeamId,
    /// Display name.
    pub name: String,
    /// The operator team (created at first start) may create other teams.
    pub operator: bool,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
}

/// A person or system holding API keys.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// User id: the part of an API key before its last `-`.
    pub id: UserId,
    /// The user's team.
    pub team_id: TeamId,
    /// Display name.
    pub name: String,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
}

/// What a key may do.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyScope {
    /// Manage the team's blocks, docs, keys and executions, and fire webhooks.
    Admin,
    /// Fire webhooks and read executions only.
    Execute,
    /// A run's own key (`WASMHOOK_API_KEY`): execute, plus key-value state. Never stored, never
    /// issued through the API.
    #[serde(skip_deserializing)]
    Run,
}

impl KeyScope {
    /// The stored spelling (`admin`, `execute`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Execute => "execute",
            Self::Run => "run",
        }
    }

    /// A stored scope (`Corrupt` for anything else: `run` keys are never stored).
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "admin" => Ok(Self::Admin),
            "execute" => Ok(Self::Execute),
            other => Err(StoreError::Corrupt(format!("unknown key scope {other:?}"))),
        }
    }
}

/// An API key as stored: never the secret, only its hash (skipped when serialized).
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    /// Key id (for listing and revocation).
    pub id: KeyId,
    /// Owner.
    pub user_id: UserId,
    /// Owner's team.
    pub team_id: TeamId,
    /// Permissions.
    pub scope: KeyScope,
    /// Free-form label.
    pub label: Option<String>,
    /// The last 4 characters of the secret, to tell keys apart in listings.
    pub hint: String,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
    /// Revocation time; a revoked key authenticates nothing.
    pub revoked_at: Option<i64>,
    /// SHA-256 of the secret part.
    #[serde(skip)]
    pub secret_hash: Vec<u8>,
    /// Dashboard sessions of this key signed in before this time (ms) are over: set by
    /// sign-out, so a copied session cookie stops working too.
    #[serde(skip)]
    pub sessions_after: Option<i64>,
}

/// A freshly created team with its first admin user and key record.
#[derive(Debug, Clone)]
pub struct NewTeam {
    /// The team.
    pub team: Team,
    /// Its first user.
    pub user: User,
    /// The record of that user's admin key.
    pub key: ApiKeyRecord,
}

/// The operator team (created at first start).
pub(crate) fn operator_team(conn: &Connection) -> Result<Team, StoreError> {
    conn.query_row("SELECT id, name, operator, created_at FROM teams WHERE operator = 1 LIMIT 1", [], |row| {
        Ok(Team { id: uuid_at(row, 0)?, name: row.get(1)?, operator: row.get(2)?, created_at: row.get(3)? })
    })
    .optional()?
    .ok_or(StoreError::NotFound("operator team (start the server once first)"))
}

/// How many teams exist (0 before the first start's bootstrap).
pub(crate) fn count_teams(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM teams", [], |row| row.get(0))?)
}

/// Creates a team.
pub(crate) fn insert_team(conn: &Connection, name: &str, operator: bool) -> Result<Team, StoreError> {
    let team = Team { id: TeamId::new_v4(), name: name.to_owned(), operator, created_at: now_ms() };
    conn.execute(
        "INSERT INTO teams (id, name, operator, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![team.id.to_string(), team.name, team.operator, team.created_at],
    )?;
    Ok(team)
}

/// A team by id.
pub(crate) fn team(conn: &Connection, id: TeamId) -> Result<Team, StoreError> {
    conn.query_row("SELECT id, name, operator, created_at FROM teams WHERE id = ?1", [id.to_string()], |row| {
        Ok(Team { id: uuid_at(row, 0)?, name: row.get(1)?, operator: row.get(2)?, created_at: row.get(3)? })
    })
    .optional()?
    .ok_or(StoreError::NotFound("team"))
}

/// Creates a user of a team with the id its key was minted for.
pub(crate) fn insert_user(conn: &Connection, id: UserId, team_id: TeamId, name: &str) -> Result<User, StoreError> {
    let user = User { id, team_id, name: name.to_owned(), created_at: now_ms() };
    conn.execute(
        "INSERT INTO users (id, team_id, name, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![user.id.to_string(), team_id.to_string(), user.name, user.created_at],
    )?;
    Ok(user)
}

/// Stores a key's hash for `user`.
pub(crate) fn insert_key(
    conn: &Connection,
    user: &User,
    secret_hash: &[u8],
    scope: KeyScope,
    label: Option<&str>,
    hint: &str,
) -> Result<ApiKeyRecord, StoreError> {
    let key = ApiKeyRecord {
        id: KeyId::new_v4(),
        user_id: user.id,
        team_id: user.team_id,
        scope,
        label: label.map(str::to_owned),
        hint: hint.to_owned(),
        created_at: now_ms(),
        revoked_at: None,
        secret_hash: secret_hash.to_vec(),
        sessions_after: None,
    };
    conn.execute(
        "INSERT INTO api_keys (id, user_id, secret_hash, scope, label, hint, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![key.id.to_string(), user.id.to_string(), secret_hash, scope.as_str(), key.label, hint, key.created_at],
    )?;
    Ok(key)
}

const KEY_COLUMNS: &str =
    "k.id, k.user_id, u.team_id, k.scope, k.label, k.hint, k.created_at, k.revoked_at, k.secret_hash, k.sessions_after";

fn key_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(ApiKeyRecord, String)> {
    Ok((
        ApiKeyRecord {
            id: uuid_at(row, 0)?,
            user_id: uuid_at(row, 1)?,
            team_id: uuid_at(row, 2)?,
            scope: KeyScope::Admin,
            label: row.get(4)?,
            hint: row.get(5)?,
            created_at: row.get(6)?,
            revoked_at: row.get(7)?,
            secret_hash: row.get(8)?,
            sessions_after: row.get(9)?,
        },
        row.get(3)?,
    ))
}

fn collect_keys(
    rows: impl Iterator<Item = rusqlite::Result<(ApiKeyRecord, String)>>,
) -> Result<Vec<ApiKeyRecord>, StoreError> {
    rows.map(|row| {
        let (mut key, scope) = row?;
        key.scope = KeyScope::parse(&scope)?;
        Ok(key)
    })
    .collect()
}

/// The user's keys that are not revoked (candidates for authentication).
pub(crate) fn active_keys_of_user(conn: &Connection, user_id: UserId) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.user_id = ?1 AND k.revoked_at IS NULL"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([user_id.to_string()], key_from_row)?;
    collect_keys(rows)
}

/// Every key of a team, revoked ones included.
pub(crate) fn keys_of_team(conn: &Connection, team_id: TeamId) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.team_id = ?1 ORDER BY k.created_at, k.rowid"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([team_id.to_string()], key_from_row)?;
    collect_keys(rows)
}

/// Ends the dashboard sessions of a key signed in up to `at` (ms); never moves the time back.
pub(crate) fn end_sessions(conn: &Connection, key_id: KeyId, at: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE api_keys SET sessions_after = MAX(COALESCE(sessions_after, 0), ?2) WHERE id = ?1",
        params![key_id.to_string(), at],
    )?;
    Ok(())
}

/// Revokes a key of the team; revoking twice is harmless.
pub(crate) fn revoke_key(conn: &Connection, team_id: TeamId, key_id: KeyId) -> Result<(), StoreError> {
    let changed = conn.execute(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?3)
         WHERE id = ?1 AND user_id IN (SELECT id FROM users WHERE team_id = ?2)",
        params![key_id.to_string(), team_id.to_string(), now_ms()],
    )?;
    if changed == 0 { Err(StoreError::NotFound("api key")) } else { Ok(()) }
}
