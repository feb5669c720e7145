"""The records arm (#20 direction 4): how many bytes each store keeps per execution.

For each payload — the bench's padded 1 KiB JSON (compresses to almost nothing) and a 1 KiB
GitHub-like push event with random hashes (compresses like real traffic) — a fresh data dir
takes `args.duration` s of v4 sync calls (wrk c32) to a doc whose datasets all run the echo
block, once with one dataset and once with three. Then the server stops (SIGTERM: its writer
drains), the WAL is checkpointed, and the database's used pages (`page_count - freelist_count`)
are divided by the executions it holds. "content" is what one execution is about: its data as
sent plus its output (the echo answers the data). Per-table bytes come from `dbstat`.

With `PG_TEST_URL` set, the same four arms run on PostgreSQL, each on a database of its own:
the growth of `pg_total_relation_size('executions')` (heap, TOAST and indexes) per execution.
"""

import json
import os
import random
import re
import signal
import sqlite3

# A push event of the shape GitHub sends, ~1 KiB, hashes and ids random (seeded: every run
# stores the same bytes).
_rng = random.Random(20)


def _hex(n):
    return "".join(_rng.choice("0123456789abcdef") for _ in range(n))


REALISTIC = json.dumps({
    "ref": "refs/heads/main", "before": _hex(40), "after": _hex(40),
    "repository": {"id": _rng.randrange(10**8), "name": "wasmhook", "full_name": "acme/wasmhook",
                   "private": False, "default_branch": "main"},
    "pusher": {"name": "octocat", "email": "octocat@example.com"},
    "commits": [{"id": _hex(40), "tree_id": _hex(40), "distinct": True,
                 "message": f"Fix the {_rng.choice(['writer', 'queue', 'sandbox'])} ({_rng.randrange(1000)})",
                 "timestamp": "2026-12-03T09:00:00Z", "author": {"name": "Octo Cat", "username": "octocat"},
                 "added": [], "removed": [], "modified": [f"crates/store/src/{_hex(6)}.rs"]} for _ in range(3)],
})


