//! Writing executions: pending rows of the durable queue, claims, finished runs, recovery,
//! promotion of due retries and the retention purge.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use wasmhook_domain::ids::{ExecutionId, TeamId};
use wasmhook_domain::{FailureKind, Outcome};
use wasmhook_store::StoreError;
use wasmhook_store::executions::packed::Packed;
use wasmhook_store::executions::{
    Claimed, ExecutionSpec, ExecutionStatus, FinishedColumns, NewExecution, Promoted, kind_str,
};

use super::leases::Lease;
use super::rows::packed_text;
use crate::pg::{self, RowExt};

/// Inserts an unfinished execution (`queued`, `running` or `scheduled`) with its `input`
/// (packed `new.input`), so that it survives a crash. Nothing happens when the id exists (the
/// run finished first). A queued or running one is held by this node's `lease`; a scheduled one
/// by nobody until it is promoted.
pub(crate) async fn insert_unfinished(
    c: &impl GenericClient,
    new: &NewExecution,
    input: &Packed,
    status: ExecutionStatus,
    not_before: Option<i64>,
    lease: Lease,
) -> Result<(), StoreError> {
    let spec = &new.spec;
    let started_at = (status == ExecutionStatus::Running).then_some(spec.created_at);
    let owner = (status != ExecutionStatus::Scheduled).then_some(lease.node);
    pg::execute(
        c,
        "INSERT INTO executions (id, team_id, block_id, block_version, doc_id, dataset_key, trigger, status,
            input, keep_input, timeout_ms, replay_of, created_at, started_at, webhook_id, attempt, retry_of, retry,
            not_before, replay_job, lease_owner, lease_until, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
            $21, CASE WHEN $21::uuid IS NULL THEN NULL ELSE wh_now_ms() + $22 END, $23)
         ON CONFLICT (id) DO NOTHING",
        &[
            &spec.id,
            &spec.team_id,
            &spec.block_id,
            &spec.block_version,
            &spec.doc_id,
            &spec.dataset_key,
            &spec.trigger.as_str(),
            &status.as_str(),
            &input.as_bytes(),
            &spec.keep_input,
            &timeout_ms(spec),
            &spec.replay_of,
            &spec.created_at,
            &started_at,
            &spec.webhook_id,
            &i64::from(spec.attempt),
            &spec.retry_of,
            &new.retry,
            &not_before,
            &spec.replay_job,
            &owner,
            &lease.ms,
            &spec.idempotency_key,
        ],
    )
    .await?;
    Ok(())
}

fn timeout_ms(spec: &ExecutionSpec) -> Option<i64> {
    spec.timeout_ms.map(|ms| i64::try_from(ms).unwrap_or(i64::MAX))
}

fn big(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// PostgreSQL's `text` cannot hold NUL; a guest's error message may. Replaced, not refused:
/// a run's record must not be lost to its message.
fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') { text.replace('\0', "\u{FFFD}").into() } else { text.into() }
}

/// Records a finished run: inserts it, or completes the pending row of the same id. The input
/// is dropped here when the block or doc says `storePayload: false`. Fenced: a pending row is
/// completed only while this node still holds it; a row another node took over (after this
/// node stalled past its lease) is that node's to record, and this one is `LeaseLost`.
pub(crate) async fn finish(
    c: &impl GenericClient,
    new: &NewExecution,
    outcome: &Outcome,
    columns: &FinishedColumns,
    status: ExecutionStatus,
    finished_at: i64,
    lease: Lease,
) -> Result<(), StoreError> {
    let failure = outcome.failure();
    let spec = &new.spec;
    let message = failure.map(|f| storable(&f.message));
    let code = failure.and_then(|f| f.code.as_deref()).map(storable);
    pg::query_opt(
        c,
        "INSERT INTO executions (id, team_id, block_id, block_version, doc_id, dataset_key, trigger, status,
            error_kind, error_message, error_code, output, logs, logs_dropped_bytes, fuel_consumed, duration_us,
            peak_memory_bytes, input, created_at, finished_at, keep_input, timeout_ms, replay_of, started_at, attempts,
            webhook_id, outbound, attempt, retry_of, retry, replay_job)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            CASE WHEN $21::boolean THEN $18::bytea END, $19, $20, $21, $22, $23, $19, 1, $24, $25, $26, $27, $28, $29)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, error_kind = excluded.error_kind,
            error_message = excluded.error_message, error_code = excluded.error_code, output = excluded.output,
            logs = excluded.logs, logs_dropped_bytes = excluded.logs_dropped_bytes,
            fuel_consumed = excluded.fuel_consumed, duration_us = excluded.duration_us,
            peak_memory_bytes = excluded.peak_memory_bytes, finished_at = excluded.finished_at,
            outbound = excluded.outbound,
            input = CASE WHEN executions.keep_input THEN executions.input END,
            attempts = greatest(executions.attempts, 1), lease_owner = NULL, lease_until = NULL
         WHERE executions.lease_owner = $30 AND executions.status IN ('queued', 'running')
         RETURNING 1",
        &[
            &spec.id,
            &spec.team_id,
            &spec.block_id,
            &spec.block_version,
            &spec.doc_id,
            &spec.dataset_key,
            &spec.trigger.as_str(),
            &status.as_str(),
            &failure.map(|f| kind_str(f.kind)),
            &message.as_deref(),
            &code.as_deref(),
            &columns.output().map(Packed::as_bytes),
            &columns.logs().as_bytes(),
            &big(outcome.logs.dropped_bytes),
            &big(outcome.fuel_consumed),
            &big(u64::try_from(outcome.duration.as_micros()).unwrap_or(u64::MAX)),
            &big(outcome.peak_memory_bytes),
            &columns.input().map(Packed::as_bytes),
            &spec.created_at,
            &finished_at,
            &spec.keep_input,
            &timeout_ms(spec),
            &spec.replay_of,
            &spec.webhook_id,
            &columns.outbound().map(Packed::as_bytes),
            &i64::from(spec.attempt),
            &spec.retry_of,
            &new.retry,
            &spec.replay_job,
            &lease.node,
        ],
    )
    .await?
    .ok_or(StoreError::LeaseLost)?;
    Ok(())
}

