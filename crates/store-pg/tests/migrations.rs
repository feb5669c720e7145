//! Migrations against a real PostgreSQL server: each test gets a database of its own, created
//! from `PG_TEST_URL` (a URL whose role may `CREATE DATABASE`; `.ci/run` starts the server
//! and sets it, with `PG_TEST_REQUIRED=1` so that a missing server fails instead of skipping).

mod support;

use futures::future::join_all;
use support::{TestDb, connect, sealer};
use wasmhook_store_pg::{KNOWN_VERSION, PgError, PgStore};

#[tokio::test]
async fn a_fresh_database_gets_every_table_and_a_second_start_changes_nothing() {
    let Some(db) = TestDb::create().await else { return };
    let store = PgStore::connect(&db.url(), 4, sealer()).await.expect("first start");
    assert_eq!(store.schema_version().await.expect("version"), KNOWN_VERSION);

    let client = connect(&db.url()).await;
    let tables: Vec<String> = client
        .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'", &[])
        .await
        .expect("tables")
        .iter()
        .map(|row| row.get(0))
        .collect();
    for table in [
        "teams",
        "users",
        "api_keys",
        "wasm_blobs",
        "wasm_blob_chunks",
        "blocks",
        "block_versions",
        "docs",
        "datasets",
        "executions",
        "deliveries",
        "webhooks",
        "removed_webhooks",
        "secrets",
        "kv",
        "kv_usage",
        "callbacks",
        "callback_messages",
        "replay_jobs",
        "cluster_jobs",
        "schema_migrations",
    ] {
        assert!(tables.iter().any(|t| t == table), "{table} missing from {tables:?}");
    }
    let descending: Vec<String> = client
        .query("SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE '%DESC%'", &[])
        .await
        .expect("indexes")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(descending.is_empty(), "new rows land in a DESC index's leftmost, half-filled leaf: {descending:?}");
    let ledger = "SELECT count(*), max(applied_at) FROM schema_migrations";
    let before = client.query_one(ledger, &[]).await.expect("ledger");
    drop(store);
    PgStore::connect(&db.url(), 4, sealer()).await.expect("second start");
    let after = client.query_one(ledger, &[]).await.expect("ledger");
    assert_eq!(before.get::<_, i64>(0), KNOWN_VERSION, "one ledger row per version");
    assert_eq!(
        (after.get::<_, i64>(0), after.get::<_, i64>(1)),
        (before.get::<_, i64>(0), before.get::<_, i64>(1)),
        "a second start applies nothing"
    );
    drop(client);
    db.drop_now().await;
}

/// Nodes of a cluster start together: each version is applied once, and every node starts.
#[tokio::test]
async fn four_nodes_starting_at_once_migrate_once() {
    let Some(db) = TestDb::create().await else { return };
    let url = db.url();
    let starts = join_all((0..4).map(|_| PgStore::connect(&url, 2, sealer()))).await;
    for start in &starts {
        assert!(start.is_ok(), "{start:?}");
    }
    let client = connect(&url).await;
    let rows: i64 = client.query_one("SELECT count(*) FROM schema_migrations", &[]).await.expect("ledger").get(0);
    assert_eq!(rows, KNOWN_VERSION);
    drop((starts, client));
    db.drop_now().await;
}

/// A binary older than the database must not write to it.
#[tokio::test]
async fn a_database_from_a_newer_wasmhook_is_refused() {
    let Some(db) = TestDb::create().await else { return };
    drop(PgStore::connect(&db.url(), 1, sealer()).await.expect("migrate"));
    let client = connect(&db.url()).await;
    client.batch_execute("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)").await.expect("insert");
    match PgStore::connect(&db.url(), 1, sealer()).await {
        Err(PgError::NewerSchema { found: 99, known }) => assert_eq!(known, KNOWN_VERSION),
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    drop(client);
    db.drop_now().await;
}

#[tokio::test]
async fn a_url_that_is_not_postgres_is_a_clear_error() {
    let error = PgStore::connect("not a url=", 1, sealer()).await.expect_err("refused");
    assert!(matches!(error, PgError::Url(_)), "{error:?}");
}
