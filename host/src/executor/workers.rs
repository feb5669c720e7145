//! The queue workers' own runtime, on threads that yield the CPU to the HTTP side.
//!
//! A durable accept must answer fast whatever the backlog: that is what lets a sender's
//! retries stop. Run on the API's runtime, queue workers took half of a saturated core from
//! the accepts (measured: async accepts with one worker draining ≈ 8k/s against ≈ 14k/s with
//! none). On their own threads at nice [`WORKER_NICE`] they get the CPU the HTTP side leaves
//! idle, and ≈ 10% of it under full load, when the queue grows (up to `queue_depth`, then
//! 503 + `Retry-After`) and drains afterwards.

use std::io;

use super::Executor;

/// Niceness of the queue threads: CFS gives a nice-10 thread ≈ 1/10 of a nice-0 one's share.
pub(super) const WORKER_NICE: i32 = 10;

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
        .on_thread_start(lower_priority)
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

/// Lowers the calling thread's priority (Linux: `setpriority` on a thread id affects only
/// that thread). Failure only costs the priority, so it is logged, not fatal.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn lower_priority() {
    // SAFETY: `gettid` and `setpriority` take no pointers and touch no memory of ours.
    let changed = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, WORKER_NICE)
    };
    if changed != 0 {
        tracing::warn!(error = %io::Error::last_os_error(), "cannot lower the queue workers' priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn lowered_threads_run_at_the_worker_niceness() {
        let nice = std::thread::spawn(|| {
            lower_priority();
            std::fs::read_to_string("/proc/thread-self/stat").expect("stat")
        })
        .join()
        .expect("thread");
        // Field 19 of /proc/<tid>/stat is the nice value; the command name (field 2) is in
        // parentheses and may hold spaces, so count from its closing parenthesis.
        let after_name = &nice[nice.rfind(')').expect("comm") + 2..];
        let fields: Vec<&str> = after_name.split(' ').collect();
        assert_eq!(fields[16], WORKER_NICE.to_string(), "stat: {nice}");
    }
}
