//! Completion callbacks (one per block, doc or trigger webhook) and their messages: each
//! message is one signed POST to make, kept until it is delivered or its retries run out.
//! Secrets are stored sealed (the caller seals and opens them with [`crate::sealing::Sealer`]).

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wasmhook_domain::ids::{ExecutionId, TeamId};

use super::{StoreError, now_ms, uuid_at};

/// What a callback is attached to.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackTarget {
    /// Every execution of the block.
    Block,
    /// Every execution of the doc's datasets.
    Doc,
    /// Every execution a trigger webhook accepted.
    Webhook,
}

impl CallbackTarget {
    /// Its stored name (`target_kind`), the same in every backend.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Doc => "doc",
            Self::Webhook => "webhook",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "block" => Ok(Self::Block),
            "doc" => Ok(Self::Doc),
            "webhook" => Ok(Self::Webhook),
            other => Err(StoreError::Corrupt(format!("callback target kind {other:?}"))),
        }
    }
}

/// A delivery outcome a callback can subscribe to.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackEvent {
    /// The delivery succeeded.
    Succeeded,
    /// The delivery failed (or timed out) and will not be retried.
    Failed,
    /// The delivery used up its retry attempts.
    Dead,
}

impl CallbackEvent {
    /// Its name in the payload's `type`: `execution.<event>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }
}

/// A callback as the API shows it (never its secret, only the secret's first characters).
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    /// Owning team.
    #[serde(skip)]
    pub team_id: TeamId,
    /// What it is attached to.
    pub target_kind: CallbackTarget,
    /// The block, doc or webhook id.
    pub target_id: Uuid,
    /// Where the POSTs go.
    pub url: String,
    /// The events sent.
    pub events: Vec<CallbackEvent>,
    /// The secret's first characters, to tell secrets apart.
    pub secret_hint: String,
    /// Creation time, ms.
    pub created_at: i64,
    /// Last change, ms.
    pub updated_at: i64,
}

const CALLBACK_COLUMNS: &str = "team_id, target_kind, target_id, url, events, secret_hint, created_at, updated_at";

fn callback_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Callback, String, String)> {
    Ok((
        Callback {
            team_id: uuid_at(row, 0)?,
            target_kind: CallbackTarget::Block,
            target_id: uuid_at(row, 2)?,
            url: row.get(3)?,
            events: Vec::new(),
            secret_hint: row.get(5)?,
            created_at: row.get(6)?,
            updated_at: row.get(7)?,
        },
        row.get(1)?,
        row.get(4)?,
    ))
}

/// Completes a callback read from a row: its stored `target_kind` and `events` JSON, decoded
/// the same way by every backend.
pub fn decode((mut callback, kind, events): (Callback, String, String)) -> Result<Callback, StoreError> {
    callback.target_kind = CallbackTarget::parse(&kind)?;
    callback.events =
        serde_json::from_str(&events).map_err(|e| StoreError::Corrupt(format!("callback events: {e}")))?;
    Ok(callback)
}

/// Creates or replaces the callback of a target. `sealed_secret` (with its hint) replaces the
/// stored one when given; a new callback must have one.
pub(crate) fn put(
    conn: &Connection,
    callback: &Callback,
    sealed_secret: Option<(&str, &str)>,
) -> Result<Callback, StoreError> {
    let events = serde_json::to_string(&callback.events).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let now = now_ms();
    let (team, target) = (callback.team_id.to_string(), callback.target_id.to_string());
    let changed = match sealed_secret {
        Some((sealed, hint)) => conn.execute(
            "INSERT INTO callbacks (team_id, target_kind, target_id, url, events, sealed_secret, secret_hint,
                created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
             ON CONFLICT (target_id) DO UPDATE SET url = excluded.url, events = excluded.events,
                sealed_secret = excluded.sealed_secret, secret_hint = excluded.secret_hint,
                updated_at = excluded.updated_at WHERE callbacks.team_id = excluded.team_id",
            params![team, callback.target_kind.as_str(), target, callback.url, events, sealed, hint, now],
        )?,
        None => conn.execute(
            "UPDATE callbacks SET url = ?3, events = ?4, updated_at = ?5 WHERE target_id = ?2 AND team_id = ?1",
            params![team, target, callback.url, events, now],
        )?,
    };
    if changed == 0 {
        return Err(StoreError::NotFound("callback"));
    }
    get(conn, callback.team_id, callback.target_id)
}

