//! Preparing blocks: validation with clear errors, and compiled artifacts that survive a restart.

mod support;

use serde_json::json;
use support::sandbox::*;
use wasmhook_sandbox::{BlockShape, Sandbox, SandboxConfig, SandboxError};

async fn prepare_err(bytes: &[u8]) -> SandboxError {
    sandbox().prepare(bytes).await.expect_err("must be rejected")
}

#[tokio::test]
async fn garbage_bytes_are_rejected_as_not_wasm() {
    let err = prepare_err(b"#!/bin/sh\nrm -rf /\n").await;
    assert!(matches!(err, SandboxError::NotWasm(_)), "{err}");
    assert!(err.is_invalid_block());
    let err = prepare_err(b"").await;
    assert!(matches!(err, SandboxError::NotWasm(_)), "{err}");
}

#[tokio::test]
async fn a_core_module_is_rejected_with_advice() {
    let core = wat::parse_str("(module (func (export \"run\")))").expect("wat");
    let err = prepare_err(&core).await;
    assert!(matches!(err, SandboxError::CoreModule), "{err}");
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");
}

#[tokio::test]
async fn a_truncated_component_is_invalid() {
    let echo = wasmhook_tests::module("echo");
    let err = prepare_err(&echo[..echo.len() / 2]).await;
    assert!(matches!(err, SandboxError::InvalidComponent(_)), "{err}");
}

#[tokio::test]
async fn a_component_of_another_world_is_rejected() {
    let empty = wat::parse_str("(component)").expect("wat");
    let err = prepare_err(&empty).await;
    assert!(matches!(err, SandboxError::WrongWorld(_)), "{err}");
    assert!(err.to_string().contains("neither `run`"), "{err}");

    let wrong_run = wat::parse_str(
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func (export "run") (canon lift (core func $i "f"))))"#,
    )
    .expect("wat");
    let err = prepare_err(&wrong_run).await;
    assert!(matches!(err, SandboxError::WrongWorld(_)), "{err}");
    assert!(err.to_string().contains("does not match wit/block.wit"), "{err}");
}

/// Sockets and `wasi:http` are linked (the network is policed at run time, see
/// `guests_standard` and `outbound_http`); what is neither WASI p2 nor ours is refused naming
/// the interface.
#[tokio::test]
async fn a_component_importing_an_unserved_interface_is_rejected_by_name() {
    for import in ["wasi:nn/graph@0.2.0", "acme:vault/secrets@1.0.0"] {
        // `run` has the wrong type too, but the missing import is found first.
        let component = wat::parse_str(format!(
            r#"(component
                (import "{import}" (instance (export "handle" (func))))
                (core module $m (func (export "f")))
                (core instance $i (instantiate $m))
                (func (export "run") (canon lift (core func $i "f"))))"#
        ))
        .expect("wat");
        let err = prepare_err(&component).await;
        assert!(matches!(err, SandboxError::WrongWorld(_)), "{import}: {err}");
        assert!(err.to_string().contains("does not provide"), "{err}");
        assert!(err.to_string().contains(import), "names the import: {err}");
    }
}

#[tokio::test]
async fn a_component_that_would_drain_the_pool_is_refused_with_its_counts() {
    let instances: String = (0..40).map(|i| format!("(core instance $i{i} (instantiate $m))")).collect();
    let bomb = wat::parse_str(format!("(component (core module $m (memory 1)) {instances})")).expect("wat");
    let err = prepare_err(&bomb).await;
    assert!(matches!(err, SandboxError::TooLarge(_)), "{err}");
    assert!(err.is_invalid_block());
    let message = err.to_string();
    assert!(
        message.contains("40 core instances (at most 32)") && message.contains("40 memories (at most 4)"),
        "{message}"
    );
}

#[tokio::test]
async fn a_standard_rust_command_importing_sockets_is_accepted() {
    assert_eq!(prepare("net-probe").await.shape(), BlockShape::Command);
}

#[tokio::test]
async fn shapes_are_detected() {
    assert_eq!(prepare("echo").await.shape(), BlockShape::Block);
    assert_eq!(prepare("hello-command").await.shape(), BlockShape::Command);
}

#[tokio::test]
async fn a_restarted_sandbox_runs_from_the_artifact_cache_without_compiling() {
    let cache = tempfile::tempdir().expect("tempdir");
    let echo = wasmhook_tests::module("echo");
    {
        let first = Sandbox::new(SandboxConfig::new(cache.path())).expect("sandbox");
        first.prepare(&echo).await.expect("prepare");
        assert_eq!(first.stats().compiled, 1);
    }
    let restarted = Sandbox::new(SandboxConfig::new(cache.path())).expect("sandbox");
    let digest = wasmhook_sandbox::BlockDigest::of(&echo);
    let block = restarted.cached(&digest).expect("load").expect("artifact on disk");
    let outcome = restarted.run(&block, input(json!({"after": "restart"}))).await.expect("run");
    assert_eq!(output_json(&outcome)["data"], json!({"after": "restart"}));
    restarted.prepare(&echo).await.expect("prepare hits the cache");
    let stats = restarted.stats();
    assert_eq!(stats.compiled, 0, "{stats:?}");
    assert_eq!(stats.loaded_from_disk, 1, "{stats:?}");
}
