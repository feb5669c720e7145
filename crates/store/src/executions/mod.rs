//! Execution records: one per run of one block version, successful or not.

use std::str::FromStr;
use wasmhook_domain::ids::{BlockId, DocId, ExecutionId, ReplayJobId, TeamId, WebhookId};

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

mod attempts;
pub mod packed;
mod row;
mod spec;
pub mod stats;
mod writes;

pub use attempts::{AttemptSummary, DeliverySummary};
pub(crate) use attempts::{attempts_of, latest_attempt};

pub(crate) use packed::Packed;
use packed::Unpacked;
pub use row::{ExecutionRow, blank_execution};
pub use spec::ExecutionSpec;
pub use writes::FinishedColumns;
pub use writes::Promoted;
pub use writes::{Claimed, NewExecution, kind_str};
pub(crate) use writes::{claim, fail_unstarted, promote_due, purge, recover};
pub(crate) use writes::{finish, insert_pending, insert_scheduled};

use super::{StoreError, opt_uuid_at, uuid_at};
use wasmhook_domain::{Failure, LogLine, OutboundCall, RunStatus};

/// Where an execution is in its life.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Accepted, waiting for a worker.
    Queued,
    /// A worker is running it.
    Running,
    /// Finished with output.
    Succeeded,
    /// Finished with a failure other than a timeout.
    Failed,
    /// Stopped at its deadline.
    TimedOut,
    /// A later attempt of a delivery, waiting for its time (`notBefore`).
    Scheduled,
    /// The last attempt of a delivery whose every attempt failed in a way that is retried: a
    /// dead letter, kept for replay.
    Dead,
}

impl ExecutionStatus {
    /// Whether the execution is over (nothing will run it again).
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Queued | Self::Running | Self::Scheduled)
    }

    /// The stored (and API) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::Scheduled => "scheduled",
            Self::Dead => "dead",
        }
    }
}

impl FromStr for ExecutionStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "timed_out" => Self::TimedOut,
            "scheduled" => Self::Scheduled,
            "dead" => Self::Dead,
            other => {
                return Err(format!(
                    "unknown status {other:?} (queued, running, scheduled, succeeded, failed, timed_out, dead)"
                ));
            }
        })
    }
}

impl From<RunStatus> for ExecutionStatus {
    fn from(status: RunStatus) -> Self {
        match status {
            RunStatus::Succeeded => Self::Succeeded,
            RunStatus::Failed => Self::Failed,
            RunStatus::TimedOut => Self::TimedOut,
        }
    }
}

/// What started an execution.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `POST /v2/webhook/blocks/{id}/execute`.
    V2,
    /// `POST /v4/webhook/docs/{id}/execute`.
    V4,
    /// `POST /v1/executions/{id}/replay`.
    Replay,
    /// `POST /api/webhooks/{id}`: a trigger webhook.
    Webhook,
}

impl Trigger {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::V4 => "v4",
            Self::Replay => "replay",
            Self::Webhook => "webhook",
        }
    }
}

impl FromStr for Trigger {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v2" => Ok(Self::V2),
            "v4" => Ok(Self::V4),
            "replay" => Ok(Self::Replay),
            "webhook" => Ok(Self::Webhook),
            other => Err(StoreError::Corrupt(format!("unknown trigger {other:?}"))),
        }
    }
}

