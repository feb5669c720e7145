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
//!   thread must not hold the write lock. So the writer itself, between batches, forces a
//!   `RESTART` checkpoint when the WAL file passes [`RESTART_WAL_BYTES`]: one stall at full
//!   priority. `journal_size_limit` then truncates the file back to [`WAL_SIZE_LIMIT`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use rusqlite::Connection;

use super::StoreError;

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

/// Starts the passive checkpointer on its own connection to `path`.
pub(super) fn start(path: &Path, stop: Arc<Stop>) -> Result<(), StoreError> {
    let conn = super::open_connection(path, false)?;
    std::thread::Builder::new()
        .name("wasmhook-store-checkpoint".into())
        .spawn(move || {
            wasmhook_domain::priority::lower_current_thread(wasmhook_domain::priority::CHECKPOINT_NICE);
            while stop.wait(INTERVAL) {
                if let Err(error) = wal_checkpoint(&conn, "PASSIVE") {
                    tracing::warn!(%error, "WAL checkpoint failed");
                }
            }
            // A last full pass on shutdown leaves a small WAL for the next start.
            let _ = wal_checkpoint(&conn, "TRUNCATE");
        })
        .map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    Ok(())
}

/// The writer's side: forces a `RESTART` checkpoint once the WAL file is over
/// [`RESTART_WAL_BYTES`] (checked between batches; a `stat` per batch).
#[derive(Debug)]
pub(super) struct RestartGuard {
    wal: PathBuf,
    limit: u64,
}

impl RestartGuard {
    pub(super) fn new(database: &Path, limit: u64) -> Self {
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        Self { wal: PathBuf::from(wal), limit }
    }

    /// Restarts the WAL when it has grown past the limit; true when it did.
    pub(super) fn check(&self, conn: &Connection) -> bool {
        let size = std::fs::metadata(&self.wal).map_or(0, |m| m.len());
        if size <= self.limit {
            return false;
        }
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
fn wal_checkpoint(conn: &Connection, mode: &str) -> Result<i64, StoreError> {
    // Columns: busy, frames in the WAL, frames checkpointed.
    Ok(conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| row.get(1))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_restarts_a_wal_over_the_limit_and_the_file_shrinks_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite");
        let writer = super::super::open_connection(&path, false).expect("writer");
        writer.pragma_update(None, "journal_size_limit", 64 << 10).expect("limit");
        writer.execute_batch("CREATE TABLE t (v BLOB)").expect("create");
        let write = |n: usize| {
            for _ in 0..n {
                writer.execute("INSERT INTO t VALUES (zeroblob(3000))", []).expect("insert");
            }
        };
        let guard = RestartGuard::new(&path, 256 << 10);
        let wal_size = || std::fs::metadata(&guard.wal).expect("wal").len();

        write(10);
        assert!(!guard.check(&writer), "under the limit: nothing to do");
        write(200);
        let grown = wal_size();
        assert!(grown > 256 << 10, "autocheckpoint is off, so the WAL grew: {grown} bytes");
        assert!(guard.check(&writer), "over the limit: restarted");
        write(1);
        let after = wal_size();
        assert!(after <= 64 << 10, "the next commit started the WAL over, truncated: {after} bytes");
        let frames = wal_checkpoint(&writer, "PASSIVE").expect("frames");
        assert!(frames < 10, "only the last commit's pages are in the WAL: {frames} frames");
    }
}
