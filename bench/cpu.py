"""A server's CPU time (user + system, all threads), to report CPU per request (#20).

Why: requests per second on this VM swing with the hour, and the load generator shares the
machine; the server's own CPU per call is what a change to the server moves, and it splits
v4's cost into the floor, the record and the route."""
import os

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """`utime + stime` of process `pid` (every thread, live or ended), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name is in parentheses and may hold spaces: split after its last ")".
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measured_cpu_per_request(pid, arm, duration, before):
    """µs of server CPU per request over `arm`'s repeats (its `runs` are req/s of `duration` s)."""
    requests = sum(arm["runs"]) * duration
    return (cpu_seconds(pid) - before) * 1e6 / max(requests, 1)
