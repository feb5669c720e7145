//! Purges executions (with their logs and inputs) older than the retention period,
//! idempotency records older than the idempotency window, finished callback messages as old as
//! the executions they report, and expired key-value entries.

use super::Executor;

use wasmhook_store::{StoreError, now_ms};

impl Executor {
    /// Deletes what is past retention; returns (executions, idempotency records) removed.
    /// Expired key-value entries go too (they already read as absent).
    pub async fn purge_expired(&self) -> Result<(usize, usize), StoreError> {
        let retention = i64::try_from(self.config.retention.as_millis()).unwrap_or(i64::MAX);
        let window = i64::try_from(self.config.idempotency_window.as_millis()).unwrap_or(i64::MAX);
        let now = now_ms();
        self.store.executions().purge(now.saturating_sub(retention), now.saturating_sub(window), now).await
    }

    /// The background loop: one purge every `retention_interval`, until shutdown.
    pub(super) async fn retain(&self) {
        loop {
            tokio::select! {
                () = self.stopping.cancelled() => return,
                () = tokio::time::sleep(self.config.retention_interval) => {}
            }
            match self.purge_expired().await {
                Ok((0, 0)) => {}
                Ok((executions, keys)) => {
                    tracing::info!(executions, keys, "purged expired executions and idempotency keys")
                }
                Err(error) => tracing::error!(%error, "retention purge failed"),
            }
        }
    }
}
