//! A batch whose COMMIT fails answers every caller with [`StoreError::Commit`] (a server
//! fault), not a conflict: the failure is the database's, not the caller's request's.

use crate::{Store, StoreError};

#[tokio::test]
async fn a_failed_commit_is_a_commit_error_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db.sqlite3"), crate::sealing::test_sealer()).expect("store");
    // A foreign key checked only at COMMIT (deferred): the insert succeeds, the COMMIT fails.
    let failed = store
        .write(|conn| {
            conn.execute_batch("PRAGMA defer_foreign_keys = ON")?;
            conn.execute(
                "INSERT INTO users (id, team_id, name, created_at) VALUES ('u1', 'no-such-team', 'x', 0)",
                [],
            )?;
            Ok(())
        })
        .await;
    match failed {
        Err(StoreError::Commit(source)) => assert!(source.to_string().contains("FOREIGN KEY"), "{source}"),
        other => panic!("expected a commit error, got {other:?}"),
    }
    let users: i64 =
        store.read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))?)).await.expect("read");
    assert_eq!(users, 0, "the batch was rolled back");
    // The writer goes on.
    store.write(|_| Ok(())).await.expect("a later write commits");
}
