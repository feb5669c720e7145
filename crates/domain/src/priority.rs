//! Background threads that must not take the CPU from request handling.
//!
//! Linux's scheduler (CFS) weighs a nice-10 thread at ≈ 1/10 of a nice-0 one and a nice-19
//! thread at ≈ 1/70: on a saturated core they get that share, on an idle one all of it.

use std::io;

/// Queue workers: they run what was accepted, after the accepts and the sync runs (19, not
/// 10: see `executor/workers.rs`).
pub const QUEUE_WORKER_NICE: i32 = 19;
/// The WAL checkpointer: its copying preempted request handling for milliseconds at a time.
pub const CHECKPOINT_NICE: i32 = 19;
/// Compiling an upload (Cranelift, on every core for seconds): runs come first.
pub const COMPILE_NICE: i32 = 15;

/// Lowers the calling thread's priority to `nice` (Linux: `setpriority` on a thread id
/// affects only that thread). Failure only costs the priority, so it is logged, not fatal.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn lower_current_thread(nice: i32) {
    // SAFETY: `gettid` and `setpriority` take no pointers and touch no memory of ours.
    let changed = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
    };
    if changed != 0 {
        tracing::warn!(error = %io::Error::last_os_error(), nice, "cannot lower a background thread's priority");
    }
}

/// Not supported off Linux: the threads keep the default priority.
#[cfg(not(target_os = "linux"))]
pub fn lower_current_thread(_nice: i32) {}

/// Puts the calling thread in Linux's `SCHED_BATCH` class: the same share of the CPU as a
/// nice-0 thread, but its wake-ups never preempt the running thread — it waits for the next
/// tick or for the core to go idle. For the store's writer: a record queued by a request must
/// not put the writer's batch between that request's run and its answer. Failure only costs
/// the policy, so it is logged, not fatal.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn batch_current_thread() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid `sched_param` that outlives the call; pid 0 is the calling
    // thread.
    let changed = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if changed != 0 {
        tracing::warn!(error = %io::Error::last_os_error(), "cannot put a background thread in SCHED_BATCH");
    }
}

/// Not supported off Linux: the thread keeps the default policy.
#[cfg(not(target_os = "linux"))]
pub fn batch_current_thread() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_lowered_thread_runs_at_that_niceness() {
        let stat = std::thread::spawn(|| {
            lower_current_thread(QUEUE_WORKER_NICE);
            std::fs::read_to_string("/proc/thread-self/stat").expect("stat")
        })
        .join()
        .expect("thread");
        // Field 19 of /proc/<tid>/stat is the nice value; the command name (field 2) is in
        // parentheses and may hold spaces, so count from its closing parenthesis.
        let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
        let fields: Vec<&str> = after_name.split(' ').collect();
        assert_eq!(fields[16], QUEUE_WORKER_NICE.to_string(), "stat: {stat}");
    }

    #[test]
    fn a_batch_thread_runs_in_sched_batch() {
        // SAFETY: no pointers; pid 0 is the calling thread.
        #[allow(unsafe_code)]
        let own_before = unsafe { libc::sched_getscheduler(0) };
        let policy = std::thread::spawn(|| {
            batch_current_thread();
            // SAFETY: no pointers; pid 0 is the calling thread.
            #[allow(unsafe_code)]
            unsafe {
                libc::sched_getscheduler(0)
            }
        })
        .join()
        .expect("thread");
        assert_eq!(policy, libc::SCHED_BATCH);
        // SAFETY: as above. Only the spawned thread changed, not the test's own.
        #[allow(unsafe_code)]
        let own = unsafe { libc::sched_getscheduler(0) };
        assert_eq!(own, own_before);
    }
}
