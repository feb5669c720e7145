//! Minting API keys with the users and teams they belong to. One place, used by the first
//! start, the management API and the `wasmhook admin` CLI. Returns the key text: the only time
//! it exists outside the caller's hands.

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use super::keys;
use wasmhook_store::StoreError;
use wasmhook_store::tenancy::{self, ApiKeyRecord, KeyScope, Team, User};

/// A new key for a new user `user_name` of `team_id`.
pub fn key_for_new_user(
    conn: &Connection,
    team_id: Uuid,
    user_name: &str,
    scope: KeyScope,
    label: Option<&str>,
) -> Result<(User, ApiKeyRecord, String), StoreError> {
    let user = tenancy::insert_user(conn, team_id, user_name)?;
    let key = keys::generate(user.id);
    let record = tenancy::insert_key(conn, &user, &key.hash, scope, label, &key.hint)?;
    Ok((user, record, key.text))
}

/// A new team with an `admin` user holding an admin key.
pub fn team_with_admin(conn: &Connection, name: &str, operator: bool) -> Result<(Team, User, String), StoreError> {
    let team = tenancy::insert_team(conn, name, operator)?;
    let (user, _, text) = key_for_new_user(conn, team.id, "admin", KeyScope::Admin, Some("team admin"))?;
    Ok((team, user, text))
}

/// The operator team (created at first start).
pub fn operator_team(conn: &Connection) -> Result<Uuid, StoreError> {
    let id: Option<String> =
        conn.query_row("SELECT id FROM teams WHERE operator = 1 LIMIT 1", [], |row| row.get(0)).optional()?;
    let id = id.ok_or(StoreError::NotFound("operator team (start the server once first)"))?;
    Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(e.to_string()))
}
