//! Bulk replays: the executions a filter matched, and the runner's progress through them.

use async_trait::async_trait;
use wasmhook_domain::ids::{ReplayJobId, TeamId};

use crate::executions::ExecutionFilter;
use crate::replay_jobs::{self as sql, Progress, ReplayFilter, ReplayJob};
use crate::{Store, StoreError};

/// A new bulk replay.
#[derive(Debug, Clone)]
pub struct NewReplay {
    /// Its id.
    pub id: ReplayJobId,
    /// The caller's team.
    pub team_id: TeamId,
    /// What selects the executions.
    pub filter: ExecutionFilter,
    /// The most it takes (oldest first).
    pub max: usize,
    /// The filter as the job shows it.
    pub recorded: ReplayFilter,
    /// The block version to replay with (`None`: each block's active one).
    pub version: Option<i64>,
}

/// Bulk replays.
#[async_trait]
pub trait ReplayJobRepo: Send + Sync {
    /// Stores a bulk replay of the latest attempts matching its filter that kept their input;
    /// (matched, matched without input).
    async fn create(&self, replay: NewReplay) -> Result<(usize, usize), StoreError>;
    /// A job of the team, with its replays' statuses.
    async fn get(&self, team_id: TeamId, id: ReplayJobId) -> Result<ReplayJob, StoreError>;
    /// Stops a running job of the team (what it submitted stays submitted); the job after.
    async fn cancel(&self, team_id: TeamId, id: ReplayJobId) -> Result<ReplayJob, StoreError>;
    /// Jobs a restart interrupted (on a shared database: those no live node runs).
    async fn unfinished(&self) -> Result<Vec<ReplayJobId>, StoreError>;
    /// Jobs whose runner node died, now this node's to go on with (a shared database keeps a
    /// lease on each job's runner, renewed with the node's other leases). None on SQLite,
    /// where [`ReplayJobRepo::unfinished`] at boot is the whole story.
    async fn take_over(&self) -> Result<Vec<ReplayJobId>, StoreError>;
    /// What the runner needs to go on.
    async fn progress(&self, id: ReplayJobId) -> Result<Progress, StoreError>;
    /// Records progress (`done`: all submitted); the job's state after (`cancelled` stops the
    /// runner).
    async fn advance(
        &self,
        id: ReplayJobId,
        submitted: usize,
        skipped: usize,
        done: bool,
    ) -> Result<String, StoreError>;
}

#[async_trait]
impl ReplayJobRepo for Store {
    async fn create(&self, replay: NewReplay) -> Result<(usize, usize), StoreError> {
        self.write(move |conn| {
            let (ids, without_input) = sql::matching(conn, replay.team_id, &replay.filter, replay.max)?;
            sql::insert(conn, replay.id, replay.team_id, &replay.recorded, replay.version, &ids)?;
            Ok((ids.len(), without_input))
        })
        .await
    }

    async fn get(&self, team_id: TeamId, id: ReplayJobId) -> Result<ReplayJob, StoreError> {
        self.read(move |conn| sql::job(conn, team_id, id)).await
    }

    async fn cancel(&self, team_id: TeamId, id: ReplayJobId) -> Result<ReplayJob, StoreError> {
        self.write(move |conn| {
            sql::cancel(conn, team_id, id)?;
            sql::job(conn, team_id, id)
        })
        .await
    }

    async fn unfinished(&self) -> Result<Vec<ReplayJobId>, StoreError> {
        self.read(sql::unfinished).await
    }

    /// One process owns the file: no other runner could have died.
    async fn take_over(&self) -> Result<Vec<ReplayJobId>, StoreError> {
        Ok(Vec::new())
    }

    async fn progress(&self, id: ReplayJobId) -> Result<Progress, StoreError> {
        self.read(move |conn| sql::progress(conn, id)).await
    }

    async fn advance(
        &self,
        id: ReplayJobId,
        submitted: usize,
        skipped: usize,
        done: bool,
    ) -> Result<String, StoreError> {
        self.write(move |conn| sql::advance(conn, id, submitted, skipped, done)).await
    }
}
