//! The single writer thread and its group commit.
//!
//! Every write is a [`Job`] run in its own savepoint of one shared transaction (or, for a
//! job of exactly one statement, on its own: see [`Atomicity`]); callers are answered after
//! the batch's single `COMMIT`. Two kinds of job:
//!
//! - **awaited** ([`Store::write`](super::Store::write)): a caller is waiting (an async
//!   accept's pending row, a management write, a flush). The batch commits as soon as the
//!   queue is drained.
//! - **detached** ([`Store::write_detached`](super::Store::write_detached)): the record of a
//!   sync run whose answer has already gone out. While a batch holds only these, the writer
//!   lingers up to `linger` for more before committing.
//!
//! Why linger: measured on the 2-core bench machine with wasmhook pinned to one core, the
//! writer was woken for every record and committed batches of one row 98% of the time. A
//! one-row commit of an execution (≈ 2.3 KiB row, 4 index entries) writes ≈ 7 WAL frames and
//! cost ≈ 110 µs of the core per call, more than the sandbox run itself. Lingering lets a
//! batch share its index pages and its commit. The price is a wider window in which a crash
//! loses a sync run's record (never an accepted async delivery, which is awaited).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use rusqlite::Connection;

use super::checkpoint::RestartGuard;
use super::commits::CommitReports;
use super::{MAX_BATCH, StoreError};

/// Answers a job's caller once the batch's commit outcome is known.
/// Why a batch did not commit: one error shared by every job of the batch.
pub(super) type CommitError = Arc<rusqlite::Error>;

/// Answers a job's caller once the batch's commit outcome is known.
pub(super) type Finish = Box<dyn FnOnce(Result<(), CommitError>) + Send>;

/// One write for the writer thread.
pub(super) struct Job {
    pub(super) run: Box<dyn FnOnce(&Connection) -> Finish + Send>,
    /// Nobody waits for this one: it may linger in a batch.
    pub(super) detached: bool,
}

/// How a job's failure is kept from leaving part of its changes in the batch's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Atomicity {
    /// The job may run several statements: it runs in a savepoint of its own, rolled back
    /// when it fails.
    Savepoint,
    /// The job runs exactly one statement, which SQLite applies whole or not at all: a
    /// statement refused by a constraint is undone by SQLite itself and the transaction goes
    /// on; an I/O error, a full disk or running out of memory may roll the whole transaction
    /// back, which [`run_batch`] detects either way. So no savepoint. Measured on the sync
    /// path's record (`cargo bench -p wasmhook-store --bench record_write`, one core): the
    /// savepoint cost the writer 2.1–2.9 µs of its 11.4–13.0 µs per record.
    OneStatement,
}

/// Runs `job` as `atomicity` asks: in a savepoint of the current transaction, rolling back
/// only its own changes when it fails, or on its own.
pub(super) fn atomically<R>(
    conn: &Connection,
    atomicity: Atomicity,
    job: impl FnOnce(&Connection) -> Result<R, StoreError>,
) -> Result<R, StoreError> {
    match atomicity {
        Atomicity::Savepoint => in_savepoint(conn, job),
        Atomicity::OneStatement => job(conn),
    }
}

/// Runs `job` in a savepoint of the current transaction, rolling back only its own changes
/// when it fails.
fn in_savepoint<R>(conn: &Connection, job: impl FnOnce(&Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
    // Cached statements: parsing these per job was measurable at tens of thousands of jobs/s.
    conn.prepare_cached("SAVEPOINT job")?.execute([])?;
    let result = job(conn);
    if conn.is_autocommit() {
        // SQLite rolled the whole transaction back (and the savepoint with it): the job's own
        // error says why; `run_batch` sees the lost transaction.
        return result;
    }
    if result.is_err() {
        conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
    }
    conn.prepare_cached("RELEASE job")?.execute([])?;
    result
}

/// The writer's queue. Unlike a channel, a detached job pushed while the writer lingers does
/// not wake it: one wake-up per batch, not per record (per-record wake-ups were 8% of the
/// core in the profile).
#[derive(Default)]
pub(super) struct Queue {
    state: Mutex<QueueState>,
    wake: Condvar,
}

#[derive(Default)]
struct QueueState {
    jobs: Vec<Job>,
    /// Any job in `jobs` awaited.
    awaited: bool,
    /// The writer waits for a first job (any push wakes it).
    idle: bool,
    /// Every `Store` handle is gone: drain and stop.
    closed: bool,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("queued", &self.state.lock().jobs.len()).finish()
    }
}

