//! Hostile blocks are contained with the right failure kind, and the host keeps serving.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::sandbox::*;
use wasmhook_sandbox::{FailureKind, RunLimits, RunStatus};

#[tokio::test]
async fn a_forever_loop_stops_at_its_timeout_ms() {
    let block = prepare("loop-forever").await;
    let started = Instant::now();
    let outcome = sandbox().run(&block, with_timeout(input(json!({})), 200)).await.expect("run");
    let elapsed = started.elapsed();
    assert_eq!(outcome.status(), RunStatus::TimedOut);
    let failure = outcome.failure().expect("fails");
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert!(failure.message.contains("200 ms"), "{}", failure.message);
    assert!(elapsed >= Duration::from_millis(200), "stopped early: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(400), "stopped late: {elapsed:?}");
    assert_still_serving().await;
}

#[tokio::test]
async fn the_default_timeout_is_six_seconds() {
    let block = prepare("loop-forever").await;
    let started = Instant::now();
    let outcome = sandbox().run(&block, input(json!({}))).await.expect("run");
    let elapsed = started.elapsed();
    assert_eq!(outcome.failure().map(|f| f.kind), Some(FailureKind::Timeout));
    assert!(elapsed >= Duration::from_millis(6000), "stopped before 6 s: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(6500), "stopped long after 6 s: {elapsed:?}");
}

#[tokio::test]
async fn a_guest_blocked_in_a_host_call_is_stopped_by_the_outer_deadline() {
    // Prepared first: loading the artifact is not part of the run's deadline (timed in, it
    // pushed a loaded CI machine past the bound).
    let block = prepare("sleep-forever").await;
    let started = Instant::now();
    let outcome = sandbox().run(&block, with_timeout(input(json!({})), 300)).await.expect("run");
    let elapsed = started.elapsed();
    let failure = outcome.failure().expect("fails");
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert!(failure.message.contains("blocked in a host call"), "{}", failure.message);
    assert!(elapsed < Duration::from_millis(600), "took {elapsed:?}");
    assert_still_serving().await;
}

#[tokio::test]
async fn a_memory_bomb_hits_its_cap() {
    let mut bomb = input(json!({}));
    bomb.limits = RunLimits { memory_bytes: 64 << 20, ..RunLimits::default() };
    let outcome = run("memory-bomb", bomb).await;
    let failure = outcome.failure().expect("fails");
    assert_eq!(failure.kind, FailureKind::MemoryLimit, "{failure:?}");
    assert!(outcome.peak_memory_bytes <= 64 << 20, "peak {}", outcome.peak_memory_bytes);
    assert!(outcome.peak_memory_bytes >= 32 << 20, "the bomb got going: peak {}", outcome.peak_memory_bytes);
    assert_still_serving().await;
}

#[tokio::test]
async fn a_memory_cap_over_the_sandbox_maximum_is_refused() {
    let block = prepare("echo").await;
    let mut huge = input(json!({}));
    huge.limits.memory_bytes = sandbox().config().max_memory_bytes + 1;
    let err = sandbox().run(&block, huge).await.expect_err("refused");
    assert!(err.to_string().contains("over the sandbox maximum"), "{err}");
}

#[tokio::test]
async fn a_stack_overflow_is_a_trap() {
    let outcome = run("stack-overflow", input(json!({}))).await;
    let failure = outcome.failure().expect("fails");
    assert_eq!(failure.kind, FailureKind::Trap);
    assert!(failure.message.contains("stack overflow"), "{}", failure.message);
    assert_still_serving().await;
}

#[tokio::test]
async fn a_log_flood_is_capped_and_the_run_still_succeeds() {
    let outcome = run("log-flood", input(json!({"lines": 100_000}))).await;
    assert_eq!(output_json(&outcome), json!(100_000));
    let kept: usize = outcome.logs.lines.iter().map(|l| l.message.len()).sum();
    let cap = sandbox().config().max_log_bytes;
    assert!(kept <= cap, "kept {kept} bytes over the {cap}-byte cap");
    assert!(outcome.logs.truncated(), "the flood was cut");
    assert!(outcome.logs.dropped_bytes > 10_000_000, "dropped {}", outcome.logs.dropped_bytes);
    assert_still_serving().await;
}

#[tokio::test]
async fn a_small_fuel_budget_stops_a_fuel_burner() {
    let mut burner = input(json!({"iterations": 100_000_000u64}));
    burner.limits.fuel = Some(1_000_000);
    let outcome = run("fuel-burner", burner).await;
    assert_eq!(outcome.failure().map(|f| f.kind), Some(FailureKind::OutOfFuel));
    assert!(outcome.fuel_consumed >= 1_000_000, "consumed {}", outcome.fuel_consumed);
    assert_still_serving().await;
}

#[tokio::test]
async fn the_default_fuel_budget_does_not_cut_cpu_work_before_its_timeout() {
    // ~1.5 s of pure CPU with a 3 s deadline and no explicit fuel: must finish.
    let burner = with_timeout(input(json!({"iterations": 600_000_000u64})), 3000);
    let outcome = run("fuel-burner", burner).await;
    assert_eq!(outcome.status(), RunStatus::Succeeded, "{:?}", outcome.failure());
    assert!(outcome.fuel_consumed > 1_000_000_000, "burned {}", outcome.fuel_consumed);
}

#[tokio::test]
async fn a_panic_is_reported_with_its_message() {
    let outcome =
        run("panic-block", with_env(input(json!({})), &[("PANIC_REASON", "invoice total is negative")])).await;
    let failure = outcome.failure().expect("fails");
    assert_eq!(failure.kind, FailureKind::Panic, "{failure:?}");
    assert!(failure.message.contains("invoice total is negative"), "{}", failure.message);
    assert_still_serving().await;
}

#[tokio::test]
async fn fs_escape_reads_and_writes_nothing_outside_its_data() {
    let secret_dir = tempfile::tempdir().expect("tempdir");
    let secret = secret_dir.path().join("host-secret.txt");
    std::fs::write(&secret, "host secret").expect("write");

    let outcome =
        run("fs-escape", with_env(input(json!({"x": 1})), &[("HOST_SECRET_PATH", secret.to_str().expect("utf8"))]))
            .await;
    let report = output_json(&outcome);
    let report = report.as_object().expect("report object");
    assert_eq!(report.len(), 13, "every attempt reported: {report:?}");
    for (attempt, result) in report {
        let result = result.as_str().expect("string");
        if attempt == "data_file_readable" {
            assert_eq!(result, "ok: 7 bytes");
        } else if attempt == "webhook_listing" {
            // Its own writes were refused, so `/webhook` holds only what the host put there.
            assert_eq!(result, "ok: [\"data.json\"]");
        } else {
            assert!(result.starts_with("denied"), "{attempt}: {result}");
        }
    }
    assert_eq!(std::fs::read_to_string(&secret).expect("read"), "host secret");
    assert!(!std::path::Path::new("/tmp/pwned.txt").exists());
    assert_still_serving().await;
}

#[tokio::test]
async fn a_guest_cannot_override_the_data_file_path() {
    let outcome = run("env-snoop", with_env(input(json!({})), &[("WEBHOOK_DATA_FILE", "/etc/passwd")])).await;
    assert_eq!(output_json(&outcome)["WEBHOOK_DATA_FILE"], "/webhook/data.json");
}

#[tokio::test]
async fn a_huge_output_is_invalid_output() {
    let outcome = run("huge-output", input(json!({"bytes": 4 << 20}))).await;
    let failure = outcome.failure().expect("fails");
    assert_eq!(failure.kind, FailureKind::InvalidOutput);
    assert!(failure.message.contains("output cap"), "{}", failure.message);
    assert_still_serving().await;
}

/// #13 (the class of item 1): host resources are capped per run. A guest opening its data file
/// a million times and keeping every handle is stopped at the cap, not after taking host
/// memory and a descriptor per handle.
#[tokio::test]
async fn a_resource_flood_is_stopped_at_the_per_run_cap() {
    let started = Instant::now();
    let outcome = run("resource-flood", input(json!({}))).await;
    let failure = outcome.failure().expect("stopped");
    eprintln!("resource flood: {failure:?}");
    // `/webhook` opens past the cap are refused with ENOMEM (`insufficient-memory`), an error
    // the guest sees and reports; it got fewer handles than the cap, never a million.
    assert_eq!(failure.kind, FailureKind::GuestError, "{failure:?}");
    let opened: usize = failure
        .message
        .strip_prefix("open ")
        .and_then(|rest| rest.split_once(" failed: Out of memory"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("refused with ENOMEM: {failure:?}"));
    assert!(opened < wasmhook_sandbox::MAX_HOST_RESOURCES, "stopped at the cap: {opened}");
    assert!(started.elapsed() < Duration::from_secs(2), "stopped at once: {:?}", started.elapsed());
    let fits = run("resource-flood", input(json!({ "opens": 50 }))).await;
    assert_eq!(output_json(&fits), json!(50), "ordinary use is untouched");
    assert_still_serving().await;
}

/// #20: pooled linear memories keep their first pages resident between runs (reset in place
/// from the dirty-page scan, the rest `madvise`d). A run that dirties a 6 MiB static — across
/// both parts — must leave nothing for the next run in the same slot, however often it runs.
#[tokio::test]
async fn a_run_finds_no_residue_of_an_earlier_run_in_its_memory() {
    // 4 MiB on Linux ≥ 6.7 (CI's kernel); 0 on older kernels, where every page is `madvise`d.
    eprintln!("keep resident: {} bytes", sandbox().config().memory_keep_resident_bytes);
    for attempt in 0..8 {
        let outcome = run("memory-residue", input(json!({}))).await;
        assert_eq!(output_json(&outcome), json!(0), "run {attempt} saw an earlier run's bytes: {outcome:?}");
    }
    let together = futures::future::join_all((0..4).map(|_| run("memory-residue", input(json!({}))))).await;
    for outcome in together {
        assert_eq!(output_json(&outcome), json!(0), "{outcome:?}");
    }
}