fn claimed_from(id: ExecutionId, row: &Row) -> Result<Claimed, StoreError> {
    let attempt: i64 = row.at(12)?;
    Ok(Claimed {
        spec: ExecutionSpec {
            id,
            team_id: row.at(0)?,
            block_id: row.at(1)?,
            block_version: row.at(2)?,
            doc_id: row.at(3)?,
            dataset_key: row.at(4)?,
            trigger: row.at::<&str>(5)?.parse()?,
            keep_input: row.at(7)?,
            timeout_ms: row.at::<Option<i64>>(8)?.and_then(|ms| u64::try_from(ms).ok()),
            replay_of: row.at(9)?,
            webhook_id: row.at(11)?,
            created_at: row.at(10)?,
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
            retry_of: row.at(13)?,
            replay_job: row.at(15)?,
            idempotency_key: row.at(16)?,
        },
        input: packed_text(row, 6)?,
        retry: row.at(14)?,
    })
}

/// Marks a queued execution running under this node's lease and returns what is needed to
/// run it; `None` when it is not queued any more. Of two nodes claiming the same row, the
/// second waits on its row lock, then finds it `running` and gets `None`.
pub(crate) async fn claim(
    c: &impl GenericClient,
    id: ExecutionId,
    now: i64,
    lease: Lease,
) -> Result<Option<Claimed>, StoreError> {
    let row = pg::query_opt(
        c,
        "UPDATE executions SET status = 'running', started_at = $2, attempts = attempts + 1,
            lease_owner = $3, lease_until = wh_now_ms() + $4
         WHERE id = $1 AND status = 'queued'
         RETURNING team_id, block_id, block_version, doc_id, dataset_key, trigger, input, keep_input, timeout_ms,
            replay_of, created_at, webhook_id, attempt, retry_of, retry, replay_job, idempotency_key",
        &[&id, &now, &lease.node, &lease.ms],
    )
    .await?;
    row.map(|row| claimed_from(id, &row)).transpose()
}

/// Fails a claimed execution the host could not even start; only a `running` row this node
/// holds changes.
pub(crate) async fn fail_unstarted(
    c: &impl GenericClient,
    id: ExecutionId,
    message: &str,
    now: i64,
    lease: Lease,
) -> Result<(), StoreError> {
    pg::execute(
        c,
        "UPDATE executions SET status = 'failed', error_kind = $2, error_message = $3, finished_at = $4,
            input = CASE WHEN keep_input THEN input END, lease_owner = NULL, lease_until = NULL
         WHERE id = $1 AND status = 'running' AND lease_owner = $5",
        &[&id, &kind_str(FailureKind::Internal), &storable(message).as_ref(), &now, &lease.node],
    )
    .await?;
    Ok(())
}

fn pairs(rows: &[Row]) -> Result<Vec<(TeamId, ExecutionId)>, StoreError> {
    rows.iter().map(|row| Ok((row.at(0)?, row.at(1)?))).collect()
}

/// Queues every scheduled attempt whose time has come under this node's lease, oldest first,
/// and says when the next one is due. `SKIP LOCKED`: two nodes promoting at once split the
/// rows instead of waiting.
pub(crate) async fn promote_due(c: &impl GenericClient, now: i64, lease: Lease) -> Result<Promoted, StoreError> {
    let rows = pg::query(
        c,
        "UPDATE executions SET status = 'queued', not_before = NULL, lease_owner = $2,
            lease_until = wh_now_ms() + $3
         WHERE id IN (SELECT id FROM executions WHERE status = 'scheduled' AND not_before <= $1
                      FOR UPDATE SKIP LOCKED)
         RETURNING team_id, id",
        &[&now, &lease.node, &lease.ms],
    )
    .await?;
    let mut due = pairs(&rows)?;
    due.sort_by_key(|(_, id)| *id);
    let next = pg::query_one(c, "SELECT min(not_before) FROM executions WHERE status = 'scheduled'", &[]).await?;
    Ok((due, next.at(0)?))
}

/// Deletes finished executions created before `cutoff` (ms); how many.
pub(crate) async fn purge(c: &impl GenericClient, cutoff: i64) -> Result<usize, StoreError> {
    let deleted = pg::execute(
        c,
        "DELETE FROM executions WHERE created_at < $1 AND status NOT IN ('queued', 'running', 'scheduled')",
        &[&cutoff],
    )
    .await?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}
