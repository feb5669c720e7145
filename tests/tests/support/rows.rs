//! Looking at (and tampering with) a test server's rows behind its back, on whichever backend
//! it runs (see `postgres.rs`). Statements are written once for both: parameters are `$1`,
//! `$2`, … and are inlined as quoted literals, which SQLite compares with its text columns and
//! PostgreSQL casts to the column's type (`uuid`, `bigint`, …). Test values only.

use std::path::Path;

use wasmhook_store::executions::packed::unpack;

/// One row, each column as text (`None`: NULL).
pub type Row = Vec<Option<String>>;

/// `sql` with `$n` replaced by `params[n - 1]` as a quoted literal (highest numbers first, so
/// `$1` does not eat the start of `$10`).
fn inline(sql: &str, params: &[&str]) -> String {
    let mut text = sql.to_owned();
    for (index, value) in params.iter().enumerate().rev() {
        text = text.replace(&format!("${}", index + 1), &format!("'{}'", value.replace('\'', "''")));
    }
    text
}

/// Whether the server on `data_dir` keeps its data in PostgreSQL.
pub fn on_postgres_backend(data_dir: &Path) -> bool {
    data_dir.join("postgres-url").exists()
}

/// The SQL expression reading `path` inside the JSON text in `column` (a packed execution
/// column holding text: under 512 bytes), in the server's backend's dialect (SQLite's
/// `json_extract`, PostgreSQL's `#>>` on the `bytea`'s UTF-8).
pub fn json_field(data_dir: &Path, column: &str, path: &[&str]) -> String {
    if on_postgres_backend(data_dir) {
        format!("(convert_from({column}, 'UTF8')::json #>> '{{{}}}')", path.join(","))
    } else {
        format!("json_extract({column}, '$.{}')", path.join("."))
    }
}

/// The executions' packed columns (`wasmhook_store::executions::packed`), unpacked: what a
/// zstd frame holds is not in the files' or rows' bytes as written.
fn unpacked_columns(data_dir: &Path) -> Vec<u8> {
    let hex = |column: &str| {
        if on_postgres_backend(data_dir) { format!("encode({column}, 'hex')") } else { format!("hex({column})") }
    };
    let sql = format!("SELECT {} FROM executions", ["output", "logs", "input", "outbound"].map(hex).join(", "));
    let mut text = Vec::new();
    for value in query(data_dir, &sql, &[]).into_iter().flatten().flatten() {
        let bytes = hex::decode(value).expect("hex");
        text.extend(unpack(&bytes).expect("a packed column").into_bytes());
    }
    text
}

/// Everything the server's database holds, as bytes to search for what must not be there:
/// the SQLite files (with their WAL), or every row of every PostgreSQL table as text; and the
/// executions' packed columns unpacked.
pub fn stored_bytes(data_dir: &Path) -> Vec<u8> {
    let mut bytes = raw_bytes(data_dir);
    bytes.extend(unpacked_columns(data_dir));
    bytes
}

fn raw_bytes(data_dir: &Path) -> Vec<u8> {
    if on_postgres_backend(data_dir) {
        let tables = query(
            data_dir,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
            &[],
        );
        let mut bytes = Vec::new();
        for table in tables.into_iter().filter_map(|row| row.into_iter().next().flatten()) {
            for row in query(data_dir, &format!("SELECT t::text FROM {table} t"), &[]) {
                bytes.extend(row.into_iter().flatten().flat_map(String::into_bytes));
            }
        }
        assert!(!bytes.is_empty(), "the database holds rows");
        return bytes;
    }
    // A stopped server's last SQLite connection may still be closing: it checkpoints the WAL
    // into the main file and then deletes `-wal` and `-shm`, so a file listed here can be gone
    // when it is read. Then the main file read before may predate that checkpoint: read the
    // whole set again until one listing reads through.
    for _ in 0..50 {
        if let Some(bytes) = sqlite_files(data_dir) {
            assert!(!bytes.is_empty(), "the SQLite files exist");
            return bytes;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the SQLite files kept vanishing while read");
}

/// The bytes of every `wasmhook.sqlite3*` file in `data_dir`; `None` if one vanished mid-read.
fn sqlite_files(data_dir: &Path) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(data_dir).expect("data dir") {
        let path = entry.expect("entry").path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("wasmhook.sqlite3")) {
            match std::fs::read(&path) {
                Ok(content) => bytes.extend(content),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
                Err(e) => panic!("read {}: {e}", path.display()),
            }
        }
    }
    Some(bytes)
}

/// Runs `sql` on the server's database; its rows.
pub fn query(data_dir: &Path, sql: &str, params: &[&str]) -> Vec<Row> {
    let sql = inline(sql, params);
    match std::fs::read_to_string(data_dir.join("postgres-url")) {
        Ok(url) => on_postgres(url, sql),
        Err(_) => on_sqlite(&data_dir.join("wasmhook.sqlite3"), &sql),
    }
}

/// Runs `sql` for its effect.
pub fn execute(data_dir: &Path, sql: &str, params: &[&str]) {
    query(data_dir, sql, params);
}

/// The first column of the first row, as a number (`COUNT(*)`, a timestamp, …).
pub fn number(data_dir: &Path, sql: &str, params: &[&str]) -> Option<i64> {
    let rows = query(data_dir, sql, params);
    rows.first()?.first()?.as_ref().map(|text| text.parse().expect("a number"))
}

/// The first column of the first row, as text.
pub fn text(data_dir: &Path, sql: &str, params: &[&str]) -> Option<String> {
    query(data_dir, sql, params).into_iter().next()?.into_iter().next()?
}

fn on_sqlite(path: &Path, sql: &str) -> Vec<Row> {
    use rusqlite::types::ValueRef;
    let conn = rusqlite::Connection::open(path).expect("open the SQLite file");
    let mut statement = conn.prepare(sql).expect(sql);
    let columns = statement.column_count();
    let mut rows = statement.query([]).expect(sql);
    let mut found = Vec::new();
    while let Some(row) = rows.next().expect(sql) {
        found.push(
            (0..columns)
                .map(|i| match row.get_ref(i).expect("column") {
                    ValueRef::Null => None,
                    ValueRef::Integer(n) => Some(n.to_string()),
                    ValueRef::Real(x) => Some(x.to_string()),
                    ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
                })
                .collect(),
        );
    }
    found
}

fn on_postgres(url: String, sql: String) -> Vec<Row> {
    super::postgres::simple_query(&url, sql.clone()).unwrap_or_else(|error| panic!("{sql}: {error}"))
}
