//! Accepting a delivery: idempotency, durable queueing, and the sync path with its hand-off to
//! async when a run outlives the sync wait limit.
//!
//! What is durable when: an async delivery (and any delivery with an idempotency key) is
//! committed as `queued`/`running` rows — with its idempotency record, in the same savepoint —
//! before the caller answers 2xx. A plain sync delivery is recorded when it finishes; if it
//! outlives the sync wait, its rows are committed as `running` before the 202, and the run
//! goes on to completion (or is recovered after a crash).

use std::time::Instant;
use wasmhook_domain::ids::{ExecutionId, TeamId, WebhookId};

use futures::future::join_all;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument as _;
use uuid::Uuid;

use super::job::{Job, Recording, RunSummary};
use super::queue::{Full, Lane};
use super::{ExecError, Executor};
use wasmhook_store::deliveries::KeyClaim;
use wasmhook_store::executions::ExecutionStatus;
use wasmhook_store::repo::{Acceptance, KeyClaimRequest};
use wasmhook_store::{StoreError, now_ms};

/// Answer now with ids (async), or wait for the result (sync, the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Wait for the runs, up to the sync wait limit.
    Sync,
    /// Commit to the queue and answer 202 at once.
    Async,
}

/// One accepted webhook call: one job per block run (v4: per dataset).
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The caller's team.
    pub team_id: TeamId,
    /// The block or doc addressed: the scope of idempotency keys.
    pub target: Uuid,
    /// The idempotency key, if the sender gave one.
    pub idempotency: Option<IdempotencyKey>,
    /// An armed trigger webhook whose single call this delivery takes. Taken in the same
    /// savepoint as the delivery's rows: of concurrent calls exactly one commits, the others
    /// get [`wasmhook_store::StoreError::NotArmed`].
    pub single_use: Option<WebhookId>,
    /// The runs, ids assigned.
    pub jobs: Vec<Job>,
}

impl Delivery {
    /// The queue lane it waits in: its team's, or for a bulk replay the replay's own (so the
    /// team's live deliveries keep their turns and their share of the queue).
    fn lane(&self) -> Lane {
        self.jobs.first().and_then(|job| job.spec.replay_job).map_or(Lane::Team(self.team_id), Lane::Replay)
    }
}

/// A delivery's idempotency key and the hash of the request it came with: a repeat with the
/// same hash is a retry, one with another hash reuses the key for a different request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The key (header, `webhook-id`, or the value at the configured JSON pointer).
    pub key: String,
    /// SHA-256 of the request body.
    pub request_hash: [u8; 32],
}

/// What became of a delivery.
#[derive(Debug)]
pub enum Dispatched {
    /// Every run finished within the sync wait.
    Finished {
        /// Results in job order.
        runs: Vec<RunSummary>,
        /// A repeat of an earlier delivery with the same idempotency key.
        replayed: bool,
    },
    /// Accepted for the queue (or still running past the sync wait): poll the ids.
    Accepted {
        /// Execution ids in job order.
        ids: Vec<ExecutionId>,
        /// A repeat of an earlier delivery with the same idempotency key.
        replayed: bool,
    },
}

/// How often a repeated delivery polls for the original's result.
const REPEAT_POLL: std::time::Duration = std::time::Duration::from_millis(20);

impl Executor {
    /// Accepts a delivery and runs it according to `mode`. The work is a task of its own: a
    /// caller that goes away (a client disconnecting) must not leave committed rows `running`
    /// or `queued` with nothing to run them until the next restart.
    pub async fn submit(&self, delivery: Delivery, mode: Mode) -> Result<Dispatched, ExecError> {
        let this = self.clone();
        // In the request's span: a sync run's span is a child of the request that asked for it.
        self.tasks.spawn(async move { this.accept(delivery, mode).await }.in_current_span()).await?
    }

    async fn accept(&self, mut delivery: Delivery, mode: Mode) -> Result<Dispatched, ExecError> {
        if self.stopping.is_cancelled() {
            return Err(ExecError::ShuttingDown);
        }
        if mode == Mode::Sync {
            // A sync caller has the outcome in hand and retries (or not) itself; retrying
            // behind its back would run the block again on top of the caller's own retry.
            for job in &mut delivery.jobs {
                job.retry = None;
            }
        }
        // A delivery larger than the most it could ever be given is refused for good (422),
        // not with a 503 its sender would retry forever.
        let capacity = match mode {
            Mode::Async => self.queue.capacity_per_team(),
            Mode::Sync => self.config.sync_run_limit(),
        };
        if delivery.jobs.len() > capacity {
            return Err(ExecError::TooManyRuns { runs: delivery.jobs.len(), capacity });
        }
        let _places = match mode {
            Mode::Sync => None,
            Mode::Async => {
                Some(self.queue.reserve(delivery.lane(), delivery.jobs.len()).map_err(|full| match full {
                    Full::Server => ExecError::QueueFull,
                    Full::Team => ExecError::TeamQueueFull(self.config.team_queue_depth()),
                })?)
            }
        };
        // Taken before anything is stored, so a refused sync call leaves nothing behind.
        let sync_slots = match mode {
            Mode::Async => None,
            Mode::Sync => {
                let wanted = u32::try_from(delivery.jobs.len()).unwrap_or(u32::MAX);
                let slots = Arc::clone(&self.sync_slots)
                    .try_acquire_many_owned(wanted)
                    .map_err(|_| ExecError::SyncOverloaded(self.config.sync_run_limit()))?;
                Some(slots)
            }
        };
        let ids: Vec<ExecutionId> = delivery.jobs.iter().map(|job| job.spec.id).collect();
        let durable_now = mode == Mode::Async || delivery.idempotency.is_some() || delivery.single_use.is_some();
        if durable_now {
            let status = if mode == Mode::Async { ExecutionStatus::Queued } else { ExecutionStatus::Running };
            match self.commit(&delivery, status).await? {
                KeyClaim::New => {}
                KeyClaim::Existing(original) => return self.repeat(delivery.team_id, original, mode).await,
                KeyClaim::Reused => {
                    return Err(ExecError::KeyReused(delivery.idempotency.map(|i| i.key).unwrap_or_default()));
                }
            }
        }
        match mode {
            Mode::Async => {
                for id in &ids {
                    self.queue.push(delivery.lane(), *id);
                }
                Ok(Dispatched::Accepted { ids, replayed: false })
            }
            Mode::Sync => self.run_inline(delivery.jobs, durable_now, sync_slots).await,
        }
    }

