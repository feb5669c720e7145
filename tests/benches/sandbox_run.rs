//! Per-run cost of the sandbox: `echo` with a 1 KiB data file, including the `/webhook` dir
//! setup and cleanup, Store creation, instantiation from `InstancePre`, the call, and teardown.
//!
//! `cargo bench -p wasmhook-tests --bench sandbox_run` (release build). Runs ROUNDS rounds of
//! RUNS runs and prints each round's p50/p90/p99, then the median round: this VM class's
//! neighbours move a single round's p50 by ±15 µs.
//! Environment: `RUNS` (default 20000), `FUEL=off` to build the engine without fuel metering,
//! `MODULE` (default `echo`; `noop` measures the floor: everything but the block's own work).

use std::time::{Duration, Instant};

use wasmhook::sandbox::{RunInput, Sandbox, SandboxConfig};

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(10_000);
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let fuel = std::env::var("FUEL").map_or(true, |v| v != "off");
    let cache = tempfile::tempdir()?;
    let mut config = SandboxConfig::new(cache.path());
    config.fuel_metering = fuel;
    let sandbox = Sandbox::new(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;

    let payload = one_kib_payload();
    let input = RunInput { data: payload.into(), ..RunInput::default() };
    let module = std::env::var("MODULE").unwrap_or_else(|_| "echo".into());
    let block = runtime.block_on(sandbox.prepare(&wasmhook_tests::module(&module)))?;

    let name = format!("sandbox run, {module}, 1 KiB data, fuel {}", if fuel { "on" } else { "off" });
    let mut summaries = Vec::with_capacity(rounds);
    runtime.block_on(async {
        for _ in 0..runs / 10 {
            sandbox.run(&block, input.clone()).await?;
        }
        for round in 1..=rounds {
            let mut samples = Vec::with_capacity(runs);
            for _ in 0..runs {
                let started = Instant::now();
                let outcome = sandbox.run(&block, input.clone()).await?;
                samples.push(started.elapsed());
                anyhow::ensure!(outcome.output().is_some(), "{module} failed: {:?}", outcome.failure());
            }
            summaries.push(report(&format!("{name}, round {round}"), &mut samples));
        }
        Ok::<_, anyhow::Error>(())
    })?;
    summaries.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (p50, p99) = summaries[summaries.len() / 2];
    let spread = (summaries[0].0, summaries[summaries.len() - 1].0);
    println!("{name}: median round p50={p50:.1}µs p99={p99:.1}µs (round p50s {:.1}–{:.1}µs)", spread.0, spread.1);
    Ok(())
}

fn one_kib_payload() -> Vec<u8> {
    let filler = "x".repeat(1024 - 40);
    let payload = serde_json::to_vec(&serde_json::json!({"event": "order.created", "pad": filler})).expect("json");
    assert!((1000..=1100).contains(&payload.len()));
    payload
}

/// Prints one round and returns its (p50, p99) in µs.
fn report(name: &str, samples: &mut [Duration]) -> (f64, f64) {
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
    (pct(0.50).as_secs_f64() * 1e6, pct(0.99).as_secs_f64() * 1e6)
}
