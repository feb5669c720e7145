//! Executions: the durable queue (accept, claim, retry scheduling, crash recovery), the
//! records of finished runs with their completion reports, and what the API reads of them.

use async_trait::async_trait;
use uuid::Uuid;
use wasmhook_domain::Outcome;
use wasmhook_domain::ids::{ExecutionId, TeamId, WebhookId};

use crate::callbacks::{self, CallbackEvent, Message};
use crate::deliveries::{self, KeyClaim, KeyUse};
use crate::executions::packed::pack_inputs;
use crate::executions::stats::{ExecutionStats, StatsWindow};
use crate::executions::{
    self as sql, Claimed, DeliverySummary, Execution, ExecutionFilter, ExecutionStatus, FinishedColumns, NewExecution,
    Packed, Promoted,
};
use crate::{Atomicity, Store, StoreError, kv, webhooks};

/// An idempotency key a delivery claims.
#[derive(Debug, Clone)]
pub struct KeyClaimRequest {
    /// The key.
    pub key: String,
    /// SHA-256 of the request body (a repeat with another body is refused).
    pub request_hash: [u8; 32],
    /// The block or doc addressed (keys are scoped to it).
    pub target: Uuid,
    /// A claim older than this (ms) is replaced.
    pub window_start: i64,
}

/// A delivery to make durable.
#[derive(Debug)]
pub struct Acceptance {
    /// The caller's team.
    pub team_id: TeamId,
    /// Its idempotency key, if any: claimed first; a repeat stores nothing.
    pub key: Option<KeyClaimRequest>,
    /// The armed (single-call) webhook it uses up, if any.
    pub single_use: Option<WebhookId>,
    /// Its executions.
    pub records: Vec<NewExecution>,
    /// `queued` (async) or `running` (sync).
    pub status: ExecutionStatus,
    /// When it was accepted (ms).
    pub now: i64,
}

/// Completion reports to queue with a final record: one message per callback among `targets`
/// that subscribed to `event`.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The execution's team.
    pub team_id: TeamId,
    /// The execution.
    pub execution_id: ExecutionId,
    /// Its block, doc and webhook that have callbacks.
    pub targets: Vec<Uuid>,
    /// What happened.
    pub event: CallbackEvent,
    /// The signed body.
    pub payload: String,
}

/// What follows a finished attempt.
#[derive(Debug)]
pub enum FollowUp {
    /// The next attempt, queued by the retry scheduler at `not_before` (ms).
    Retry {
        /// The next attempt.
        next: NewExecution,
        /// When it is due.
        not_before: i64,
    },
    /// Nothing more: report the completion (if any callback wants it).
    Complete(Option<Completion>),
}

/// A finished attempt to record.
#[derive(Debug)]
pub struct Finished {
    /// The execution.
    pub record: NewExecution,
    /// What the run produced.
    pub outcome: Outcome,
    /// Its final status (`dead` when its retries are used up).
    pub status: ExecutionStatus,
    /// When it finished (ms).
    pub now: i64,
    /// What comes next.
    pub follow_up: FollowUp,
}

