//! The writer thread runs in `SCHED_BATCH` (Linux): its wake-up for a queued record must not
//! preempt the request thread that queued it (#20; `bench/switches.py` counts those
//! preemptions: 0.14–0.16 per request at c1 before, 0.05–0.09 after).

use crate::Store;

/// `(name, scheduling policy)` of each of this process's threads.
fn threads() -> Vec<(String, i32)> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task").flatten() {
        let (Ok(comm), Some(Ok(tid))) =
            (std::fs::read_to_string(task.path().join("comm")), task.file_name().to_str().map(str::parse::<i32>))
        else {
            continue; // the thread ended while we listed
        };
        // SAFETY: no pointers; a thread id of this process (-1 if it has ended since).
        #[allow(unsafe_code)]
        let policy = unsafe { libc::sched_getscheduler(tid) };
        found.push((comm.trim().to_owned(), policy));
    }
    found
}

#[test]
fn the_writer_thread_runs_in_sched_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _store = Store::open(&dir.path().join("db.sqlite3"), crate::sealing::test_sealer()).expect("store");
    // The writer sets its own policy as it starts: wait for it briefly.
    for _ in 0..200 {
        if threads().iter().any(|(name, policy)| name == super::WRITER_THREAD && *policy == libc::SCHED_BATCH) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("no {} thread in SCHED_BATCH: {:?}", super::WRITER_THREAD, threads());
}
