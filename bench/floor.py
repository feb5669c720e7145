"""The floor arms (#20): what no change to wasmhook's routes or store can remove, measured.

`bench/sandbox-floor` is axum (wasmhook's HTTP stack) plus one run of the echo block per
request through wasmhook's sandbox with the server's defaults, and nothing else: no key, doc,
envelope or record. Started with a database path it also records every run the way v4
does (same store, row, packing, writer thread; `record.rs`): "floor + record". Three
comparisons come from them:

  - throughput and c1 latency: wasmhook v4 sync against the floor says what wasmhook itself
    costs per call; the floor against `wasmtime serve` says how far any v4 route could go;
  - tails: the bare axum echo and the floor at the same constant rates as v4's 50 / 80 / 95 %
    arms. Neither has a store, writer or queue, so a p99 they share with v4 is the machine's
    and the load generator's, not wasmhook's background work.
"""

import os
import statistics

from cpu import cpu_seconds, measured_cpu_per_request

TAIL_SHARES = (50, 80, 95)


def floor_arms(args, work, results, *, server, free_port, wait_http, release, modules, measure, constant_rate,
               lua_script, payload):
    """Adds "sandbox floor c1/c32" and the constant-rate axum and floor arms to `results`."""
    print("== floor arms (axum + the sandbox alone; axum and the floor at v4's constant rates)", flush=True)
    headers = {"Content-Type": "application/json"}
    lua = lua_script(os.path.join(work, "floor.lua"), headers)
    floor_port, recorded_port, axum_port = free_port(), free_port(), free_port()
    floor = server([os.path.join(release, "sandbox-floor"), f"127.0.0.1:{floor_port}", os.path.join(modules, "echo.wasm")])
    axum = server([os.path.join(release, "axum-echo"), f"127.0.0.1:{axum_port}"])

    def measure_cpu(key, process, url, connections):
        before = cpu_seconds(process.proc.pid)
        measure(key, url, lua, connections, args, results)
        results[key]["server_cpu_us"] = measured_cpu_per_request(process.proc.pid, results[key], args.duration, before)
        print(f"   {'  server CPU per request':<40} {results[key]['server_cpu_us']:9.1f} µs", flush=True)

    def at_rate(key, label, url, rate):
        runs = [constant_rate(url, lua, headers, payload, rate, args.duration) for _ in range(args.repeats)]
        rps, p50, p99 = (statistics.median(r[i] for r in runs) for i in range(3))
        results[key] = {"rps": rps, "p50_ms": p50, "p99_ms": p99, "rate": rate}
        print(f"   {label:<40} {rps:>9.0f} req/s  p50 {p50:7.3f} ms  p99 {p99:7.3f} ms", flush=True)

    floor_url, axum_url = f"http://127.0.0.1:{floor_port}/echo", f"http://127.0.0.1:{axum_port}/echo"
    try:
        wait_http(floor_url)  # a GET answers 405 once the block is compiled and the port listens
        wait_http(axum_url)
        for c in (1, 32):
            measure_cpu(f"sandbox floor c{c}", floor, floor_url, c)
        recorded_cmd = [os.path.join(release, "sandbox-floor"), f"127.0.0.1:{recorded_port}",
                        os.path.join(modules, "echo.wasm"), os.path.join(work, "floor-record", "wasmhook.db")]
        recorded = server(recorded_cmd)
        recorded_url = f"http://127.0.0.1:{recorded_port}/echo"
        try:
            wait_http(recorded_url)
            for c in (1, 32):
                measure_cpu(f"sandbox floor + record c{c}", recorded, recorded_url, c)
        finally:
            recorded.stop()
        for share in TAIL_SHARES:
            v4 = results.get(f"wasmhook v4 sync c32 @{share}%")
            if v4:
                at_rate(f"axum echo @v4 {share}%", f"axum echo at v4's {share}% rate", axum_url, v4["rate"])
                at_rate(f"sandbox floor @v4 {share}%", f"sandbox floor at v4's {share}% rate", floor_url, v4["rate"])
        # The same load relative to its own capacity as v4's 80 % arm: what queueing alone costs.
        at_rate("sandbox floor @80%", "sandbox floor at 80% of its own max", floor_url,
                int(results["sandbox floor c32"]["rps"] * 0.8))
    finally:
        floor.stop()
        axum.stop()


def print_floor(results):
    """The floor lines of the summary."""
    floor = results.get("sandbox floor c32")
    serve, v4 = results.get("wasmtime serve c32"), results.get("wasmhook v4 sync c32")
    if floor and serve:
        print(f"  sandbox floor c32 / wasmtime serve c32 (v4's target is 3): {floor['rps'] / serve['rps']:.2f}")
    if floor and v4:
        print(f"  v4 sync c32 / sandbox floor c32: {v4['rps'] / floor['rps']:.2f}")
    recorded, axum = results.get("sandbox floor + record c32"), results.get("axum echo c32")
    if recorded and floor:
        print(f"  sandbox floor + record c32 / sandbox floor c32: {recorded['rps'] / floor['rps']:.2f}")
    if recorded and v4:
        print(f"  v4 sync c32 / sandbox floor + record c32: {v4['rps'] / recorded['rps']:.2f}")
    if recorded and axum:
        print(f"  sandbox floor + record c32 / axum c32 (v4's target is 0.15): {recorded['rps'] / axum['rps']:.3f}")
    for label, arm in (("floor", floor), ("floor + record", recorded), ("v4", v4)):
        if arm and "server_cpu_us" in arm:
            print(f"  server CPU per call, {label} c32: {arm['server_cpu_us']:.0f} µs")
    axum1 = results.get("axum echo c1")
    for label in ("sandbox floor", "sandbox floor + record"):
        arm = results.get(f"{label} c1")
        if arm and axum1:
            print(f"  {label} c1 p50 - axum c1 p50 (v4's target is <= 100 µs): "
                  f"{(arm['p50_ms'] - axum1['p50_ms']) * 1000:.0f} µs")
    for share in TAIL_SHARES:
        row = [results.get(f"{label} @{share}%") for label in ("wasmhook v4 sync c32", "sandbox floor @v4", "axum echo @v4")]
        if all(row):
            print(f"  p99 at {row[0]['rate']} req/s (v4's {share}%): v4 {row[0]['p99_ms']:.2f} ms, "
                  f"floor {row[1]['p99_ms']:.2f} ms, axum {row[2]['p99_ms']:.2f} ms")
    own = results.get("sandbox floor @80%")
    if own:
        print(f"  sandbox floor p99 at 80% of its own max, {own['rate']} req/s: {own['p99_ms']:.2f} ms")

