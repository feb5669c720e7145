//! Bulk replays on PostgreSQL ([`ReplayJobRepo`]): the executions a filter matched at
//! creation, and the runner's progress through them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use wasmhook_domain::ids::{ExecutionId, ReplayJobId, TeamId};
use wasmhook_store::executions::ExecutionFilter;
use wasmhook_store::replay_jobs::{Progress, ReplayJob};
use wasmhook_store::repo::{NewReplay, ReplayJobRepo};
use wasmhook_store::{StoreError, now_ms};

use crate::PgStore;
use crate::executions::rows::Clauses;
use crate::pg::{self, RowExt, commit, db, to_i64, to_usize};

/// The latest attempt of each matching delivery whose input was kept, oldest first, at most
/// `limit`; and how many matched without an input to replay.
async fn matching(
    c: &impl GenericClient,
    team_id: TeamId,
    filter: &ExecutionFilter,
    limit: usize,
) -> Result<(Vec<ExecutionId>, usize), StoreError> {
    let clauses = Clauses::of(filter, 1);
    let from = format!(
        "FROM executions e WHERE e.team_id = $1 AND e.status NOT IN ('queued', 'running', 'scheduled')
         AND NOT EXISTS (SELECT 1 FROM executions later WHERE later.retry_of = coalesce(e.retry_of, e.id)
            AND later.attempt > e.attempt){}",
        clauses.sql
    );
    let without: i64 =
        pg::query_one(c, &format!("SELECT count(*) {from} AND e.input IS NULL"), &clauses.bind(&[&team_id], &[]))
            .await?
            .at(0)?;
    let limit = to_i64(limit);
    let sql = format!(
        "SELECT e.id {from} AND e.input IS NOT NULL ORDER BY e.created_at, e.id LIMIT {}",
        clauses.next_placeholder()
    );
    let rows = pg::query(c, &sql, &clauses.bind(&[&team_id], &[&limit])).await?;
    let ids = rows.iter().map(|row| row.at(0)).collect::<Result<_, _>>()?;
    Ok((ids, to_usize(without)))
}

async fn job(c: &impl GenericClient, team_id: TeamId, id: ReplayJobId) -> Result<ReplayJob, StoreError> {
    let row = pg::query_opt(
        c,
        "SELECT filter, version, state, matched, submitted, skipped, created_at, updated_at FROM replay_jobs
         WHERE id = $1 AND team_id = $2",
        &[&id, &team_id],
    )
    .await?
    .ok_or(StoreError::NotFound("replay job"))?;
    let filter = serde_json::from_str(row.at(0)?).map_err(|e| StoreError::Corrupt(format!("replay filter: {e}")))?;
    let statuses =
        pg::query(c, "SELECT status, count(*) FROM executions WHERE replay_job = $1 GROUP BY status", &[&id]).await?;
    let executions: BTreeMap<String, u64> = statuses
        .iter()
        .map(|s| Ok((s.at(0)?, u64::try_from(s.at::<i64>(1)?).unwrap_or(0))))
        .collect::<Result<_, StoreError>>()?;
    let state: String = row.at(2)?;
    let pending = ["queued", "running", "scheduled"].iter().any(|s| executions.contains_key(*s));
    Ok(ReplayJob {
        id,
        team_id,
        filter,
        version: row.at(1)?,
        finished: state != "running" && !pending,
        state,
        matched: to_usize(row.at(3)?),
        submitted: to_usize(row.at(4)?),
        skipped: to_usize(row.at(5)?),
        created_at: row.at(6)?,
        updated_at: row.at(7)?,
        executions,
    })
}

#[async_trait]
impl ReplayJobRepo for PgStore {
    async fn create(&self, replay: NewReplay) -> Result<(usize, usize), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let (ids, without_input) = matching(&tx, replay.team_id, &replay.filter, replay.max).await?;
        let filter = serde_json::to_string(&replay.recorded).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = now_ms();
        pg::execute(
            &tx,
            "INSERT INTO replay_jobs (id, team_id, filter, version, execution_ids, matched, state, created_at,
                updated_at, runner_owner, runner_until)
             VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $7, $8, wh_now_ms() + $9)",
            &[
                &replay.id,
                &replay.team_id,
                &filter,
                &replay.version,
                &ids,
                &to_i64(ids.len()),
                &now,
                &self.lease.node,
                &self.lease.ms,
            ],
        )
        .await?;
        tx.commit().await.map_err(commit)?;
        Ok((ids.len(), without_input))
    }

    async fn get(&self, team_id: TeamId, id: ReplayJobId) -> Result<ReplayJob, StoreError> {
        job(&self.client().await?, team_id, id).await
    }

    async fn cancel(&self, team_id: TeamId, id: ReplayJobId) -> Result<ReplayJob, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        pg::execute(
            &tx,
            "UPDATE replay_jobs SET state = 'cancelled', updated_at = $3
             WHERE id = $1 AND team_id = $2 AND state = 'running'",
            &[&id, &team_id, &now_ms()],
        )
        .await?;
        let job = job(&tx, team_id, id).await?;
        tx.commit().await.map_err(commit)?;
        Ok(job)
    }

    async fn unfinished(&self) -> Result<Vec<ReplayJobId>, StoreError> {
        // Other nodes may be running some: only those whose runner is gone.
        ReplayJobRepo::take_over(self).await
    }

    async fn take_over(&self) -> Result<Vec<ReplayJobId>, StoreError> {
        let rows = pg::query(
            &self.client().await?,
            "UPDATE replay_jobs SET runner_owner = $1, runner_until = wh_now_ms() + $2
             WHERE state = 'running' AND (runner_until IS NULL OR runner_until < wh_now_ms())
             RETURNING id, created_at",
            &[&self.lease.node, &self.lease.ms],
        )
        .await?;
        let mut jobs: Vec<(i64, ReplayJobId)> =
            rows.iter().map(|row| Ok((row.at(1)?, row.at(0)?))).collect::<Result<_, StoreError>>()?;
        jobs.sort();
        Ok(jobs.into_iter().map(|(_, id)| id).collect())
    }

    async fn progress(&self, id: ReplayJobId) -> Result<Progress, StoreError> {
        let row = pg::query_opt(
            &self.client().await?,
            "SELECT team_id, version, execution_ids, submitted, skipped, state FROM replay_jobs WHERE id = $1",
            &[&id],
        )
        .await?
        .ok_or(StoreError::NotFound("replay job"))?;
        Ok(Progress {
            id,
            team_id: row.at(0)?,
            version: row.at(1)?,
            ids: row.at(2)?,
            submitted: to_usize(row.at(3)?),
            skipped: to_usize(row.at(4)?),
            state: row.at(5)?,
        })
    }

    async fn advance(
        &self,
        id: ReplayJobId,
        submitted: usize,
        skipped: usize,
        done: bool,
    ) -> Result<String, StoreError> {
        let row = pg::query_opt(
            &self.client().await?,
            "UPDATE replay_jobs SET submitted = $2, skipped = $3, updated_at = $4,
                state = CASE WHEN $5 AND state = 'running' THEN 'submitted' ELSE state END
             WHERE id = $1 RETURNING state",
            &[&id, &to_i64(submitted), &to_i64(skipped), &now_ms(), &done],
        )
        .await?
        .ok_or(StoreError::NotFound("replay job"))?;
        row.at(0)
    }
}
