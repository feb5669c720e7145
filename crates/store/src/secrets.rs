//! Team secrets as sealed text: this module never sees a plain value (sealing and opening are
//! the caller's, with [`crate::sealing::Sealer`]).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use wasmhook_domain::ids::TeamId;

use super::{StoreError, now_ms};

/// What the API shows of a secret: never its value.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    /// Its name.
    pub name: String,
    /// Creation time, ms.
    pub created_at: i64,
    /// Last change of its value, ms.
    pub updated_at: i64,
}

/// Creates or replaces a secret; `true` when it was created. Whether it existed is read in the
/// same write, not inferred from `created_at == now`, which called a replace made in the
/// creating millisecond a creation.
pub(crate) fn put(
    conn: &Connection,
    team_id: TeamId,
    name: &str,
    sealed: &str,
) -> Result<(SecretInfo, bool), StoreError> {
    let now = now_ms();
    let existed = conn
        .prepare_cached("SELECT 1 FROM secrets WHERE team_id = ?1 AND name = ?2")?
        .exists(params![team_id.to_string(), name])?;
    let created_at: i64 = conn.query_row(
        "INSERT INTO secrets (team_id, name, sealed, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (team_id, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at
         RETURNING created_at",
        params![team_id.to_string(), name, sealed, now],
        |row| row.get(0),
    )?;
    Ok((SecretInfo { name: name.to_owned(), created_at, updated_at: now }, !existed))
}

/// The team's secrets, by name.
pub(crate) fn list(conn: &Connection, team_id: TeamId) -> Result<Vec<SecretInfo>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT name, created_at, updated_at FROM secrets WHERE team_id = ?1 ORDER BY name")?;
    let rows = stmt.query_map([team_id.to_string()], |row| {
        Ok(SecretInfo { name: row.get(0)?, created_at: row.get(1)?, updated_at: row.get(2)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One secret's info.
pub(crate) fn info(conn: &Connection, team_id: TeamId, name: &str) -> Result<SecretInfo, StoreError> {
    conn.prepare_cached("SELECT name, created_at, updated_at FROM secrets WHERE team_id = ?1 AND name = ?2")?
        .query_row(params![team_id.to_string(), name], |row| {
            Ok(SecretInfo { name: row.get(0)?, created_at: row.get(1)?, updated_at: row.get(2)? })
        })
        .optional()?
        .ok_or(StoreError::NotFound("secret"))
}

/// Deletes a secret.
pub(crate) fn delete(conn: &Connection, team_id: TeamId, name: &str) -> Result<(), StoreError> {
    let deleted =
        conn.execute("DELETE FROM secrets WHERE team_id = ?1 AND name = ?2", params![team_id.to_string(), name])?;
    if deleted == 0 {
        return Err(StoreError::NotFound("secret"));
    }
    Ok(())
}

/// The sealed values of the named secrets of a team; absent names are left out.
pub(crate) fn sealed(
    conn: &Connection,
    team_id: TeamId,
    names: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT sealed FROM secrets WHERE team_id = ?1 AND name = ?2")?;
    let mut found = Vec::with_capacity(names.len());
    for name in names {
        if let Some(sealed) = stmt.query_row(params![team_id.to_string(), name], |row| row.get(0)).optional()? {
            found.push((name.clone(), sealed));
        }
    }
    Ok(found)
}

/// The first of `names` the team has no secret for.
pub(crate) fn first_missing<'a>(
    conn: &Connection,
    team_id: TeamId,
    names: impl IntoIterator<Item = &'a String>,
) -> Result<Option<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT 1 FROM secrets WHERE team_id = ?1 AND name = ?2")?;
    for name in names {
        if !stmt.exists(params![team_id.to_string(), name])? {
            return Ok(Some(name.clone()));
        }
    }
    Ok(None)
}

/// The secrets whose sealed text does not begin with `current` (the current key's prefix), for
/// a master-key rotation: (team, name, sealed). Empty on every boot but the first after one.
pub(crate) fn sealed_elsewhere(conn: &Connection, current: &str) -> Result<Vec<(TeamId, String, String)>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT team_id, name, sealed FROM secrets WHERE substr(sealed, 1, length(?1)) <> ?1")?;
    let rows = stmt.query_map([current], |row| Ok((super::uuid_at(row, 0)?, row.get(1)?, row.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Replaces a secret's sealed text without touching its times (a reseal, not a change).
pub(crate) fn reseal(conn: &Connection, team_id: TeamId, name: &str, sealed: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE secrets SET sealed = ?3 WHERE team_id = ?1 AND name = ?2",
        params![team_id.to_string(), name, sealed],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replace_in_the_creating_millisecond_is_a_replace() {
        let mut conn = Connection::open_in_memory().expect("open");
        crate::schema::migrate(&mut conn).expect("migrate");
        let team = TeamId::new_v4();
        conn.execute("INSERT INTO teams (id, name, operator, created_at) VALUES (?1, 't', 0, 0)", [team.to_string()])
            .expect("team");
        // Back to back: far inside one millisecond, where `created_at == now` said "created".
        let (_, created) = put(&conn, team, "stripe", "v1").expect("create");
        let (info, replaced_created) = put(&conn, team, "stripe", "v2").expect("replace");
        assert!(created);
        assert!(!replaced_created, "the second put replaced: {info:?}");
    }
}
