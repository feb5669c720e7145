//! Reading executions: the read model's columns, the listing filter, and a delivery's attempts.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use wasmhook_domain::ids::{ExecutionId, TeamId};
use wasmhook_store::StoreError;
use wasmhook_store::executions::packed;
use wasmhook_store::executions::stats::{self, ExecutionStats, StatsWindow};
use wasmhook_store::executions::{Execution, ExecutionFilter, ExecutionRow, blank_execution};

use crate::pg::{self, RowExt};

/// The read model's columns, in the order [`row_from`] reads them.
pub(crate) const COLUMNS: &str = "id, team_id, block_id, block_version, doc_id, dataset_key, trigger, status,
    error_kind, error_message, error_code, output, logs, logs_dropped_bytes, fuel_consumed, duration_us,
    peak_memory_bytes, input, created_at, finished_at, replay_of, attempts, started_at, timeout_ms, webhook_id,
    outbound, attempt, retry_of, not_before, replay_job, idempotency_key";

fn unsigned(row: &Row, idx: usize) -> Result<u64, StoreError> {
    Ok(u64::try_from(row.at::<i64>(idx)?).unwrap_or(0))
}

fn small(row: &Row, idx: usize) -> Result<u32, StoreError> {
    Ok(u32::try_from(row.at::<i64>(idx)?).unwrap_or(u32::MAX))
}

/// A packed `bytea` column as text (see `wasmhook_store::executions::packed`); `None` for NULL.
pub(crate) fn packed_text(row: &Row, idx: usize) -> Result<Option<String>, StoreError> {
    let unpack = |bytes| packed::unpack(bytes).map_err(|e| StoreError::Corrupt(format!("execution column: {e}")));
    row.at::<Option<&[u8]>>(idx)?.map(unpack).transpose()
}

/// One row of [`COLUMNS`], still to decode (the decoding is the SQLite store's); `full` also
/// unpacks logs, input and outbound calls (one execution, not a listing).
pub(crate) fn row_from(row: &Row, full: bool) -> Result<ExecutionRow, StoreError> {
    let mut execution = blank_execution(row.at(0)?, row.at(1)?, row.at(2)?);
    execution.block_version = row.at(3)?;
    execution.doc_id = row.at(4)?;
    execution.dataset_key = row.at(5)?;
    execution.logs_dropped_bytes = unsigned(row, 13)?;
    execution.fuel_consumed = unsigned(row, 14)?;
    execution.duration_us = unsigned(row, 15)?;
    execution.peak_memory_bytes = unsigned(row, 16)?;
    execution.created_at = row.at(18)?;
    execution.finished_at = row.at(19)?;
    execution.replay_of = row.at(20)?;
    execution.attempts = small(row, 21)?;
    execution.started_at = row.at(22)?;
    execution.timeout_ms = row.at::<Option<i64>>(23)?.and_then(|ms| u64::try_from(ms).ok());
    execution.webhook_id = row.at(24)?;
    execution.attempt = small(row, 26)?;
    execution.retry_of = row.at(27)?;
    execution.not_before = row.at(28)?;
    execution.replay_job = row.at(29)?;
    execution.idempotency_key = row.at(30)?;
    let error = match row.at::<Option<String>>(8)? {
        Some(kind) => Some((kind, row.at::<Option<String>>(9)?.unwrap_or_default(), row.at(10)?)),
        None => None,
    };
    Ok(ExecutionRow {
        execution,
        trigger: row.at(6)?,
        status: row.at(7)?,
        error,
        output: packed_text(row, 11)?,
        logs: if full { packed_text(row, 12)?.unwrap_or_default() } else { String::new() },
        input: if full { packed_text(row, 17)? } else { None },
        outbound: if full { packed_text(row, 25)? } else { None },
    })
}

/// One execution of the team, with logs and input.
pub(crate) async fn execution(
    c: &impl GenericClient,
    team_id: TeamId,
    id: ExecutionId,
) -> Result<Execution, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM executions WHERE id = $1 AND team_id = $2");
    let row = pg::query_opt(c, &sql, &[&id, &team_id]).await?.ok_or(StoreError::NotFound("execution"))?;
    row_from(&row, true)?.decode(true)
}

/// A filter's `AND …` clauses over executions aliased `e`, with their parameters numbered
/// after the `taken` ones the caller binds first.
pub(crate) struct Clauses {
    /// The clauses, each starting with ` AND`.
    pub sql: String,
    /// Their parameters, in order.
    pub params: Vec<Box<dyn ToSql + Sync + Send>>,
    /// How many parameters the caller binds before them.
    taken: usize,
}