/// One execution as stored and as `GET /v1/executions/{id}` shows it.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// UUID v7: time-ordered.
    pub id: ExecutionId,
    /// Owning team.
    #[serde(skip)]
    pub team_id: TeamId,
    /// The block run.
    pub block_id: BlockId,
    /// The version run.
    pub block_version: i64,
    /// The doc, for v4 runs.
    pub doc_id: Option<DocId>,
    /// The dataset, for v4 runs.
    pub dataset_key: Option<String>,
    /// What started it.
    pub trigger: Trigger,
    /// Lifecycle status.
    pub status: ExecutionStatus,
    /// Why it failed.
    pub error: Option<Failure>,
    /// The block's JSON output.
    #[schema(value_type = Option<serde_json::Value>)]
    pub output: Option<Box<RawValue>>,
    /// Captured log lines (empty in listings).
    pub logs: Vec<LogLine>,
    /// Every HTTP request the block sent, allowed or refused (empty in listings).
    pub outbound: Vec<OutboundCall>,
    /// Log bytes dropped over the cap.
    pub logs_dropped_bytes: u64,
    /// Fuel burned.
    pub fuel_consumed: u64,
    /// Wall time of the run in microseconds.
    pub duration_us: u64,
    /// Peak linear memory in bytes.
    pub peak_memory_bytes: u64,
    /// What is needed to replay it: the data and the request's env layers (absent in listings).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<serde_json::Value>)]
    pub input: Option<Box<RawValue>>,
    /// A dataset's `timeoutMs` override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The execution this one replays.
    pub replay_of: Option<ExecutionId>,
    /// The trigger webhook that accepted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<WebhookId>,
    /// How many times a worker started it (more than 1 after a crash recovery).
    pub attempts: u32,
    /// Which attempt of its delivery this is, from 1 (see `retry`).
    pub attempt: u32,
    /// The delivery's first attempt, when this is a retry of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<ExecutionId>,
    /// When a `scheduled` attempt will be queued, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// The bulk replay that submitted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_job: Option<ReplayJobId>,
    /// Acceptance time, ms since the epoch.
    pub created_at: i64,
    /// When a worker (or the sync path) started it.
    pub started_at: Option<i64>,
    /// Completion time, ms since the epoch.
    pub finished_at: Option<i64>,
    /// For one execution: its delivery's attempts, first to latest; the delivery's status is
    /// the latest's (absent in listings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliverySummary>,
    /// The idempotency key its delivery was sent with (on a retry, the first attempt's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// For one execution: the completion callbacks its delivery caused, with how each went.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub callbacks: Vec<crate::callbacks::Message>,
}

/// Filters of `GET /v1/executions`.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    /// Only this block's.
    pub block_id: Option<BlockId>,
    /// Only this doc's.
    pub doc_id: Option<DocId>,
    /// Only those accepted by this trigger webhook.
    pub webhook_id: Option<WebhookId>,
    /// Only in this status.
    pub status: Option<ExecutionStatus>,
    /// Created at or after (ms).
    pub since: Option<i64>,
    /// Created before (ms).
    pub until: Option<i64>,
    /// Older than this execution (its `created_at` and id), in listing order: the cursor of
    /// the next page, exact even when many executions share a millisecond.
    pub before: Option<(i64, ExecutionId)>,
    /// At most this many, newest first.
    pub limit: u32,
}

const COLUMNS: &str = "id, team_id, block_id, block_version, doc_id, dataset_key, trigger, status, error_kind,
    error_message, error_code, output, logs, logs_dropped_bytes, fuel_consumed, duration_us, peak_memory_bytes, input,
    created_at, finished_at, replay_of, attempts, started_at, timeout_ms, webhook_id, outbound, attempt, retry_of,
    not_before, replay_job, idempotency_key";

/// A row of [`COLUMNS`]; `full` also reads logs, input and outbound calls (one execution, not
/// a listing: a listing does not decompress what it does not show).
fn raw_row(row: &rusqlite::Row<'_>, full: bool) -> rusqlite::Result<ExecutionRow> {
    let kind: Option<String> = row.get(8)?;
    let error = match kind {
        Some(kind) => Some((kind, row.get::<_, Option<String>>(9)?.unwrap_or_default(), row.get(10)?)),
        None => None,
    };
    let execution = Execution {
        block_version: row.get(3)?,
        doc_id: opt_uuid_at(row, 4)?,
        dataset_key: row.get(5)?,
        logs_dropped_bytes: row.get(13)?,
        fuel_consumed: row.get(14)?,
        duration_us: row.get(15)?,
        peak_memory_bytes: row.get(16)?,
        timeout_ms: row.get(23)?,
        replay_of: opt_uuid_at(row, 20)?,
        webhook_id: opt_uuid_at(row, 24)?,
        attempts: row.get(21)?,
        attempt: row.get(26)?,
        retry_of: opt_uuid_at(row, 27)?,
        not_before: row.get(28)?,
        replay_job: opt_uuid_at(row, 29)?,
        idempotency_key: row.get(30)?,
        created_at: row.get(18)?,
        started_at: row.get(22)?,
        finished_at: row.get(19)?,
        ..blank_execution(uuid_at(row, 0)?, uuid_at(row, 1)?, uuid_at(row, 2)?)
    };
    Ok(ExecutionRow {
        execution,
        trigger: row.get(6)?,
        status: row.get(7)?,
        error,
        output: row.get::<_, Unpacked>(11)?.0,
        logs: if full { row.get::<_, Unpacked>(12)?.0.unwrap_or_default() } else { String::new() },
        input: if full { row.get::<_, Unpacked>(17)?.0 } else { None },
        outbound: if full { row.get::<_, Unpacked>(25)?.0 } else { None },
    })
}

