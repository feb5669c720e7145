//! Writing execution rows: pending rows of the durable queue, claims by workers, finished
//! runs (inserted or completing a pending row), crash recovery and the retention purge.

use rusqlite::{Connection, OptionalExtension, params};
use wasmhook_domain::ids::{ExecutionId, TeamId};

use super::packed::{Packed, Unpacked};
use super::{ExecutionSpec, ExecutionStatus, Trigger};
use crate::{StoreError, opt_uuid_at, uuid_at};
use wasmhook_domain::{FailureKind, Outcome};

/// An execution as written at acceptance (pending) or when its run finishes.
#[derive(Debug)]
pub struct NewExecution {
    /// What it is.
    pub spec: ExecutionSpec,
    /// The replay input as JSON text.
    pub input: String,
    /// The delivery's retry policy (JSON), kept so that a queued attempt knows it.
    pub retry: Option<String>,
}

/// A queued execution claimed by a worker: everything needed to run it.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// What it is.
    pub spec: ExecutionSpec,
    /// The stored `{data, env}` input.
    pub input: Option<String>,
    /// The retry policy (JSON).
    pub retry: Option<String>,
}

/// A finished run's large columns, serialized and packed before its write is queued (on the
/// caller's thread, not the writer's): input (`None` unless kept), output, logs and outbound
/// calls. Both stores write these.
#[derive(Debug)]
pub struct FinishedColumns {
    input: Option<Packed>,
    output: Option<Packed>,
    logs: Packed,
    outbound: Option<Packed>,
}

impl FinishedColumns {
    /// Encodes what `outcome` produced for `new`.
    pub fn of(new: &NewExecution, outcome: &Outcome) -> Result<Self, StoreError> {
        let logs = serde_json::to_string(&outcome.logs.lines).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // NULL for the common run that sent nothing: no text to store or parse.
        let outbound = if outcome.outbound.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&outcome.outbound).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        };
        Ok(Self {
            input: new.spec.keep_input.then(|| Packed::new(&new.input)),
            output: outcome.output().map(Packed::new),
            logs: Packed::new(&logs),
            outbound: outbound.as_deref().map(Packed::new),
        })
    }

    /// The packed input, when kept (a retry of the same input reuses it).
    pub fn input(&self) -> Option<&Packed> {
        self.input.as_ref()
    }

    /// The packed input of `next`, a retry of `record` (whose columns these are): this run's
    /// when it is the same and was kept, else packed anew.
    pub fn retry_input(&self, record: &NewExecution, next: &NewExecution) -> Packed {
        match &self.input {
            Some(input) if next.input == record.input => input.clone(),
            _ => Packed::new(&next.input),
        }
    }

    /// The packed output of a successful run.
    pub fn output(&self) -> Option<&Packed> {
        self.output.as_ref()
    }

    /// The packed log lines (JSON).
    pub fn logs(&self) -> &Packed {
        &self.logs
    }

    /// The packed outbound calls (JSON); `None` when the run sent none.
    pub fn outbound(&self) -> Option<&Packed> {
        self.outbound.as_ref()
    }
}

/// Inserts an unfinished execution (`queued` for workers, `running` for the sync path) with
/// its `input` (packed `new.input`), so that it survives a crash. Ignored when the id exists
/// (the run finished first).
pub(crate) fn insert_pending(
    conn: &Connection,
    new: &NewExecution,
    input: &Packed,
    status: ExecutionStatus,
) -> Result<(), StoreError> {
    insert_unfinished(conn, new, input, status, None)
}

/// Inserts the next attempt of a delivery, to be queued at `not_before` (ms) by the retry
/// scheduler.
pub(crate) fn insert_scheduled(
    conn: &Connection,
    new: &NewExecution,
    input: &Packed,
    not_before: i64,
) -> Result<(), StoreError> {
    insert_unfinished(conn, new, input, ExecutionStatus::Scheduled, Some(not_before))
}

