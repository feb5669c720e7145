//! #13 item 4: compiling uploads cannot take the machine. Compiles run one at a time
//! (`max_concurrent_compiles`), each on its own thread at nice 15 (runs preempt them), and
//! the API refuses uploads past its admission limit before reading their bodies.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmhook_sandbox::{Sandbox, SandboxConfig};

/// `bytes` with a custom section appended: the same component under a new digest, so it is
/// compiled again rather than found in a cache.
fn distinct(bytes: &[u8], tag: u8) -> Vec<u8> {
    let name = b"wasmhook-test";
    let payload_len = 1 + name.len() + 1;
    let mut out = bytes.to_vec();
    out.extend_from_slice(&[0x00, payload_len as u8, name.len() as u8]);
    out.extend_from_slice(name);
    out.push(tag);
    out
}

/// Held by each test: they count this process's compile threads, so they must not overlap.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// (tid, name, nice) of this process's threads.
fn threads() -> Vec<(String, String, i64)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let name = stat[open + 1..close].to_owned();
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            Some((task.file_name().to_string_lossy().into_owned(), name, fields.get(16)?.parse().ok()?))
        })
        .collect()
}

/// Watches the compile threads until `watching` is cleared: (the longest time two of them
/// were seen alive together, their nice values). A thread is still listed for a moment after
/// it hands its slot on, so overlap is measured in time, not as a count.
fn watch_compiles(watching: Arc<AtomicBool>) -> std::thread::JoinHandle<(Duration, HashSet<i64>)> {
    std::thread::spawn(move || {
        let mut seen: std::collections::HashMap<String, (Instant, Instant)> = std::collections::HashMap::new();
        // Each thread's last seen nice: a thread is listed (named) for a moment before its
        // first statement lowers its priority.
        let mut last_nice: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
        while watching.load(Ordering::Relaxed) {
            let now = Instant::now();
            for (tid, name, nice) in threads() {
                if name == "wasmhook-compil" {
                    seen.entry(tid.clone()).and_modify(|(_, last)| *last = now).or_insert((now, now));
                    last_nice.insert(tid, nice);
                }
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let nices: HashSet<i64> = last_nice.into_values().collect();
        let spans: Vec<(Instant, Instant)> = seen.into_values().collect();
        let mut overlap = Duration::ZERO;
        for (i, a) in spans.iter().enumerate() {
            for b in &spans[i + 1..] {
                let (start, end) = (a.0.max(b.0), a.1.min(b.1));
                overlap = overlap.max(end.saturating_duration_since(start));
            }
        }
        (overlap, nices)
    })
}

/// Two compiles of ~0.3 s each running together overlap for far longer than this (887 ms
/// measured with 3 allowed); a thread handing its slot on lingers for a few ms at most.
const MOMENTARY: Duration = Duration::from_millis(100);

/// A sandbox of its own (artifacts in a temp dir, so every prepare compiles) allowing one
/// compile at a time.
fn compiling_one_at_a_time() -> (tempfile::TempDir, Arc<Sandbox>) {
    let artifacts = tempfile::tempdir().expect("tempdir");
    let mut config = SandboxConfig::new(artifacts.path());
    config.max_concurrent_compiles = 1;
    let sandbox = Arc::new(Sandbox::new(config).expect("sandbox"));
    (artifacts, sandbox)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiles_run_one_at_a_time_on_a_low_priority_thread() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (_artifacts, sandbox) = compiling_one_at_a_time();
    let module = wasmhook_tests::module("request-inspector");

    let watching = Arc::new(AtomicBool::new(true));
    let watcher = watch_compiles(Arc::clone(&watching));
    let compiles: Vec<_> = (0..3u8)
        .map(|tag| {
            let (sandbox, bytes) = (Arc::clone(&sandbox), distinct(&module, tag));
            tokio::spawn(async move { sandbox.prepare(&bytes).await.map(drop) })
        })
        .collect();
    for compile in compiles {
        compile.await.expect("task").expect("compiles");
    }
    watching.store(false, Ordering::Relaxed);
    let (overlap, nices) = watcher.join().expect("watcher");
    assert_eq!(sandbox.stats().compiled, 3);
    assert!(overlap < MOMENTARY, "two compile threads ran together for {overlap:?}");
    assert_eq!(nices, HashSet::from([15]), "compile threads run at nice 15");
}

/// A caller that goes away mid-compile (a client disconnecting from its upload) does not free
/// the compile slot while Cranelift still runs: the next compile waits for the thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_compile_keeps_its_slot_until_its_thread_ends() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (_artifacts, sandbox) = compiling_one_at_a_time();
    let module = wasmhook_tests::module("request-inspector");
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = watch_compiles(Arc::clone(&watching));
    let abandoned = {
        let (sandbox, bytes) = (Arc::clone(&sandbox), distinct(&module, 100));
        tokio::spawn(async move { sandbox.prepare(&bytes).await.map(drop) })
    };
    // Abandon it once its thread is compiling.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !threads().iter().any(|(_, name, _)| name == "wasmhook-compil") {
        assert!(std::time::Instant::now() < deadline, "the compile thread never started");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    abandoned.abort();
    sandbox.prepare(&distinct(&module, 101)).await.expect("the next compile");
    watching.store(false, Ordering::Relaxed);
    let (overlap, _) = watcher.join().expect("watcher");
    assert!(overlap < MOMENTARY, "the next compile ran beside the abandoned one for {overlap:?}");
}