impl Queue {
    /// Queues a job, waking the writer when it is idle or the job is awaited.
    pub(super) fn push(&self, job: Job) -> Result<(), StoreError> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(StoreError::Closed);
        }
        let wake = state.idle || !job.detached;
        state.awaited |= !job.detached;
        state.jobs.push(job);
        drop(state);
        if wake {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Stops the writer once the queued jobs are committed.
    pub(super) fn close(&self) {
        self.state.lock().closed = true;
        self.wake.notify_one();
    }

    /// The next batch: waits for a first job; while every job in hand is detached, waits up
    /// to `linger` for an awaited one. `None` once closed and drained.
    fn next_batch(&self, linger: Duration) -> Option<Vec<Job>> {
        let mut state = self.state.lock();
        while state.jobs.is_empty() {
            if state.closed {
                return None;
            }
            state.idle = true;
            self.wake.wait(&mut state);
        }
        state.idle = false;
        let until = Instant::now() + linger;
        while !state.awaited && !state.closed && state.jobs.len() < MAX_BATCH {
            if self.wake.wait_until(&mut state, until).timed_out() {
                break;
            }
        }
        let take = state.jobs.len().min(MAX_BATCH);
        let batch: Vec<Job> = state.jobs.drain(..take).collect();
        state.awaited = state.jobs.iter().any(|job| !job.detached);
        Some(batch)
    }
}

/// The writer thread's loop: gather a batch, commit it, answer its callers, restart the WAL
/// if it has grown too long (see `checkpoint.rs`); until the queue is closed and drained.
pub(super) fn writer_loop(
    conn: Connection,
    queue: Arc<Queue>,
    linger: Duration,
    restart: RestartGuard,
    commits: &CommitReports,
) {
    while let Some(batch) = queue.next_batch(linger) {
        let (writes, started) = (batch.len(), Instant::now());
        match run_batch(&conn, batch) {
            Ok(()) => commits.report(writes, started.elapsed()),
            Err(e) => tracing::error!(error = %e, "store batch failed"),
        }
        restart.check(&conn);
    }
}

/// Runs `batch` in one transaction and commits it. If a job's failure made SQLite roll the
/// whole transaction back (an I/O error, a full disk), the jobs run so far are lost: the
/// failing one is answered with its own error, the others with [`rolled_back`]. The rest run
/// in a new transaction, rather than one by one in autocommit mode, each committed on its own
/// while their callers would hear of a failed `COMMIT`.
fn run_batch(conn: &Connection, batch: Vec<Job>) -> Result<(), CommitError> {
    // If BEGIN fails the rest of the batch is dropped, which answers its waiting callers with
    // `Closed`.
    let statement = |sql: &str| conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map(drop).map_err(Arc::new);
    let mut jobs = batch.into_iter().peekable();
    let mut outcome = Ok(());
    while jobs.peek().is_some() {
        statement("BEGIN IMMEDIATE")?;
        let mut finishers: Vec<Finish> = Vec::new();
        for job in jobs.by_ref() {
            finishers.push((job.run)(conn));
            if conn.is_autocommit() {
                break;
            }
        }
        let commit = if conn.is_autocommit() { Err(Arc::new(rolled_back())) } else { statement("COMMIT") };
        if commit.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for finish in finishers {
            finish(commit.clone());
        }
        if commit.is_err() {
            outcome = commit;
        }
    }
    outcome
}

/// What the jobs of a transaction SQLite rolled back on its own are answered with.
fn rolled_back() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
        Some("a failed write made SQLite roll back the whole batch".to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(detached: bool) -> Job {
        Job { run: Box::new(|_| Box::new(|_| {})), detached }
    }

    #[test]
    fn detached_jobs_linger_until_an_awaited_job_arrives() {
        let queue = Arc::new(Queue::default());
        queue.push(job(true)).expect("push");
        let pusher = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                queue.push(job(true)).expect("push");
                std::thread::sleep(Duration::from_millis(20));
                queue.push(job(false)).expect("push");
            })
        };
        // A 10 s linger: only the awaited job can end this batch before the test times out.
        let batch = queue.next_batch(Duration::from_secs(10)).expect("batch");
        pusher.join().expect("pusher");
        assert_eq!(batch.len(), 3, "the detached jobs waited for the awaited one, which closed the batch");
        assert!(!batch[2].detached);
    }

    #[test]
    fn an_awaited_job_commits_without_waiting() {
        let queue = Queue::default();
        queue.push(job(false)).expect("push");
        let started = Instant::now();
        assert_eq!(queue.next_batch(Duration::from_secs(10)).expect("batch").len(), 1);
        assert!(started.elapsed() < Duration::from_secs(5), "did not linger");
    }

    #[test]
    fn a_detached_batch_commits_once_the_linger_passes() {
        let queue = Queue::default();
        queue.push(job(true)).expect("push");
        let started = Instant::now();
        assert_eq!(queue.next_batch(Duration::from_millis(30)).expect("batch").len(), 1);
        assert!(started.elapsed() >= Duration::from_millis(30), "lingered for the whole window");
    }

    #[test]
    fn closing_drains_then_stops() {
        let queue = Queue::default();
        queue.push(job(true)).expect("push");
        queue.close();
        assert_eq!(queue.next_batch(Duration::from_secs(10)).expect("drained").len(), 1);
        assert!(queue.next_batch(Duration::from_secs(10)).is_none());
        assert!(matches!(queue.push(job(false)), Err(StoreError::Closed)));
    }
}
