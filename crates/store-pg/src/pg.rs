//! What every repository uses: statements prepared once per connection, PostgreSQL's errors
//! mapped to the backend-neutral [`StoreError`] the SQLite store returns (the driver's error
//! kept as the source), and column reads that fail instead of panicking.

use std::sync::Arc;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};
use wasmhook_store::StoreError;

/// Statement parameters.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A failed statement. PostgreSQL's `text` cannot hold NUL, which SQLite stores: a name or
/// key carrying one is the caller's mistake (`Invalid`), not a server fault.
pub(crate) fn db(error: tokio_postgres::Error) -> StoreError {
    if error.code() == Some(&SqlState::CHARACTER_NOT_IN_REPERTOIRE) {
        return StoreError::Invalid("text must not contain the NUL character (\\u0000)".to_owned());
    }
    StoreError::Database(Arc::new(error))
}

/// A failed `COMMIT`: nothing of the transaction was written.
pub(crate) fn commit(error: tokio_postgres::Error) -> StoreError {
    StoreError::Commit(Arc::new(error))
}

/// No connection could be had (the server is down, refused us, or the pool timed out).
pub(crate) fn pool(error: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Database(Arc::new(error))
}

/// A count or size the database keeps as `bigint`.
pub(crate) fn to_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A `bigint` count back to a size (negative ones, which no row holds, read as 0).
pub(crate) fn to_usize(value: i64) -> usize {
    usize::try_from(value).unwrap_or(0)
}

/// Runs `sql` (prepared once per connection) and returns its rows.
pub(crate) async fn query(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Vec<Row>, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(db)?;
    c.query(&statement, params).await.map_err(db)
}

/// Runs `sql` and returns its only row, if any (more than one is a bug: `Database`).
pub(crate) async fn query_opt(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(db)?;
    c.query_opt(&statement, params).await.map_err(db)
}

/// Runs `sql` and returns its one row.
pub(crate) async fn query_one(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Row, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(db)?;
    c.query_one(&statement, params).await.map_err(db)
}

/// Runs `sql` and returns how many rows it changed.
pub(crate) async fn execute(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(db)?;
    c.execute(&statement, params).await.map_err(db)
}

/// Typed column reads: `tokio_postgres::Row::get` panics on a type mismatch, these return
/// `Corrupt` instead.
pub(crate) trait RowExt {
    /// Column `idx` as `T`.
    fn at<'a, T: FromSql<'a>>(&'a self, idx: usize) -> Result<T, StoreError>;
}

impl RowExt for Row {
    fn at<'a, T: FromSql<'a>>(&'a self, idx: usize) -> Result<T, StoreError> {
        self.try_get(idx).map_err(|e| StoreError::Corrupt(format!("column {idx}: {e}")))
    }
}
