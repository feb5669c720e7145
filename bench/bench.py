#!/usr/bin/env python3
"""wasmhook's benchmark suite: one command, every arm on this machine, one table.

Builds the release binaries, then measures (server pinned to core 0, wrk pinned to core 1, the
same way in every arm; each figure the median of REPEATS runs of DURATION seconds):

  - bare axum echo (the ceiling), wasmhook v4 sync (echo block, 1 KiB data), trigger webhook
    sync and async (durable accept), and `wasmtime serve` with an equivalent wasi:http echo,
    at -c1 and -c32, with p50/p99 latency;
  - p99 at 50, 80 and 95 % of wasmhook's max rate: a constant-rate load corrected for coordinated
    omission (`wrk2` when installed, else `oha -q RATE --latency-correction`; oha is installed
    with cargo when neither is there);
  - the floor (bench/floor.py): axum plus one sandbox run per request and nothing else, at c1
    and c32, and bare axum and the floor at v4's constant rates (is a tail wasmhook's?);
  - sandbox-only per-run p50/p99, fuel+epoch on vs off, 1 vs 2 threads (cargo bench);
  - restart -> first-run latency; idle RSS; RSS with 1,000 registered blocks.
  - a Python block: upload (validate + compile), first run after a restart, warm runs, RSS per
    concurrent run.
  - a hostile neighbour: one team's loop-forever, memory-bomb and log-flood blocks at full
    concurrency while another team's sync calls are timed (p99 vs quiet), and peak host RSS.
  - telemetry cost: v4 sync c32 with metrics and spans on (as shipped, OTLP off) vs off.
  - records (`--only records`): SQLite bytes stored per execution against its content, padded
    and realistic payloads, 1 and 3 datasets (bench/records.py); the CPU one sync record costs
    the store's writer and its caller (cargo bench record_write, one core).
  - PostgreSQL (`--only postgres`, needs PG_TEST_URL): durable accepts and v4 sync on SQLite
    vs PostgreSQL, 1 node vs 2 nodes on one database, accept-to-claim latency, and how long
    a killed node's queued runs wait for another node (its lease).

usage: bench/run [--quick] [--skip-wasmtime]
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from floor import floor_arms, print_floor
from records import print_records, record_cost_arm, records_arms
from cpu import cpu_seconds, measured_cpu_per_request
from switches import involuntary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
MODULES = os.path.join(ROOT, "modules", "target", "wasm32-wasip2", "release")
# The Python and JavaScript guests, built by the wasmhook-tests build script (`cargo bench --no-run`).
GUESTS = os.path.join(ROOT, "target", "wasm-modules", "wasm32-wasip2", "release")
STRIPE_EVENT = {"id": "evt_bench", "type": "charge.succeeded",
                "data": {"object": {"amount": 4200, "currency": "usd", "customer": "cus_1"}}}
HTTP_ECHO = os.path.join(ROOT, "bench", "http-echo", "target", "wasm32-wasip2", "release", "http-echo.wasm")
SERVER_CORE, CLIENT_CORE = "0", "1"
WASMTIME_VERSION = "48.0.8"
OHA_VERSION = "1.16.0"
PAYLOAD = json.dumps({"event": "order.created", "pad": "x" * 984})  # 1 KiB of JSON


def sh(*args, env=None, capture=False, cwd=ROOT):
    merged = dict(os.environ, **(env or {}))
    if capture:
        return subprocess.run(args, cwd=cwd, env=merged, check=True, capture_output=True, text=True).stdout
    subprocess.run(args, cwd=cwd, env=merged, check=True)
    return ""


def build(skip_wasmtime, http=True):
    print("== building release binaries and modules", flush=True)
    sh("cargo", "build", "--release", "--locked", "-p", "wasmhook", "-p", "axum-echo", "-p", "sandbox-floor")
    sh("cargo", "build", "--release", "--target", "wasm32-wasip2", "--manifest-path", "modules/Cargo.toml",
       "-p", "echo", "-p", "noop", "-p", "loop-forever", "-p", "memory-bomb", "-p", "log-flood",
       "-p", "fuel-burner")
    sh("cargo", "bench", "--locked", "-p", "wasmhook-tests", "--bench", "sandbox_run", "--no-run")
    sh("cargo", "bench", "--locked", "-p", "wasmhook-store", "--bench", "record_write", "--no-run")
    if http and not shutil.which("wrk2") and not shutil.which("oha"):
        print(f"== installing oha {OHA_VERSION} for the constant-rate arm (once; ~6 min on 2 cores)", flush=True)
        sh("cargo", "install", "oha", "--version", OHA_VERSION, "--locked")
    if skip_wasmtime:
        return None
    sh("cargo", "build", "--release", "--target", "wasm32-wasip2", "--manifest-path", "bench/http-echo/Cargo.toml")
    wasmtime = shutil.which("wasmtime")
    if wasmtime is None or WASMTIME_VERSION not in sh(wasmtime, "--version", capture=True):
        print(f"== installing wasmtime-cli {WASMTIME_VERSION} (once; ~12 min on 2 cores)", flush=True)
        sh("cargo", "install", "wasmtime-cli", "--version", WASMTIME_VERSION, "--locked")
        wasmtime = shutil.which("wasmtime") or os.path.expanduser("~/.cargo/bin/wasmtime")
    return wasmtime


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # the server answers: up
        except Exception:
            time.sleep(0.01)
    raise RuntimeError(f"{url} did not come up")


def call(method, url, key=None, body=None, content_type="application/json"):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=120) as response:
        text = response.read()
        return json.loads(text) if text else None


class Server:
    """A process pinned to the server core, killed on exit."""

    def __init__(self, args, env=None, health=None, stdout=subprocess.DEVNULL):
        merged = dict(os.environ, **(env or {}))
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, *args], env=merged, stdout=stdout,
                                     stderr=subprocess.DEVNULL, text=True)
        if health:
            wait_http(health)

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class Wasmhook(Server):
    def __init__(self, data_dir, env=None, joins=False):
        # A node joining a shared database prints no bootstrap key: do not wait for one.
        fresh = not os.path.exists(data_dir) and not joins
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict({"WASMHOOK_LOG": "warn"}, **(env or {}))
        super().__init__([os.path.join(RELEASE, "wasmhook"), "serve", "--listen", f"127.0.0.1:{self.port}",
                          "--data-dir", data_dir], env=env, health=f"{self.base}/healthz",
                         stdout=subprocess.PIPE if fresh else subprocess.DEVNULL)
        self.key = None
        if fresh:  # a new data dir: the server prints the bootstrap key first
            first = self.proc.stdout.readline()
            if first.startswith("Created the first admin API key"):
                self.key = self.proc.stdout.readline().strip()

    def block(self, key, wasm_bytes, name="echo"):
        block = call("POST", f"{self.base}/v1/blocks", key, {"name": name})
        call("POST", f"{self.base}/v1/blocks/{block['id']}/versions", key, wasm_bytes, "application/wasm")
        return block["id"]


def wrk(url, connections, lua, duration, rate=None):
    """Runs wrk (or wrk2 at a constant rate) on the client core; returns (req/s, p50 ms, p99 ms)."""
    tool = "wrk2" if rate else "wrk"
    args = ["taskset", "-c", CLIENT_CORE, tool, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", lua]
    if rate:
        args += [f"-R{rate}"]
    out = sh(*args, url, capture=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(label):
        match = re.search(rf"^\s+{label}%?\s+([\d.]+)(us|ms|s)\b", out, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} non-2xx answers\n{out}")
    return rps, pct("50(?:\\.000)?"), pct("99(?:\\.000)?")


def constant_rate(url, lua, headers, body, rate, duration):
    """32 connections at a constant `rate`, latency measured from each request's scheduled
    start (no coordinated omission): wrk2 when installed, else oha. Returns (req/s, p50 ms,
    p99 ms)."""
    if shutil.which("wrk2"):
        return wrk(url, 32, lua, duration, rate=rate)
    oha = shutil.which("oha") or os.path.expanduser("~/.cargo/bin/oha")
    args = ["taskset", "-c", CLIENT_CORE, oha, "-z", f"{duration}s", "-c", "32", "-q", str(rate),
            "--latency-correction", "--no-tui", "--output-format", "json", "-m", "POST", "-d", body]
    for name, value in headers.items():
        args += ["-T", value] if name.lower() == "content-type" else ["-H", f"{name}: {value}"]
    out = json.loads(sh(*args, url, capture=True))
    codes = out.get("statusCodeDistribution", {})
    if set(codes) - {"200"}:
        raise RuntimeError(f"{url}: non-200 answers at {rate} req/s: {codes}")
    latency = out["latencyPercentiles"]
    return out["summary"]["requestsPerSec"], latency["p50"] * 1000, latency["p99"] * 1000


def lua_script(path, headers, body=PAYLOAD):
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def measure(name, url, lua, connections, args, results):
    runs = [wrk(url, connections, lua, args.duration) for _ in range(args.repeats)]
    rps = statistics.median(r[0] for r in runs)
    p50 = statistics.median(r[1] for r in runs)
    p99 = statistics.median(r[2] for r in runs)
    results[name] = {"rps": rps, "p50_ms": p50, "p99_ms": p99, "runs": [round(r[0]) for r in runs]}
    print(f"   {name:<40} {rps:>9.0f} req/s  p50 {p50:7.3f} ms  p99 {p99:7.3f} ms  {results[name]['runs']}", flush=True)


def http_arms(args, wasmtime, work, results):
    echo_wasm = open(os.path.join(MODULES, "echo.wasm"), "rb").read()
    print("== HTTP arms (server on core 0, wrk -t1 on core 1)", flush=True)

    axum_port = free_port()
    axum = Server([os.path.join(RELEASE, "axum-echo"), f"127.0.0.1:{axum_port}"])
    time.sleep(0.3)
    lua = lua_script(os.path.join(work, "plain.lua"), {"Content-Type": "application/json"})
    for c in (1, 32):
        measure(f"axum echo c{c}", f"http://127.0.0.1:{axum_port}/echo", lua, c, args, results)
    axum.stop()

    data = os.path.join(work, "wasmhook-data")
    server = Wasmhook(data, env={"WASMHOOK_WORKERS": "1", "WASMHOOK_QUEUE_DEPTH": "10000000"})
    key = server.key
    block = server.block(key, echo_wasm)
    doc = call("POST", f"{server.base}/v1/docs", key, {"name": "bench", "datasets": [{"key": "echo", "block": block}]})
    v4_body = json.dumps({"data": json.loads(PAYLOAD)})
    v4_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    v4_lua = lua_script(os.path.join(work, "v4.lua"), v4_headers, v4_body)
    v4_url = f"{server.base}/v4/webhook/docs/{doc['id']}/execute"
    for c in (1, 32):
        before, cpu_before = involuntary(server.proc.pid), cpu_seconds(server.proc.pid)
        measure(f"wasmhook v4 sync c{c}", v4_url, v4_lua, c, args, results)
        arm = results[f"wasmhook v4 sync c{c}"]
        arm["server_cpu_us"] = measured_cpu_per_request(server.proc.pid, arm, args.duration, cpu_before)
        requests = sum(arm["runs"]) * args.duration
        per_request = (involuntary(server.proc.pid) - before) / max(requests, 1)
        results[f"v4 sync c{c}: request threads preempted per request"] = {"value": per_request}
        print(f"   {'  request threads preempted per request':<40} {per_request:9.3f}", flush=True)
        print(f"   {'  server CPU per request':<40} {arm['server_cpu_us']:9.1f} µs", flush=True)
    # Tails at a constant rate (#20): 80 % is the target's point; 50 % and 95 % show the curve.
    for share in (50, 80, 95):
        rate = int(results["wasmhook v4 sync c32"]["rps"] * share / 100)
        runs = [constant_rate(v4_url, v4_lua, v4_headers, v4_body, rate, args.duration) for _ in range(args.repeats)]
        rps, p50, p99 = (statistics.median(r[i] for r in runs) for i in range(3))
        results[f"wasmhook v4 sync c32 @{share}%"] = {"rps": rps, "p50_ms": p50, "p99_ms": p99, "rate": rate}
        label = f"wasmhook v4 sync c32 at {share}% rate"
        print(f"   {label:<40} {rps:>9.0f} req/s  p50 {p50:7.3f} ms  p99 {p99:7.3f} ms", flush=True)

    hook = call("POST", f"{server.base}/v1/webhooks", key, {"target": {"type": "block", "id": block}, "auth": "none"})
    hook_lua = lua_script(os.path.join(work, "hook.lua"), {"Content-Type": "application/json"})
    measure("trigger webhook sync c32", f"{server.base}/api/webhooks/{hook['id']}", hook_lua, 32, args, results)
    noop = server.block(key, open(os.path.join(MODULES, "noop.wasm"), "rb").read(), "noop")
    accept = call("POST", f"{server.base}/v1/webhooks", key,
                  {"target": {"type": "block", "id": noop}, "auth": "none", "settings": {"responseMode": "async"}})
    measure("trigger webhook async accept c32", f"{server.base}/api/webhooks/{accept['id']}", hook_lua, 32, args, results)
    results["RSS after the HTTP arms (MiB)"] = {"value": server.rss_mib()}
    server.stop()

    if wasmtime:
        port = free_port()
        serve = Server([wasmtime, "serve", "-S", "cli", "-O", "pooling-allocator", "--addr", f"127.0.0.1:{port}", HTTP_ECHO])
        wait_http(f"http://127.0.0.1:{port}/")
        for c in (1, 32):
            measure(f"wasmtime serve c{c}", f"http://127.0.0.1:{port}/", lua, c, args, results)
        serve.stop()


def sandbox_arms(args, results):
    print("== sandbox only (cargo bench sandbox_run, pinned to core 0)", flush=True)
    runs = "5000" if args.quick else "10000"
    for name, env in [
        ("sandbox echo, fuel+epoch on", {}),
        ("sandbox echo, fuel+epoch off", {"LIMITS": "off"}),
        ("sandbox noop (floor)", {"MODULE": "noop"}),
    ]:
        out = sh("taskset", "-c", SERVER_CORE, "cargo", "bench", "--locked", "-q", "-p", "wasmhook-tests", "--bench",
                 "sandbox_run", env=dict(env, RUNS=runs, ROUNDS="5"), capture=True)
        summary = re.search(r"median round p50=([\d.]+)µs p99=([\d.]+)µs .* throughput=(\d+)", out)
        results[name] = {"p50_us": float(summary.group(1)), "p99_us": float(summary.group(2)),
                         "runs_per_s": int(summary.group(3))}
        print(f"   {name:<40} p50 {summary.group(1)} µs  p99 {summary.group(2)} µs  {summary.group(3)} runs/s", flush=True)
    out = sh("taskset", "-c", "0,1", "cargo", "bench", "--locked", "-q", "-p", "wasmhook-tests", "--bench",
             "outbound_call", env={"RUNS": "1000" if args.quick else "2000", "ROUNDS": "5"}, capture=True)
    summary = re.search(r"run p50 ([\d.]+)µs → ([\d.]+)µs .* raw request ([\d.]+)µs; host overhead=(-?[\d.]+)µs", out)
    results["outbound GET (http-probe, loopback)"] = {
        "p50_us": float(summary.group(2)), "raw_us": float(summary.group(3)), "overhead_us": float(summary.group(4))}
    print(f"   {'outbound GET, one call per run':<40} run p50 {summary.group(1)} → {summary.group(2)} µs, "
          f"raw request {summary.group(3)} µs, host overhead {summary.group(4)} µs", flush=True)
    # The scaling matrix: copy-on-write images on/off, and memory kept resident (the default, 4 MiB
    # reset from the dirty-page scan) or not (`madvise`, whose TLB shootdowns hit every core).
    for cow, resident in (("on", ""), ("off", ""), ("on", "0")):
        for threads in ("1", "2"):
            label = f"CoW {cow}" + (", keep resident 0" if resident else "")
            name = f"sandbox echo, {label}, {threads} thread(s)"
            env = {"RUNS": runs, "ROUNDS": "3", "THREADS": threads, "COW": cow}
            if resident:
                env["KEEP_RESIDENT"] = resident
            out = sh("taskset", "-c", "0,1", "cargo", "bench", "--locked", "-q", "-p", "wasmhook-tests", "--bench",
                     "sandbox_run", env=env, capture=True)
            summary = re.search(r"p50=([\d.]+)µs .* throughput=(\d+)", out)
            results[name] = {"runs_per_s": int(summary.group(2))}
            print(f"   {name:<40} {summary.group(2)} runs/s (p50 {summary.group(1)} µs)", flush=True)


def restart_and_memory(args, work, results):
    print("== restart, first run, memory", flush=True)
    echo_wasm = open(os.path.join(MODULES, "echo.wasm"), "rb").read()
    data = os.path.join(work, "restart-data")
    server = Wasmhook(data)
    key = server.key
    results["idle RSS, empty server (MiB)"] = {"value": server.rss_mib()}
    block = server.block(key, echo_wasm)
    server.stop()
    firsts, boots = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        server = Wasmhook(data)
        boots.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        call("POST", f"{server.base}/v2/webhook/blocks/{block}/execute", key, {"data": {"n": 1}})
        firsts.append((time.perf_counter() - started) * 1000)
        server.stop()
    results["restart: process start to healthy (ms)"] = {"value": statistics.median(boots)}
    results["restart: first run after restart (ms)"] = {"value": statistics.median(firsts)}
    print(f"   boot {statistics.median(boots):.1f} ms, first run {statistics.median(firsts):.2f} ms", flush=True)

    count = 100 if args.quick else 1000
    noop = open(os.path.join(MODULES, "noop.wasm"), "rb").read()
    server = Wasmhook(os.path.join(work, "many-data"))
    key = server.key
    started = time.time()
    ids = []
    for n in range(count):
        # A custom section makes each component distinct: its own digest, compile and artifact.
        ids.append(server.block(key, with_custom_section(noop, f"bench-{n}".encode()), f"noop-{n}"))
    registered = server.rss_mib()
    for block in ids:
        call("POST", f"{server.base}/v2/webhook/blocks/{block}/execute", key, {"data": {}})
    ran = server.rss_mib()
    server.stop()
    results[f"RSS with {count} registered blocks (MiB)"] = {"value": registered}
    results[f"RSS after running each of {count} blocks once (MiB)"] = {"value": ran}
    print(f"   {count} blocks registered in {time.time() - started:.0f} s: RSS {registered:.0f} MiB, "
          f"after running each once {ran:.0f} MiB", flush=True)


def python_arms(args, work, results):
    """A Python block (componentize-py, ≈ 19 MB): upload (validate + compile), first run after a
    restart (artifact from disk), warm runs, and host RSS per concurrent run."""
    print("== Python block (modules/python/stripe_event.py)", flush=True)
    stripe = open(os.path.join(GUESTS, "python", "stripe_event.wasm"), "rb").read()
    hostile = open(os.path.join(GUESTS, "python", "hostile.wasm"), "rb").read()
    data = os.path.join(work, "python-data")
    server = Wasmhook(data)
    key = server.key
    uploads = []
    for n in range(args.repeats):
        block = call("POST", f"{server.base}/v1/blocks", key, {"name": f"stripe-{n}", "language": "python"})
        started = time.perf_counter()
        # A custom section per upload: a new digest, so each one compiles.
        call("POST", f"{server.base}/v1/blocks/{block['id']}/versions", key,
             with_custom_section(stripe, f"bench-{n}".encode()), "application/wasm")
        uploads.append(time.perf_counter() - started)
    results["python: upload, validate + compile (s)"] = {"value": statistics.median(uploads)}
    print(f"   upload (validate + compile, {len(stripe) / 1e6:.1f} MB): {statistics.median(uploads):.1f} s", flush=True)
    execute = f"/v2/webhook/blocks/{block['id']}/execute"
    server.stop()

    firsts = []
    for _ in range(args.repeats):
        server = Wasmhook(data)
        started = time.perf_counter()
        answer = call("POST", f"{server.base}{execute}", key, {"data": STRIPE_EVENT})
        firsts.append((time.perf_counter() - started) * 1000)
        assert answer["success"], answer
        if _ < args.repeats - 1:
            server.stop()
    results["python: first run after restart (ms)"] = {"value": statistics.median(firsts)}
    print(f"   first run after restart: {statistics.median(firsts):.1f} ms", flush=True)

    count = 50 if args.quick else 300
    wall, runs = [], []
    for _ in range(count):
        started = time.perf_counter()
        answer = call("POST", f"{server.base}{execute}", key, {"data": STRIPE_EVENT})
        wall.append((time.perf_counter() - started) * 1000)
        runs.append(answer["duration_ms"])
    wall.sort()
    runs.sort()
    results["python: warm v2 call p50 (ms)"] = {"value": wall[len(wall) // 2]}
    results["python: warm run p50, server-side duration (ms)"] = {"value": runs[len(runs) // 2]}
    print(f"   warm: call p50 {wall[len(wall) // 2]:.2f} ms, run p50 {runs[len(runs) // 2]:.2f} ms "
          f"(p99 {runs[int(len(runs) * 0.99)]:.2f} ms)", flush=True)

    # Concurrent runs held open by a busy loop: RSS growth per run over the idle server. On a
    # restarted server (artifact from disk): the upload's compile leaves the allocator's memory
    # high, which would hide the runs.
    looper = server.block(key, hostile, "python-hostile")
    server.stop()
    server = Wasmhook(data)
    call("POST", f"{server.base}/v2/webhook/blocks/{looper}/execute", key, {"data": {"mode": "warm"}})
    idle = server.rss_mib()
    concurrent = 8
    threads = [threading.Thread(target=call, args=("POST", f"{server.base}/v2/webhook/blocks/{looper}/execute", key,
                                                   {"data": {"mode": "loop"}, "environment_variables": {}}))
               for _ in range(concurrent)]
    call("PATCH", f"{server.base}/v1/blocks/{looper}", key, {"timeoutMs": 3000})
    for t in threads:
        t.start()
    time.sleep(1.5)
    busy = server.rss_mib()
    for t in threads:
        t.join()
    server.stop()
    per_run = (busy - idle) / concurrent
    results["python: host RSS per concurrent run (MiB)"] = {"value": per_run}
    print(f"   RSS idle {idle:.0f} MiB, {concurrent} concurrent runs {busy:.0f} MiB: {per_run:.1f} MiB per run", flush=True)


def latency_sample(url, key, body, seconds):
    """Sequential calls for `seconds`: (p50 ms, p99 ms, count). Sequential on purpose: each call
    is a neighbour's delivery arriving while the other team's load runs."""
    samples = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        started = time.perf_counter()
        answer = call("POST", url, key, body)
        samples.append((time.perf_counter() - started) * 1000)
        assert answer["success"], answer
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)], len(samples)


def hostile_arms(args, work, results):
    """Another team's hostile blocks at full concurrency (#13): loop-forever, memory-bomb and
    log-flood deliveries keep every queue worker busy and that team's queue full, while a
    neighbour team's sync v2 calls are timed. Claims: neighbour p99 within 2x of its quiet
    baseline, host RSS under HOSTILE_RSS_BOUND_MIB."""
    print("== hostile neighbour (server on core 0, callers on core 1)", flush=True)
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(CLIENT_CORE)})  # the timed calls come from the client core
    modules = {name: open(os.path.join(MODULES, f"{name.replace('-', '_')}.wasm"), "rb").read()
               for name in ("echo", "loop-forever", "memory-bomb", "log-flood")}
    server = Wasmhook(os.path.join(work, "hostile-data"), env={"WASMHOOK_TEAM_QUEUE_DEPTH": "500"})
    hostile_key = server.key
    neighbour_key = call("POST", f"{server.base}/v1/teams", hostile_key, {"name": "neighbour"})["apiKey"]
    echo = server.block(neighbour_key, modules["echo"])
    url = f"{server.base}/v2/webhook/blocks/{echo}/execute"
    body = {"data": json.loads(PAYLOAD)}
    seconds = 5 if args.quick else 20
    for _ in range(200):  # warm
        call("POST", url, neighbour_key, body)
    quiet = latency_sample(url, neighbour_key, body, seconds)
    idle_rss = server.rss_mib()
    print(f"   quiet: neighbour p50 {quiet[0]:.3f} ms, p99 {quiet[1]:.3f} ms ({quiet[2]} calls), RSS {idle_rss:.0f} MiB",
          flush=True)

    hostile = []
    for name, config, data in [("loop-forever", {"timeoutMs": 2000}, {}),
                               ("memory-bomb", {"memoryBytes": 128 << 20}, {}),
                               ("log-flood", {}, {"lines": 1_000_000})]:
        block = server.block(hostile_key, modules[name], name)
        call("PATCH", f"{server.base}/v1/blocks/{block}", hostile_key, config)
        hostile.append((f"{server.base}/v2/webhook/blocks/{block}/execute?wait=false", data))
    # The flood runs in its own process (its threads would share this one's GIL with the
    # timed calls), pinned to the client core like every load generator here.
    flood = subprocess.Popen(["taskset", "-c", CLIENT_CORE, sys.executable, __file__, "--flood", hostile_key,
                              json.dumps(hostile)], stdout=subprocess.PIPE, text=True)
    time.sleep(3)
    rss = [server.rss_mib()]
    sampler_stop = threading.Event()

    def sample_rss():
        while not sampler_stop.is_set():
            rss.append(server.rss_mib())
            time.sleep(0.2)

    sampler = threading.Thread(target=sample_rss)
    sampler.start()
    loaded = latency_sample(url, neighbour_key, body, seconds)
    sampler_stop.set()
    sampler.join()
    flood.send_signal(signal.SIGTERM)
    counts = json.loads(flood.communicate()[0] or "{}")
    server.stop()
    os.sched_setaffinity(0, affinity)
    peak = max(rss)
    results["hostile: neighbour p99 quiet (ms)"] = {"value": quiet[1]}
    results["hostile: neighbour p99 under hostile load (ms)"] = {"value": loaded[1]}
    results["hostile: peak host RSS under hostile load (MiB)"] = {"value": peak}
    print(f"   hostile load: neighbour p50 {loaded[0]:.3f} ms, p99 {loaded[1]:.3f} ms ({loaded[2]} calls); "
          f"hostile deliveries accepted {counts.get('accepted')}, refused (team queue full) {counts.get('refused')}; "
          f"peak RSS {peak:.0f} MiB", flush=True)


def flood(key, targets):
    """`bench.py --flood KEY TARGETS`: keeps a team's queue full with async deliveries to each of
    TARGETS ([url, data] pairs), two senders per target, until SIGTERM; prints the counts."""
    targets = json.loads(targets)
    counts = {"accepted": 0, "refused": 0}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def send(url, data):
        while not stop.is_set():
            try:
                call("POST", url, key, {"data": data})
                counts["accepted"] += 1
            except urllib.error.HTTPError as refused:
                refused.read()
                counts["refused"] += 1  # 503 TEAM_QUEUE_FULL: the team's queue is full, as intended
                time.sleep(0.05)

    senders = [threading.Thread(target=send, args=target) for target in targets for _ in range(2)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    print(json.dumps(counts))


# Host RSS the hostile arm must stay under: idle server + 2 workers x (128 MiB memory-bomb cap
# + 256 KiB logs) + headroom for queued payloads and allocator slack.
HOSTILE_RSS_BOUND_MIB = 600


def with_custom_section(wasm, name):
    """Appends a custom section (id 0) named `name` to a component or module."""
    def leb(n):
        out = bytearray()
        while True:
            byte = n & 0x7F
            n >>= 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)
    payload = leb(len(name)) + name
    return wasm + b"\x00" + leb(len(payload)) + payload


def psql(url, sql):
    """One statement through psql (installed with PostgreSQL); its unaligned output."""
    return sh("psql", url, "-qtAX", "-c", sql, capture=True).strip()


def drained(url, timeout=600):
    """Waits until no execution is queued or running (an arm's backlog has run)."""
    deadline = time.time() + timeout
    while int(psql(url, "SELECT count(*) FROM executions WHERE status IN ('queued', 'running')")) > 0:
        if time.time() > deadline:
            raise RuntimeError("the queue did not drain")
        time.sleep(0.5)


def wrk_split(urls, connections, lua, duration):
    """wrk against several nodes at once (connections split evenly); summed req/s."""
    found = [None] * len(urls)

    def one(i):
        found[i] = wrk(urls[i], connections // len(urls), lua, duration)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(f[0] for f in found), max(f[1] for f in found), max(f[2] for f in found)


def postgres_arms(args, work, results):
    """Durable accepts and v4 sync on SQLite and on PostgreSQL (1 node, then 2 nodes on one
    database: on 2 cores both nodes share the server core, so that arm shows what coordination
    costs, not scale-out), accept-to-claim latency, and the delay a node's death costs."""
    admin = os.environ.get("PG_TEST_URL")
    if not admin:
        print('== PostgreSQL arms skipped: set PG_TEST_URL (as root: eval "$(bash tests/postgres/start.sh)")')
        return
    print("== PostgreSQL arms (servers on core 0, wrk on core 1, PostgreSQL unpinned)", flush=True)
    echo_wasm = open(os.path.join(MODULES, "echo.wasm"), "rb").read()
    noop_wasm = open(os.path.join(MODULES, "noop.wasm"), "rb").read()
    v4_body = json.dumps({"data": json.loads(PAYLOAD)})
    hook_lua = lua_script(os.path.join(work, "pg-hook.lua"), {"Content-Type": "application/json"})
    base_env = {"WASMHOOK_WORKERS": "1", "WASMHOOK_QUEUE_DEPTH": "10000000"}

    def arms(label, server, key):
        block = server.block(key, echo_wasm)
        doc = call("POST", f"{server.base}/v1/docs", key, {"name": "bench", "datasets": [{"key": "echo", "block": block}]})
        v4_lua = lua_script(os.path.join(work, f"pg-v4-{label}.lua"),
                            {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}, v4_body)
        v4_url = f"/v4/webhook/docs/{doc['id']}/execute"
        measure(f"{label}: v4 sync c32", server.base + v4_url, v4_lua, 32, args, results)
        noop = server.block(key, noop_wasm, "noop")
        hook = call("POST", f"{server.base}/v1/webhooks", key,
                    {"target": {"type": "block", "id": noop}, "auth": "none", "settings": {"responseMode": "async"}})
        measure(f"{label}: durable async accept c32", f"{server.base}/api/webhooks/{hook['id']}", hook_lua, 32, args,
                results)
        return v4_url, v4_lua, hook

    sqlite = Wasmhook(os.path.join(work, "pg-arms-sqlite"), env=base_env)
    arms("sqlite", sqlite, sqlite.key)
    sqlite.stop()

    name = f"wasmhook_bench_{os.getpid()}"
    psql(admin, f"CREATE DATABASE {name}")
    url = admin.rsplit("/", 1)[0] + "/" + name
    env = dict(base_env, WASMHOOK_DATABASE_URL=url, WASMHOOK_MASTER_KEY="07" * 32)
    nodes = []
    try:
        nodes.append(Wasmhook(os.path.join(work, "pg-node-a"), env=env))
        key = nodes[0].key
        v4_url, v4_lua, hook = arms("postgres, 1 node", nodes[0], key)

        # Accept-to-claim: light load (one at a time, after the arms' backlog ran), from the
        # accepting commit to the claim.
        drained(url)
        since = int(time.time() * 1000)
        for _ in range(300):
            call("POST", f"{nodes[0].base}/api/webhooks/{hook['id']}", None, {"n": 1})
        drained(url)
        p50, p99 = psql(url, "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY started_at - created_at), "
                             "percentile_cont(0.99) WITHIN GROUP (ORDER BY started_at - created_at) "
                             f"FROM executions WHERE webhook_id = '{hook['id']}' AND created_at >= {since}").split("|")
        results["postgres: accept-to-claim p50 at light load (ms)"] = {"value": float(p50)}
        results["postgres: accept-to-claim p99 at light load (ms)"] = {"value": float(p99)}

        drained(url)
        nodes.append(Wasmhook(os.path.join(work, "pg-node-b"), env=env, joins=True))
        bases = [n.base for n in nodes]
        for label, target, lua in [("v4 sync", v4_url, v4_lua),
                                   ("durable async accept", f"/api/webhooks/{hook['id']}", hook_lua)]:
            runs = [wrk_split([b + target for b in bases], 32, lua, args.duration) for _ in range(args.repeats)]
            rps, p50, p99 = (statistics.median(r[i] for r in runs) for i in range(3))
            results[f"postgres, 2 nodes: {label} c32"] = {"rps": rps, "p50_ms": p50, "p99_ms": p99}
            print(f"   {'postgres, 2 nodes: ' + label + ' c32':<40} {rps:>9.0f} req/s  p50 {p50:7.3f} ms  "
                  f"p99 {p99:7.3f} ms", flush=True)

        # A node's death: node a holds queued slow runs when it is killed; node b takes them
        # over once a's leases (default 30 s, renewed every 10 s) expire.
        drained(url)
        burner = nodes[0].block(key, open(os.path.join(MODULES, "fuel_burner.wasm"), "rb").read(), "burner")
        slow = call("POST", f"{nodes[0].base}/v1/webhooks", key,
                    {"target": {"type": "block", "id": burner}, "auth": "none", "settings": {"responseMode": "async"}})
        for _ in range(200):
            call("POST", f"{nodes[0].base}/api/webhooks/{slow['id']}", None, {"iterations": 2_000_000})
        time.sleep(0.5)
        nodes[0].stop()  # SIGKILL
        killed_ms = int(time.time() * 1000)
        left = int(psql(url, f"SELECT count(*) FROM executions WHERE webhook_id = '{slow['id']}' "
                             "AND status IN ('queued', 'running')"))
        deadline = time.time() + 120
        while int(psql(url, f"SELECT count(*) FROM executions WHERE webhook_id = '{slow['id']}' "
                            "AND status IN ('queued', 'running')")) > 0:
            if time.time() > deadline:
                raise RuntimeError("the killed node's runs were never taken over")
            time.sleep(0.2)
        done_ms = int(time.time() * 1000)
        first = int(psql(url, f"SELECT min(started_at) FROM executions WHERE webhook_id = '{slow['id']}' "
                              f"AND started_at >= {killed_ms}"))
        results["postgres: runs left on the killed node"] = {"value": left}
        results["postgres: kill -> first taken-over run starts (s)"] = {"value": (first - killed_ms) / 1000}
        results["postgres: kill -> all its runs done elsewhere (s)"] = {"value": (done_ms - killed_ms) / 1000}
    finally:
        for node in nodes:
            node.stop()
        psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def telemetry_arms(args, work, results):
    """v4 sync c32 with telemetry as shipped (metrics on, `WASMHOOK_LOG=info`, OTLP export off),
    with metrics off only, and with everything off (`metrics = false`, `WASMHOOK_LOG=warn`). The
    servers take turns, run by run, in a rotating order, so drift hits all alike. A profile of the
    "on" server (perf, 6 s at c32) puts the metrics code itself at under 1 % of the core."""
    echo_wasm = open(os.path.join(MODULES, "echo.wasm"), "rb").read()
    print("== telemetry cost (v4 sync c32, on vs off, alternating runs)", flush=True)
    v4_body = json.dumps({"data": json.loads(PAYLOAD)})
    arms = {}
    for label, env in [("on", {"WASMHOOK_LOG": "info"}),
                       ("metrics off", {"WASMHOOK_LOG": "info", "WASMHOOK_METRICS": "false"}),
                       ("off", {"WASMHOOK_LOG": "warn", "WASMHOOK_METRICS": "false"})]:
        slug = label.replace(" ", "-")
        server = Wasmhook(os.path.join(work, f"telemetry-{slug}"), env=dict(env, WASMHOOK_WORKERS="1"))
        block = server.block(server.key, echo_wasm)
        doc = call("POST", f"{server.base}/v1/docs", server.key,
                   {"name": "bench", "datasets": [{"key": "echo", "block": block}]})
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {server.key}"}
        lua = lua_script(os.path.join(work, f"telemetry-{slug}.lua"), headers, v4_body)
        arms[label] = (server, f"{server.base}/v4/webhook/docs/{doc['id']}/execute", lua, [])
    labels = list(arms)
    for round_ in range(max(args.repeats * 2, 6)):
        # Each round starts with another arm: no arm always runs first (or after the same one).
        for label in labels[round_ % len(labels):] + labels[:round_ % len(labels)]:
            _, url, lua, runs = arms[label]
            runs.append(wrk(url, 32, lua, args.duration))
    for label, (server, _, _, runs) in arms.items():
        rps = statistics.median(r[0] for r in runs)
        p99 = statistics.median(r[2] for r in runs)
        name = f"v4 sync c32, telemetry {label}"
        results[name] = {"rps": rps, "p50_ms": statistics.median(r[1] for r in runs), "p99_ms": p99,
                         "runs": [round(r[0]) for r in runs]}
        print(f"   {name:<40} {rps:>9.0f} req/s  p99 {p99:7.3f} ms  {results[name]['runs']}", flush=True)
        server.stop()


def ratio(results, a, b, key="rps"):
    if a in results and b in results and results[b][key]:
        return results[a][key] / results[b][key]
    return float("nan")


def print_table(results):
    print("\n== results (medians)\n")
    print(f"| {'arm':<44} | {'req/s':>9} | {'p50 ms':>7} | {'p99 ms':>7} |")
    print(f"|{'-' * 46}|{'-' * 11}|{'-' * 9}|{'-' * 9}|")
    for name, r in results.items():
        if "rps" in r:
            print(f"| {name:<44} | {r['rps']:>9.0f} | {r['p50_ms']:>7.3f} | {r['p99_ms']:>7.3f} |")
    print()
    for name, r in results.items():
        if "p99_us" in r:
            print(f"{name}: p50 {r['p50_us']:.1f} µs, p99 {r['p99_us']:.1f} µs, {r['runs_per_s']} runs/s")
        elif "raw_us" in r:
            print(f"{name}: run p50 {r['p50_us']:.1f} µs, raw request {r['raw_us']:.1f} µs, "
                  f"host overhead {r['overhead_us']:.1f} µs")
        elif "value" in r:
            small = isinstance(r["value"], float) and abs(r["value"]) < 1
            print(f"{name}: {r['value']:.3f}" if small else f"{name}: {r['value']:.1f}")
        elif "runs_per_s" in r:
            print(f"{name}: {r['runs_per_s']} runs/s")
    print("\nratios:")
    for label, a, b in [
        ("v4 sync c32 / wasmtime serve c32 (target >= 3)", "wasmhook v4 sync c32", "wasmtime serve c32"),
        ("v4 sync c1 / wasmtime serve c1", "wasmhook v4 sync c1", "wasmtime serve c1"),
        ("v4 sync c32 / axum echo c32 (target >= 0.15)", "wasmhook v4 sync c32", "axum echo c32"),
        ("trigger sync c32 / axum echo c32", "trigger webhook sync c32", "axum echo c32"),
    ]:
        if a in results and b in results:  # `--only` may have skipped either arm
            print(f"  {label}: {ratio(results, a, b):.2f}")
    quiet, loaded = results.get("hostile: neighbour p99 quiet (ms)"), results.get("hostile: neighbour p99 under hostile load (ms)")
    if quiet and loaded:
        print(f"  hostile neighbour: p99 loaded / quiet (target <= 2): {loaded['value'] / quiet['value']:.2f}")
        peak = results["hostile: peak host RSS under hostile load (MiB)"]["value"]
        print(f"  hostile neighbour: peak RSS (target <= {HOSTILE_RSS_BOUND_MIB} MiB): {peak:.0f} MiB")
    if "wasmhook v4 sync c1" in results and "axum echo c1" in results:
        delta = (results["wasmhook v4 sync c1"]["p50_ms"] - results["axum echo c1"]["p50_ms"]) * 1000
        print(f"  v4 sync c1 p50 - axum c1 p50 (target <= 100 µs): {delta:.0f} µs")
    for share in (50, 80, 95):
        at = results.get(f"wasmhook v4 sync c32 @{share}%")
        if at:
            target = " (target <= 2 ms)" if share == 80 else ""
            print(f"  v4 sync p99 at {share}% of max rate, {at['rate']} req/s{target}: {at['p99_ms']:.2f} ms")
    on, off = results.get("v4 sync c32, telemetry on"), results.get("v4 sync c32, telemetry off")
    if on and off:
        print(f"  telemetry cost, 1 - on / off req/s (target <= 3 %): {(1 - on['rps'] / off['rps']) * 100:.1f} %")
    print_records(results)
    print_floor(results)
    accept = results.get("trigger webhook async accept c32")
    if accept:
        print(f"  durable async accepts (target >= 20000/s): {accept['rps']:.0f}/s")
    on, off = results.get("sandbox echo, fuel+epoch on"), results.get("sandbox echo, fuel+epoch off")
    if on and off:
        print(f"  fuel+epoch on / off, runs/s (target >= 0.9): {on['runs_per_s'] / off['runs_per_s']:.2f}")
    for key, label in [("python: first run after restart (ms)", "python first run after restart (target <= 50 ms)"),
                       ("python: warm run p50, server-side duration (ms)", "python warm run p50 (target <= 10 ms)")]:
        if key in results:
            print(f"  {label}: {results[key]['value']:.2f} ms")
    for label in ("CoW on", "CoW off", "CoW on, keep resident 0"):
        one = results.get(f"sandbox echo, {label}, 1 thread(s)")
        two = results.get(f"sandbox echo, {label}, 2 thread(s)")
        if one and two:
            ratio_2 = two["runs_per_s"] / one["runs_per_s"]
            print(f"  {label}: 2 threads / 1 thread, runs/s (target >= 1.5): {ratio_2:.2f}")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--flood":
        return flood(sys.argv[2], sys.argv[3])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 s runs, 1 repeat, 100 blocks: a smoke test")
    parser.add_argument("--skip-wasmtime", action="store_true", help="skip the wasmtime serve arm")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--only", choices=["http", "sandbox", "restart", "python", "hostile", "records", "postgres",
                                                "telemetry"],
                        action="append",
                        help="run only these groups of arms (repeatable; default: all)")
    args = parser.parse_args()
    args.duration, args.repeats = (2, 1) if args.quick else (5, 3)
    needs_wrk = not args.only or {"http", "records", "postgres", "telemetry"} & set(args.only)
    for tool in ("wrk", "taskset") if needs_wrk else ("taskset",):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is required (Debian: apt-get install wrk util-linux)")
    if (os.cpu_count() or 1) < 2:
        sys.exit("needs 2 cores: the server and the load generator are pinned to separate cores")
    started = time.time()
    http = not args.only or "http" in args.only
    wasmtime = build(args.skip_wasmtime or not http, http)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        groups = [("http", lambda: http_arms(args, wasmtime, work, results)),
                  ("http", lambda: floor_arms(args, work, results, server=Server, free_port=free_port,
                                              wait_http=wait_http, release=RELEASE, modules=MODULES,
                                              measure=measure, constant_rate=constant_rate,
                                              lua_script=lua_script, payload=PAYLOAD)),
                  ("sandbox", lambda: sandbox_arms(args, results)),
                  ("restart", lambda: restart_and_memory(args, work, results)),
                  ("python", lambda: python_arms(args, work, results)),
                  ("hostile", lambda: hostile_arms(args, work, results)),
                  ("records", lambda: records_arms(args, work, results, wasmhook=Wasmhook, call=call,
                                                   modules=MODULES, wrk=wrk, lua_script=lua_script, psql=psql)),
                  ("records", lambda: record_cost_arm(results, sh=sh, core=SERVER_CORE)),
                  ("postgres", lambda: postgres_arms(args, work, results)),
                  ("telemetry", lambda: telemetry_arms(args, work, results))]
        for name, arms in groups:
            if not args.only or name in args.only:
                arms()
    print_table(results)
    print(f"\nmeasured in {time.time() - started:.0f} s (builds included)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
