//! Persistence on an embedded SQLite file (WAL mode).
//!
//! Writes go through one writer thread that **group-commits**: it takes every job waiting in
//! its queue (up to [`MAX_BATCH`]), runs each inside its own savepoint of one transaction (a
//! one-statement job needs none: `writer::Atomicity`), and answers all of them after the single
//! `COMMIT`. One commit per batch instead of per row is what keeps recording executions off
//! the critical path (≈ 9 µs/row in batches vs ≈ 28 µs one transaction per row on this
//! machine class). Records of sync runs, which nobody waits for, may linger up to
//! [`RECORD_LINGER`] for company (`writer.rs`). WAL checkpoints run on their own thread
//! (`checkpoint.rs`). Reads use a small pool of connections on tokio's blocking threads; WAL
//! lets them run beside the writer.
//!
//! Durability: `synchronous=NORMAL` in WAL mode survives a process crash (`kill -9`), which is
//! what webhook retries need; a power loss may lose the last commits.

#![warn(missing_docs)]

pub mod blobs;
pub mod block_settings;
pub mod blocks;
pub mod cache;
pub mod callbacks;
mod checkpoint;
pub mod commits;
pub mod deliveries;
pub mod docs;
pub mod executions;
pub mod kv;
pub mod replay_jobs;
pub mod repo;
mod schema;
pub mod sealing;
pub mod secrets;
pub mod tenancy;
pub mod webhooks;
mod writer;

#[cfg(test)]
mod atomicity_test;
#[cfg(test)]
mod commit_failure_test;
#[cfg(all(test, target_os = "linux"))]
mod writer_policy_test;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

pub(crate) use writer::Atomicity;
use writer::{Job, Queue};

pub use blocks::{Block, BlockPatch, BlockVersion, NewBlock};
pub use docs::{Dataset, Doc, DocInput};
pub use executions::{Claimed, Execution, ExecutionFilter, ExecutionStatus, NewExecution, Trigger};
pub use tenancy::{ApiKeyRecord, KeyScope, NewTeam, Team, User};