fn insert_unfinished(
    conn: &Connection,
    new: &NewExecution,
    input: &Packed,
    status: ExecutionStatus,
    not_before: Option<i64>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO executions (id, team_id, block_id, block_version, doc_id, dataset_key, trigger, status,
            input, keep_input, timeout_ms, replay_of, created_at, started_at, webhook_id, attempt, retry_of, retry,
            not_before, replay_job, idempotency_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
    )?;
    let spec = &new.spec;
    let started_at = (status == ExecutionStatus::Running).then_some(spec.created_at);
    stmt.execute(params![
        spec.id.to_string(),
        spec.team_id.to_string(),
        spec.block_id.to_string(),
        spec.block_version,
        spec.doc_id.map(|d| d.to_string()),
        spec.dataset_key,
        spec.trigger.as_str(),
        status.as_str(),
        input,
        spec.keep_input,
        spec.timeout_ms,
        spec.replay_of.map(|r| r.to_string()),
        spec.created_at,
        started_at,
        spec.webhook_id.map(|w| w.to_string()),
        spec.attempt,
        spec.retry_of.map(|r| r.to_string()),
        new.retry,
        not_before,
        spec.replay_job.map(|r| r.to_string()),
        spec.idempotency_key,
    ])?;
    Ok(())
}

/// Records a finished run (its large `columns` already packed): inserts it, or completes the
/// pending row of the same id. The input is dropped here when the block or doc says
/// `storePayload: false`.
pub(crate) fn finish(
    conn: &Connection,
    new: &NewExecution,
    outcome: &Outcome,
    columns: &FinishedColumns,
    status: ExecutionStatus,
    finished_at: i64,
) -> Result<(), StoreError> {
    let failure = outcome.failure();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO executions (id, team_id, block_id, block_version, doc_id, dataset_key, trigger, status,
            error_kind, error_message, error_code, output, logs, logs_dropped_bytes, fuel_consumed, duration_us,
            peak_memory_bytes, input, created_at, finished_at, keep_input, timeout_ms, replay_of, started_at, attempts,
            webhook_id, outbound, attempt, retry_of, retry, replay_job)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
            CASE WHEN ?21 THEN ?18 END, ?19, ?20, ?21, ?22, ?23, ?19, 1, ?24, ?25, ?26, ?27, ?28, ?29)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, error_kind = excluded.error_kind,
            error_message = excluded.error_message, error_code = excluded.error_code, output = excluded.output,
            logs = excluded.logs, logs_dropped_bytes = excluded.logs_dropped_bytes,
            fuel_consumed = excluded.fuel_consumed, duration_us = excluded.duration_us,
            peak_memory_bytes = excluded.peak_memory_bytes, finished_at = excluded.finished_at,
            outbound = excluded.outbound,
            input = CASE WHEN executions.keep_input THEN executions.input END,
            attempts = MAX(executions.attempts, 1)",
    )?;
    let spec = &new.spec;
    stmt.execute(params![
        spec.id.to_string(),
        spec.team_id.to_string(),
        spec.block_id.to_string(),
        spec.block_version,
        spec.doc_id.map(|d| d.to_string()),
        spec.dataset_key,
        spec.trigger.as_str(),
        status.as_str(),
        failure.map(|f| kind_str(f.kind)),
        failure.map(|f| f.message.as_str()),
        failure.and_then(|f| f.code.as_deref()),
        columns.output,
        columns.logs,
        outcome.logs.dropped_bytes,
        outcome.fuel_consumed,
        u64::try_from(outcome.duration.as_micros()).unwrap_or(u64::MAX),
        outcome.peak_memory_bytes,
        columns.input,
        spec.created_at,
        finished_at,
        spec.keep_input,
        spec.timeout_ms,
        spec.replay_of.map(|r| r.to_string()),
        spec.webhook_id.map(|w| w.to_string()),
        columns.outbound,
        spec.attempt,
        spec.retry_of.map(|r| r.to_string()),
        new.retry,
        spec.replay_job.map(|r| r.to_string()),
    ])?;
    Ok(())
}

