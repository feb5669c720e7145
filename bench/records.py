"""The records arm (#20 direction 4): how many bytes the SQLite store keeps per execution.

For each payload — the bench's padded 1 KiB JSON (compresses to almost nothing) and a 1 KiB
GitHub-like push event with random hashes (compresses like real traffic) — a fresh data dir
takes `args.duration` s of v4 sync calls (wrk c32) to a doc whose datasets all run the echo
block, once with one dataset and once with three. Then the server stops (SIGTERM: its writer
drains), the WAL is checkpointed, and the database's used pages (`page_count - freelist_count`)
are divided by the executions it holds. "content" is what one execution is about: its data as
sent plus its output (the echo answers the data). Per-table bytes come from `dbstat`.
"""

import json
import os
import random
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


def records_arms(args, work, results, *, wasmhook, call, modules, wrk, lua_script):
    """Measures stored bytes per execution; adds `records: …` entries to `results`."""
    echo_wasm = open(os.path.join(modules, "echo.wasm"), "rb").read()
    print("== records: stored bytes per execution (SQLite, v4 sync c32)", flush=True)
    for label, payload in (("padded", json.dumps({"event": "order.created", "pad": "x" * 984})),
                           ("realistic", REALISTIC)):
        for datasets in (1, 3):
            data_dir = os.path.join(work, f"records-{label}-{datasets}")
            server = wasmhook(data_dir, env={"WASMHOOK_WORKERS": "1"})
            key = server.key
            block = server.block(key, echo_wasm)
            doc = call("POST", f"{server.base}/v1/docs", key,
                       {"name": "records", "datasets": [{"key": f"d{i}", "block": block} for i in range(datasets)]})
            body = json.dumps({"data": json.loads(payload)})
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
            url = f"{server.base}/v4/webhook/docs/{doc['id']}/execute"
            first = call("POST", url, key, json.loads(body))
            execution = call("GET", f"{server.base}/v1/executions/{first['data']['results'][0]['executionId']}", key)
            content = len(payload) + len(json.dumps(execution["output"], separators=(",", ":")))
            baseline, _, _ = _used_bytes(os.path.join(data_dir, "wasmhook.sqlite3"))
            lua = lua_script(os.path.join(work, f"records-{label}.lua"), headers, body)
            rps, _, _ = wrk(url, 32, lua, args.duration)
            server.proc.send_signal(signal.SIGTERM)
            server.proc.wait()
            used, count, objects = _used_bytes(os.path.join(data_dir, "wasmhook.sqlite3"))
            per = (used - baseline) / max(count - 1, 1)
            name = f"records: {label} payload, {datasets} dataset(s)"
            results[name] = {"bytes_per_execution": per, "content_bytes": content, "ratio": per / content,
                             "executions": count, "load_rps": rps,
                             "objects": {k: v / max(count, 1) for k, v in list(objects.items())[:6]}}
            top = ", ".join(f"{k} {v / max(count, 1):.0f}" for k, v in list(objects.items())[:5])
            print(f"   {name:<44} {per:7.0f} B/execution for {content} B of content ({per / content:.2f}x),"
                  f" {count} executions at {rps:.0f} req/s; per object: {top}", flush=True)


def print_records(results):
    """The records lines of the summary."""
    for name, r in results.items():
        if "bytes_per_execution" in r:
            print(f"  {name}: {r['bytes_per_execution']:.0f} B per execution, "
                  f"{r['ratio']:.2f}x its content (target <= 1.2)")

