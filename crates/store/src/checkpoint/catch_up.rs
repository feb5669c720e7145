//! The catch-up pass: a `PASSIVE` checkpoint at normal priority that the writer asks for when
//! the WAL outgrows [`super::WAL_SIZE_LIMIT`], so its own `RESTART` has little left to copy.
//!
//! Why: under a sustained write load the nice-19 checkpointer gets no CPU, the WAL grows to
//! [`super::RESTART_WAL_BYTES`], and the writer's `RESTART` then copied all of it while every
//! commit waited. Measured on the 2-core bench machine, durable accepts at `-c32` (≈ 21k/s, a
//! restart every ≈ 2.5 s): p99 51–176 ms with those stalls, 3.4–3.8 ms with restarts turned
//! off. A passive pass does not block the writer, so the bulk of the copying happens beside
//! the commits; the `RESTART` that follows copies only what was written during the pass, then
//! fsyncs the database (SQLite must, before the WAL starts over), and that is the stall left:
//! p99 9–46 ms in the same test (more passes before the restart measured no better, and
//! 4× larger limits made the remainder, and the p99, larger).

use std::path::Path;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use rusqlite::Connection;

use super::wal_checkpoint;

use crate::StoreError;

/// Where the catch-up pass is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CatchUpState {
    /// Nothing asked.
    #[default]
    Idle,
    /// The writer asked; the pass has not finished.
    Asked,
    /// A pass finished since the writer asked: a `RESTART` now copies only the remainder.
    Done,
    /// The store is closing.
    Stopped,
}

/// Shared by the writer (asks, restarts, resets) and the catch-up thread (runs the pass).
#[derive(Debug, Default)]
pub(crate) struct CatchUp {
    state: Mutex<CatchUpState>,
    wake: Condvar,
}

impl CatchUp {
    /// The writer's view: asks for a pass when none is asked yet; returns the state before.
    pub(crate) fn ask(&self) -> CatchUpState {
        let mut state = self.state.lock();
        let before = *state;
        if before == CatchUpState::Idle {
            *state = CatchUpState::Asked;
            self.wake.notify_one();
        }
        before
    }

    /// After a restart: the next growth asks again.
    pub(crate) fn reset(&self) {
        let mut state = self.state.lock();
        if *state != CatchUpState::Stopped {
            *state = CatchUpState::Idle;
        }
    }

    /// Ends the catch-up thread (with the last `Store` handle).
    pub(crate) fn stop(&self) {
        *self.state.lock() = CatchUpState::Stopped;
        self.wake.notify_all();
    }

    /// The thread's side: waits until asked; false once stopped.
    fn wait_until_asked(&self) -> bool {
        let mut state = self.state.lock();
        while matches!(*state, CatchUpState::Idle | CatchUpState::Done) {
            self.wake.wait(&mut state);
        }
        *state == CatchUpState::Asked
    }

    fn finished(&self) {
        let mut state = self.state.lock();
        if *state == CatchUpState::Asked {
            *state = CatchUpState::Done;
        }
    }
}

/// Starts the catch-up thread on its own connection to `path`, at the default priority.
pub(crate) fn start(path: &Path, catch_up: Arc<CatchUp>) -> Result<(), StoreError> {
    let conn: Connection = crate::open_connection(path, false)?;
    std::thread::Builder::new()
        .name("wasmhook-store-catch-up".into())
        .spawn(move || {
            while catch_up.wait_until_asked() {
                if let Err(error) = wal_checkpoint(&conn, "PASSIVE") {
                    tracing::warn!(%error, "WAL catch-up checkpoint failed");
                }
                catch_up.finished();
            }
        })
        .map_err(|source| StoreError::Io { path: path.to_path_buf(), source })?;
    Ok(())
}
