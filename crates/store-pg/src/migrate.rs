//! Versioned migrations, run by every node at start. Each version is applied in a transaction
//! of its own that first takes `pg_advisory_xact_lock(CLASS, MIGRATE)`: a node that starts while
//! another migrates waits, then finds the version applied and does nothing. A transaction-scoped
//! lock cannot outlive its transaction, so it cannot leak on a pooled connection. DDL is
//! transactional in PostgreSQL: a failed version leaves nothing behind.

use tokio_postgres::{Client, GenericClient};

use crate::{PgError, locks};

/// One schema version.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "schema", sql: include_str!("migrations/v001_schema.sql") },
    Migration { version: 2, name: "cache notifications", sql: include_str!("migrations/v002_cache_notify.sql") },
    Migration { version: 3, name: "creation order", sql: include_str!("migrations/v003_creation_order.sql") },
    Migration { version: 4, name: "dashboard", sql: include_str!("migrations/v004_dashboard.sql") },
    Migration { version: 5, name: "ascending indexes", sql: include_str!("migrations/v005_ascending_indexes.sql") },
    Migration { version: 6, name: "packed columns", sql: include_str!("migrations/v006_packed_columns.sql") },
];

/// The newest schema version this binary knows.
pub const KNOWN_VERSION: i64 = MIGRATIONS.len() as i64;

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version bigint PRIMARY KEY,
    name text NOT NULL,
    applied_at bigint NOT NULL
)";

/// Brings the schema to [`KNOWN_VERSION`]; returns how many versions this call applied.
pub(crate) async fn run(client: &mut Client) -> Result<usize, PgError> {
    let mut applied = 0;
    loop {
        let tx = client.transaction().await?;
        tx.batch_execute("SET LOCAL lock_timeout = '60s'").await?;
        tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&locks::CLASS, &locks::MIGRATE]).await?;
        // Created under the lock: two concurrent `CREATE TABLE IF NOT EXISTS` can both fail.
        tx.batch_execute(CREATE_LEDGER).await?;
        let current = current(&tx).await?;
        if current > KNOWN_VERSION {
            return Err(PgError::NewerSchema { found: current, known: KNOWN_VERSION });
        }
        let Some(next) = MIGRATIONS.iter().find(|m| m.version == current + 1) else {
            tx.commit().await?;
            return Ok(applied);
        };
        tx.batch_execute(next.sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at)
             VALUES ($1, $2, (extract(epoch FROM now()) * 1000)::bigint)",
            &[&next.version, &next.name],
        )
        .await?;
        tx.commit().await?;
        applied += 1;
    }
}

/// The version recorded in the ledger (0 before the first migration).
pub(crate) async fn current(client: &impl GenericClient) -> Result<i64, PgError> {
    let exists: bool = client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).await?.get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]).await?.get(0))
}
