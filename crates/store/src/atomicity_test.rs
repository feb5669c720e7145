//! Jobs declared [`Atomicity::OneStatement`] run without a savepoint of their own, and a
//! failing one still leaves nothing of itself and nothing less of its batch.

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
    let insert = |sql: &'static str| move |conn: &rusqlite::Connection| Ok(conn.execute(sql, []).map(drop)?);
    store.write_detached("before", Atomicity::Savepoint, insert("INSERT INTO teams VALUES ('a', 'A', 0, 0)")).await;
    // One statement, two rows, the second refused (NOT NULL) after the first was written:
    // SQLite undoes the first itself.
    store
        .write_detached(
            "failing",
            Atomicity::OneStatement,
            insert("INSERT INTO teams VALUES ('b', 'B', 0, 0), ('c', NULL, 0, 0)"),
        )
        .await;
    store.write_detached("after", Atomicity::OneStatement, insert("INSERT INTO teams VALUES ('d', 'D', 0, 0)")).await;
    store.flush().await.expect("the batch commits");
    let teams: Vec<String> = store
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT id FROM teams ORDER BY id")?;
            let ids = stmt.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
            Ok(ids)
        })
        .await
        .expect("read");
    assert_eq!(teams, ["a", "d"], "the failed statement left no row; the jobs around it committed");
}
