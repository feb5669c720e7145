//! Migrations against a real PostgreSQL server: each test gets a database of its own, created
//! from `PG_TEST_URL` (a URL whose role may `CREATE DATABASE`; `.ci/run` starts the server
//! and sets it, with `PG_TEST_REQUIRED=1` so that a missing server fails instead of skipping).

mod support;

use futures::future::join_all;
use support::{TestDb, connect, sealer};
use uuid::Uuid;
use wasmhook_domain::ids::{ExecutionId, TeamId};
use wasmhook_store::repo::ExecutionRepo;
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

/// The schema as version 5 left it, where an execution's large columns were `text`.
const UP_TO_VERSION_5: [&str; 5] = [
    include_str!("../src/migrations/v001_schema.sql"),
    include_str!("../src/migrations/v002_cache_notify.sql"),
    include_str!("../src/migrations/v003_creation_order.sql"),
    include_str!("../src/migrations/v004_dashboard.sql"),
    include_str!("../src/migrations/v005_ascending_indexes.sql"),
];

/// Version 6 turns the text columns into packed `bytea`: a record written before it (JSON
/// text, non-ASCII included) reads back the same after the upgrade.
#[tokio::test]
async fn records_written_as_text_before_version_6_read_back_the_same() {
    let Some(db) = TestDb::create().await else { return };
    let client = connect(&db.url()).await;
    client
        .batch_execute("CREATE TABLE schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)")
        .await
        .expect("ledger");
    for (version, sql) in (1_i64..).zip(UP_TO_VERSION_5) {
        client.batch_execute(sql).await.expect("an old version");
        client.execute("INSERT INTO schema_migrations VALUES ($1, 'old', 0)", &[&version]).await.expect("ledger row");
    }
    let (team, id) = (Uuid::new_v4(), Uuid::new_v4());
    let output = format!(r#"{{"note":"Größe","pad":"{}"}}"#, "x".repeat(900));
    let logs = r#"[{"stream":"stdout","level":"info","message":"héllo"}]"#;
    let input = r#"{"data":{"n":1},"env":{}}"#;
    client
        .execute(
            "INSERT INTO executions (id, team_id, block_id, block_version, trigger, status, output, logs, input, created_at)
             VALUES ($1, $2, $3, 1, 'v2', 'succeeded', $4, $5, $6, 1)",
            &[&id, &team, &Uuid::new_v4(), &output, &logs, &input],
        )
        .await
        .expect("an old record");

    let store = PgStore::connect(&db.url(), 1, sealer()).await.expect("upgrade");
    assert_eq!(store.schema_version().await.expect("version"), KNOWN_VERSION);
    let shown = store.get(TeamId::from(team), ExecutionId::from(id)).await.expect("the old record");
    assert_eq!(shown.output.as_ref().map(|o| o.get()), Some(output.as_str()));
    assert_eq!(shown.input.as_ref().map(|i| i.get()), Some(input));
    assert_eq!(shown.logs.len(), 1);
    assert_eq!(shown.logs[0].message, "héllo");
    drop((store, client));
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
