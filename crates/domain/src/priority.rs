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
}
