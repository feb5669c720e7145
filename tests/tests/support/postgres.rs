//! The server tests on PostgreSQL. With `TEST_BACKEND=postgres` (and `PG_TEST_URL`, a URL
//! whose role may `CREATE DATABASE`; `tests/postgres/start.sh` prints both), every test server
//! keeps its data in a PostgreSQL database of its own instead of its SQLite file; unset, the
//! tests run on SQLite as always. `.ci/run` runs the server tests both ways.
//!
//! The database is named in the server's data dir (`postgres-url`), so a test that restarts a
//! server on the same data dir finds the same database, as it would find the same SQLite file.

use std::path::Path;

use tokio_postgres::{NoTls, SimpleQueryMessage};

const URL_FILE: &str = "postgres-url";

/// The master key test servers share on PostgreSQL (a `database_url` needs one in config).
pub const MASTER_KEY: &str = "0707070707070707070707070707070707070707070707070707070707070707";

/// Test servers' leases: short, so that a restart after a kill finds the dead process's work
/// within seconds (renewed every second).
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(3);

/// Whether this run puts the test servers on PostgreSQL.
pub fn enabled() -> bool {
    std::env::var("TEST_BACKEND").is_ok_and(|backend| backend == "postgres")
}

/// The database of the server on `data_dir`: the one named there, else a new one (named
/// there for a restart). `None` on the SQLite run.
pub fn database_url(data_dir: &Path) -> Option<String> {
    if !enabled() {
        return None;
    }
    let file = data_dir.join(URL_FILE);
    if let Ok(url) = std::fs::read_to_string(&file) {
        return Some(url);
    }
    let admin = std::env::var("PG_TEST_URL").expect("TEST_BACKEND=postgres needs PG_TEST_URL");
    let name = format!("wasmhook_test_{}", uuid::Uuid::new_v4().simple());
    run(&admin, format!("CREATE DATABASE {name}"));
    let (base, _) = admin.rsplit_once('/').expect("PG_TEST_URL names a database");
    let url = format!("{base}/{name}");
    std::fs::create_dir_all(data_dir).expect("data dir");
    std::fs::write(&file, &url).expect("write postgres-url");
    Some(url)
}

/// Makes the server on `to` use the database of the server on `from` (several nodes of one
/// cluster, each with its own data dir).
pub fn share_database(from: &Path, to: &Path) {
    let url = database_url(from).expect("TEST_BACKEND=postgres");
    std::fs::create_dir_all(to).expect("data dir");
    std::fs::write(to.join(URL_FILE), url).expect("write postgres-url");
}

/// The environment a `wasmhook` process on `data_dir` needs to use the same database as the
/// test servers there (empty on the SQLite run).
pub fn process_env(data_dir: &Path) -> Vec<(&'static str, String)> {
    database_url(data_dir).map_or_else(Vec::new, |url| {
        vec![
            ("WASMHOOK_DATABASE_URL", url),
            ("WASMHOOK_MASTER_KEY", MASTER_KEY.to_owned()),
            ("WASMHOOK_LEASE_MS", LEASE.as_millis().to_string()),
        ]
    })
}

/// Drops the database of the server on `data_dir`, if it has one (connections still open to
/// it are closed). Best effort: it runs from `Drop`, and an autovacuum worker (a superuser's
/// session, which the test role may not terminate) can hold the database for a moment; a
/// database left behind is only disk on a throwaway server.
pub fn drop_database(data_dir: &Path) {
    let Ok(url) = std::fs::read_to_string(data_dir.join(URL_FILE)) else { return };
    let (Ok(admin), Some((_, name))) = (std::env::var("PG_TEST_URL"), url.rsplit_once('/')) else { return };
    for _ in 0..5 {
        if try_run(&admin, format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    eprintln!("left database {name} behind (tests/postgres/start.sh drops leftovers)");
}

/// Runs one statement on its own thread and runtime: callers are sync (a config builder, a
/// `Drop`) and may be inside the test's runtime, where blocking on a future would panic.
fn run(url: &str, sql: String) {
    if let Err(error) = try_run(url, sql.clone()) {
        panic!("{sql}: {error}");
    }
}

fn try_run(url: &str, sql: String) -> Result<(), String> {
    simple_query(url, sql).map(drop)
}

/// Runs `sql` (one or more statements, parameters inlined) on a fresh connection to `url`,
/// on a thread and runtime of its own; its rows, each column as text (`None`: NULL).
pub fn simple_query(url: &str, sql: String) -> Result<Vec<Vec<Option<String>>>, String> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, NoTls).await.map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            let messages = client.simple_query(&sql).await.map_err(|e| e.to_string())?;
            Ok(messages
                .iter()
                .filter_map(|message| match message {
                    SimpleQueryMessage::Row(row) => {
                        Some((0..row.len()).map(|i| row.get(i).map(str::to_owned)).collect())
                    }
                    _ => None,
                })
                .collect())
        })
    })
    .join()
    .map_err(|_| "the statement's thread panicked".to_owned())?
}
