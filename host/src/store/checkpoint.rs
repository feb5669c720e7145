//! WAL checkpoints on their own thread and connection, never in the writer.
//!
//! With SQLite's automatic checkpoint the writer copies the WAL back into the database (and
//! fsyncs it) inside whichever commit crosses the threshold; every caller waiting on that
//! batch waits too. Measured on the 2-core bench machine, async accepts at `-c32`: p99
//! 57–230 ms with the automatic checkpoint, 4–9 ms without. Here a separate connection runs
//! `PASSIVE` checkpoints, which copy what they can without blocking the writer.
//!
//! The WAL starts over from its beginning once a pass has copied all of it back, which a
//! passive pass does whenever the writer pauses. A writer that never pauses would grow it
//! without end, so past [`RESTART_FRAMES`] the checkpointer asks for a `RESTART` checkpoint,
//! which makes the writer wait while it copies the rest. That wait is a latency spike (tens of
//! ms measured), so the threshold is high: 256 MiB of WAL, seconds of the bench's saturated
//! write rate and far more of real traffic, whose pauses let passive passes restart it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use rusqlite::Connection;

use super::StoreError;

/// How often a passive checkpoint runs.
const INTERVAL: Duration = Duration::from_millis(250);
/// WAL frames (pages) after which the checkpointer forces the WAL to restart: 256 MiB of
/// 4 KiB pages.
pub(super) const RESTART_FRAMES: i64 = 65_536;

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

/// Starts the checkpointer on its own connection to `path`.
pub(super) fn start(path: &Path, stop: Arc<Stop>) -> Result<(), StoreError> {
    let conn = super::open_connection(path, false)?;
    std::thread::Builder::new()
        .name("wasmhook-store-checkpoint".into())
        .spawn(move || {
            crate::priority::lower_current_thread(crate::priority::CHECKPOINT_NICE);
            while stop.wait(INTERVAL) {
                if let Err(error) = checkpoint(&conn, RESTART_FRAMES) {
                    tracing::warn!(%error, "WAL checkpoint failed");
                }
            }
            // A last full pass on shutdown leaves a small WAL for the next start.
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        })
        .map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    Ok(())
}

/// One passive pass, escalated to `RESTART` when the WAL holds more than `restart_frames`.
/// Returns the WAL length in frames before the pass.
pub(super) fn checkpoint(conn: &Connection, restart_frames: i64) -> Result<i64, StoreError> {
    let frames = wal_frames(conn, "PASSIVE")?;
    if frames > restart_frames {
        wal_frames(conn, "RESTART")?;
    }
    Ok(frames)
}

fn wal_frames(conn: &Connection, mode: &str) -> Result<i64, StoreError> {
    // Columns: busy, frames in the WAL, frames checkpointed.
    Ok(conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| row.get(1))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wal_over_the_threshold_is_restarted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite");
        let writer = super::super::open_connection(&path, false).expect("writer");
        let checkpointer = super::super::open_connection(&path, false).expect("checkpointer");
        writer.execute_batch("CREATE TABLE t (v BLOB)").expect("create");
        let write = |n: usize| {
            for _ in 0..n {
                writer.execute("INSERT INTO t VALUES (zeroblob(3000))", []).expect("insert");
            }
        };
        write(50);
        let long = checkpoint(&checkpointer, 20).expect("checkpoint");
        assert!(long > 20, "the writer's autocheckpoint is off, so the WAL grew: {long} frames");
        write(1);
        let restarted = wal_frames(&checkpointer, "PASSIVE").expect("frames");
        assert!(restarted < 10, "after a RESTART the next write starts the WAL over: {restarted} frames");
    }
}
