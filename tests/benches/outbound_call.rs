//! Host overhead of one allowed outbound HTTP call: `http-probe` making one GET to a loopback
//! server, against the same block making none, minus the raw request (a fresh TCP connection,
//! `GET`, the whole response) made by the host itself. What remains is what the policy checks,
//! the resolver, hyper, `wasi:http` and the call record add.
//!
//! `cargo bench -p wasmhook-tests --bench outbound_call`. Environment: `RUNS` (default 2000),
//! `ROUNDS` (default 5). Prints each round, then the medians and the overhead.

#[path = "../tests/support/upstream.rs"]
#[allow(dead_code)] // the tests read what it received; the bench does not
mod upstream;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasmhook_sandbox::{NetworkPolicy, PreparedBlock, RunInput, Sandbox, SandboxConfig};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn p50(samples: &mut [Duration]) -> f64 {
    samples.sort_unstable();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn probe_input(origin: &str, calls: usize) -> RunInput {
    let requests: Vec<_> = (0..calls).map(|_| serde_json::json!({ "url": format!("{origin}/big/2") })).collect();
    let data = serde_json::to_vec(&serde_json::json!({ "requests": requests })).expect("json");
    let policy = NetworkPolicy { allowed_hosts: vec![origin.parse().expect("host")], ..NetworkPolicy::default() };
    RunInput { data: data.into(), network: Some(Arc::new(policy)), ..RunInput::default() }
}

async fn runs(sandbox: &Sandbox, block: &PreparedBlock, input: &RunInput, n: usize) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let outcome = sandbox.run(block, input.clone()).await?;
        samples.push(started.elapsed());
        anyhow::ensure!(outcome.output().is_some_and(|o| !o.contains("\"error\"")), "run failed: {:?}", outcome.result);
    }
    Ok(samples)
}

/// The same request made by the host: connect, write, read to the end of the 2-byte body.
async fn raw(port: u16, n: usize) -> anyhow::Result<Vec<Duration>> {
    let request = format!("GET /big/2 HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n\r\n");
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        stream.write_all(request.as_bytes()).await?;
        let mut buffer = Vec::with_capacity(256);
        while !buffer.ends_with(b"\r\n\r\nxx") {
            let mut chunk = [0u8; 256];
            let read = stream.read(&mut chunk).await?;
            anyhow::ensure!(read > 0, "the server closed early");
            buffer.extend_from_slice(&chunk[..read]);
        }
        samples.push(started.elapsed());
    }
    Ok(samples)
}

fn main() -> anyhow::Result<()> {
    let n: usize = env_or("RUNS", 2000);
    let rounds: usize = env_or("ROUNDS", 5);
    // The upstream answers on its own thread, as a remote server would.
    let server_runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let upstream = server_runtime.block_on(upstream::Upstream::start());
    let origin = upstream.origin();

    let cache = tempfile::tempdir()?;
    let mut config = SandboxConfig::new(cache.path());
    config.outbound_allow_private = true;
    let sandbox = Sandbox::new(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let block = runtime.block_on(sandbox.prepare(&wasmhook_tests::module("http-probe")))?;
    let (none, one) = (probe_input(&origin, 0), probe_input(&origin, 1));

    let (mut base, mut call, mut direct) = (Vec::new(), Vec::new(), Vec::new());
    runtime.block_on(async {
        runs(&sandbox, &block, &one, n / 10).await?;
        raw(upstream.port, n / 10).await?;
        for round in 1..=rounds {
            let (b, c, d) = (
                p50(&mut runs(&sandbox, &block, &none, n).await?),
                p50(&mut runs(&sandbox, &block, &one, n).await?),
                p50(&mut raw(upstream.port, n).await?),
            );
            println!(
                "round {round}: run without a call p50={b:.1}µs, with one call p50={c:.1}µs, raw request p50={d:.1}µs"
            );
            base.push(b);
            call.push(c);
            direct.push(d);
        }
        anyhow::Ok(())
    })?;
    let (b, c, d) = (median(base), median(call), median(direct));
    println!(
        "outbound call: run p50 {b:.1}µs → {c:.1}µs with one GET (+{:.1}µs); raw request {d:.1}µs; host overhead={:.1}µs",
        c - b,
        c - b - d
    );
    drop(upstream);
    Ok(())
}
