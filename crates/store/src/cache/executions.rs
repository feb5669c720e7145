//! Executions are not cached; accepting a delivery that uses an armed webhook's single call
//! changes that webhook, so its cached entry goes (in a task of its own, like every
//! invalidating write).

use std::sync::Arc;
use wasmhook_domain::ids::{ExecutionId, TeamId};

use async_trait::async_trait;

use super::webhooks::CachedWebhooks;
use crate::StoreError;
use crate::deliveries::KeyClaim;
use crate::executions::stats::{ExecutionStats, StatsWindow};
use crate::executions::{Claimed, Execution, ExecutionFilter, ExecutionStatus, NewExecution, Promoted};
use crate::repo::{Acceptance, ExecutionRepo, Finished, SharedDatabase};

#[derive(Debug)]
pub(super) struct CachedExecutions {
    inner: SharedDatabase,
    webhooks: Arc<CachedWebhooks>,
}

impl CachedExecutions {
    pub(super) fn new(inner: SharedDatabase, webhooks: Arc<CachedWebhooks>) -> Self {
        Self { inner, webhooks }
    }
}

#[async_trait]
impl ExecutionRepo for CachedExecutions {
    async fn accept(&self, acceptance: Acceptance) -> Result<KeyClaim, StoreError> {
        let Some(webhook) = acceptance.single_use else { return self.inner.executions().accept(acceptance).await };
        let (inner, webhooks) = (self.inner.clone(), Arc::clone(&self.webhooks));
        // Forgotten whatever the outcome: a refusal (`NotArmed`) means the entry was stale too.
        tokio::spawn(async move {
            let accepted = inner.executions().accept(acceptance).await;
            webhooks.forget(webhook);
            accepted
        })
        .await
        .map_err(StoreError::Task)?
    }

    async fn insert_pending(&self, records: Vec<NewExecution>, status: ExecutionStatus) -> Result<(), StoreError> {
        self.inner.executions().insert_pending(records, status).await
    }

    async fn record(&self, finished: Finished) -> Result<(), StoreError> {
        self.inner.executions().record(finished).await
    }

    async fn record_detached(&self, finished: Finished) {
        self.inner.executions().record_detached(finished).await;
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.inner.executions().flush().await
    }

    async fn claim(&self, id: ExecutionId, now: i64) -> Result<Option<Claimed>, StoreError> {
        self.inner.executions().claim(id, now).await
    }

    async fn fail_unstarted(&self, id: ExecutionId, message: &str, now: i64) -> Result<(), StoreError> {
        self.inner.executions().fail_unstarted(id, message, now).await
    }

    async fn recover(&self) -> Result<Vec<(TeamId, ExecutionId)>, StoreError> {
        self.inner.executions().recover().await
    }

    async fn promote_due(&self, now: i64) -> Result<Promoted, StoreError> {
        self.inner.executions().promote_due(now).await
    }

    async fn renew_leases(&self) -> Result<(), StoreError> {
        self.inner.executions().renew_leases().await
    }

    async fn release_leases(&self) -> Result<(), StoreError> {
        self.inner.executions().release_leases().await
    }

    async fn take_over(&self, room: usize) -> Result<Vec<(TeamId, ExecutionId)>, StoreError> {
        self.inner.executions().take_over(room).await
    }

    async fn get(&self, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError> {
        self.inner.executions().get(team_id, id).await
    }

    async fn get_with_delivery(&self, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError> {
        self.inner.executions().get_with_delivery(team_id, id).await
    }

    async fn latest_attempt(&self, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError> {
        self.inner.executions().latest_attempt(team_id, id).await
    }

    async fn list(&self, team_id: TeamId, filter: ExecutionFilter) -> Result<Vec<Execution>, StoreError> {
        self.inner.executions().list(team_id, filter).await
    }

    async fn stats(
        &self,
        team_id: TeamId,
        filter: ExecutionFilter,
        window: StatsWindow,
    ) -> Result<ExecutionStats, StoreError> {
        self.inner.executions().stats(team_id, filter, window).await
    }

    async fn by_ids(&self, team_id: TeamId, ids: Vec<ExecutionId>) -> Result<Vec<Execution>, StoreError> {
        self.inner.executions().by_ids(team_id, ids).await
    }

    async fn purge(&self, records_before: i64, keys_before: i64, now: i64) -> Result<(usize, usize), StoreError> {
        self.inner.executions().purge(records_before, keys_before, now).await
    }
}
