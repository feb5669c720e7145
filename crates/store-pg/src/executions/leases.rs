//! Leases: how several nodes share one queue and lose nothing when one dies.
//!
//! Every `queued` or `running` execution names the node holding it (`lease_owner`, random per
//! process start) until `lease_until` (ms on the database's clock, so nodes' clocks do not
//! matter). A node holds what it accepted, claimed, promoted or took over, and renews all of
//! it in one statement every third of the lease. A node that dies stops renewing; once its
//! leases expire, any node's sweep takes the rows over and queues them again — at least once,
//! with the same ids. A late record from the dead (or only stalled) node is fenced off: it
//! must still hold the lease (`finish` in `writes.rs`).

use deadpool_postgres::GenericClient;
use uuid::Uuid;
use wasmhook_domain::FailureKind;
use wasmhook_domain::ids::{ExecutionId, TeamId};
use wasmhook_store::StoreError;
use wasmhook_store::executions::kind_str;

use crate::pg::{self, RowExt, to_i64};

/// A node losing a run this many times fails it instead of queuing it again: a component that
/// kills its node (a runtime bug it triggers) must not take down every node in turn. Windmill
/// restarts a zombie job 3 times too.
pub(crate) const MAX_CLAIMS: i64 = 3;

/// This node's claim on executions: who, and for how long after each renewal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lease {
    /// This node (one process start).
    pub node: Uuid,
    /// How long a lease lasts, ms.
    pub ms: i64,
}

/// Extends every lease this node holds: on executions, and on the bulk replays it runs.
pub(crate) async fn renew(c: &impl GenericClient, lease: Lease) -> Result<(), StoreError> {
    pg::execute(
        c,
        "UPDATE executions SET lease_until = wh_now_ms() + $2
         WHERE lease_owner = $1 AND status IN ('queued', 'running')",
        &[&lease.node, &lease.ms],
    )
    .await?;
    pg::execute(
        c,
        "UPDATE replay_jobs SET runner_until = wh_now_ms() + $2 WHERE runner_owner = $1 AND state = 'running'",
        &[&lease.node, &lease.ms],
    )
    .await?;
    Ok(())
}

/// Gives up every lease this node holds (a graceful stop): the next sweep anywhere takes the
/// rows over at once.
pub(crate) async fn release(c: &impl GenericClient, lease: Lease) -> Result<(), StoreError> {
    pg::execute(
        c,
        "UPDATE executions SET lease_owner = NULL, lease_until = NULL
         WHERE lease_owner = $1 AND status IN ('queued', 'running')",
        &[&lease.node],
    )
    .await?;
    pg::execute(
        c,
        "UPDATE replay_jobs SET runner_owner = NULL, runner_until = NULL WHERE runner_owner = $1",
        &[&lease.node],
    )
    .await?;
    Ok(())
}

/// Takes over up to `room` executions whose lease expired (or that nobody holds), oldest
/// first: queued again under this node's lease, or failed once lost [`MAX_CLAIMS`] times.
/// Returns the queued ones. `SKIP LOCKED`: nodes sweeping at once split the rows, and a row
/// being renewed or recorded right now is left alone.
pub(crate) async fn take_over(
    c: &impl GenericClient,
    lease: Lease,
    room: usize,
    now: i64,
) -> Result<Vec<(TeamId, ExecutionId)>, StoreError> {
    let message = format!("the node running it stopped {MAX_CLAIMS} times (a crash, or a kill by the OS)");
    let rows = pg::query(
        c,
        "WITH expired AS (
            SELECT id, status = 'running' AND attempts >= $4 AS lost FROM executions
            WHERE status IN ('queued', 'running') AND (lease_until IS NULL OR lease_until < wh_now_ms())
            ORDER BY created_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
         UPDATE executions e SET
            status = CASE WHEN x.lost THEN 'failed' ELSE 'queued' END,
            error_kind = CASE WHEN x.lost THEN $5::text ELSE e.error_kind END,
            error_message = CASE WHEN x.lost THEN $6::text ELSE e.error_message END,
            finished_at = CASE WHEN x.lost THEN $7::bigint ELSE e.finished_at END,
            input = CASE WHEN x.lost AND NOT e.keep_input THEN NULL ELSE e.input END,
            lease_owner = CASE WHEN x.lost THEN NULL ELSE $1::uuid END,
            lease_until = CASE WHEN x.lost THEN NULL ELSE wh_now_ms() + $2::bigint END
         FROM expired x WHERE e.id = x.id
         RETURNING e.team_id, e.id, x.lost",
        &[&lease.node, &lease.ms, &to_i64(room), &MAX_CLAIMS, &kind_str(FailureKind::Internal), &message, &now],
    )
    .await?;
    let mut queued = Vec::with_capacity(rows.len());
    for row in &rows {
        if !row.at::<bool>(2)? {
            queued.push((row.at(0)?, row.at(1)?));
        }
    }
    // Oldest first, as at boot: ids are time-ordered (v7).
    queued.sort_by_key(|(_, id): &(TeamId, ExecutionId)| *id);
    Ok(queued)
}
