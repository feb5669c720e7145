//! The retention purge runs once per period cluster-wide, not once per node: every node's
//! retention task asks at the configured interval, and only the first in a period purges.
//!
//! Two guards, both in the purge's own transaction: a transaction-scoped advisory lock, which a
//! node finding taken skips (another node is purging right now), and the `cluster_jobs` row of
//! the last run, which a node finding recent skips (another node purged this period). Half an
//! interval counts as recent, so the nodes' timers drifting apart does not double the rate.

use std::time::Duration;

use deadpool_postgres::GenericClient;
use wasmhook_store::StoreError;

use crate::locks;
use crate::pg::{self, RowExt};

/// Whether this node purges now (the lock is then held until the transaction ends).
pub(crate) async fn my_turn(c: &impl GenericClient, now: i64, every: Duration) -> Result<bool, StoreError> {
    let locked: bool =
        pg::query_one(c, "SELECT pg_try_advisory_xact_lock($1, $2)", &[&locks::CLASS, &locks::RETENTION])
            .await?
            .at(0)?;
    if !locked {
        return Ok(false);
    }
    let gap = i64::try_from((every / 2).as_millis()).unwrap_or(i64::MAX);
    let claimed = pg::query_opt(
        c,
        "INSERT INTO cluster_jobs (name, last_run_at) VALUES ('retention', $1)
         ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at
         WHERE cluster_jobs.last_run_at <= $1 - $2
         RETURNING 1",
        &[&now, &gap],
    )
    .await?;
    Ok(claimed.is_some())
}