/// Jobs the writer folds into one transaction at most.
pub const MAX_BATCH: usize = 512;
/// The writer thread's name (15 bytes: Linux keeps no more of a thread's name).
const WRITER_THREAD: &str = "wasmhook-writer";
/// How long the writer holds a batch of only detached records open for more (see
/// `writer.rs` for the measurement behind it).
pub const RECORD_LINGER: Duration = Duration::from_millis(3);
const READERS: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed (SQLite's error, or another backend's, as the source).
    #[error("database error: {0}")]
    Database(#[source] BackendError),
    /// The row does not exist (or belongs to another team, which looks the same).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input refers to something that does not fit (e.g. a dataset naming another team's
    /// block); the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The write conflicts with existing data.
    #[error("{0}")]
    Conflict(String),
    /// A stored value could not be decoded (corruption or a bug).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Another node took this execution over (its lease expired while this node ran it): the
    /// record of this run was not written; the other node's run is the one that counts.
    #[error("this execution was taken over by another node after its lease expired; this run's record was dropped")]
    LeaseLost,
    /// An armed trigger webhook's single call was already taken (or its arm expired).
    #[error("this webhook is armed for a single call, which was already taken or expired; arm it again")]
    NotArmed,
    /// The batch the write was in did not commit (disk full, I/O error): nothing of it was
    /// written. A server fault, never the caller's: a 500.
    #[error("the write could not be committed")]
    Commit(#[source] BackendError),
    /// The task making a write panicked or was cancelled (a bug).
    #[error("a store task failed")]
    Task(#[source] tokio::task::JoinError),
    /// The writer thread is gone (shutdown).
    #[error("the store is closed")]
    Closed,
    /// The data directory could not be prepared.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A backend's own error, kept as a source: [`StoreError`]'s variant says what it means to a
/// caller, the source says why. No backend's type appears in the public error, so callers
/// cannot match on SQLite's codes and a second backend maps its errors to the same variants.
pub type BackendError = Arc<dyn std::error::Error + Send + Sync>;

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Database(Arc::new(error))
    }
}

/// The writer's queue, closed when the last [`Store`] clone is dropped; the writer thread
/// then commits what is queued and ends.
struct WriterHandle {
    queue: Arc<Queue>,
    /// Where the writer reports each group commit (see [`Store::commit_reports`]).
    commits: commits::CommitReports,
    checkpoints: Arc<checkpoint::Stop>,
    /// Ends the catch-up thread with the last handle.
    catch_up: Arc<checkpoint::CatchUp>,
    /// Detached writes not yet committed, at most [`MAX_DETACHED`].
    detached: Arc<tokio::sync::Semaphore>,
}

/// Detached writes (sync-run records) queued at most. Past it a sync run waits for the writer
/// before answering: without the bound, a burst faster than the disk grew the queue (and
/// its records, up to 1 MiB of output each) without limit.
pub const MAX_DETACHED: usize = 4 * MAX_BATCH;

impl Drop for WriterHandle {
    fn drop(&mut self) {
        self.queue.close();
        self.checkpoints.stop();
        self.catch_up.stop();
    }
}

/// Handle to the database. Clones share the writer and the reader pool.
#[derive(Clone)]
pub struct Store {
    writer: Arc<WriterHandle>,
    /// Seals what is stored encrypted (webhook signature checks) and opens it on reads.
    sealer: Arc<sealing::Sealer>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `path`, with the default
    /// [`RECORD_LINGER`]; `sealer` encrypts what the store keeps sealed.
    pub fn open(path: &Path, sealer: Arc<sealing::Sealer>) -> Result<Self, StoreError> {
        Self::open_with_linger(path, RECORD_LINGER, sealer)
    }

    /// [`Store::open`] with how long the writer may hold a batch of detached records open for
    /// more (see [`Store::write_detached`]); zero commits every batch at once.
    pub fn open_with_linger(path: &Path, linger: Duration, sealer: Arc<sealing::Sealer>) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io { path: dir.to_path_buf(), source })?;
        }
        let mut conn = open_connection(path, false)?;
        schema::migrate(&mut conn)?;
        let checkpoints = Arc::new(checkpoint::Stop::default());
        let background = checkpoint::start(path, Arc::clone(&checkpoints))?;
        let catch_up = Arc::new(checkpoint::CatchUp::default());
        checkpoint::start_catch_up(path, Arc::clone(&catch_up))?;
        let restart = checkpoint::RestartGuard::new(
            path,
            checkpoint::WAL_SIZE_LIMIT.unsigned_abs(),
            checkpoint::RESTART_WAL_BYTES,
            Arc::clone(&catch_up),
            Some(background),
        );
        let queue = Arc::new(Queue::default());
        let jobs = Arc::clone(&queue);
        let commits = commits::CommitReports::default();
        let reports = commits.clone();
        std::thread::Builder::new()
            .name(WRITER_THREAD.into())
            .spawn(move || {
                wasmhook_domain::priority::batch_current_thread();
                writer::writer_loop(conn, jobs, linger, restart, &reports)
            })
            .map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
        Ok(Self {
            writer: Arc::new(WriterHandle {
                queue,
                commits,
                checkpoints,
                catch_up,
                detached: Arc::new(tokio::sync::Semaphore::new(MAX_DETACHED)),
            }),
            readers: Arc::new(Mutex::new(Vec::new())),
            path: Arc::new(path.to_path_buf()),
            sealer,
        })
    }

    /// Where the writer reports its group commits (batch size and time), for metrics.
    pub fn commit_reports(&self) -> &commits::CommitReports {
        &self.writer.commits
    }

    /// The sealer this store encrypts with (the server seals secret values and callback
    /// secrets with it before they are stored).
    pub fn sealer(&self) -> &Arc<sealing::Sealer> {
        &self.sealer
    }

    /// Runs `job` in the writer's next group commit and returns its result once committed.
    pub(crate) async fn write<R, F>(&self, job: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.enqueue(job, false, Atomicity::Savepoint, move |outcome| {
            let _ = reply.send(outcome);
        })?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Sends `job` to the writer; `done` gets its result once the batch's commit is known.
    fn enqueue<R, F>(
        &self,
        job: F,
        detached: bool,
        atomicity: Atomicity,
        done: impl FnOnce(Result<R, StoreError>) + Send + 'static,
    ) -> Result<(), StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let run = Box::new(move |conn: &Connection| -> writer::Finish {
            let result = writer::atomically(conn, atomicity, job);
            Box::new(move |commit: Result<(), writer::CommitError>| {
                done(match (result, commit) {
                    (Ok(value), Ok(())) => Ok(value),
                    (Err(e), _) => Err(e),
                    (Ok(_), Err(e)) => Err(StoreError::Commit(e)),
                });
            })
        });
        self.writer.queue.push(Job { run, detached })
    }

    /// Queues `job` for the writer's next group commit without waiting for the commit; a
    /// failure is logged. Waits only while [`MAX_DETACHED`] detached writes are queued
    /// (backpressure). Writes are applied in the order they are queued, so a later
    /// [`Store::write`] or [`Store::flush`] returns only once this one is committed too.
    /// `atomicity` says whether `job` needs a savepoint of its own.
    pub(crate) async fn write_detached<F>(&self, what: &'static str, atomicity: Atomicity, job: F)
    where
        F: FnOnce(&Connection) -> Result<(), StoreError> + Send + 'static,
    {
        let slot = match Arc::clone(&self.writer.detached).acquire_owned().await {
            Ok(slot) => slot,
            Err(_) => {
                tracing::error!(what, "detached write dropped: the writer is closed");
                return;
            }
        };
        let logged = self.enqueue(job, true, atomicity, move |outcome| {
            drop(slot);
            if let Err(error) = outcome {
                tracing::error!(%error, what, "detached write failed");
            }
        });
        if let Err(error) = logged {
            tracing::error!(%error, what, "detached write dropped");
        }
    }

    /// Waits until every write queued before this call is committed (read-your-writes after
    /// [`Store::write_detached`]).
    pub(crate) async fn flush(&self) -> Result<(), StoreError> {
        self.write(|_| Ok(())).await
    }

    /// Runs a read on a pooled connection on tokio's blocking threads.
    pub(crate) async fn read<R, F>(&self, job: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(job)).await.map_err(|_| StoreError::Closed)?
    }

    /// [`Store::read`] for callers already off the async runtime (CLI, startup).
    pub(crate) fn read_blocking<R>(
        &self,
        job: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let pooled = self.readers.lock().pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.path, true)?,
        };
        let result = job(&conn);
        let mut readers = self.readers.lock();
        if readers.len() < READERS {
            readers.push(conn);
        }
        result
    }
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Checkpoints run on their own thread (see `checkpoint.rs`), never inside a commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.pragma_update(None, "journal_size_limit", checkpoint::WAL_SIZE_LIMIT)?;
    }
    conn.pragma_update(None, "cache_size", -32_768)?; // KiB: 32 MiB per connection
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Milliseconds since the Unix epoch: the timestamp format of every row.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Reads a UUID stored as text, as the id type the caller expects (`TeamId`, `BlockId`, … or
/// a bare `Uuid` for a polymorphic target).
pub(crate) fn uuid_at<T: From<uuid::Uuid>>(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    uuid::Uuid::parse_str(&text)
        .map(T::from)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

/// Reads an optional UUID stored as text, as the id type the caller expects.
pub(crate) fn opt_uuid_at<T: From<uuid::Uuid>>(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<T>> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| {
        uuid::Uuid::parse_str(&t)
            .map(T::from)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
    })
    .transpose()
}
