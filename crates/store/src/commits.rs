//! What a store tells an observer about its commits, for the server's metrics: how many writes
//! each commit carried and how long it took. The store knows nothing of Prometheus; the server
//! installs an observer once at start, and until it does, reporting is a load of an empty cell.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Told of every commit of a store's writes.
pub trait CommitObserver: Send + Sync + 'static {
    /// A commit of `writes` writes (the SQLite writer's group commit: its batch size) took
    /// `took`, from the start of its transaction to the end of its `COMMIT`.
    fn committed(&self, writes: usize, took: Duration);
}

/// The observer a store reports to, installed at most once and shared by the store's clones
/// (and the SQLite writer thread).
#[derive(Clone, Default)]
pub struct CommitReports(Arc<OnceLock<Arc<dyn CommitObserver>>>);

impl std::fmt::Debug for CommitReports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitReports").field("observed", &self.0.get().is_some()).finish()
    }
}

impl CommitReports {
    /// Reports to `observer` from now on; a second call is ignored (one metrics registry per
    /// process of a store).
    pub fn observe(&self, observer: Arc<dyn CommitObserver>) {
        let _ = self.0.set(observer);
    }

    /// Tells the observer, if any, of a commit.
    pub fn report(&self, writes: usize, took: Duration) {
        if let Some(observer) = self.0.get() {
            observer.committed(writes, took);
        }
    }
}