/// The callback of a target of the team.
pub(crate) fn get(conn: &Connection, team_id: TeamId, target_id: Uuid) -> Result<Callback, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE target_id = ?1 AND team_id = ?2"))?;
    let row = stmt.query_row(params![target_id.to_string(), team_id.to_string()], callback_from_row).optional()?;
    decode(row.ok_or(StoreError::NotFound("callback"))?)
}

/// The team's callbacks, oldest first.
pub(crate) fn list(conn: &Connection, team_id: TeamId) -> Result<Vec<Callback>, StoreError> {
    let mut stmt = conn
        .prepare(&format!("SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE team_id = ?1 ORDER BY created_at, rowid"))?;
    let rows = stmt.query_map([team_id.to_string()], callback_from_row)?;
    rows.map(|row| decode(row?)).collect()
}

/// Removes a target's callback (its pending messages fail when their turn comes).
pub(crate) fn delete(conn: &Connection, team_id: TeamId, target_id: Uuid) -> Result<(), StoreError> {
    let n = conn.execute(
        "DELETE FROM callbacks WHERE target_id = ?1 AND team_id = ?2",
        params![target_id.to_string(), team_id.to_string()],
    )?;
    if n == 0 { Err(StoreError::NotFound("callback")) } else { Ok(()) }
}

/// Every target with a callback (loaded at boot, so runs whose targets have none skip the
/// lookup).
pub(crate) fn targets(conn: &Connection) -> Result<Vec<Uuid>, StoreError> {
    let mut stmt = conn.prepare("SELECT target_id FROM callbacks")?;
    let rows = stmt.query_map([], |row| uuid_at(row, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The callbacks of the team among `targets` that subscribe to `event`.
pub(crate) fn subscribed(
    conn: &Connection,
    team_id: TeamId,
    targets: &[Uuid],
    event: CallbackEvent,
) -> Result<Vec<Callback>, StoreError> {
    let mut found = Vec::new();
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {CALLBACK_COLUMNS} FROM callbacks WHERE target_id = ?1 AND team_id = ?2"))?;
    for target in targets {
        if let Some(row) =
            stmt.query_row(params![target.to_string(), team_id.to_string()], callback_from_row).optional()?
        {
            let callback = decode(row)?;
            if callback.events.contains(&event) {
                found.push(callback);
            }
        }
    }
    Ok(found)
}

/// Where a message goes and how it is signed: the callback's URL and sealed secret.
pub(crate) fn endpoint(conn: &Connection, target_id: Uuid) -> Result<Option<(String, String)>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT url, sealed_secret FROM callbacks WHERE target_id = ?1")?
        .query_row([target_id.to_string()], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

/// The (team, target, sealed secret) of every callback secret not sealed under the key whose
/// prefix is `current`, for resealing at boot.
pub(crate) fn sealed_elsewhere(conn: &Connection, current: &str) -> Result<Vec<(TeamId, Uuid, String)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT team_id, target_id, sealed_secret FROM callbacks WHERE substr(sealed_secret, 1, length(?1)) != ?1",
    )?;
    let rows = stmt.query_map([current], |row| Ok((uuid_at(row, 0)?, uuid_at(row, 1)?, row.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stores a resealed secret.
pub(crate) fn reseal(conn: &Connection, target_id: Uuid, sealed: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE callbacks SET sealed_secret = ?2 WHERE target_id = ?1",
        params![target_id.to_string(), sealed],
    )?;
    Ok(())
}

/// One message: a signed POST to make for one execution's event.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// `msg_…`: the `webhook-id` header, the same on every try (receivers dedupe on it).
    pub id: String,
    /// Owning team.
    #[serde(skip)]
    pub team_id: TeamId,
    /// The callback's target.
    pub target_id: Uuid,
    /// The execution it reports.
    pub execution_id: ExecutionId,
    /// The event.
    pub event: CallbackEvent,
    /// The JSON body.
    #[serde(skip)]
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Tries so far.
    pub attempts: u32,
    /// When the next try is due, ms (pending only).
    pub next_attempt_at: Option<i64>,
    /// The last try's response status.
    pub last_status: Option<u16>,
    /// The last try's error (no answer, or a status that is not 2xx).
    pub last_error: Option<String>,
    /// When it was made, ms.
    pub created_at: i64,
    /// When a 2xx answered it, ms.
    pub delivered_at: Option<i64>,
}

const MESSAGE_COLUMNS: &str = "id, team_id, target_id, execution_id, event, payload, status, attempts, \
    next_attempt_at, last_status, last_error, created_at, delivered_at";

fn message_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Message, String)> {
    Ok((
        Message {
            id: row.get(0)?,
            team_id: uuid_at(row, 1)?,
            target_id: uuid_at(row, 2)?,
            execution_id: uuid_at(row, 3)?,
            event: CallbackEvent::Succeeded,
            payload: row.get(5)?,
            status: row.get(6)?,
            attempts: row.get(7)?,
            next_attempt_at: row.get(8)?,
            last_status: row.get(9)?,
            last_error: row.get(10)?,
            created_at: row.get(11)?,
            delivered_at: row.get(12)?,
        },
        row.get(4)?,
    ))
}

/// Completes a message read from a row with its stored `event`, decoded the same way by every
/// backend.
pub fn decode_message((mut message, event): (Message, String)) -> Result<Message, StoreError> {
    message.event = serde_json::from_value(serde_json::Value::String(event))
        .map_err(|e| StoreError::Corrupt(format!("callback event: {e}")))?;
    Ok(message)
}

/// Adds a message, due at once.
pub(crate) fn insert_message(conn: &Connection, message: &Message) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO callback_messages (id, team_id, target_id, execution_id, event, payload, status, attempts,
            next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7)",
    )?
    .execute(params![
        message.id,
        message.team_id.to_string(),
        message.target_id.to_string(),
        message.execution_id.to_string(),
        message.event.as_str(),
        message.payload,
        message.created_at,
    ])?;
    Ok(())
}

/// Pending messages due by `now`, oldest first, at most `limit`; and when the next one
/// not yet due is.
pub(crate) fn due(conn: &Connection, now: i64, limit: usize) -> Result<(Vec<Message>, Option<i64>), StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM callback_messages WHERE status = 'pending' AND next_attempt_at <= ?1
         ORDER BY next_attempt_at LIMIT ?2"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![now, limit], message_from_row)?;
    let messages = rows.map(|row| decode_message(row?)).collect::<Result<Vec<_>, _>>()?;
    let next = conn
        .prepare_cached(
            "SELECT MIN(next_attempt_at) FROM callback_messages WHERE status = 'pending' AND next_attempt_at > ?1",
        )?
        .query_row([now], |row| row.get(0))?;
    Ok((messages, next))
}

