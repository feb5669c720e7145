//! Uploaded components' bytes on PostgreSQL, content-addressed by digest, as the SQLite store
//! keeps them (`wasm_blobs`, `wasm_blob_chunks`; see `wasmhook_store::blobs`): chunks of
//! [`CHUNK_BYTES`], each its own statement, and a `wasm_blobs` row written last, by the
//! version that uses them. Chunks left by an upload that died midway are completed by the next
//! upload of the same bytes. PostgreSQL has no blobs stored whole (SQLite's before chunking).

use bytes::Bytes;
use deadpool_postgres::GenericClient;
use wasmhook_store::StoreError;
use wasmhook_store::blobs::CHUNK_BYTES;

use crate::pg::{self, RowExt};

/// A chunk number or count as its `bigint` column (SQLite's message when it does not fit).
fn chunk_number(n: usize) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Invalid("too many chunks".into()))
}

/// Writes the chunks of `bytes` unless the blob is sealed already; returns the chunk count
/// [`seal`] records. Each chunk commits on its own (a repeat is ignored: same digest, same
/// bytes), so a large upload holds no transaction open.
pub(super) async fn put(c: &impl GenericClient, digest: &str, bytes: &Bytes) -> Result<usize, StoreError> {
    let chunks = bytes.len().div_ceil(CHUNK_BYTES);
    if pg::query_opt(c, "SELECT 1 FROM wasm_blobs WHERE digest = $1", &[&digest]).await?.is_some() {
        return Ok(chunks);
    }
    for seq in 0..chunks {
        let chunk = &bytes[seq * CHUNK_BYTES..bytes.len().min((seq + 1) * CHUNK_BYTES)];
        pg::execute(
            c,
            "INSERT INTO wasm_blob_chunks (digest, seq, bytes) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&digest, &chunk_number(seq)?, &chunk],
        )
        .await?;
    }
    Ok(chunks)
}

/// Records the blob of `digest` as its `chunks` chunks, in the transaction of the version that
/// uses it (a blob sealed already stays as it is).
pub(super) async fn seal(c: &impl GenericClient, digest: &str, chunks: usize) -> Result<(), StoreError> {
    pg::execute(
        c,
        "INSERT INTO wasm_blobs (digest, chunks) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&digest, &chunk_number(chunks)?],
    )
    .await?;
    Ok(())
}

/// The bytes of a sealed blob, its chunks checked complete (SQLite's `Corrupt` messages).
pub(super) async fn read(c: &impl GenericClient, digest: &str) -> Result<Vec<u8>, StoreError> {
    let chunks: i64 = pg::query_opt(c, "SELECT chunks FROM wasm_blobs WHERE digest = $1", &[&digest])
        .await?
        .ok_or(StoreError::NotFound("wasm bytes"))?
        .at(0)?;
    if chunks == 0 {
        // SQLite returns the (empty) bytes stored whole without looking at chunks.
        return Ok(Vec::new());
    }
    let rows =
        pg::query(c, "SELECT seq, bytes FROM wasm_blob_chunks WHERE digest = $1 ORDER BY seq", &[&digest]).await?;
    let mut bytes = Vec::new();
    let mut seen = 0i64;
    for row in &rows {
        let seq: i64 = row.at(0)?;
        if seq != seen {
            return Err(StoreError::Corrupt(format!("wasm blob {digest}: chunk {seen} is missing")));
        }
        bytes.extend_from_slice(row.at::<&[u8]>(1)?);
        seen += 1;
    }
    if seen != chunks {
        return Err(StoreError::Corrupt(format!("wasm blob {digest}: {seen} of {chunks} chunks")));
    }
    Ok(bytes)
}
