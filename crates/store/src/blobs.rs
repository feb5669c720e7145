//! Uploaded components' bytes, kept so a block can be recompiled when its artifact is gone.
//!
//! A component (up to `max_wasm_bytes`, 64 MiB) is stored in chunks of [`CHUNK_BYTES`], each
//! its own job of the single writer. Written whole, one blob held the writer for the time
//! SQLite needed to write it: every sync-run record and async accept behind it waited. In
//! chunks, other jobs run between them. The `wasm_blobs` row, which makes the chunks a
//! blob, is written last, with the version that uses it; chunks left by an upload that died
//! midway are completed by the next upload of the same bytes.

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreError};

/// Bytes per chunk, so one writer job stays in the low milliseconds.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Whether the blob of `digest` is stored whole.
pub(crate) fn exists(conn: &Connection, digest: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row("SELECT 1 FROM wasm_blobs WHERE digest = ?1", [digest], |_| Ok(())).optional()?.is_some())
}

/// Writes chunk `seq` of `digest` (a repeat is ignored: same digest, same bytes).
fn put_chunk(conn: &Connection, digest: &str, seq: usize, bytes: &[u8]) -> Result<(), StoreError> {
    let seq = i64::try_from(seq).map_err(|_| StoreError::Invalid("too many chunks".into()))?;
    conn.prepare_cached("INSERT OR IGNORE INTO wasm_blob_chunks (digest, seq, bytes) VALUES (?1, ?2, ?3)")?
        .execute(params![digest, seq, bytes])?;
    Ok(())
}

/// Records the blob of `digest` as its `chunks` chunks (call after they are written, in the
/// same job as the version that uses it).
pub(crate) fn seal(conn: &Connection, digest: &str, chunks: usize) -> Result<(), StoreError> {
    let chunks = i64::try_from(chunks).map_err(|_| StoreError::Invalid("too many chunks".into()))?;
    conn.execute(
        "INSERT OR IGNORE INTO wasm_blobs (digest, bytes, chunks) VALUES (?1, x'', ?2)",
        params![digest, chunks],
    )?;
    Ok(())
}

/// The bytes of `digest`: from its chunks, or from the row itself (blobs stored whole
/// before chunking).
pub(crate) fn read(conn: &Connection, digest: &str) -> Result<Vec<u8>, StoreError> {
    let (whole, chunks): (Vec<u8>, i64) = conn
        .query_row("SELECT bytes, chunks FROM wasm_blobs WHERE digest = ?1", [digest], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?
        .ok_or(StoreError::NotFound("wasm bytes"))?;
    if chunks == 0 {
        return Ok(whole);
    }
    let mut stmt = conn.prepare_cached("SELECT seq, bytes FROM wasm_blob_chunks WHERE digest = ?1 ORDER BY seq")?;
    let mut bytes = Vec::new();
    let mut seen = 0i64;
    for row in stmt.query_map([digest], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?)))? {
        let (seq, chunk) = row?;
        if seq != seen {
            return Err(StoreError::Corrupt(format!("wasm blob {digest}: chunk {seen} is missing")));
        }
        bytes.extend_from_slice(&chunk);
        seen += 1;
    }
    if seen != chunks {
        return Err(StoreError::Corrupt(format!("wasm blob {digest}: {seen} of {chunks} chunks")));
    }
    Ok(bytes)
}

impl Store {
    /// Writes the chunks of a component's bytes, each as its own writer job, unless the blob
    /// is stored already. Returns the chunk count to [`seal`] it with.
    pub(crate) async fn put_wasm_chunks(&self, digest: &str, bytes: &Bytes) -> Result<usize, StoreError> {
        let chunks = bytes.len().div_ceil(CHUNK_BYTES);
        let owned = digest.to_owned();
        if self.read(move |conn| exists(conn, &owned)).await? {
            return Ok(chunks);
        }
        for seq in 0..chunks {
            let chunk = bytes.slice(seq * CHUNK_BYTES..bytes.len().min((seq + 1) * CHUNK_BYTES));
            let digest = digest.to_owned();
            self.write(move |conn| put_chunk(conn, &digest, seq, &chunk)).await?;
        }
        Ok(chunks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A 48 MiB blob is written as 48 writer jobs: a small write issued meanwhile commits
    /// while the blob is still being written, and the blob reads back exact.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_blob_does_not_hold_the_writer_and_reads_back_exact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db.sqlite3"), crate::sealing::test_sealer()).expect("store");
        let bytes = Bytes::from((0..48 * CHUNK_BYTES).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
        let digest = "d1".to_owned();
        let writing = {
            let (store, bytes, digest) = (store.clone(), bytes.clone(), digest.clone());
            tokio::spawn(async move { store.put_wasm_chunks(&digest, &bytes).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let asked = Instant::now();
        store.write(|_| Ok(())).await.expect("a small write");
        let waited = asked.elapsed();
        assert!(!writing.is_finished(), "the small write committed between chunks ({waited:?})");
        let chunks = writing.await.expect("task").expect("chunks written");
        assert_eq!(chunks, 48);
        let sealed = digest.clone();
        store.write(move |conn| seal(conn, &sealed, chunks)).await.expect("sealed");
        let read_back = store.read(move |conn| read(conn, &digest)).await.expect("read");
        assert!(read_back == bytes.as_ref(), "exact bytes");
    }

    #[tokio::test]
    async fn a_blob_with_a_missing_chunk_is_reported_corrupt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db.sqlite3"), crate::sealing::test_sealer()).expect("store");
        let err = store
            .write(|conn| {
                put_chunk(conn, "d2", 0, b"a")?;
                put_chunk(conn, "d2", 2, b"c")?;
                seal(conn, "d2", 3)?;
                read(conn, "d2")
            })
            .await
            .expect_err("chunk 1 is missing");
        assert!(err.to_string().contains("chunk 1"), "{err}");
    }
}
