"""Involuntary context switches of a server's request threads, per request (#20).

Why: on a 2-core VM the latency figures of one 5 s run swing by 2× from hour to hour, while
the count of times the kernel took the core away from a request thread is a property of the
server. A background thread whose wake-up preempts the request being answered shows here
first (the store writer did, until it ran in `SCHED_BATCH`)."""
import glob
import os

# tokio names its worker threads this way; the request handlers and the sandbox runs are on them.
REQUEST_THREADS = "tokio-rt-worker"


def involuntary(pid, prefix=REQUEST_THREADS):
    """The sum of `nonvoluntary_ctxt_switches` over `pid`'s threads whose name starts with `prefix`."""
    total = 0
    for task in glob.glob(f"/proc/{pid}/task/*"):
        try:
            with open(os.path.join(task, "comm")) as comm:
                if not comm.read().startswith(prefix):
                    continue
            with open(os.path.join(task, "status")) as status:
                for line in status:
                    if line.startswith("nonvoluntary_ctxt_switches"):
                        total += int(line.split()[1])
        except OSError:  # the thread ended between the listing and the read
            continue
    return total
