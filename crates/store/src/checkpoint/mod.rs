//! WAL checkpoints, kept out of the commits that callers wait on.
//!
//! With SQLite's automatic checkpoint the writer copies the WAL back into the database (and
//! fsyncs it) inside whichever commit crosses the threshold; every caller waiting on that
//! batch waits too. Measured on the 2-core bench machine, async accepts at `-c32`: p99
//! 57–230 ms with the automatic checkpoint, 4–9 ms without. So `wal_autocheckpoint` is off and:
//!
//! - a separate connection on a nice-19 thread runs a `PASSIVE` pass every [`INTERVAL`]: it
//!   copies what it can without blocking the writer, and when it catches up the next commit
//!   starts the WAL over from its beginning. At the default priority its copying preempted
//!   request handling (v4 sync at a constant 4,000 req/s: p99 15.4 ms, 4.9–6.9 ms at nice 19).
//! - a writer that never pauses would let the WAL grow without end, and a starved nice-19
//!   thread must not hold the write lock. So when the WAL file outgrows [`WAL_SIZE_LIMIT`]
//!   the writer asks the catch-up thread (`catch_up.rs`, normal priority) for a passive pass,
//!   and once it has run, restarts the WAL itself between batches (`RESTART`: a short stall,
//!   only what was written during the pass is left to copy). At [`RESTART_WAL_BYTES`] it
//!   restarts whatever the pass's state. `journal_size_limit` then truncates the file back to
//!   [`WAL_SIZE_LIMIT`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use rusqlite::{Connection, ErrorCode, InterruptHandle};

use super::StoreError;

mod catch_up;
pub(super) use catch_up::{CatchUp, CatchUpState, start as start_catch_up};

/// How often a passive pass runs.
const INTERVAL: Duration = Duration::from_millis(250);
/// WAL file size past which the writer forces a restart.
pub(super) const RESTART_WAL_BYTES: u64 = 128 << 20;
/// What a reset WAL file is truncated back to (`journal_size_limit`).
pub(super) const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// Stops the checkpointer thread when dropped (with the last `Store` handle).
#[derive(Debug, Default)]
pub(super) struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    pub(super) fn stop(&self) {
        *self.stopped.lock() = true;
        self.wake.notify_all();
    }

    /// Sleeps `interval`; false once stopped.
    fn wait(&self, interval: Duration) -> bool {
        let mut stopped = self.stopped.lock();
        if !*stopped {
            self.wake.wait_for(&mut stopped, interval);
        }
        !*stopped
    }
}

/// Starts the passive checkpointer on its own connection to `path`; returns the handle that
/// interrupts its pass.
pub(super) fn start(path: &Path, stop: Arc<Stop>) -> Result<InterruptHandle, StoreError> {
    let conn = super::open_connection(path, false)?;
    let interrupt = conn.get_interrupt_handle();
    std::thread::Builder::new()
        .name("wasmhook-store-checkpoint".into())
        .spawn(move || {
            wasmhook_domain::priority::lower_current_thread(wasmhook_domain::priority::CHECKPOINT_NICE);
            while stop.wait(INTERVAL) {
                match wal_checkpoint(&conn, "PASSIVE") {
                    Err(e) if e.sqlite_error_code() == Some(ErrorCode::OperationInterrupted) => {
                        tracing::debug!("WAL checkpoint interrupted: the writer needs the checkpoint lock");
                    }
                    Err(error) => tracing::warn!(%error, "WAL checkpoint failed"),
                    Ok(_) => {}
                }
            }
            // A last full pass on shutdown leaves a small WAL for the next start.
            let _ = wal_checkpoint(&conn, "TRUNCATE");
        })
        .map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    Ok(interrupt)
}

/// The writer's side (checked between batches; a `stat` per batch): past `catch_up_at` it
/// asks for a catch-up pass and restarts the WAL once the pass has run; past `limit` it
/// restarts at once.
///
/// Either way it first interrupts the nice-19 checkpointer's pass, if one is running: that
/// pass holds SQLite's checkpoint lock, and under load it is starved of CPU mid-copy, so the
/// catch-up pass and the `RESTART` would wait for it at its priority (the stall this file
/// exists to avoid). An interrupted pass leaves its frames for the next one.
pub(super) struct RestartGuard {
    wal: PathBuf,
    catch_up_at: u64,
    limit: u64,
    catch_up: Arc<CatchUp>,
    background: Option<InterruptHandle>,
}

impl std::fmt::Debug for RestartGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestartGuard").field("wal", &self.wal).field("limit", &self.limit).finish_non_exhaustive()
    }
}