/// Marks a queued execution running and returns what is needed to run it; `None` when it is
/// not queued any more (finished, purged, or claimed by someone else).
pub(crate) fn claim(conn: &Connection, id: ExecutionId, now: i64) -> Result<Option<Claimed>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE executions SET status = 'running', started_at = ?2, attempts = attempts + 1
         WHERE id = ?1 AND status = 'queued'
         RETURNING team_id, block_id, block_version, doc_id, dataset_key, trigger, input, keep_input, timeout_ms,
            replay_of, created_at, webhook_id, attempt, retry_of, retry, replay_job, idempotency_key",
    )?;
    let claimed = stmt
        .query_row(params![id.to_string(), now], |row| {
            Ok((
                Claimed {
                    spec: ExecutionSpec {
                        id,
                        team_id: uuid_at(row, 0)?,
                        block_id: uuid_at(row, 1)?,
                        block_version: row.get(2)?,
                        doc_id: opt_uuid_at(row, 3)?,
                        dataset_key: row.get(4)?,
                        trigger: Trigger::V2,
                        keep_input: row.get(7)?,
                        timeout_ms: row.get(8)?,
                        replay_of: opt_uuid_at(row, 9)?,
                        webhook_id: opt_uuid_at(row, 11)?,
                        created_at: row.get(10)?,
                        attempt: row.get(12)?,
                        retry_of: opt_uuid_at(row, 13)?,
                        replay_job: opt_uuid_at(row, 15)?,
                        idempotency_key: row.get(16)?,
                    },
                    input: row.get::<_, Unpacked>(6)?.0,
                    retry: row.get(14)?,
                },
                row.get::<_, String>(5)?,
            ))
        })
        .optional()?;
    claimed
        .map(|(mut claimed, trigger)| {
            claimed.spec.trigger = trigger.parse()?;
            Ok(claimed)
        })
        .transpose()
}

/// Fails a claimed execution the host could not even start (its block unreadable): without
/// this it stayed `running` forever. Only a `running` row changes; its input is dropped unless
/// kept, as for any finished run.
pub(crate) fn fail_unstarted(conn: &Connection, id: ExecutionId, message: &str, now: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE executions SET status = 'failed', error_kind = ?2, error_message = ?3, finished_at = ?4,
            input = CASE WHEN keep_input THEN input END
         WHERE id = ?1 AND status = 'running'",
    )?
    .execute(params![id.to_string(), kind_str(FailureKind::Internal), message, now])?;
    Ok(())
}

/// After a crash: everything left `running` goes back to `queued`; returns every queued
/// (team, id), oldest first, for the workers.
pub(crate) fn recover(conn: &Connection) -> Result<Vec<(TeamId, ExecutionId)>, StoreError> {
    conn.execute("UPDATE executions SET status = 'queued' WHERE status = 'running'", [])?;
    let mut stmt =
        conn.prepare("SELECT team_id, id FROM executions WHERE status = 'queued' ORDER BY created_at, id")?;
    let rows = stmt.query_map([], |row| Ok((uuid_at(row, 0)?, uuid_at(row, 1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Attempts queued by [`promote_due`] as (team, id), and when the next waiting one is due.
pub type Promoted = (Vec<(TeamId, ExecutionId)>, Option<i64>);

/// Queues every scheduled attempt whose time has come: returns their (team, id), oldest
/// first, and the time of the next one still waiting.
pub(crate) fn promote_due(conn: &Connection, now: i64) -> Result<Promoted, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE executions SET status = 'queued', not_before = NULL
         WHERE status = 'scheduled' AND not_before <= ?1 RETURNING team_id, id",
    )?;
    let mut due: Vec<(TeamId, ExecutionId)> =
        stmt.query_map([now], |row| Ok((uuid_at(row, 0)?, uuid_at(row, 1)?)))?.collect::<Result<_, _>>()?;
    due.sort_by_key(|(_, id)| *id);
    let next = conn
        .prepare_cached("SELECT MIN(not_before) FROM executions WHERE status = 'scheduled'")?
        .query_row([], |row| row.get(0))?;
    Ok((due, next))
}

/// Deletes finished executions created before `cutoff` (ms). Returns how many.
pub(crate) fn purge(conn: &Connection, cutoff: i64) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "DELETE FROM executions WHERE created_at < ?1 AND status NOT IN ('queued', 'running', 'scheduled')",
        [cutoff],
    )?)
}

/// A failure kind as stored (`error_kind`): its serde spelling.
pub fn kind_str(kind: FailureKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}
