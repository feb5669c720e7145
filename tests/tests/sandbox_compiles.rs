//! #13 item 4: compiling uploads cannot take the machine. Compiles run one at a time
//! (`max_concurrent_compiles`), each on its own thread at nice 15 (runs preempt them), and
//! the API refuses uploads past its admission limit before reading their bodies.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmhook::sandbox::{Sandbox, SandboxConfig};

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

/// (name, nice) of this process's threads.
fn threads() -> Vec<(String, i64)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let name = stat[open + 1..close].to_owned();
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            Some((name, fields.get(16)?.parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiles_run_one_at_a_time_on_a_low_priority_thread() {
    let artifacts = tempfile::tempdir().expect("tempdir");
    let mut config = SandboxConfig::new(artifacts.path());
    config.max_concurrent_compiles = 1;
    let sandbox = Arc::new(Sandbox::new(config).expect("sandbox"));
    let module = wasmhook_tests::module("request-inspector");

    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let watching = Arc::clone(&watching);
        std::thread::spawn(move || {
            let (mut most, mut nices) = (0usize, HashSet::new());
            while watching.load(Ordering::Relaxed) {
                let compiling: Vec<i64> =
                    threads().into_iter().filter(|(name, _)| name == "wasmhook-compil").map(|(_, nice)| nice).collect();
                most = most.max(compiling.len());
                nices.extend(compiling);
                std::thread::sleep(Duration::from_micros(200));
            }
            (most, nices)
        })
    };
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
    let (most, nices) = watcher.join().expect("watcher");
    assert_eq!(sandbox.stats().compiled, 3);
    assert_eq!(most, 1, "compile threads alive at once");
    assert_eq!(nices, HashSet::from([15]), "compile threads run at nice 15");
}
