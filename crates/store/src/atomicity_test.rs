//! Jobs declared [`Atomicity::OneStatement`] run without a savepoint of their own; one refused
//! by a constraint still leaves nothing of itself and nothing less of its batch; and a failure
//! after which SQLite rolled the whole transaction back loses only the jobs run before it in
//! that transaction, the rest committing in a new one.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::{Atomicity, Store};

/// A store whose detached jobs wait for an awaited write (up to a minute), so the jobs a test
/// queues before its `flush` share one batch.
fn lingering_store(dir: &tempfile::TempDir) -> Store {
    Store::open_with_linger(&dir.path().join("db.sqlite3"), Duration::from_secs(60), crate::sealing::test_sealer())
        .expect("store")
}

/// Queues a detached job that runs `sql`.
async fn queue(store: &Store, atomicity: Atomicity, sql: &'static str) {
    store.write_detached("test", atomicity, move |conn| Ok(conn.execute(sql, []).map(drop)?)).await;
}

/// The ids of the teams table, in order.
async fn team_ids(store: &Store) -> Vec<String> {
    store
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT id FROM teams ORDER BY id")?;
            let ids = stmt.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
            Ok(ids)
        })
        .await
        .expect("read")
}

/// Whether a job is inside the writer's savepoint: `ROLLBACK TO job` names it (and undoes
/// nothing here, the probe having changed nothing); outside one SQLite refuses it.
fn in_savepoint(conn: &rusqlite::Connection) -> bool {
    conn.execute_batch("ROLLBACK TO job").is_ok()
}

#[tokio::test]
async fn only_a_one_statement_job_runs_without_a_savepoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = lingering_store(&dir);
    let seen = Arc::new(Mutex::new(Vec::new()));
    for atomicity in [Atomicity::OneStatement, Atomicity::Savepoint] {
        let seen = Arc::clone(&seen);
        store
            .write_detached("probe", atomicity, move |conn| {
                seen.lock().push((atomicity, in_savepoint(conn)));
                Ok(())
            })
            .await;
    }
    store.flush().await.expect("flush");
    assert_eq!(*seen.lock(), vec![(Atomicity::OneStatement, false), (Atomicity::Savepoint, true)]);
}

#[tokio::test]
async fn a_failed_one_statement_job_leaves_nothing_and_keeps_its_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = lingering_store(&dir);
    queue(&store, Atomicity::Savepoint, "INSERT INTO teams VALUES ('a', 'A', 0, 0)").await;
    // One statement, two rows, the second refused (NOT NULL) after the first was written:
    // SQLite undoes the first itself.
    queue(&store, Atomicity::OneStatement, "INSERT INTO teams VALUES ('b', 'B', 0, 0), ('c', NULL, 0, 0)").await;
    queue(&store, Atomicity::OneStatement, "INSERT INTO teams VALUES ('d', 'D', 0, 0)").await;
    store.flush().await.expect("the batch commits");
    assert_eq!(team_ids(&store).await, ["a", "d"], "the failed statement left no row; the jobs around it committed");
}

#[tokio::test]
async fn a_transaction_sqlite_rolled_back_loses_only_its_own_jobs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = lingering_store(&dir);
    queue(&store, Atomicity::Savepoint, "INSERT INTO teams VALUES ('a', 'A', 0, 0)").await;
    // What SQLite does on an I/O error or a full disk: the whole transaction rolled back, the
    // statement's error returned.
    store
        .write_detached("failing", Atomicity::OneStatement, |conn| {
            conn.execute_batch("ROLLBACK")?;
            Err(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR), None).into())
        })
        .await;
    queue(&store, Atomicity::Savepoint, "INSERT INTO teams VALUES ('c', 'C', 0, 0)").await;
    // Without the new transaction the flush, last in the batch, would hear of a failed COMMIT.
    store.flush().await.expect("the jobs after the rollback commit");
    assert_eq!(team_ids(&store).await, ["c"], "the job before the rollback was lost with it; the one after committed");
}
