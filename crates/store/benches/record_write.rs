//! What one sync run's durable record costs the machine, measured at the store (#20).
//!
//! `cargo bench -p wasmhook-store --bench record_write`. Opens a fresh SQLite store and queues
//! RECORDS finished v4 executions through [`ExecutionRepo::record_detached`] — the call v4's
//! sync path makes after answering — then flushes. Each record is what v4 keeps of a 1 KiB
//! echo: a GitHub-like push event (random hashes, so it compresses like real traffic) as
//! `{"data": …, "env": {}}`, the same event as output, a doc and dataset. Prints, per record,
//! the CPU time of the writer thread, of the caller (the main thread: building the record as
//! the bench does, packing and queueing it) and of the store's checkpoint threads, read from
//! `/proc/self/task/*/schedstat` (nanoseconds), and the wall time. Run it pinned to
//! one core (`taskset -c 0`) to see it as the bench's single server core sees it; `bench/run
//! --only records` does. Environment: RECORDS (50000), ROUNDS (3).

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmhook_domain::ids::{BlockId, DocId, TeamId};
use wasmhook_domain::{Logs, Outcome};
use wasmhook_store::executions::ExecutionSpec;
use wasmhook_store::repo::{ExecutionRepo, Finished, FollowUp};
use wasmhook_store::sealing::{MasterKey, Sealer};
use wasmhook_store::{ExecutionStatus, NewExecution, Store, Trigger, now_ms};

/// The store's writer thread's name (`/proc/self/task/*/comm`).
const WRITER: &str = "wasmhook-writer";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// CPU nanoseconds of this process's threads: (the main thread, the store's writer, every
/// other thread — the store's checkpoint threads).
fn cpu_by_role() -> (u64, u64, u64) {
    let (mut main, mut writer, mut other) = (0, 0, 0);
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return (0, 0, 0) };
    let pid = std::process::id().to_string();
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
            .unwrap_or(0);
        if task.file_name().to_str() == Some(pid.as_str()) {
            main += ns;
        } else if name.trim() == WRITER {
            writer += ns;
        } else {
            other += ns;
        }
    }
    (main, writer, other)
}

/// The database's used bytes (its pages less the free ones), the WAL checkpointed into it.
/// Opened after the store is dropped (everything flushed); the store's checkpoint thread may
/// still be finishing a pass, so the checkpoint here waits for its lock.
fn stored_bytes(path: &std::path::Path) -> anyhow::Result<u64> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let pragma = |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, u64>(0));
    Ok((pragma("page_count")? - pragma("freelist_count")?) * pragma("page_size")?)
}

/// A ~1 KiB push event with pseudo-random hashes (a fixed seed: every run stores the same).
fn push_event() -> String {
    let mut seed: u64 = 20;
    let mut hex = |n: usize| -> String {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                char::from(b"0123456789abcdef"[(seed >> 60) as usize])
            })
            .collect()
    };
    let commits: Vec<String> = (0..3)
        .map(|i| {
            format!(
                r#"{{"id":"{}","tree_id":"{}","distinct":true,"message":"Fix the writer ({i})","timestamp":"2026-12-03T09:00:00Z","author":{{"name":"Octo Cat","username":"octocat"}},"added":[],"removed":[],"modified":["crates/store/src/{}.rs"]}}"#,
                hex(40),
                hex(40),
                hex(6)
            )
        })
        .collect();
    format!(
        r#"{{"ref":"refs/heads/main","before":"{}","after":"{}","repository":{{"id":48151623,"name":"wasmhook","full_name":"acme/wasmhook","private":false,"default_branch":"main"}},"pusher":{{"name":"octocat","email":"octocat@example.com"}},"commits":[{}]}}"#,
        hex(40),
        hex(40),
        commits.join(",")
    )
}

fn main() -> anyhow::Result<()> {
    let records = env_or("RECORDS", 50_000);
    let rounds = env_or("ROUNDS", 3);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let event = push_event();
    let input = format!(r#"{{"data":{event},"env":{{}}}}"#);
    println!("record_write: {records} v4 records of a {} B event per round, {rounds} rounds", event.len());
    let mut rows = Vec::new();
    for round in 1..=rounds {
        let dir = tempfile::tempdir()?;
        let sealer = Arc::new(Sealer::new(MasterKey::from_bytes(&[7; 32]), None));
        let store = Store::open(&dir.path().join("wasmhook.db"), sealer)?;
        let (team_id, block_id, doc_id) = (TeamId::new_v4(), BlockId::new_v4(), DocId::new_v4());
        let before = cpu_by_role();
        let started = Instant::now();
        runtime.block_on(async {
            for _ in 0..records {
                let mut spec = ExecutionSpec::first_attempt(team_id, block_id, 1, Trigger::V4, true);
                spec.doc_id = Some(doc_id);
                spec.dataset_key = Some("echo".to_owned());
                let outcome = Outcome {
                    result: Ok(event.clone()),
                    logs: Logs::default(),
                    fuel_consumed: 52_000,
                    duration: Duration::from_micros(20),
                    peak_memory_bytes: 1 << 20,
                    outbound: Vec::new(),
                };
                let record = NewExecution { spec, input: input.clone(), retry: None };
                let finished = Finished {
                    record,
                    outcome,
                    status: ExecutionStatus::Succeeded,
                    now: now_ms(),
                    follow_up: FollowUp::Complete(None),
                };
                store.record_detached(finished).await;
            }
            ExecutionRepo::flush(&store).await
        })?;
        let wall = started.elapsed();
        let after = cpu_by_role();
        drop(store);
        let bytes = stored_bytes(&dir.path().join("wasmhook.db"))? as f64 / records as f64;
        let per = |after: u64, before: u64| after.saturating_sub(before) as f64 / 1e3 / records as f64;
        let row = [
            per(after.1, before.1),
            per(after.0, before.0),
            per(after.2, before.2),
            wall.as_secs_f64() * 1e6 / records as f64,
        ];
        println!(
            "  round {round}: writer {:.1} µs, caller {:.1} µs, checkpoints {:.1} µs, wall {:.1} µs, {bytes:.0} B stored \
             per record",
            row[0], row[1], row[2], row[3]
        );
        rows.push(row);
    }
    let median = |column: usize| {
        let mut values: Vec<f64> = rows.iter().map(|row| row[column]).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    println!(
        "record_write median: writer {:.1} µs, caller {:.1} µs, checkpoints {:.1} µs, wall {:.1} µs per record",
        median(0),
        median(1),
        median(2),
        median(3)
    );
    Ok(())
}
