//! An execution's large text — input, output, logs, outbound calls — as SQLite keeps it:
//! text below [`THRESHOLD`] bytes as is, longer text as a zstd frame in a BLOB when that is
//! smaller.
//!
//! Why: a record of a 1 KiB webhook (input + output ≈ 2.3 KiB of JSON) filled one 4 KiB page
//! on its own — the next row did not fit beside it — so SQLite stored 4.4 KiB per execution
//! (`bench/run --only records`). Compressed, several rows share a page. SQLite has no column
//! compression of its own (PostgreSQL's TOAST compresses such values itself, so its store does
//! not use this). The columns keep their `TEXT` declaration: a BLOB in a `TEXT` column stays a
//! BLOB, so rows written before (text) read as they always did and no migration rewrites them.
//! Packing runs on the caller's thread, before the write is queued: the writer thread
//! serializes every commit and must not pay for it.

use std::cell::RefCell;

use rusqlite::ToSql;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};

/// Text shorter than this is stored as it is: compressing it saves a few bytes at best, and
/// the common small output or empty log stays readable with the `sqlite3` shell.
pub(crate) const THRESHOLD: usize = 512;

/// zstd's default level: on JSON of 1–4 KiB it compresses within a few percent of level 9 at
/// ≈ 4× its speed (the measured cost is in the README's Benchmarks).
const LEVEL: i32 = 3;

/// The largest text a stored frame may declare. Nothing wasmhook writes comes near it (bodies
/// are capped at `max_body_bytes`); a frame claiming more is corrupt and is not allocated for.
const MAX_UNPACKED: u64 = 1 << 30;

thread_local! {
    /// One compression context per thread, reused: creating one per record costs more than
    /// compressing a small record.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    /// Likewise for reads: a fresh context made decompressing 1.3 KiB take 11 µs instead of 2.
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Text ready to bind: as it is, or compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Packed {
    /// Stored as `TEXT`.
    Text(String),
    /// A zstd frame (with its content size) stored as a `BLOB`.
    Zstd(Vec<u8>),
}

impl Packed {
    /// Packs `text`: compressed when it is at least [`THRESHOLD`] long and the frame is smaller
    /// (even base64 of random bytes saves a fifth; only what is already compressed stays text).
    pub(crate) fn new(text: &str) -> Self {
        if text.len() < THRESHOLD {
            return Self::Text(text.to_owned());
        }
        match compress(text.as_bytes()) {
            Some(frame) if frame.len() < text.len() => Self::Zstd(frame),
            _ => Self::Text(text.to_owned()),
        }
    }
}

fn compress(bytes: &[u8]) -> Option<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = zstd::bulk::Compressor::new(LEVEL).ok();
        }
        // A failure (out of memory) stores the text uncompressed: never worth losing a record.
        slot.as_mut()?.compress(bytes).ok()
    })
}

impl ToSql for Packed {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Self::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Self::Zstd(frame) => ToSqlOutput::Borrowed(ValueRef::Blob(frame)),
        })
    }
}

/// A column read back as text, whichever way it was stored; `None` for `NULL`.
#[derive(Debug)]
pub(crate) struct Unpacked(pub(crate) Option<String>);

impl FromSql for Unpacked {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Null => Ok(Self(None)),
            ValueRef::Text(text) => {
                String::from_utf8(text.to_vec()).map(|text| Self(Some(text))).map_err(|e| FromSqlError::Other(e.into()))
            }
            ValueRef::Blob(frame) => decompress(frame).map(|text| Self(Some(text))),
            ValueRef::Integer(_) | ValueRef::Real(_) => Err(FromSqlError::InvalidType),
        }
    }
}

fn decompress(frame: &[u8]) -> FromSqlResult<String> {
    let other = |message: String| FromSqlError::Other(message.into());
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) if size <= MAX_UNPACKED => size,
        Ok(Some(size)) => return Err(other(format!("a stored frame declares {size} bytes"))),
        Ok(None) | Err(_) => return Err(other("a stored BLOB is not a zstd frame with its size".to_owned())),
    };
    let capacity = usize::try_from(size).map_err(|e| FromSqlError::Other(e.into()))?;
    let bytes = DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new()?);
        }
        match slot.as_mut() {
            Some(decompressor) => decompressor.decompress(frame, capacity),
            None => Err(std::io::Error::other("no zstd context")),
        }
    });
    String::from_utf8(bytes.map_err(|e| FromSqlError::Other(e.into()))?).map_err(|e| FromSqlError::Other(e.into()))
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    fn round_trip(conn: &Connection, packed: &Packed) -> (String, Option<String>) {
        conn.query_row("SELECT typeof(?1), ?1", [packed], |row| Ok((row.get(0)?, row.get::<_, Unpacked>(1)?.0)))
            .expect("round trip")
    }

    #[test]
    fn long_json_is_stored_compressed_and_reads_back_verbatim() {
        let conn = Connection::open_in_memory().expect("open");
        let json = format!(r#"{{"event":"order.created","items":[{}]}}"#, r#"{"sku":"A-1","qty":2},"#.repeat(60));
        let packed = Packed::new(&json);
        let Packed::Zstd(frame) = &packed else { panic!("{} bytes of JSON stayed text", json.len()) };
        assert!(frame.len() * 4 < json.len(), "{} -> {} bytes", json.len(), frame.len());
        assert_eq!(round_trip(&conn, &packed), ("blob".to_owned(), Some(json)));
    }

    #[test]
    fn short_text_stays_text() {
        let conn = Connection::open_in_memory().expect("open");
        let short = r#"{"ok":true}"#.to_owned();
        assert_eq!(round_trip(&conn, &Packed::new(&short)), ("text".to_owned(), Some(short)));
    }

    #[test]
    fn rows_written_as_text_before_read_as_before_and_null_is_none() {
        let conn = Connection::open_in_memory().expect("open");
        let old: Unpacked = conn.query_row("SELECT 'plain text'", [], |row| row.get(0)).expect("text");
        assert_eq!(old.0.as_deref(), Some("plain text"));
        let null: Unpacked = conn.query_row("SELECT NULL", [], |row| row.get(0)).expect("null");
        assert_eq!(null.0, None);
    }

    #[test]
    fn a_blob_that_is_not_a_frame_is_an_error_not_a_panic() {
        let conn = Connection::open_in_memory().expect("open");
        let read = conn.query_row("SELECT x'00ff00ff'", [], |row| row.get::<_, Unpacked>(0));
        assert!(read.is_err());
        // A frame header that declares 2^40 bytes is refused before any allocation.
        // (magic, a descriptor saying "single segment, 8-byte content size", the size)
        let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
        frame.extend_from_slice(&(1_u64 << 40).to_le_bytes());
        assert!(conn.query_row("SELECT ?1", [&frame], |row| row.get::<_, Unpacked>(0)).is_err());
    }
}