impl RestartGuard {
    /// `background`: the nice-19 checkpointer's interrupt handle, when one runs.
    pub(super) fn new(
        database: &Path,
        catch_up_at: u64,
        limit: u64,
        catch_up: Arc<CatchUp>,
        background: Option<InterruptHandle>,
    ) -> Self {
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        Self { wal: PathBuf::from(wal), catch_up_at, limit, catch_up, background }
    }

    /// Restarts the WAL when it is due; true when it did.
    pub(super) fn check(&self, conn: &Connection) -> bool {
        let size = std::fs::metadata(&self.wal).map_or(0, |m| m.len());
        if size <= self.catch_up_at && size <= self.limit {
            return false;
        }
        if let Some(background) = &self.background {
            background.interrupt();
        }
        let due = size > self.limit || self.catch_up.ask() == CatchUpState::Done;
        if !due {
            return false;
        }
        self.catch_up.reset();
        match wal_checkpoint(conn, "RESTART") {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(%error, size, "WAL restart checkpoint failed");
                false
            }
        }
    }
}

/// Runs `PRAGMA wal_checkpoint(mode)`; returns the WAL length in frames before the pass.
fn wal_checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<i64> {
    // Columns: busy, frames in the WAL, frames checkpointed.
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| row.get(1))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// A database with autocheckpoint off (as the store opens it) and a small
    /// `journal_size_limit`; `write(n)` commits `n` rows of 3,000 bytes.
    struct Wal {
        _dir: tempfile::TempDir,
        path: PathBuf,
        writer: Connection,
    }

    impl Wal {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("db.sqlite");
            let writer = super::super::open_connection(&path, false).expect("writer");
            writer.pragma_update(None, "journal_size_limit", 64 << 10).expect("limit");
            writer.execute_batch("CREATE TABLE t (v BLOB)").expect("create");
            Self { _dir: dir, path, writer }
        }

        fn write(&self, n: usize) {
            for _ in 0..n {
                self.writer.execute("INSERT INTO t VALUES (zeroblob(3000))", []).expect("insert");
            }
        }

        fn size(&self, guard: &RestartGuard) -> u64 {
            std::fs::metadata(&guard.wal).expect("wal").len()
        }

        /// After a restart: the next commit starts the WAL over and truncates the file.
        fn assert_started_over(&self, guard: &RestartGuard) {
            self.write(1);
            let after = self.size(guard);
            assert!(after <= 64 << 10, "the next commit started the WAL over, truncated: {after} bytes");
            let frames = wal_checkpoint(&self.writer, "PASSIVE").expect("frames");
            assert!(frames < 10, "only the last commit's pages are in the WAL: {frames} frames");
        }
    }

    #[test]
    fn the_writer_restarts_a_wal_over_the_limit_and_the_file_shrinks_back() {
        let wal = Wal::new();
        // No catch-up thread runs: only the hard limit restarts.
        let guard = RestartGuard::new(&wal.path, u64::MAX, 256 << 10, Arc::default(), None);

        wal.write(10);
        assert!(!guard.check(&wal.writer), "under the limit: nothing to do");
        wal.write(200);
        let grown = wal.size(&guard);
        assert!(grown > 256 << 10, "autocheckpoint is off, so the WAL grew: {grown} bytes");
        assert!(guard.check(&wal.writer), "over the limit: restarted");
        wal.assert_started_over(&guard);
    }

    #[test]
    fn past_the_catch_up_size_the_wal_restarts_after_the_catch_up_pass_and_not_before() {
        let wal = Wal::new();
        let catch_up = Arc::new(CatchUp::default());
        let guard = RestartGuard::new(&wal.path, 128 << 10, u64::MAX, Arc::clone(&catch_up), None);
        wal.write(100);
        assert!(wal.size(&guard) > 128 << 10, "the WAL outgrew the catch-up size");

        // Without the pass (its thread is not started yet) nothing restarts: the writer only asks.
        assert!(!guard.check(&wal.writer), "asked, not restarted");
        assert!(!guard.check(&wal.writer), "still waiting for the pass");
        assert_eq!(catch_up.ask(), CatchUpState::Asked);

        start_catch_up(&wal.path, Arc::clone(&catch_up)).expect("catch-up thread");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !guard.check(&wal.writer) {
            assert!(Instant::now() < deadline, "the catch-up pass never finished");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(catch_up.ask(), CatchUpState::Idle, "reset after the restart; this call asks again");
        wal.assert_started_over(&guard);
        catch_up.stop();
    }
}