/// One execution of the team, with logs and input.
pub(crate) fn execution(conn: &Connection, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM executions WHERE id = ?1 AND team_id = ?2"))?;
    let raw = stmt.query_row([id.to_string(), team_id.to_string()], |row| raw_row(row, true)).optional()?;
    raw.ok_or(StoreError::NotFound("execution"))?.decode(true)
}

/// The team's executions matching `filter`, newest first, without logs and input.
pub(crate) fn list(conn: &Connection, team_id: TeamId, filter: &ExecutionFilter) -> Result<Vec<Execution>, StoreError> {
    let (clauses, mut args) = filter_clauses(filter, 1);
    let sql = format!(
        "SELECT {COLUMNS} FROM executions e WHERE e.team_id = ?1{clauses} ORDER BY e.created_at DESC, e.id DESC LIMIT ?{}",
        args.len() + 2
    );
    args.insert(0, SqlValue::Text(team_id.to_string()));
    args.push(SqlValue::Integer(i64::from(filter.limit)));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |row| raw_row(row, false))?;
    rows.map(|row| row?.decode(false)).collect()
}

/// A filter's `AND …` clauses over executions aliased `e` (not its limit), with numbered
/// placeholders after the `taken` ones the caller binds first, and their values.
pub(crate) fn filter_clauses(filter: &ExecutionFilter, taken: usize) -> (String, Vec<SqlValue>) {
    let mut sql = String::new();
    let mut args = Vec::new();
    let mut add = |column: &str, op: &str, value: SqlValue| {
        args.push(value);
        sql.push_str(&format!(" AND e.{column} {op} ?{}", taken + args.len()));
    };
    if let Some(block) = filter.block_id {
        add("block_id", "=", SqlValue::Text(block.to_string()));
    }
    if let Some(doc) = filter.doc_id {
        add("doc_id", "=", SqlValue::Text(doc.to_string()));
    }
    if let Some(webhook) = filter.webhook_id {
        add("webhook_id", "=", SqlValue::Text(webhook.to_string()));
    }
    if let Some(status) = filter.status {
        add("status", "=", SqlValue::Text(status.as_str().to_owned()));
    }
    if let Some(since) = filter.since {
        add("created_at", ">=", SqlValue::Integer(since));
    }
    if let Some(until) = filter.until {
        add("created_at", "<", SqlValue::Integer(until));
    }
    if let Some((created_at, id)) = filter.before {
        let n = taken + args.len();
        sql.push_str(&format!(" AND (e.created_at < ?{} OR (e.created_at = ?{} AND e.id < ?{}))", n + 1, n + 1, n + 2));
        args.push(SqlValue::Integer(created_at));
        args.push(SqlValue::Text(id.to_string()));
    }
    (sql, args)
}

/// Runs per slot, status and duration bucket of the team's executions matching `filter` in
/// `window` (see [`stats`]).
pub(crate) fn stats_rows(
    conn: &Connection,
    team_id: TeamId,
    filter: &ExecutionFilter,
    window: stats::StatsWindow,
) -> Result<stats::ExecutionStats, StoreError> {
    let (clauses, args) = filter_clauses(filter, 4);
    let sql = stats::sql(|n| format!("?{n}"), &clauses);
    let mut all = vec![
        SqlValue::Text(team_id.to_string()),
        SqlValue::Integer(window.since),
        SqlValue::Integer(window.until),
        SqlValue::Integer(window.slot_ms),
    ];
    all.extend(args);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(all), |row| {
        Ok(stats::StatsRow { slot: row.get(0)?, status: row.get(1)?, bucket: row.get(2)?, runs: row.get(3)? })
    })?;
    Ok(stats::assemble(window, rows.collect::<Result<_, _>>()?))
}

/// The executions with these ids (summaries), in the given order; missing ids are skipped.
/// A retried delivery is reported by its latest attempt.
pub(crate) fn by_ids(conn: &Connection, team_id: TeamId, ids: &[ExecutionId]) -> Result<Vec<Execution>, StoreError> {
    ids.iter()
        .filter_map(|id| match latest_attempt(conn, team_id, *id) {
            Err(StoreError::NotFound(_)) => None,
            other => Some(other),
        })
        .collect()
}