    /// Claims the idempotency key (if any) and inserts the pending rows, in one savepoint.
    async fn commit(&self, delivery: &Delivery, status: ExecutionStatus) -> Result<KeyClaim, ExecError> {
        let window_ms = i64::try_from(self.config.idempotency_window.as_millis()).unwrap_or(i64::MAX);
        let now = now_ms();
        let key = delivery.idempotency.as_ref().map(|IdempotencyKey { key, request_hash }| KeyClaimRequest {
            key: key.clone(),
            request_hash: *request_hash,
            target: delivery.target,
            window_start: now.saturating_sub(window_ms),
        });
        let records = delivery
            .jobs
            .iter()
            .map(|job| {
                let mut record = job.record(job.stored_input()?);
                // Kept on the row, so an execution can show the key it was sent with.
                record.spec.idempotency_key = delivery.idempotency.as_ref().map(|k| k.key.clone());
                Ok(record)
            })
            .collect::<Result<_, StoreError>>()?;
        let acceptance =
            Acceptance { team_id: delivery.team_id, key, single_use: delivery.single_use, records, status, now };
        Ok(self.store.executions().accept(acceptance).await?)
    }

    /// Runs the jobs now (at most `doc_concurrency` at once). If they outlive the sync wait,
    /// makes them durable as `running` and answers with their ids; they keep running.
    async fn run_inline(
        &self,
        jobs: Vec<Job>,
        recorded: bool,
        mut sync_slots: Option<OwnedSemaphorePermit>,
    ) -> Result<Dispatched, ExecError> {
        let ids: Vec<ExecutionId> = jobs.iter().map(|job| job.spec.id).collect();
        let limit = std::sync::Arc::new(Semaphore::new(self.config.doc_concurrency));
        let handles: Vec<_> = jobs
            .iter()
            .cloned()
            .map(|job| {
                let (this, limit) = (self.clone(), limit.clone());
                // Each run's task holds one sync slot until it is recorded.
                let slot = sync_slots.as_mut().and_then(|slots| slots.split(1));
                self.tasks.spawn(
                    async move {
                        let _permit = limit.acquire_owned().await;
                        let summary = match this.run_job(job.clone(), Recording::Queued).await {
                            Ok(summary) => Ok(summary),
                            // Recorded as failed: a keyed delivery's row would otherwise stay
                            // `running`, and every retry of its key answer "still running" for the
                            // whole idempotency window.
                            Err(error) => this.fail(job, &error.to_string()).await,
                        };
                        drop(slot);
                        summary
                    }
                    .in_current_span(),
                )
            })
            .collect();
        let all = join_all(handles);
        tokio::select! {
            results = all => {
                let mut runs = Vec::with_capacity(results.len());
                for result in results {
                    let run = result??;
                    runs.push(run);
                }
                Ok(Dispatched::Finished { runs, replayed: false })
            }
            () = tokio::time::sleep(self.config.sync_wait) => {
                if !recorded {
                    let records =
                        jobs.iter().map(|job| Ok(job.record(job.stored_input()?))).collect::<Result<_, StoreError>>()?;
                    self.store.executions().insert_pending(records, ExecutionStatus::Running).await?;
                }
                Ok(Dispatched::Accepted { ids, replayed: false })
            }
        }
    }

    /// A repeat of a keyed delivery: the original's executions, never a new run. A sync
    /// repeat waits (up to the sync wait) for the original to finish.
    async fn repeat(&self, team_id: TeamId, ids: Vec<ExecutionId>, mode: Mode) -> Result<Dispatched, ExecError> {
        if mode == Mode::Async {
            return Ok(Dispatched::Accepted { ids, replayed: true });
        }
        let started = Instant::now();
        loop {
            let runs: Vec<RunSummary> =
                self.store.executions().by_ids(team_id, ids.clone()).await?.into_iter().map(RunSummary::from).collect();
            if runs.len() == ids.len() && runs.iter().all(RunSummary::is_terminal) {
                return Ok(Dispatched::Finished { runs, replayed: true });
            }
            if started.elapsed() >= self.config.sync_wait {
                return Ok(Dispatched::Accepted { ids, replayed: true });
            }
            tokio::time::sleep(REPEAT_POLL).await;
        }
    }
}