/// Executions and the queue.
#[async_trait]
pub trait ExecutionRepo: Send + Sync {
    /// Claims the delivery's idempotency key (if any), uses up its armed webhook (if any;
    /// `NotArmed` otherwise) and inserts its executions, all or nothing. A repeat of a key
    /// stores nothing and says which kind of repeat it is.
    async fn accept(&self, acceptance: Acceptance) -> Result<KeyClaim, StoreError>;
    /// Makes unfinished executions durable (a sync run outliving the sync wait).
    async fn insert_pending(&self, records: Vec<NewExecution>, status: ExecutionStatus) -> Result<(), StoreError>;
    /// Records a finished attempt with what follows it, in one write; waits for the commit.
    async fn record(&self, finished: Finished) -> Result<(), StoreError>;
    /// [`ExecutionRepo::record`] without waiting for the commit (a sync run's answer does not
    /// wait for its record); waits only while too many are queued. A failure is logged.
    async fn record_detached(&self, finished: Finished);
    /// Waits until every record queued before is committed (read-your-writes).
    async fn flush(&self) -> Result<(), StoreError>;
    /// Claims a queued execution for a worker (`None`: finished or purged meanwhile).
    async fn claim(&self, id: ExecutionId, now: i64) -> Result<Option<Claimed>, StoreError>;
    /// Fails a claimed execution that could not start.
    async fn fail_unstarted(&self, id: ExecutionId, message: &str, now: i64) -> Result<(), StoreError>;
    /// At boot: requeues what was running when the process died; the queue as (team, id). On a
    /// shared database, only what no live node holds (expired leases).
    async fn recover(&self) -> Result<Vec<(TeamId, ExecutionId)>, StoreError>;
    /// Keeps this node's claims alive: on a shared database each node holds a lease on the
    /// executions it queued or runs, and must renew it before it expires or another node takes
    /// them over. Nothing to do where one process owns the database (SQLite). No default: a
    /// wrapper (the caches) that forgot to forward it would silently stop renewing.
    async fn renew_leases(&self) -> Result<(), StoreError>;
    /// At a graceful stop: gives up this node's claims, so that other nodes (or the next
    /// start) take its unfinished executions over at once. Nothing on SQLite.
    async fn release_leases(&self) -> Result<(), StoreError>;
    /// Takes over, for this node, up to `room` executions whose node stopped renewing its
    /// lease (it died): they are queued again (at least once, same ids) and returned as
    /// (team, id) for this node's workers. Nothing on SQLite, where [`ExecutionRepo::recover`]
    /// at boot is the whole story.
    async fn take_over(&self, room: usize) -> Result<Vec<(TeamId, ExecutionId)>, StoreError>;
    /// Queues every scheduled attempt now due; also when the next one is due.
    async fn promote_due(&self, now: i64) -> Result<Promoted, StoreError>;
    /// One execution of the team.
    async fn get(&self, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError>;
    /// One execution with its delivery's attempts and every completion report of the delivery.
    async fn get_with_delivery(&self, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError>;
    /// The latest attempt of the delivery whose first attempt is `id`.
    async fn latest_attempt(&self, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError>;
    /// The team's executions matching `filter`, newest first.
    async fn list(&self, team_id: TeamId, filter: ExecutionFilter) -> Result<Vec<Execution>, StoreError>;
    /// The team's runs matching `filter` in `window`, per slot and status, with duration
    /// percentiles (the dashboard's overview and counts).
    async fn stats(
        &self,
        team_id: TeamId,
        filter: ExecutionFilter,
        window: StatsWindow,
    ) -> Result<ExecutionStats, StoreError>;
    /// The named executions of the team (each delivery's latest attempt).
    async fn by_ids(&self, team_id: TeamId, ids: Vec<ExecutionId>) -> Result<Vec<Execution>, StoreError>;
    /// Retention: deletes finished executions and their reports created before
    /// `records_before`, idempotency keys older than `keys_before`, and expired key-value
    /// entries; (executions, keys) deleted.
    async fn purge(&self, records_before: i64, keys_before: i64, now: i64) -> Result<(usize, usize), StoreError>;
}

/// The idempotency key of an execution's delivery: its own, or its first attempt's.
pub fn delivery_key(execution: &Execution, attempts: &[Execution]) -> Option<String> {
    execution.idempotency_key.clone().or_else(|| attempts.first().and_then(|first| first.idempotency_key.clone()))
}

/// A finished attempt with its large columns packed, so the writer thread only writes.
struct PackedFinished {
    record: NewExecution,
    outcome: Outcome,
    status: ExecutionStatus,
    now: i64,
    columns: FinishedColumns,
    follow_up: PackedFollowUp,
}

/// [`FollowUp`] with a retry's input packed beside it (boxed: a retry is the rare case).
enum PackedFollowUp {
    Retry { next: Box<NewExecution>, not_before: i64, input: Packed },
    Complete(Option<Completion>),
}

impl PackedFinished {
    fn new(finished: Finished) -> Result<Self, StoreError> {
        let Finished { record, outcome, status, now, follow_up } = finished;
        let columns = FinishedColumns::of(&record, &outcome)?;
        let follow_up = match follow_up {
            FollowUp::Retry { next, not_before } => {
                let input = columns.retry_input(&record, &next);
                PackedFollowUp::Retry { next: Box::new(next), not_before, input }
            }
            FollowUp::Complete(completion) => PackedFollowUp::Complete(completion),
        };
        Ok(Self { record, outcome, status, now, columns, follow_up })
    }
}

fn accept(conn: &rusqlite::Connection, acceptance: &Acceptance, inputs: &[Packed]) -> Result<KeyClaim, StoreError> {
    let ids: Vec<ExecutionId> = acceptance.records.iter().map(|record| record.spec.id).collect();
    if let Some(claim) = &acceptance.key {
        let key_use = KeyUse {
            team_id: acceptance.team_id,
            target: claim.target,
            key: &claim.key,
            request_hash: &claim.request_hash,
            execution_ids: &ids,
        };
        let claimed = deliveries::claim_key(conn, &key_use, acceptance.now, claim.window_start)?;
        if claimed != KeyClaim::New {
            return Ok(claimed);
        }
    }
    if let Some(webhook) = acceptance.single_use {
        // On failure the savepoint (and the key claim above) rolls back.
        webhooks::take_arm(conn, webhook, acceptance.now)?;
    }
    for (record, input) in acceptance.records.iter().zip(inputs) {
        sql::insert_pending(conn, record, input, acceptance.status)?;
    }
    Ok(KeyClaim::New)
}

/// The finished row alone: one `INSERT … ON CONFLICT` statement.
fn finish(conn: &rusqlite::Connection, packed: &PackedFinished) -> Result<(), StoreError> {
    sql::finish(conn, &packed.record, &packed.outcome, &packed.columns, packed.status, packed.now)
}

/// The finished row and what follows it (a scheduled retry, callback messages).
fn record(conn: &rusqlite::Connection, packed: &PackedFinished) -> Result<(), StoreError> {
    finish(conn, packed)?;
    match &packed.follow_up {
        PackedFollowUp::Retry { next, not_before, input } => sql::insert_scheduled(conn, next, input, *not_before),
        PackedFollowUp::Complete(None) => Ok(()),
        PackedFollowUp::Complete(Some(completion)) => enqueue(conn, completion, packed.now),
    }
}

/// One message per callback among the completion's targets that subscribed to its event.
fn enqueue(conn: &rusqlite::Connection, completion: &Completion, now: i64) -> Result<(), StoreError> {
    for callback in callbacks::subscribed(conn, completion.team_id, &completion.targets, completion.event)? {
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
        callbacks::insert_message(conn, &message)?;
    }
    Ok(())
}

#[async_trait]
impl ExecutionRepo for Store {
    async fn accept(&self, acceptance: Acceptance) -> Result<KeyClaim, StoreError> {
        let inputs = pack_inputs(&acceptance.records);
        self.write(move |conn| accept(conn, &acceptance, &inputs)).await
    }

    async fn insert_pending(&self, records: Vec<NewExecution>, status: ExecutionStatus) -> Result<(), StoreError> {
        let inputs = pack_inputs(&records);
        self.write(move |conn| {
            records.iter().zip(&inputs).try_for_each(|(record, input)| sql::insert_pending(conn, record, input, status))
        })
        .await
    }

    async fn record(&self, finished: Finished) -> Result<(), StoreError> {
        let packed = PackedFinished::new(finished)?;
        self.write(move |conn| record(conn, &packed)).await
    }

    async fn record_detached(&self, finished: Finished) {
        match PackedFinished::new(finished) {
            // Nothing to follow (the common sync run): the job is `finish` alone, one statement
            // by construction, and needs no savepoint.
            Ok(packed) if matches!(packed.follow_up, PackedFollowUp::Complete(None)) => {
                self.write_detached("execution record", Atomicity::OneStatement, move |conn| finish(conn, &packed))
                    .await
            }
            Ok(packed) => {
                self.write_detached("execution record", Atomicity::Savepoint, move |conn| record(conn, &packed)).await
            }
            Err(e) => tracing::error!(error = %e, "an execution record could not be encoded; it is lost"),
        }
    }

    async fn flush(&self) -> Result<(), StoreError> {
        Store::flush(self).await
    }

    async fn claim(&self, id: ExecutionId, now: i64) -> Result<Option<Claimed>, StoreError> {
        self.write(move |conn| sql::claim(conn, id, now)).await
    }

    async fn fail_unstarted(&self, id: ExecutionId, message: &str, now: i64) -> Result<(), StoreError> {
        let message = message.to_owned();
        self.write(move |conn| sql::fail_unstarted(conn, id, &message, now)).await
    }

    async fn recover(&self) -> Result<Vec<(TeamId, ExecutionId)>, StoreError> {
        self.write(sql::recover).await
    }

    async fn promote_due(&self, now: i64) -> Result<Promoted, StoreError> {
        self.write(move |conn| sql::promote_due(conn, now)).await
    }

    /// One process owns the file: nobody else could take its runs.
    async fn renew_leases(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// One process owns the file: its next start requeues what is left.
    async fn release_leases(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// One process owns the file: there is no other node whose runs to take; what a crash
    /// left is requeued by `recover` at boot.
    async fn take_over(&self, _room: usize) -> Result<Vec<(TeamId, ExecutionId)>, StoreError> {
        Ok(Vec::new())
    }

    async fn get(&self, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError> {
        self.read(move |conn| sql::execution(conn, team_id, id)).await
    }

    async fn get_with_delivery(&self, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError> {
        self.read(move |conn| {
            let mut execution = sql::execution(conn, team_id, id)?;
            let attempts = sql::attempts_of(conn, team_id, id)?;
            // The delivery's reports, whichever attempt ended it.
            for attempt in &attempts {
                execution.callbacks.extend(callbacks::messages_of(conn, team_id, attempt.id)?);
            }
            execution.idempotency_key = delivery_key(&execution, &attempts);
            execution.delivery = DeliverySummary::of(attempts);
            Ok(execution)
        })
        .await
    }

    async fn latest_attempt(&self, team_id: TeamId, id: ExecutionId) -> Result<Execution, StoreError> {
        self.read(move |conn| sql::latest_attempt(conn, team_id, id)).await
    }

    async fn list(&self, team_id: TeamId, filter: ExecutionFilter) -> Result<Vec<Execution>, StoreError> {
        self.read(move |conn| sql::list(conn, team_id, &filter)).await
    }

    async fn stats(
        &self,
        team_id: TeamId,
        filter: ExecutionFilter,
        window: StatsWindow,
    ) -> Result<ExecutionStats, StoreError> {
        self.read(move |conn| sql::stats_rows(conn, team_id, &filter, window)).await
    }

    async fn by_ids(&self, team_id: TeamId, ids: Vec<ExecutionId>) -> Result<Vec<Execution>, StoreError> {
        self.read(move |conn| sql::by_ids(conn, team_id, &ids)).await
    }

    async fn purge(&self, records_before: i64, keys_before: i64, now: i64) -> Result<(usize, usize), StoreError> {
        self.write(move |conn| {
            let executions = sql::purge(conn, records_before)?;
            callbacks::purge(conn, records_before)?;
            let keys = deliveries::purge(conn, keys_before)?;
            kv::purge_expired(conn, now)?;
            Ok((executions, keys))
        })
        .await
    }
}
