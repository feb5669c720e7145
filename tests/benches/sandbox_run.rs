//! Per-run cost of the sandbox: `echo` with a 1 KiB data file, including the `/webhook` dir
//! setup and cleanup, Store creation, instantiation from `InstancePre`, the call, and teardown.
//!
//! `cargo bench -p wasmhook-tests --bench sandbox_run` (release build). Prints p50/p90/p99.
//! Environment: `RUNS` (default 20000), `FUEL=off` to build the engine without fuel metering.

use std::time::{Duration, Instant};

use wasmhook::sandbox::{RunInput, Sandbox, SandboxConfig};

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(20_000);
    let fuel = std::env::var("FUEL").map_or(true, |v| v != "off");
    let cache = tempfile::tempdir()?;
    let mut config = SandboxConfig::new(cache.path());
    config.fuel_metering = fuel;
    let sandbox = Sandbox::new(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;

    let payload = one_kib_payload();
    let input = RunInput { data: payload.into(), ..RunInput::default() };
    let block = runtime.block_on(sandbox.prepare(&wasmhook_tests::module("echo")))?;

    let mut samples = Vec::with_capacity(runs);
    runtime.block_on(async {
        for _ in 0..runs / 10 {
            sandbox.run(&block, input.clone()).await?;
        }
        for _ in 0..runs {
            let started = Instant::now();
            let outcome = sandbox.run(&block, input.clone()).await?;
            samples.push(started.elapsed());
            anyhow::ensure!(outcome.output().is_some(), "echo failed: {:?}", outcome.failure());
        }
        Ok::<_, anyhow::Error>(())
    })?;
    report(&format!("sandbox run, echo, 1 KiB data, fuel {}", if fuel { "on" } else { "off" }), &mut samples);
    Ok(())
}

fn one_kib_payload() -> Vec<u8> {
    let filler = "x".repeat(1024 - 40);
    let payload = serde_json::to_vec(&serde_json::json!({"event": "order.created", "pad": filler})).expect("json");
    assert!((1000..=1100).contains(&payload.len()));
    payload
}

fn report(name: &str, samples: &mut [Duration]) {
    samples.sort_unstable();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let total: Duration = samples.iter().sum();
    println!(
        "{name}: n={} p50={:.1}µs p90={:.1}µs p99={:.1}µs mean={:.1}µs ({:.0} runs/s on one thread)",
        samples.len(),
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.90).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        total.as_secs_f64() * 1e6 / samples.len() as f64,
        samples.len() as f64 / total.as_secs_f64(),
    );
}
