//! The dispatch side of the durable queue. The `queued` rows in the store are the truth; this
//! in-memory queue only tells workers which ids to claim, so losing it (a crash) loses nothing:
//! [`Executor::start`] rebuilds it from the store.
//!
//! **Fair between teams.** Each team has its own FIFO lane, and workers take from the lanes in
//! turn (round robin, one execution per turn), so a team that queues 10,000 deliveries delays
//! another team's next one by at most one run per busy team, not by 10,000. Each team may also
//! hold at most `team_queue_depth` queued executions, so one team cannot fill `queue_depth`
//! and leave every other team with 503s.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use wasmhook_domain::ids::{ExecutionId, ReplayJobId, TeamId};

use parking_lot::Mutex;
use tokio::sync::Semaphore;

use super::Executor;
use super::job::{Job, Recording, StoredInput};
use wasmhook_sandbox::{Failure, FailureKind, Outcome};

use wasmhook_store::{StoreError, now_ms};

/// A FIFO lane of the queue: a team's, or a bulk replay's own (so the team's live deliveries
/// keep their turns while a replay drains).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Lane {
    /// A team's live deliveries.
    Team(TeamId),
    /// One bulk replay job's re-runs.
    Replay(ReplayJobId),
}

/// Why the queue has no room for a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Full {
    /// `queue_depth` executions are queued across all teams.
    Server,
    /// This team has `team_queue_depth` executions queued.
    Team,
}

#[derive(Debug)]
pub(super) struct Queue {
    lanes: Mutex<Lanes>,
    /// One permit per queued id: workers wait on it.
    ready: Semaphore,
    max_depth: usize,
    max_team_depth: usize,
}

#[derive(Debug, Default)]
struct Lanes {
    /// Each team's queued ids with when they were queued here, oldest first.
    by_team: HashMap<Lane, VecDeque<(ExecutionId, Instant)>>,
    /// Teams with queued ids, in the order they are served.
    turn: VecDeque<Lane>,
    depth: usize,
    /// Places held by deliveries between their room check and their push (a store commit in
    /// between), per team and in all: without them a burst of concurrent calls all passed the
    /// check before any was pushed and overshot both limits.
    reserved: HashMap<Lane, usize>,
    reserved_total: usize,
}

/// Places in the queue held for one delivery until it is pushed (or given up); released when
/// dropped.
#[derive(Debug)]
pub(super) struct Reservation<'a> {
    queue: &'a Queue,
    team: Lane,
    places: usize,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut lanes = self.queue.lanes.lock();
        lanes.reserved_total = lanes.reserved_total.saturating_sub(self.places);
        if let Some(held) = lanes.reserved.get_mut(&self.team) {
            *held = held.saturating_sub(self.places);
            if *held == 0 {
                lanes.reserved.remove(&self.team);
            }
        }
    }
}

impl Queue {
    pub(super) fn new(max_depth: usize, max_team_depth: usize) -> Self {
        Self { lanes: Mutex::new(Lanes::default()), ready: Semaphore::new(0), max_depth, max_team_depth }
    }

    /// Holds room for `n` more executions of `team`, until the returned reservation is
    /// dropped (after the executions are pushed, or when the delivery is given up).
    pub(super) fn reserve(&self, team: Lane, n: usize) -> Result<Reservation<'_>, Full> {
        let mut lanes = self.lanes.lock();
        if lanes.depth + lanes.reserved_total + n > self.max_depth {
            return Err(Full::Server);
        }
        let team_held =
            lanes.by_team.get(&team).map_or(0, VecDeque::len) + lanes.reserved.get(&team).copied().unwrap_or(0);
        if team_held + n > self.max_team_depth {
            return Err(Full::Team);
        }
        lanes.reserved_total += n;
        *lanes.reserved.entry(team).or_default() += n;
        Ok(Reservation { queue: self, team, places: n })
    }

    /// The most executions one delivery of a team can ever be queued with.
    pub(super) fn capacity_per_team(&self) -> usize {
        self.max_team_depth.min(self.max_depth)
    }

    pub(super) fn push(&self, team: Lane, id: ExecutionId) {
        {
            let mut lanes = self.lanes.lock();
            let lane = lanes.by_team.entry(team).or_default();
            lane.push_back((id, Instant::now()));
            if lane.len() == 1 {
                lanes.turn.push_back(team);
            }
            lanes.depth += 1;
        }
        self.ready.add_permits(1);
    }

    /// Ids queued in one lane (a team's, or a bulk replay's).
    pub(super) fn lane_depth(&self, lane: Lane) -> usize {
        self.lanes.lock().by_team.get(&lane).map_or(0, VecDeque::len)
    }

    /// How many more executions the queue takes (what another node's lost runs may fill).
    pub(super) fn room(&self) -> usize {
        let lanes = self.lanes.lock();
        self.max_depth.saturating_sub(lanes.depth + lanes.reserved_total)
    }

    pub(super) fn depth(&self) -> usize {
        self.lanes.lock().depth
    }

    /// How long the longest-waiting queued id has waited on this node (each lane's front is
    /// its oldest, so one look per lane). An id re-queued at a restart or taken over from
    /// another node counts from then.
    pub(super) fn oldest_wait(&self) -> Duration {
        let lanes = self.lanes.lock();
        let oldest = lanes.by_team.values().filter_map(|lane| lane.front().map(|(_, since)| *since)).min();
        oldest.map_or(Duration::ZERO, |since| since.elapsed())
    }

    /// The next id: the oldest of the team whose turn it is.
    async fn pop(&self) -> Option<ExecutionId> {
        self.ready.acquire().await.ok()?.forget();
        self.lanes.lock().next()
    }
}

