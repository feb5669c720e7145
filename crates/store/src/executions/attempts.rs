//! A delivery's attempts: with a retry policy, each attempt of a delivery is its own
//! execution (`attempt`, `retry_of` = the first attempt). The first attempt's id is the one its
//! sender holds; the delivery's status is the latest attempt's.

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use wasmhook_domain::ids::{ExecutionId, TeamId};

use super::{COLUMNS, Execution, ExecutionStatus, execution, raw_row};
use crate::StoreError;
use wasmhook_domain::Failure;

/// A delivery seen from any of its attempts.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverySummary {
    /// The first attempt's id: the one its sender was given.
    pub id: ExecutionId,
    /// The latest attempt's status.
    pub status: ExecutionStatus,
    /// Every attempt so far.
    pub attempts: Vec<AttemptSummary>,
}

/// One attempt of a delivery.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptSummary {
    /// Execution id.
    pub id: ExecutionId,
    /// From 1.
    pub attempt: u32,
    /// Status.
    pub status: ExecutionStatus,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    /// When it was made, ms.
    pub created_at: i64,
    /// When it is due, for a scheduled one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
}

impl DeliverySummary {
    /// The summary of a delivery's attempts (as [`attempts_of`] returns them); `None` when
    /// there is only one (no retries: nothing to add).
    pub fn of(attempts: Vec<Execution>) -> Option<Self> {
        if attempts.len() < 2 {
            return None;
        }
        let first = attempts.first()?;
        let latest = attempts.last()?;
        Some(Self {
            id: first.id,
            status: latest.status,
            attempts: attempts
                .into_iter()
                .map(|e| AttemptSummary {
                    id: e.id,
                    attempt: e.attempt,
                    status: e.status,
                    error: e.error,
                    created_at: e.created_at,
                    not_before: e.not_before,
                    finished_at: e.finished_at,
                })
                .collect(),
        })
    }
}

/// Every attempt of the delivery `id` belongs to (its first attempt and the retries), in
/// order, without logs and input.
pub(crate) fn attempts_of(conn: &Connection, team_id: TeamId, id: ExecutionId) -> Result<Vec<Execution>, StoreError> {
    let first: Option<String> = conn
        .prepare_cached("SELECT COALESCE(retry_of, id) FROM executions WHERE id = ?1 AND team_id = ?2")?
        .query_row([id.to_string(), team_id.to_string()], |row| row.get(0))
        .optional()?;
    let first = first.ok_or(StoreError::NotFound("execution"))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM executions WHERE team_id = ?2 AND (id = ?1 OR retry_of = ?1) ORDER BY attempt"
    ))?;
    let rows = stmt.query_map([first, team_id.to_string()], |row| raw_row(row, false))?;
    rows.map(|row| row?.decode(false)).collect()
}

/// The latest attempt of the delivery whose first attempt is `id` (itself when it has no
/// retries): what its sender polls, since the delivery's status is its last attempt's.
pub(crate) fn latest_attempt(conn: &Connection, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError> {
    let latest: Option<String> = conn
        .prepare_cached("SELECT id FROM executions WHERE team_id = ?2 AND retry_of = ?1 ORDER BY attempt DESC LIMIT 1")?
        .query_row([id.to_string(), team_id.to_string()], |row| row.get(0))
        .optional()?;
    match latest.map(|text| text.parse::<ExecutionId>()) {
        Some(Ok(latest)) => execution(conn, team_id, latest),
        Some(Err(e)) => Err(StoreError::Corrupt(format!("execution id: {e}"))),
        None => execution(conn, team_id, id),
    }
}
