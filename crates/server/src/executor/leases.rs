//! Sharing the queue with other nodes (PostgreSQL): every third of the lease, this node renews
//! its claims on what it queued and runs, then takes over what a dead node left (its leases
//! expired) into its own lanes, as much as they have room for. On SQLite both are no-ops: one
//! process owns the file and [`ExecutionRepo::recover`](wasmhook_store::repo::ExecutionRepo)
//! at boot is the whole story.

use super::Executor;
use super::queue::Lane;

impl Executor {
    /// The background loop, until shutdown.
    pub(super) async fn keep_leases(&self) {
        let period = self.config.lease / 3;
        loop {
            tokio::select! {
                () = self.stopping.cancelled() => return,
                () = tokio::time::sleep(period) => {}
            }
            if let Err(error) = self.store.executions().renew_leases().await {
                tracing::error!(%error, "cannot renew this node's leases; other nodes take its runs over if this lasts");
            }
            match self.store.executions().take_over(self.queue.room()).await {
                Ok(adopted) if adopted.is_empty() => {}
                Ok(adopted) => {
                    tracing::warn!(count = adopted.len(), "took over executions whose node stopped renewing its lease");
                    for (team, id) in adopted {
                        self.queue.push(Lane::Team(team), id);
                    }
                }
                Err(error) => tracing::error!(%error, "cannot take over expired leases"),
            }
            match self.store.replay_jobs().take_over().await {
                Ok(jobs) => {
                    for id in jobs {
                        tracing::warn!(%id, "going on with a bulk replay whose node stopped renewing its lease");
                        self.start_replay(id);
                    }
                }
                Err(error) => tracing::error!(%error, "cannot take over bulk replays"),
            }
        }
    }
}