impl Lanes {
    fn next(&mut self) -> Option<ExecutionId> {
        let team = self.turn.pop_front()?;
        let lane = self.by_team.get_mut(&team)?;
        let id = lane.pop_front().map(|(id, _)| id);
        if lane.is_empty() {
            self.by_team.remove(&team);
        } else {
            self.turn.push_back(team);
        }
        self.depth = self.depth.saturating_sub(usize::from(id.is_some()));
        id
    }
}

impl Executor {
    /// One worker: claim, run, record, until shutdown.
    pub(super) async fn work(&self, worker: usize) {
        loop {
            let id = tokio::select! {
                // Checked first: after shutdown a worker takes no more work even if some is ready.
                biased;
                () = self.stopping.cancelled() => break,
                id = self.queue.pop() => match id { Some(id) => id, None => break },
            };
            // Tracked so that shutdown waits for this run.
            let token = self.tasks.token();
            if let Err(error) = self.run_queued(id).await {
                tracing::error!(%id, worker, %error, "queued execution failed to run");
            }
            drop(token);
        }
    }

    async fn run_queued(&self, id: ExecutionId) -> Result<(), super::ExecError> {
        let Some(claimed) = self.store.executions().claim(id, now_ms()).await? else {
            return Ok(()); // already finished (e.g. a recovered duplicate) or purged
        };
        let (team_id, block_id) = (claimed.spec.team_id, claimed.spec.block_id);
        let block = match self.store.blocks().shared(team_id, block_id).await {
            Ok(block) => (*block).clone(),
            Err(error) => {
                let message = format!("the host could not run it: cannot load its block: {error}");
                self.store.executions().fail_unstarted(id, &message, now_ms()).await?;
                return Err(error.into());
            }
        };
        let input = claimed
            .input
            .as_deref()
            .ok_or(StoreError::NotFound("stored input of the queued execution"))
            .and_then(StoredInput::parse);
        match input {
            Ok(input) => {
                let job = Job::from_claimed(claimed, block, input);
                match self.run_job(job.clone(), Recording::Committed).await {
                    Ok(_) => Ok(()),
                    Err(error) => self.fail(job, &error.to_string()).await.map(drop),
                }
            }
            Err(error) => {
                self.fail(Job::from_claimed(claimed, block, StoredInput::default()), &error.to_string()).await.map(drop)
            }
        }
    }

    /// Records a run the host could not start, so it does not stay `running` forever.
    pub(super) async fn fail(&self, job: Job, message: &str) -> Result<super::RunSummary, super::ExecError> {
        let outcome = Outcome {
            result: Err(Failure {
                kind: FailureKind::Internal,
                message: format!("the host could not run it: {message}"),
                code: None,
            }),
            logs: Default::default(),
            fuel_consumed: 0,
            duration: std::time::Duration::ZERO,
            peak_memory_bytes: 0,
            outbound: Vec::new(),
        };
        self.record(job, outcome, Recording::Committed).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team() -> Lane {
        Lane::Team(TeamId::new_v4())
    }

    /// Team A queues 5, then team B 1: B's comes second, not sixth.
    #[tokio::test]
    async fn teams_take_turns() {
        let queue = Queue::new(100, 100);
        let (a, b) = (team(), team());
        let a_ids: Vec<ExecutionId> = (0..5).map(|_| ExecutionId::new_v4()).collect();
        for id in &a_ids {
            queue.push(a, *id);
        }
        let b_id = ExecutionId::new_v4();
        queue.push(b, b_id);
        let mut order = Vec::new();
        for _ in 0..6 {
            order.push(queue.pop().await.expect("id"));
        }
        assert_eq!(order[0], a_ids[0]);
        assert_eq!(order[1], b_id, "B's delivery is served on B's first turn");
        assert_eq!(&order[2..], &a_ids[1..], "each lane stays FIFO");
        assert_eq!(queue.depth(), 0);
    }

    #[test]
    fn a_team_cannot_take_more_than_its_share() {
        let queue = Queue::new(10, 4);
        let (a, b) = (team(), team());
        for _ in 0..4 {
            queue.push(a, ExecutionId::new_v4());
        }
        assert_eq!(queue.reserve(a, 1).err(), Some(Full::Team));
        assert!(queue.reserve(b, 4).is_ok(), "dropped at once: nothing held");
        for _ in 0..4 {
            queue.push(b, ExecutionId::new_v4());
        }
        assert_eq!(queue.reserve(team(), 3).err(), Some(Full::Server), "10 in all");
    }

    /// Concurrent deliveries between their check and their push: held places count.
    #[test]
    fn reservations_hold_places_until_dropped() {
        let queue = Queue::new(10, 4);
        let a = team();
        let first = queue.reserve(a, 3).expect("room");
        assert_eq!(queue.reserve(a, 2).err(), Some(Full::Team), "3 held + 2 > 4");
        let other = queue.reserve(team(), 4).expect("another team");
        assert_eq!(queue.reserve(team(), 4).err(), Some(Full::Server), "7 held + 4 > 10");
        drop((first, other));
        assert!(queue.reserve(a, 4).is_ok(), "released");
    }
}
