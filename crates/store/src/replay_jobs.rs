//! Bulk replays: the executions a filter matched when the replay was asked for, and how far
//! the replay got. The list is fixed at creation, so a replay's own new executions (which may
//! match the same filter) are never replayed again, and a restart resumes where it stopped.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde::{Deserialize, Serialize};
use wasmhook_domain::ids::{BlockId, DocId, ExecutionId, ReplayJobId, TeamId, WebhookId};

use super::executions::ExecutionFilter;
use super::{StoreError, now_ms, uuid_at};

/// What a bulk replay was asked to match (kept as given, for the record).
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayFilter {
    /// Only this block's executions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<BlockId>,
    /// Only this doc's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<DocId>,
    /// Only those a trigger webhook accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookId>,
    /// Only deliveries that ended in this status (`failed`, `timed_out`, `dead`, `succeeded`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Created at or after, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// Created before, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
}

/// A bulk replay as `GET /v1/executions/replay/{id}` shows it.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayJob {
    /// Its id.
    pub id: ReplayJobId,
    /// Owning team.
    #[serde(skip)]
    pub team_id: TeamId,
    /// What it matched.
    pub filter: ReplayFilter,
    /// The version every replay runs; `None`: each block's active version.
    pub version: Option<i64>,
    /// `running` (submitting), `submitted` (all submitted), `cancelled`.
    pub state: String,
    /// Executions matched (with a stored input).
    pub matched: usize,
    /// Of those, submitted so far.
    pub submitted: usize,
    /// Of those, not replayable when their turn came (purged, block gone, no version).
    pub skipped: usize,
    /// Creation time, ms.
    pub created_at: i64,
    /// Last progress, ms.
    pub updated_at: i64,
    /// The replays' executions by status (each attempt of a retried replay counts).
    pub executions: std::collections::BTreeMap<String, u64>,
    /// Every replay submitted and none still queued, running or scheduled.
    pub finished: bool,
}

/// The most recent execution of each matching delivery whose input was kept: an attempt
/// that was retried is not a delivery's outcome, and is never picked. Oldest first, at most
/// `limit`. Also returns how many matched but had no input to replay.
pub(crate) fn matching(
    conn: &Connection,
    team_id: TeamId,
    filter: &ExecutionFilter,
    limit: usize,
) -> Result<(Vec<ExecutionId>, usize), StoreError> {
    let mut sql = String::from(
        "FROM executions e WHERE e.team_id = ? AND e.status NOT IN ('queued', 'running', 'scheduled')
         AND NOT EXISTS (SELECT 1 FROM executions later WHERE later.retry_of = COALESCE(e.retry_of, e.id)
            AND later.attempt > e.attempt)",
    );
    let mut args: Vec<SqlValue> = vec![SqlValue::Text(team_id.to_string())];
    let mut text = |sql: &mut String, clause: &str, value: Option<String>| {
        if let Some(value) = value {
            sql.push_str(clause);
            args.push(SqlValue::Text(value));
        }
    };
    text(&mut sql, " AND e.block_id = ?", filter.block_id.map(|b| b.to_string()));
    text(&mut sql, " AND e.doc_id = ?", filter.doc_id.map(|d| d.to_string()));
    text(&mut sql, " AND e.webhook_id = ?", filter.webhook_id.map(|w| w.to_string()));
    text(&mut sql, " AND e.status = ?", filter.status.map(|s| s.as_str().to_owned()));
    if let Some(since) = filter.since {
        sql.push_str(" AND e.created_at >= ?");
        args.push(SqlValue::Integer(since));
    }
    if let Some(until) = filter.until {
        sql.push_str(" AND e.created_at < ?");
        args.push(SqlValue::Integer(until));
    }
    let without_input: i64 =
        conn.query_row(&format!("SELECT COUNT(*) {sql} AND e.input IS NULL"), params_from_iter(args.iter()), |row| {
            row.get(0)
        })?;
    args.push(SqlValue::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    let mut stmt =
        conn.prepare(&format!("SELECT e.id {sql} AND e.input IS NOT NULL ORDER BY e.created_at, e.id LIMIT ?"))?;
    let ids = stmt.query_map(params_from_iter(args.iter()), |row| uuid_at(row, 0))?.collect::<Result<_, _>>()?;
    Ok((ids, usize::try_from(without_input).unwrap_or(0)))
}

/// Stores a new bulk replay of `ids`.
pub(crate) fn insert(
    conn: &Connection,
    id: ReplayJobId,
    team_id: TeamId,
    filter: &ReplayFilter,
    version: Option<i64>,
    ids: &[ExecutionId],
) -> Result<(), StoreError> {
    let now = now_ms();
    let encode = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
    conn.execute(
        "INSERT INTO replay_jobs (id, team_id, filter, version, execution_ids, matched, state, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7, ?7)",
        params![
            id.to_string(),
            team_id.to_string(),
            serde_json::to_string(filter).map_err(encode)?,
            version,
            serde_json::to_string(ids).map_err(encode)?,
            ids.len(),
            now
        ],
    )?;
    Ok(())
}

/// What the runner needs to go on: the team, the version, the ids and how many were done.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The job.
    pub id: ReplayJobId,
    /// Owning team.
    pub team_id: TeamId,
    /// The version to run.
    pub version: Option<i64>,
    /// Every execution to replay.
    pub ids: Vec<ExecutionId>,
    /// Submitted so far.
    pub submitted: usize,
    /// Skipped so far.
    pub skipped: usize,
    /// `running`, `submitted` or `cancelled`.
    pub state: String,
}

