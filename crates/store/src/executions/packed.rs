//! An execution's large text — input, output, logs, outbound calls — as the stores keep it:
//! text below [`THRESHOLD`] bytes as is, longer text as a zstd frame when that is smaller.
//!
//! Why: a record of a 1 KiB webhook (input + output ≈ 2.3 KiB of JSON) filled one 4 KiB page
//! on its own — the next row did not fit beside it — so SQLite stored 4.4 KiB per execution
//! (`bench/run --only records`). Compressed, several rows share a page. SQLite has no column
//! compression of its own; PostgreSQL's TOAST compresses only rows over ≈ 2 KiB (a lower
//! `toast_tuple_target` does not start it on shorter ones, measured on PostgreSQL 15) and with
//! `pglz`, which left a GitHub-like 1.2 KiB body at 0.67 of its size where zstd leaves 0.44.
//! So both stores pack: SQLite keeps `TEXT` or a `BLOB` in the same column (rows written
//! before, as text, read as they always did); PostgreSQL keeps `bytea` and tells a frame from
//! text by [`FRAME_MAGIC`].
//! Packing runs on the caller's thread, before the write is queued: SQLite's writer thread
//! serializes every commit and must not pay for it.

use std::cell::RefCell;

use rusqlite::ToSql;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};

use super::NewExecution;

/// Text shorter than this is stored as it is: compressing it saves a few bytes at best, and
/// the common small output or empty log stays readable with the `sqlite3` shell.
pub const THRESHOLD: usize = 512;

/// The first four bytes of every zstd frame. Valid UTF-8 never starts with them (`0xB5` is a
/// continuation byte, which cannot follow the ASCII `(`), so stored bytes that start with them
/// are a frame and anything else is text.
pub const FRAME_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// zstd's fastest level that still entropy-codes literals. On a 1.2 KiB GitHub-like push event
/// (random hashes) level 1 took 4.5 µs per compress against level 3's 5.8, for a 562 B frame
/// against 565 (100,000 compressions each, one core); negative levels took 2.1 µs but skip
/// Huffman coding and left 780 B, so rows grow and the writer pays more than the caller saves
/// (`record_write` bench; README, Benchmarks, step 8).
const LEVEL: i32 = 1;

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

/// Why stored bytes could not be read back as text (corruption or a bug).
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// A frame's header claims more than [`MAX_UNPACKED`] bytes: not allocated for.
    #[error("a stored frame declares {0} bytes")]
    TooLarge(u64),
    /// Bytes that should be a frame do not carry one with its content size.
    #[error("a stored value is not a zstd frame with its size")]
    NotAFrame,
    /// zstd refused the frame.
    #[error("a stored frame does not decompress")]
    Decompress(#[source] std::io::Error),
    /// The text (stored or decompressed) is not UTF-8.
    #[error("a stored text is not UTF-8")]
    NotUtf8(#[source] std::string::FromUtf8Error),
}

/// Text ready to bind: as it is, or compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packed {
    /// Stored as SQLite `TEXT`, or as its UTF-8 in PostgreSQL's `bytea`.
    Text(String),
    /// A zstd frame (with its content size), stored as a SQLite `BLOB` or in `bytea`.
    Zstd(Vec<u8>),
}

impl Packed {
    /// Packs `text`: compressed when it is at least [`THRESHOLD`] long and the frame is smaller
    /// (even base64 of random bytes saves a fifth; only what is already compressed stays text).
    pub fn new(text: &str) -> Self {
        if text.len() < THRESHOLD {
            return Self::Text(text.to_owned());
        }
        match compress(text.as_bytes()) {
            Some(frame) if frame.len() < text.len() => Self::Zstd(frame),
            _ => Self::Text(text.to_owned()),
        }
    }

    /// The bytes to store: the text's UTF-8, or the frame ([`unpack`] tells them apart).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Zstd(frame) => frame,
        }
    }
}

/// Text from stored bytes of either kind: a frame (starts with [`FRAME_MAGIC`]) decompressed,
/// anything else read as UTF-8. For a backend with one byte type for both (`bytea`).
pub fn unpack(bytes: &[u8]) -> Result<String, UnpackError> {
    if bytes.starts_with(&FRAME_MAGIC) {
        decompress(bytes)
    } else {
        String::from_utf8(bytes.to_vec()).map_err(UnpackError::NotUtf8)
    }
}

/// The records' inputs, packed on the caller's thread. A doc's datasets share their delivery's
/// input: a run of equal inputs is compressed once.
pub fn pack_inputs(records: &[NewExecution]) -> Vec<Packed> {
    let mut packed: Vec<Packed> = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let next = match packed.last() {
            Some(previous) if records[i - 1].input == record.input => previous.clone(),
            _ => Packed::new(&record.input),
        };
        packed.push(next);
    }
    packed
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
        let text = match value {
            ValueRef::Null => return Ok(Self(None)),
            ValueRef::Text(text) => String::from_utf8(text.to_vec()).map_err(UnpackError::NotUtf8),
            ValueRef::Blob(frame) => decompress(frame),
            ValueRef::Integer(_) | ValueRef::Real(_) => return Err(FromSqlError::InvalidType),
        };
        text.map(|text| Self(Some(text))).map_err(|e| FromSqlError::Other(e.into()))
    }
}

fn decompress(frame: &[u8]) -> Result<String, UnpackError> {
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) if size <= MAX_UNPACKED => size,
        Ok(Some(size)) => return Err(UnpackError::TooLarge(size)),
        Ok(None) | Err(_) => return Err(UnpackError::NotAFrame),
    };
    let capacity = usize::try_from(size).map_err(|_| UnpackError::TooLarge(size))?;
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
    String::from_utf8(bytes.map_err(UnpackError::Decompress)?).map_err(UnpackError::NotUtf8)
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
    fn bytes_of_either_kind_unpack_to_the_text() {
        let long = format!(r#"{{"items":[{}]}}"#, r#"{"sku":"A-1","qty":2},"#.repeat(40));
        for text in [long.as_str(), "[]", "(short)"] {
            let packed = Packed::new(text);
            assert_eq!(unpack(packed.as_bytes()).expect("unpack"), text);
        }
        assert!(Packed::new(&long).as_bytes().starts_with(&FRAME_MAGIC));
        assert!(matches!(unpack(&[0xff, 0xfe]), Err(UnpackError::NotUtf8(_))));
        assert!(matches!(unpack(&FRAME_MAGIC), Err(UnpackError::NotAFrame)));
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
