//! Per-run cost of the sandbox: `echo` with a 1 KiB data file, including the `/webhook` dir
//! setup and cleanup, Store creation, instantiation from `InstancePre`, the call, and teardown.
//!
//! `cargo bench -p wasmhook-tests --bench sandbox_run` (release build). Runs ROUNDS rounds of
//! RUNS runs and prints each round's p50/p90/p99, then the median round: this VM class's
//! neighbours move a single round's p50 by ±15 µs.
//! Environment: `RUNS` (default 10000), `ROUNDS` (default 5), `LIMITS=off` to build the engine
//! without fuel metering and epoch interruption, `FUEL=off` for fuel alone, `MODULE` (default
//! `echo`; `noop` measures the floor: everything but the block's own work), `THREADS` (default
//! 1: runs on that many OS threads at once, sharing one sandbox, to measure scaling across
//! cores), `COW=off` to copy memory images in instead of mapping them copy-on-write,
//! `KEEP_RESIDENT` (bytes of each linear memory reset in place, default: the server's).

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmhook_sandbox::{PreparedBlock, RunInput, Sandbox, SandboxConfig};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let runs: usize = env_or("RUNS", 10_000);
    let rounds: usize = env_or("ROUNDS", 5);
    let threads: usize = env_or("THREADS", 1);
    let limits = std::env::var("LIMITS").map_or(true, |v| v != "off");
    let fuel = limits && std::env::var("FUEL").map_or(true, |v| v != "off");
    let cache = tempfile::tempdir()?;
    let mut config = SandboxConfig::new(cache.path());
    config.fuel_metering = fuel;
    config.epoch_interruption = limits;
    config.memory_init_cow = config_cow();
    config.memory_keep_resident_bytes = env_or("KEEP_RESIDENT", config.memory_keep_resident_bytes);
    let sandbox = Arc::new(Sandbox::new(config)?);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;

    let payload = one_kib_payload();
    let input = RunInput { data: payload.into(), ..RunInput::default() };
    let module = std::env::var("MODULE").unwrap_or_else(|_| "echo".into());
    let block = runtime.block_on(sandbox.prepare(&wasmhook_tests::module(&module)))?;

    let name = format!(
        "sandbox run, {module}, 1 KiB data, fuel {}, epoch {}, CoW {}, {threads} thread(s)",
        if fuel { "on" } else { "off" },
        if limits { "on" } else { "off" },
        if config_cow() { "on" } else { "off" }
    );
    let mut summaries = Vec::with_capacity(rounds);
    run_on_threads(&sandbox, &block, &input, threads, runs / 10)?;
    for round in 1..=rounds {
        let started = Instant::now();
        let mut samples = run_on_threads(&sandbox, &block, &input, threads, runs)?;
        let wall = started.elapsed();
        let (p50, p99) = report(&format!("{name}, round {round}"), &mut samples);
        let throughput = samples.len() as f64 / wall.as_secs_f64();
        println!("  {throughput:.0} runs/s over all threads");
        summaries.push((p50, p99, throughput));
    }
    summaries.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (p50, p99, _) = summaries[summaries.len() / 2];
    let spread = (summaries[0].0, summaries[summaries.len() - 1].0);
    let mut throughputs: Vec<f64> = summaries.iter().map(|s| s.2).collect();
    throughputs.sort_by(f64::total_cmp);
    let throughput = throughputs[throughputs.len() / 2];
    println!(
        "{name}: median round p50={p50:.1}µs p99={p99:.1}µs (round p50s {:.1}–{:.1}µs) throughput={throughput:.0} runs/s",
        spread.0, spread.1
    );
    Ok(())
}

/// `runs` runs on each of `threads` threads (each with its own current-thread runtime, all
/// sharing the sandbox); returns every run's latency.
fn run_on_threads(
    sandbox: &Arc<Sandbox>,
    block: &Arc<PreparedBlock>,
    input: &RunInput,
    threads: usize,
    runs: usize,
) -> anyhow::Result<Vec<Duration>> {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (sandbox, block, input) = (Arc::clone(sandbox), Arc::clone(block), input.clone());
            std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async {
                    let mut samples = Vec::with_capacity(runs);
                    for _ in 0..runs {
                        let started = Instant::now();
                        let outcome = sandbox.run(&block, input.clone()).await?;
                        samples.push(started.elapsed());
                        anyhow::ensure!(outcome.output().is_some(), "run failed: {:?}", outcome.failure());
                    }
                    Ok(samples)
                })
            })
        })
        .collect();
    let mut all = Vec::with_capacity(runs * threads);
    for handle in handles {
        all.extend(handle.join().map_err(|_| anyhow::anyhow!("a bench thread panicked"))??);
    }
    Ok(all)
}

fn config_cow() -> bool {
    std::env::var("COW").map_or(true, |v| v != "off")
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