impl Clauses {
    /// The clauses of `filter` (not its limit).
    pub(crate) fn of(filter: &ExecutionFilter, taken: usize) -> Self {
        let mut clauses = Self { sql: String::new(), params: Vec::new(), taken };
        let mut add = |column: &str, op: &str, value: Box<dyn ToSql + Sync + Send>| {
            clauses.params.push(value);
            clauses.sql.push_str(&format!(" AND e.{column} {op} ${}", taken + clauses.params.len()));
        };
        if let Some(block) = filter.block_id {
            add("block_id", "=", Box::new(block));
        }
        if let Some(doc) = filter.doc_id {
            add("doc_id", "=", Box::new(doc));
        }
        if let Some(webhook) = filter.webhook_id {
            add("webhook_id", "=", Box::new(webhook));
        }
        if let Some(status) = filter.status {
            add("status", "=", Box::new(status.as_str()));
        }
        if let Some(since) = filter.since {
            add("created_at", ">=", Box::new(since));
        }
        if let Some(until) = filter.until {
            add("created_at", "<", Box::new(until));
        }
        if let Some((created_at, id)) = filter.before {
            let n = taken + clauses.params.len();
            clauses.sql.push_str(&format!(" AND (e.created_at, e.id) < (${}, ${})", n + 1, n + 2));
            clauses.params.push(Box::new(created_at));
            clauses.params.push(Box::new(id));
        }
        clauses
    }

    /// The placeholder of the parameter right after the clauses'.
    pub(crate) fn next_placeholder(&self) -> String {
        format!("${}", self.taken + self.params.len() + 1)
    }

    /// The statement's parameters: the caller's `first` ones, the clauses', then `last`.
    pub(crate) fn bind<'a>(
        &'a self,
        first: &[&'a (dyn ToSql + Sync)],
        last: &[&'a (dyn ToSql + Sync)],
    ) -> Vec<&'a (dyn ToSql + Sync)> {
        let mut params = first.to_vec();
        params.extend(self.params.iter().map(|p| &**p as &(dyn ToSql + Sync)));
        params.extend_from_slice(last);
        params
    }
}

/// The team's executions matching `filter`, newest first, without logs and input.
pub(crate) async fn list(
    c: &impl GenericClient,
    team_id: TeamId,
    filter: &ExecutionFilter,
) -> Result<Vec<Execution>, StoreError> {
    let clauses = Clauses::of(filter, 1);
    let sql = format!(
        "SELECT {COLUMNS} FROM executions e WHERE e.team_id = $1{} ORDER BY e.created_at DESC, e.id DESC LIMIT {}",
        clauses.sql,
        clauses.next_placeholder()
    );
    let limit = i64::from(filter.limit);
    let rows = pg::query(c, &sql, &clauses.bind(&[&team_id], &[&limit])).await?;
    rows.iter().map(|row| row_from(row, false)?.decode(false)).collect()
}

/// Every attempt of the delivery `id` belongs to, in order, without logs and input.
pub(crate) async fn attempts_of(
    c: &impl GenericClient,
    team_id: TeamId,
    id: ExecutionId,
) -> Result<Vec<Execution>, StoreError> {
    let first = pg::query_opt(
        c,
        "SELECT coalesce(retry_of, id) FROM executions WHERE id = $1 AND team_id = $2",
        &[&id, &team_id],
    )
    .await?
    .ok_or(StoreError::NotFound("execution"))?
    .at::<ExecutionId>(0)?;
    let sql =
        format!("SELECT {COLUMNS} FROM executions WHERE team_id = $2 AND (id = $1 OR retry_of = $1) ORDER BY attempt");
    let rows = pg::query(c, &sql, &[&first, &team_id]).await?;
    rows.iter().map(|row| row_from(row, false)?.decode(false)).collect()
}

/// The latest attempt of the delivery whose first attempt is `id` (itself without retries).
pub(crate) async fn latest_attempt(
    c: &impl GenericClient,
    team_id: TeamId,
    id: ExecutionId,
) -> Result<Execution, StoreError> {
    let latest = pg::query_opt(
        c,
        "SELECT id FROM executions WHERE team_id = $2 AND retry_of = $1 ORDER BY attempt DESC LIMIT 1",
        &[&id, &team_id],
    )
    .await?;
    match latest {
        Some(row) => execution(c, team_id, row.at(0)?).await,
        None => execution(c, team_id, id).await,
    }
}

/// Runs per slot, status and duration bucket of the team's executions matching `filter` in
/// `window` (see `wasmhook_store::executions::stats`).
pub(crate) async fn stats(
    c: &impl GenericClient,
    team_id: TeamId,
    filter: &ExecutionFilter,
    window: StatsWindow,
) -> Result<ExecutionStats, StoreError> {
    let clauses = Clauses::of(filter, 4);
    let sql = stats::sql(|n| format!("${n}"), &clauses.sql);
    let rows =
        pg::query(c, &sql, &clauses.bind(&[&team_id, &window.since, &window.until, &window.slot_ms], &[])).await?;
    let rows = rows
        .iter()
        .map(|row| Ok(stats::StatsRow { slot: row.at(0)?, status: row.at(1)?, bucket: row.at(2)?, runs: row.at(3)? }))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(stats::assemble(window, rows))
}
