//! #13 item 2: a server-wide guest-memory budget. Each run reserves its memory cap; runs wait
//! (in arrival order) while the budget is spent, so the caps of runs in flight never sum past
//! it, and a cap over the whole budget is refused at once.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::sandbox::{input, shared_cache_dir, with_timeout};
use wasmhook_sandbox::{FailureKind, RunInput, Sandbox, SandboxConfig};

const MIB: u64 = 1 << 20;

fn budgeted_sandbox(budget: u64) -> Sandbox {
    let mut config = SandboxConfig::new(shared_cache_dir());
    config.max_concurrent_runs = 16;
    config.memory_budget_bytes = budget;
    Sandbox::new(config).expect("sandbox")
}

fn capped(ms: u64, memory_bytes: u64) -> RunInput {
    let mut run = with_timeout(input(json!({})), ms);
    run.limits.memory_bytes = memory_bytes;
    run
}

#[tokio::test]
async fn runs_wait_for_the_budget_and_caps_never_sum_past_it() {
    let sandbox = budgeted_sandbox(64 * MIB);
    let sleeper = sandbox.prepare(&wasmhook_tests::module("sleep-forever")).await.expect("prepare");
    let echo = sandbox.prepare(&wasmhook_tests::module("echo")).await.expect("prepare");

    // Two 40 MiB runs cannot share a 64 MiB budget: the second waits for the first.
    let started = Instant::now();
    let (first, second, small) = tokio::join!(
        sandbox.run(&sleeper, capped(400, 40 * MIB)),
        sandbox.run(&sleeper, capped(400, 40 * MIB)),
        async {
            // An 8 MiB run arriving while the second waits queues behind it (first come, first
            // served: a big run is never starved by a stream of small ones), then runs beside
            // it: it is done long before the second ends at 800 ms.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let at = Instant::now();
            let outcome = sandbox.run(&echo, capped(2000, 8 * MIB)).await;
            (outcome, at.elapsed())
        },
    );
    let elapsed = started.elapsed();
    for outcome in [first.expect("run"), second.expect("run")] {
        assert_eq!(outcome.failure().map(|f| f.kind), Some(FailureKind::Timeout));
    }
    assert!(elapsed >= Duration::from_millis(800), "the second 40 MiB run waited: {elapsed:?}");
    let (small, small_took) = small;
    assert!(small.expect("run").output().is_some());
    assert!(small_took < Duration::from_millis(550), "it ran beside the second: {small_took:?}");

    let refused = sandbox.run(&echo, capped(100, 65 * MIB)).await.expect_err("over the whole budget");
    assert!(refused.to_string().contains("memory budget"), "{refused}");
}