/// How one try went.
#[derive(Debug, Clone)]
pub struct TryResult {
    /// The response status, if one came.
    pub status: Option<u16>,
    /// Why it did not count as delivered.
    pub error: Option<String>,
    /// When to try again; `None` with an error: give up (`failed`).
    pub retry_at: Option<i64>,
}

impl TryResult {
    /// The message's status after this try: delivered, pending (another try is due) or
    /// failed (given up).
    pub fn message_status(&self) -> &'static str {
        match (&self.error, self.retry_at) {
            (None, _) => "delivered",
            (Some(_), Some(_)) => "pending",
            (Some(_), None) => "failed",
        }
    }
}

/// Records a try of a pending message.
pub(crate) fn record_try(conn: &Connection, id: &str, result: &TryResult, now: i64) -> Result<(), StoreError> {
    let status = result.message_status();
    conn.prepare_cached(
        "UPDATE callback_messages SET status = ?2, attempts = attempts + 1, next_attempt_at = ?3, last_status = ?4,
            last_error = ?5, delivered_at = CASE WHEN ?2 = 'delivered' THEN ?6 END
         WHERE id = ?1 AND status = 'pending'",
    )?
    .execute(params![id, status, result.retry_at, result.status, result.error, now])?;
    Ok(())
}

/// The messages of an execution, oldest first.
pub(crate) fn messages_of(
    conn: &Connection,
    team_id: TeamId,
    execution_id: ExecutionId,
) -> Result<Vec<Message>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM callback_messages WHERE execution_id = ?1 AND team_id = ?2 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map(params![execution_id.to_string(), team_id.to_string()], message_from_row)?;
    rows.map(|row| decode_message(row?)).collect()
}

/// Deletes finished messages made before `cutoff` (with the executions they report).
pub(crate) fn purge(conn: &Connection, cutoff: i64) -> Result<usize, StoreError> {
    Ok(conn.execute("DELETE FROM callback_messages WHERE created_at < ?1 AND status != 'pending'", [cutoff])?)
}