/// One job's progress record.
pub(crate) fn progress(conn: &Connection, id: ReplayJobId) -> Result<Progress, StoreError> {
    let row = conn
        .query_row(
            "SELECT team_id, version, execution_ids, submitted, skipped, state FROM replay_jobs WHERE id = ?1",
            [id.to_string()],
            |row| {
                Ok((
                    uuid_at(row, 0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, usize>(3)?,
                    row.get::<_, usize>(4)?,
                    row.get::<_, String>(5)?,
                ))
            },
        )
        .optional()?
        .ok_or(StoreError::NotFound("replay job"))?;
    let (team_id, version, ids, submitted, skipped, state) = row;
    let ids = serde_json::from_str(&ids).map_err(|e| StoreError::Corrupt(format!("replay job ids: {e}")))?;
    Ok(Progress { id, team_id, version, ids, submitted, skipped, state })
}

/// The jobs a restart must resume.
pub(crate) fn unfinished(conn: &Connection) -> Result<Vec<ReplayJobId>, StoreError> {
    let mut stmt = conn.prepare("SELECT id FROM replay_jobs WHERE state = 'running' ORDER BY created_at")?;
    let rows = stmt.query_map([], |row| uuid_at(row, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records progress; `done` marks the job `submitted`. Returns the state after the write
/// (`cancelled` tells the runner to stop).
pub(crate) fn advance(
    conn: &Connection,
    id: ReplayJobId,
    submitted: usize,
    skipped: usize,
    done: bool,
) -> Result<String, StoreError> {
    conn.prepare_cached(
        "UPDATE replay_jobs SET submitted = ?2, skipped = ?3, updated_at = ?4,
            state = CASE WHEN ?5 AND state = 'running' THEN 'submitted' ELSE state END
         WHERE id = ?1",
    )?
    .execute(params![id.to_string(), submitted, skipped, now_ms(), done])?;
    Ok(conn.query_row("SELECT state FROM replay_jobs WHERE id = ?1", [id.to_string()], |row| row.get(0))?)
}

/// Stops a running job of the team (what it submitted stays submitted).
pub(crate) fn cancel(conn: &Connection, team_id: TeamId, id: ReplayJobId) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE replay_jobs SET state = 'cancelled', updated_at = ?3 WHERE id = ?1 AND team_id = ?2 AND state = 'running'",
        params![id.to_string(), team_id.to_string(), now_ms()],
    )?;
    Ok(())
}

/// A job of the team, with its replays' statuses.
pub(crate) fn job(conn: &Connection, team_id: TeamId, id: ReplayJobId) -> Result<ReplayJob, StoreError> {
    let row = conn
        .query_row(
            "SELECT filter, version, state, matched, submitted, skipped, created_at, updated_at FROM replay_jobs
             WHERE id = ?1 AND team_id = ?2",
            [id.to_string(), team_id.to_string()],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                    row.get(7)?,
                ))
            },
        )
        .optional()?
        .ok_or(StoreError::NotFound("replay job"))?;
    let (filter, version, state, matched, submitted, skipped, created_at, updated_at) = row;
    let filter = serde_json::from_str(&filter).map_err(|e| StoreError::Corrupt(format!("replay filter: {e}")))?;
    let mut stmt =
        conn.prepare_cached("SELECT status, COUNT(*) FROM executions WHERE replay_job = ?1 GROUP BY status")?;
    let executions: std::collections::BTreeMap<String, u64> =
        stmt.query_map([id.to_string()], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<_, _>>()?;
    let pending = ["queued", "running", "scheduled"].iter().any(|s| executions.contains_key(*s));
    let finished = state != "running" && !pending;
    Ok(ReplayJob {
        id,
        team_id,
        filter,
        version,
        state,
        matched,
        submitted,
        skipped,
        created_at,
        updated_at,
        executions,
        finished,
    })
}
