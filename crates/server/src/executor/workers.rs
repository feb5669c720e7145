//! The queue workers' own runtime, on threads that yield the CPU to the HTTP side.
//!
//! A durable accept must answer fast whatever the backlog: that is what lets a sender's
//! retries stop. Run on the API's runtime, queue workers took half of a saturated core from
//! the accepts (measured: async accepts with one worker draining ≈ 8k/s against ≈ 14k/s with
//! none). On their own threads at nice
//! [`QUEUE_WORKER_NICE`](priority::QUEUE_WORKER_NICE) they get the CPU the HTTP side leaves
//! idle, and ≈ 1.5% of it under full load, when the queue grows (up to `queue_depth`, then
//! 503 + `Retry-After`) and drains afterwards. At nice 10 a hostile team's blocks on every
//! worker raised a neighbour's sync p99 2.2–2.4×; at nice 19, 1.6–1.8× (`bench/run --only
//! hostile`).

use std::io;

use super::Executor;
use wasmhook_domain::priority;

/// Starts `count` workers on a multi-threaded runtime of their own (one thread per core, at
/// most `count`), on a thread that owns that runtime and ends once every worker has stopped.
pub(super) fn start(executor: &Executor, count: usize) -> io::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(count.min(cores))
        .thread_name("wasmhook-queue")
        .on_thread_start(|| priority::lower_current_thread(priority::QUEUE_WORKER_NICE))
        .enable_all()
        .build()?;
    let executor = executor.clone();
    std::thread::Builder::new().name("wasmhook-queue-main".into()).spawn(move || {
        runtime.block_on(async move {
            let workers: Vec<_> = (0..count)
                .map(|worker| {
                    let executor = executor.clone();
                    tokio::spawn(async move { executor.work(worker).await })
                })
                .collect();
            futures::future::join_all(workers).await;
        });
        // The runtime is dropped here, on a plain thread, as tokio requires.
    })?;
    Ok(())
}
