//! Executions on PostgreSQL ([`ExecutionRepo`]): the durable queue, the records of finished
//! runs with their completion reports, and what the API reads of them. Each call is one
//! transaction; what SQLite's writer commits in one savepoint commits here together.

pub(crate) mod leases;
mod retention;
pub(crate) mod rows;
mod writes;

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio::sync::Semaphore;
use uuid::Uuid;
use wasmhook_domain::ids::{ExecutionId, TeamId};
use wasmhook_store::callbacks::Message;
use wasmhook_store::deliveries::{KeyClaim, KeyUse};
use wasmhook_store::executions::packed::pack_inputs;
use wasmhook_store::executions::stats::{ExecutionStats, StatsWindow};
use wasmhook_store::executions::{
    Claimed, DeliverySummary, Execution, ExecutionFilter, ExecutionStatus, FinishedColumns, NewExecution, Promoted,
};
use wasmhook_store::repo::{Acceptance, Completion, ExecutionRepo, Finished, FollowUp, delivery_key};
use wasmhook_store::{MAX_DETACHED, StoreError, now_ms};

use crate::pg::{commit, db};
use crate::{PgStore, callbacks, deliveries, kv, webhooks};
use leases::Lease;

/// Records of sync runs being written in the background, at most [`MAX_DETACHED`] (as on
/// SQLite: past it a sync run waits for its record before answering).
#[derive(Debug, Clone)]
pub(crate) struct Detached(Arc<Semaphore>);

impl Default for Detached {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(MAX_DETACHED)))
    }
}

async fn accept(c: &impl GenericClient, acceptance: &Acceptance, lease: Lease) -> Result<KeyClaim, StoreError> {
    let ids: Vec<ExecutionId> = acceptance.records.iter().map(|record| record.spec.id).collect();
    if let Some(claim) = &acceptance.key {
        let key_use = KeyUse {
            team_id: acceptance.team_id,
            target: claim.target,
            key: &claim.key,
            request_hash: &claim.request_hash,
            execution_ids: &ids,
        };
        let claimed = deliveries::claim_key(c, &key_use, acceptance.now, claim.window_start).await?;
        if claimed != KeyClaim::New {
            return Ok(claimed);
        }
    }
    if let Some(webhook) = acceptance.single_use {
        // On failure the transaction (and the key claim above) rolls back.
        webhooks::take_arm(c, webhook, acceptance.now).await?;
    }
    let inputs = pack_inputs(&acceptance.records);
    for (record, input) in acceptance.records.iter().zip(&inputs) {
        writes::insert_unfinished(c, record, input, acceptance.status, None, lease).await?;
    }
    Ok(KeyClaim::New)
}

async fn record(c: &impl GenericClient, finished: &Finished, lease: Lease) -> Result<(), StoreError> {
    let columns = FinishedColumns::of(&finished.record, &finished.outcome)?;
    writes::finish(c, &finished.record, &finished.outcome, &columns, finished.status, finished.now, lease).await?;
    match &finished.follow_up {
        FollowUp::Retry { next, not_before } => {
            let input = columns.retry_input(&finished.record, next);
            writes::insert_unfinished(c, next, &input, ExecutionStatus::Scheduled, Some(*not_before), lease).await
        }
        FollowUp::Complete(None) => Ok(()),
        FollowUp::Complete(Some(completion)) => enqueue(c, completion, finished.now).await,
    }
}

/// One message per callback among the completion's targets that subscribed to its event.
async fn enqueue(c: &impl GenericClient, completion: &Completion, now: i64) -> Result<(), StoreError> {
    for callback in callbacks::subscribed(c, completion.team_id, &completion.targets, completion.event).await? {
        let message = Message {
            id: format!("msg_{}", Uuid::now_v7().simple()),
            team_id: completion.team_id,
            target_id: callback.target_id,
            execution_id: completion.execution_id,
            event: completion.event,
            payload: completion.payload.clone(),
            status: "pending".to_owned(),
            attempts: 0,
            next_attempt_at: Some(now),
            last_status: None,
            last_error: None,
            created_at: now,
            delivered_at: None,
        };
        callbacks::insert_message(c, &message).await?;
    }
    Ok(())
}

impl PgStore {
    /// [`ExecutionRepo::record`] on a connection of the pool, in one transaction.
    async fn record_now(&self, finished: &Finished) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let started = Instant::now();
        record(&tx, finished, self.lease).await?;
        tx.commit().await.map_err(commit)?;
        self.commits.report(1, started.elapsed());
        Ok(())
    }
}

