//! Bulk replay: re-runs a fixed list of executions' stored inputs as new async deliveries,
//! at a bounded rate, so that thousands of replays never crowd out live traffic.
//!
//! How it stays out of live traffic's way:
//! - **rate**: at most `replay_rate_per_second` submissions per second;
//! - **its own queue lane**: a job's deliveries are queued under the job's id, not the team's,
//!   so the team's live deliveries take every other turn and keep their own share of the queue;
//! - **few in flight**: at most two per queue worker are queued at once, so a replay never
//!   fills the queue and the workers (at their low priority) never hold a backlog of it;
//! - each replay is keyed (`replay:{job}:{execution}`), so a restart that resumes from the
//!   last recorded progress does not run any execution twice.

use std::time::Duration;
use wasmhook_domain::ids::{ExecutionId, ReplayJobId, TeamId};

use sha2::{Digest, Sha256};

use super::delivery::{Delivery, IdempotencyKey, Mode};
use super::queue::Lane;
use super::retry::RetryPolicy;
use super::{ExecError, Executor, Job, StoredInput};
use wasmhook_store::StoreError;
use wasmhook_store::replay_jobs::Progress;

/// Progress is written after this many submissions (and at the end).
const PROGRESS_EVERY: usize = 25;
/// How long to wait when the queue is full, or the job has enough in flight.
const BACKOFF: Duration = Duration::from_millis(20);

impl Executor {
    /// Starts (or, after a restart, resumes) the bulk replay `id` in the background.
    pub fn start_replay(&self, id: ReplayJobId) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(error) = this.run_replay(id).await {
                tracing::error!(%id, %error, "bulk replay stopped");
            }
        });
    }

    /// Resumes every bulk replay a restart interrupted.
    pub(super) async fn resume_replays(&self) -> Result<(), StoreError> {
        for id in self.store.replay_jobs().unfinished().await? {
            self.start_replay(id);
        }
        Ok(())
    }

    async fn run_replay(&self, id: ReplayJobId) -> Result<(), ExecError> {
        let Progress { team_id, version, ids, mut submitted, mut skipped, state, .. } =
            self.store.replay_jobs().progress(id).await?;
        if state != "running" {
            return Ok(());
        }
        let in_flight = self.config.workers.saturating_mul(2).max(1);
        let mut pace =
            tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(self.config.replay_rate_per_second)));
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let total = ids.len();
        for (n, original) in ids.into_iter().enumerate().skip(submitted + skipped) {
            tokio::select! {
                () = self.stopping.cancelled() => return Ok(()),
                _ = pace.tick() => {}
            }
            while self.queue.lane_depth(Lane::Replay(id)) >= in_flight {
                if self.stopping.is_cancelled() {
                    return Ok(());
                }
                tokio::time::sleep(BACKOFF).await;
            }
            match self.replay_one(id, team_id, original, version).await {
                Ok(true) => submitted += 1,
                Ok(false) => skipped += 1,
                Err(ExecError::ShuttingDown) => return Ok(()),
                Err(error) => {
                    tracing::warn!(job = %id, execution = %original, %error, "bulk replay skipped an execution");
                    skipped += 1;
                }
            }
            let done = n + 1 == total;
            if done || (submitted + skipped) % PROGRESS_EVERY == 0 {
                let state = self.store.replay_jobs().advance(id, submitted, skipped, done).await?;
                if state == "cancelled" {
                    return Ok(());
                }
            }
        }
        if total == 0 {
            self.store.replay_jobs().advance(id, 0, 0, true).await?;
        }
        Ok(())
    }

    /// Submits one replay; `false` when the execution can no longer be replayed (purged,
    /// its block deleted, no version to run).
    async fn replay_one(
        &self,
        job_id: ReplayJobId,
        team_id: TeamId,
        id: ExecutionId,
        version: Option<i64>,
    ) -> Result<bool, ExecError> {
        let original = match self.store.executions().get(team_id, id).await {
            Ok(original) => original,
            Err(StoreError::NotFound(_)) => return Ok(false),
            Err(other) => return Err(other.into()),
        };
        let Some(stored) = original.input.as_ref() else { return Ok(false) };
        let input = StoredInput::parse(stored.get())?;
        let block_id = original.block_id;
        let block = match self.store.blocks().get(team_id, block_id).await {
            Ok(block) => block,
            Err(StoreError::NotFound(_)) => return Ok(false),
            Err(other) => return Err(other.into()),
        };
        let Some(version) = version.or(block.active_version) else { return Ok(false) };
        let retry = RetryPolicy::resolve(block.retry.as_ref(), &self.config);
        let mut job = Job::replay(&original, input, block, version, retry);
        job.spec.replay_job = Some(job_id);
        let key = format!("replay:{job_id}:{id}");
        let request_hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let delivery = Delivery {
            team_id,
            target: block_id.into(),
            idempotency: Some(IdempotencyKey { key, request_hash }),
            single_use: None,
            jobs: vec![job],
        };
        loop {
            match self.submit(delivery.clone(), Mode::Async).await {
                Ok(_) => return Ok(true),
                Err(ExecError::QueueFull | ExecError::TeamQueueFull(_)) => tokio::time::sleep(BACKOFF * 5).await,
                Err(other) => return Err(other),
            }
        }
    }
}
