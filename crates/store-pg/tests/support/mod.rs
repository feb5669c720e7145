//! What the PostgreSQL tests share: a database of their own on a real server, and the same
//! repositories on a real SQLite file for the conformance suite.
//!
//! The server is `PG_TEST_URL` (a URL whose role may `CREATE DATABASE`). Without it the
//! PostgreSQL half of a test is skipped, saying so; `.ci/run` starts the server and sets
//! `PG_TEST_REQUIRED=1`, which turns a missing server into a failure.

#![allow(dead_code)]

use std::sync::Arc;

use tokio_postgres::NoTls;
use wasmhook_store::Store;
use wasmhook_store::sealing::{MasterKey, Sealer};
use wasmhook_store_pg::PgStore;

/// The sealer every test store uses.
pub fn sealer() -> Arc<Sealer> {
    Arc::new(Sealer::new(MasterKey::from_bytes(&[7; 32]), None))
}

/// A database created for one test and dropped after it.
#[derive(Debug)]
pub struct TestDb {
    admin: String,
    name: String,
}

impl TestDb {
    /// `None` (the test is skipped, saying so) when no server is configured and none is required.
    pub async fn create() -> Option<Self> {
        let Ok(admin) = std::env::var("PG_TEST_URL") else {
            assert!(std::env::var_os("PG_TEST_REQUIRED").is_none(), "PG_TEST_REQUIRED is set but PG_TEST_URL is not");
            eprintln!("skipped: set PG_TEST_URL=postgres://… to run the PostgreSQL tests");
            return None;
        };
        let name = format!("wasmhook_test_{}", uuid::Uuid::new_v4().simple());
        execute(&admin, &format!("CREATE DATABASE {name}")).await;
        Some(Self { admin, name })
    }

    /// This database's URL.
    pub fn url(&self) -> String {
        let (base, _) = self.admin.rsplit_once('/').expect("the URL names a database");
        format!("{base}/{}", self.name)
    }

    /// Drops the database (connections still open to it are closed). Best effort, retried: a
    /// database left behind is only disk on a test server (`tests/postgres/start.sh` clears
    /// leftovers), and must not fail the test that used it.
    pub async fn drop_now(self) {
        let sql = format!("DROP DATABASE {} WITH (FORCE)", self.name);
        for _ in 0..5 {
            if connect(&self.admin).await.batch_execute(&sql).await.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        eprintln!("left database {} behind", self.name);
    }
}

/// A direct connection (not the store's pool), to look at or change rows behind its back.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

/// Runs `sql` on a fresh connection to `url`.
pub async fn execute(url: &str, sql: &str) {
    connect(url).await.batch_execute(sql).await.expect(sql);
}

/// A migrated PostgreSQL store on a database of its own, or `None` when skipped.
pub async fn postgres() -> Option<(PgStore, TestDb)> {
    let db = TestDb::create().await?;
    let store = PgStore::connect(&db.url(), 4, sealer()).await.expect("connect and migrate");
    Some((store, db))
}

/// A SQLite store on a file of its own.
pub fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("wasmhook.db"), sealer()).expect("open");
    (store, dir)
}

/// Runs one conformance case on both backends: `sqlite` and `postgres` tests named after it.
/// The case is an `async fn(&S)` generic over the store, bounded by the repositories it uses.
#[macro_export]
macro_rules! on_both {
    ($case:ident) => {
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                let (store, _dir) = $crate::support::sqlite();
                super::$case(&store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some((store, db)) = $crate::support::postgres().await else { return };
                super::$case(&store).await;
                drop(store);
                db.drop_now().await;
            }
        }
    };
}