#[async_trait]
impl ExecutionRepo for PgStore {
    async fn accept(&self, acceptance: Acceptance) -> Result<KeyClaim, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let started = Instant::now();
        let claimed = accept(&tx, &acceptance, self.lease).await?;
        // A repeat wrote nothing; committing it is the same as rolling back.
        tx.commit().await.map_err(commit)?;
        self.commits.report(1, started.elapsed());
        Ok(claimed)
    }

    async fn insert_pending(&self, records: Vec<NewExecution>, status: ExecutionStatus) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let started = Instant::now();
        let inputs = pack_inputs(&records);
        for (record, input) in records.iter().zip(&inputs) {
            writes::insert_unfinished(&tx, record, input, status, None, self.lease).await?;
        }
        tx.commit().await.map_err(commit)?;
        self.commits.report(records.len(), started.elapsed());
        Ok(())
    }

    async fn record(&self, finished: Finished) -> Result<(), StoreError> {
        self.record_now(&finished).await
    }

    async fn record_detached(&self, finished: Finished) {
        let Ok(slot) = Arc::clone(&self.detached.0).acquire_owned().await else {
            tracing::error!("detached record dropped: the store is closed");
            return;
        };
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(error) = store.record_now(&finished).await {
                tracing::error!(%error, execution = %finished.record.spec.id, "detached record failed");
            }
            drop(slot);
        });
    }

    async fn flush(&self) -> Result<(), StoreError> {
        // Every slot free = every record detached before this call is written. The semaphore
        // is fair, so records detached after this call wait behind it.
        let all = u32::try_from(MAX_DETACHED).unwrap_or(u32::MAX);
        let slots = self.detached.0.acquire_many(all).await.map_err(|_| StoreError::Closed)?;
        drop(slots);
        Ok(())
    }

    async fn claim(&self, id: ExecutionId, now: i64) -> Result<Option<Claimed>, StoreError> {
        writes::claim(&self.client().await?, id, now, self.lease).await
    }

    async fn fail_unstarted(&self, id: ExecutionId, message: &str, now: i64) -> Result<(), StoreError> {
        writes::fail_unstarted(&self.client().await?, id, message, now, self.lease).await
    }

    async fn recover(&self) -> Result<Vec<(TeamId, ExecutionId)>, StoreError> {
        // Other nodes may be running: only what nobody holds any more is this node's to take.
        self.take_over(usize::MAX).await
    }

    async fn renew_leases(&self) -> Result<(), StoreError> {
        leases::renew(&self.client().await?, self.lease).await
    }

    async fn release_leases(&self) -> Result<(), StoreError> {
        leases::release(&self.client().await?, self.lease).await
    }

    async fn take_over(&self, room: usize) -> Result<Vec<(TeamId, ExecutionId)>, StoreError> {
        if room == 0 {
            return Ok(Vec::new());
        }
        leases::take_over(&self.client().await?, self.lease, room, now_ms()).await
    }

    async fn promote_due(&self, now: i64) -> Result<Promoted, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let promoted = writes::promote_due(&tx, now, self.lease).await?;
        tx.commit().await.map_err(commit)?;
        Ok(promoted)
    }

    async fn get(&self, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError> {
        rows::execution(&self.client().await?, team_id, id).await
    }

    async fn get_with_delivery(&self, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError> {
        let client = self.client().await?;
        let mut execution = rows::execution(&client, team_id, id).await?;
        let attempts = rows::attempts_of(&client, team_id, id).await?;
        // The delivery's reports, whichever attempt ended it.
        for attempt in &attempts {
            execution.callbacks.extend(callbacks::messages_of(&client, team_id, attempt.id).await?);
        }
        execution.idempotency_key = delivery_key(&execution, &attempts);
        execution.delivery = DeliverySummary::of(attempts);
        Ok(execution)
    }

    async fn latest_attempt(&self, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError> {
        rows::latest_attempt(&self.client().await?, team_id, id).await
    }

    async fn list(&self, team_id: TeamId, filter: ExecutionFilter) -> Result<Vec<Execution>, StoreError> {
        rows::list(&self.client().await?, team_id, &filter).await
    }

    async fn stats(
        &self,
        team_id: TeamId,
        filter: ExecutionFilter,
        window: StatsWindow,
    ) -> Result<ExecutionStats, StoreError> {
        rows::stats(&self.client().await?, team_id, &filter, window).await
    }

    async fn by_ids(&self, team_id: TeamId, ids: Vec<ExecutionId>) -> Result<Vec<Execution>, StoreError> {
        let client = self.client().await?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            match rows::latest_attempt(&client, team_id, id).await {
                Err(StoreError::NotFound(_)) => {}
                other => found.push(other?),
            }
        }
        Ok(found)
    }

    async fn purge(&self, records_before: i64, keys_before: i64, now: i64) -> Result<(usize, usize), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        if !retention::my_turn(&tx, now, self.retention_every).await? {
            return Ok((0, 0));
        }
        let executions = writes::purge(&tx, records_before).await?;
        callbacks::purge(&tx, records_before).await?;
        let keys = deliveries::purge(&tx, keys_before).await?;
        kv::purge_expired(&tx, now).await?;
        tx.commit().await.map_err(commit)?;
        Ok((executions, keys))
    }
}
