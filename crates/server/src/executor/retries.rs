//! The retry scheduler: moves each `scheduled` attempt to the queue when its time comes.
//!
//! The store is the truth: a scheduled attempt is a row with its `not_before` time, written
//! in the same commit as the failed attempt before it. This task only sleeps until the
//! earliest of them, so a crash between attempts loses nothing (the next start finds the rows)
//! and runs nothing twice (only a `scheduled` row is promoted, once, to `queued`).

use std::time::Duration;

use super::Executor;
use super::queue::Lane;
use wasmhook_store::now_ms;

/// The longest the scheduler sleeps without looking at the store: a bound on how late an
/// attempt can be if a wake-up were ever missed (or the clock jumped).
const MAX_SLEEP: Duration = Duration::from_secs(30);

impl Executor {
    /// Until shutdown: queue the attempts that are due, then sleep until the next one (or
    /// until [`Executor::record`] schedules an earlier one and wakes this).
    pub(super) async fn schedule_retries(&self) {
        loop {
            let now = now_ms();
            let sleep = match self.store.executions().promote_due(now).await {
                Ok((due, next)) => {
                    if !due.is_empty() {
                        tracing::debug!(count = due.len(), "retry attempts queued");
                    }
                    for (team, id) in due {
                        self.queue.push(Lane::Team(team), id);
                    }
                    next.map_or(MAX_SLEEP, |at| {
                        Duration::from_millis(u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0)).min(MAX_SLEEP)
                    })
                }
                Err(error) => {
                    tracing::error!(%error, "cannot queue due retry attempts");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                () = self.stopping.cancelled() => return,
                () = self.retry_wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }
}
