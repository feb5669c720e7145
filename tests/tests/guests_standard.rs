//! Standard components run with the network denied by policy: a Rust `std` command and Python
//! guests (componentize-py) import all of `wasi:cli/imports`, `wasi:sockets` included; they
//! upload, run, and get an ordinary access-denied error when they try the network.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::sandbox::*;
use wasmhook_sandbox::{FailureKind, LogLevel, LogStream, RunLimits, RunStatus};

#[tokio::test]
async fn a_rust_std_command_that_links_sockets_runs_and_its_connect_is_denied() {
    let outcome = run("net-probe", input(json!({ "addr": "127.0.0.1:9" }))).await;
    assert_eq!(outcome.status(), RunStatus::Succeeded, "{:?}", outcome.failure());
    let output = output_json(&outcome);
    assert_eq!(output["tcp"]["kind"], "PermissionDenied", "{output}");
    assert_eq!(output["udp"]["kind"], "PermissionDenied", "{output}");
    assert!(output["lookup"].get("kind").is_some(), "name lookup must fail: {output}");
}

#[tokio::test]
async fn a_python_socket_gets_a_permission_error_and_the_run_succeeds() {
    let outcome = run("python/hostile", input(json!({ "mode": "socket", "port": 80 }))).await;
    assert_eq!(outcome.status(), RunStatus::Succeeded, "{:?}", outcome.failure());
    let output = output_json(&outcome);
    assert_eq!(output["socket"]["connected"], false, "{output}");
    assert_eq!(output["socket"]["is_permission_error"], true, "{output}");
    // Name resolution is off too: socket.gaierror, an OSError the block caught.
    assert_eq!(output["create_connection"]["connected"], false, "{output}");
    assert_eq!(output["create_connection"]["exception"], "gaierror", "{output}");
    let warned = outcome.logs.lines.iter().find(|l| l.level == LogLevel::Warn).expect("a warn line");
    assert!(warned.message.starts_with("socket failed: PermissionError"), "{warned:?}");
}

#[tokio::test]
async fn a_python_command_prints_its_output_and_its_socket_is_denied() {
    let outcome = run("python/report_command", input(json!({ "name": "Ada" }))).await;
    assert_eq!(outcome.status(), RunStatus::Succeeded, "{:?}", outcome.failure());
    let output = output_json(&outcome);
    assert_eq!(output["greeting"], "hello, Ada");
    assert!(output["network"].as_str().expect("network").starts_with("PermissionError"), "{output}");
    assert!(
        outcome.logs.lines.iter().any(|l| l.stream == LogStream::Stderr && l.message == "report_command starting"),
        "{:?}",
        outcome.logs
    );

    let failed = run("python/report_command", input(json!({ "exit_code": 3 }))).await;
    assert_eq!(failed.failure().map(|f| f.kind), Some(FailureKind::Exit), "{:?}", failed.failure());
}

#[tokio::test]
async fn a_python_infinite_loop_times_out_near_its_timeout_ms() {
    let block = prepare("python/hostile").await;
    let started = Instant::now();
    let outcome = sandbox().run(&block, with_timeout(input(json!({ "mode": "loop" })), 1000)).await.expect("run");
    let elapsed = started.elapsed();
    assert_eq!(outcome.failure().map(|f| f.kind), Some(FailureKind::Timeout), "{:?}", outcome.failure());
    assert!(elapsed >= Duration::from_millis(1000), "stopped early: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "stopped late: {elapsed:?}");
    assert_still_serving().await;
}

#[tokio::test]
async fn a_growing_python_list_ends_as_memory_limit() {
    let mut grow = input(json!({ "mode": "grow" }));
    grow.limits = RunLimits { memory_bytes: 96 << 20, ..RunLimits::default() };
    let outcome = run("python/hostile", grow).await;
    let failure = outcome.failure().expect("fails");
    assert_eq!(failure.kind, FailureKind::MemoryLimit, "{failure:?}");
    assert!(outcome.peak_memory_bytes <= 96 << 20, "peak {}", outcome.peak_memory_bytes);
    assert!(outcome.peak_memory_bytes >= 64 << 20, "the list got going: peak {}", outcome.peak_memory_bytes);
    assert_still_serving().await;
}

#[tokio::test]
async fn an_unhandled_python_exception_is_a_failure_with_its_traceback_logged() {
    let outcome = run("python/hostile", input(json!({ "mode": "raise" }))).await;
    let failure = outcome.failure().expect("fails");
    assert_eq!(failure.kind, FailureKind::GuestError, "{failure:?}");
    assert_eq!(failure.code.as_deref(), Some("unhandled_exception"));
    assert_eq!(failure.message, "ValueError: asked to raise");
    let logged = outcome.logs.lines.iter().find(|l| l.level == LogLevel::Error).expect("an error line");
    assert!(logged.message.contains("Traceback (most recent call last)"), "{logged:?}");
    assert!(logged.message.contains("hostile.py"), "{logged:?}");
}

#[tokio::test]
async fn python_runs_start_from_the_snapshot_every_time() {
    // Two runs of one prepared block: each sees only its own delivery.
    let block = prepare("python/stripe_event").await;
    for (id, amount) in [("evt_1", 500), ("evt_2", 700)] {
        let event = json!({ "id": id, "type": "charge.succeeded",
                            "data": { "object": { "amount": amount, "currency": "usd", "customer": "cus_1" } } });
        let outcome = sandbox().run(&block, input(event)).await.expect("run");
        let output = output_json(&outcome);
        assert_eq!(output["event_id"], id);
        assert_eq!(output["amount"], amount);
        assert_eq!(output["decision"], "approve");
    }
}

#[tokio::test]
async fn standard_components_take_pool_slots_by_their_footprint() {
    let python = prepare("python/stripe_event").await.footprint();
    assert_eq!((python.core_instances, python.memories, python.tables), (14, 1, 2), "{python:?}");
    assert_eq!(python.slots(), 2);
    let js = prepare("js/github_event").await.footprint();
    assert_eq!((js.core_instances, js.memories, js.tables), (4, 1, 2), "{js:?}");
    assert_eq!(js.slots(), 1);
    assert_eq!(prepare("echo").await.footprint().slots(), 1);
}

/// A pool of 3 run slots holds 24 core instances: three Python runs at once (42) would
/// exhaust it and fail; weighted by footprint they take turns and all reach their own end.
#[tokio::test]
async fn python_runs_wait_for_pool_slots_instead_of_failing() {
    let mut config = wasmhook_sandbox::SandboxConfig::new(shared_cache_dir());
    config.max_concurrent_runs = 3;
    let small = wasmhook_sandbox::Sandbox::new(config).expect("sandbox");
    let block = small.prepare(&wasmhook_tests::module("python/hostile")).await.expect("prepare");
    let started = Instant::now();
    let runs = (0..3).map(|_| small.run(&block, with_timeout(input(json!({ "mode": "loop" })), 300)));
    for outcome in futures::future::join_all(runs).await {
        let outcome = outcome.expect("run");
        assert_eq!(outcome.failure().map(|f| f.kind), Some(FailureKind::Timeout), "{:?}", outcome.failure());
    }
    assert!(started.elapsed() >= Duration::from_millis(900), "one at a time: {:?}", started.elapsed());
}