def _used_bytes(db):
    """Checkpoints the WAL into the database, then returns (used bytes, executions, per-object
    bytes)."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    used = (conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0])
    count = conn.execute("SELECT count(*) FROM executions").fetchone()[0]
    objects = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall())
    conn.close()
    return used * page_size, count, objects


def _pg_bytes(psql, url):
    """(bytes of `executions` with its TOAST and indexes, executions, per-part bytes)."""
    total, heap, toast, indexes, count = psql(url, (
        "SELECT pg_total_relation_size('executions'), pg_relation_size('executions'), "
        "coalesce(pg_total_relation_size(NULLIF(reltoastrelid, 0)), 0), pg_indexes_size('executions'), "
        "(SELECT count(*) FROM executions) FROM pg_class WHERE oid = 'executions'::regclass")).split("|")
    return int(total), int(count), {"heap": int(heap), "toast": int(toast), "indexes": int(indexes)}


def _backends(admin):
    """("sqlite", None) and, with a PostgreSQL server, ("postgres", admin URL)."""
    yield "sqlite", None
    if admin:
        yield "postgres", admin
    else:
        print('   (PostgreSQL records skipped: set PG_TEST_URL)', flush=True)


def records_arms(args, work, results, *, wasmhook, call, modules, wrk, lua_script, psql):
    """Measures stored bytes per execution; adds `records: …` entries to `results`."""
    echo_wasm = open(os.path.join(modules, "echo.wasm"), "rb").read()
    print("== records: stored bytes per execution (v4 sync c32)", flush=True)
    for backend, admin in _backends(os.environ.get("PG_TEST_URL")):
        for label, payload in (("padded", json.dumps({"event": "order.created", "pad": "x" * 984})),
                               ("realistic", REALISTIC)):
            for datasets in (1, 3):
                data_dir = os.path.join(work, f"records-{backend}-{label}-{datasets}")
                env = {"WASMHOOK_WORKERS": "1"}
                url = None
                if admin:
                    database = f"wasmhook_records_{os.getpid()}_{label}_{datasets}"
                    psql(admin, f"DROP DATABASE IF EXISTS {database}")
                    psql(admin, f"CREATE DATABASE {database}")
                    url = admin.rsplit("/", 1)[0] + "/" + database
                    env.update(WASMHOOK_DATABASE_URL=url, WASMHOOK_MASTER_KEY="07" * 32)
                measure = (lambda: _pg_bytes(psql, url)) if url else (
                    lambda: _used_bytes(os.path.join(data_dir, "wasmhook.sqlite3")))
                server = wasmhook(data_dir, env=env)
                key = server.key
                block = server.block(key, echo_wasm)
                doc = call("POST", f"{server.base}/v1/docs", key,
                           {"name": "records", "datasets": [{"key": f"d{i}", "block": block} for i in range(datasets)]})
                body = json.dumps({"data": json.loads(payload)})
                headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
                endpoint = f"{server.base}/v4/webhook/docs/{doc['id']}/execute"
                first = call("POST", endpoint, key, json.loads(body))
                execution = call("GET", f"{server.base}/v1/executions/{first['data']['results'][0]['executionId']}", key)
                content = len(payload) + len(json.dumps(execution["output"], separators=(",", ":")))
                baseline, _, _ = measure()
                lua = lua_script(os.path.join(work, f"records-{label}.lua"), headers, body)
                rps, _, _ = wrk(endpoint, 32, lua, args.duration)
                server.proc.send_signal(signal.SIGTERM)
                server.proc.wait()
                used, count, objects = measure()
                if admin:
                    psql(admin, f"DROP DATABASE {database} WITH (FORCE)")
                per = (used - baseline) / max(count - 1, 1)
                name = f"records: {backend}, {label} payload, {datasets} dataset(s)"
                results[name] = {"bytes_per_execution": per, "content_bytes": content, "ratio": per / content,
                                  "executions": count, "load_rps": rps,
                                  "objects": {k: v / max(count, 1) for k, v in list(objects.items())[:6]}}
                top = ", ".join(f"{k} {v / max(count, 1):.0f}" for k, v in list(objects.items())[:5])
                print(f"   {name:<54} {per:7.0f} B/execution for {content} B of content ({per / content:.2f}x),"
                      f" {count} executions at {rps:.0f} req/s; per object: {top}", flush=True)


def record_cost_arm(results, *, sh, core):
    """The CPU one sync run's record costs (cargo bench record_write, pinned to `core`)."""
    print("== records: CPU per sync record at the store (cargo bench record_write, one core)", flush=True)
    out = sh("taskset", "-c", core, "cargo", "bench", "--locked", "-q", "-p", "wasmhook-store", "--bench",
             "record_write", capture=True)
    found = re.search(r"median: writer ([\d.]+) µs, caller ([\d.]+) µs, checkpoints ([\d.]+) µs, wall ([\d.]+) µs",
                      out)
    if not found:
        raise RuntimeError(f"record_write printed no median line:\n{out}")
    writer, caller, checkpoints, wall = (float(found.group(i)) for i in (1, 2, 3, 4))
    results["records: CPU per sync record (µs)"] = {"writer_us": writer, "caller_us": caller,
                                                    "checkpoints_us": checkpoints, "wall_us": wall}
    print(f"   writer {writer} µs + caller (building, packing, queueing) {caller} µs + checkpoints {checkpoints} µs"
          f" per record, wall {wall} µs", flush=True)


def print_records(results):
    """The records lines of the summary."""
    cost = results.get("records: CPU per sync record (µs)")
    if cost:
        print(f"  CPU per sync record: writer {cost['writer_us']:.1f} µs + caller {cost['caller_us']:.1f} µs"
              f" + checkpoints {cost['checkpoints_us']:.1f} µs")
    for name, r in results.items():
        if "bytes_per_execution" in r:
            print(f"  {name}: {r['bytes_per_execution']:.0f} B per execution, "
                  f"{r['ratio']:.2f}x its content (target <= 1.2)")

