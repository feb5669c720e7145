//! One sandbox shared by the tests of a binary, with its artifact cache kept under `target/` so
//! modules compile once per machine rather than once per test.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmhook_sandbox::{Outcome, PreparedBlock, RunInput, RunLimits, Sandbox, SandboxConfig};

pub fn shared_cache_dir() -> std::path::PathBuf {
    wasmhook_tests::shared_artifact_cache()
}

pub fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let mut config = SandboxConfig::new(shared_cache_dir());
        config.max_concurrent_runs = 128;
        Sandbox::new(config).expect("sandbox builds")
    })
}

pub async fn prepare(name: &str) -> Arc<PreparedBlock> {
    sandbox().prepare(&wasmhook_tests::module(name)).await.unwrap_or_else(|e| panic!("prepare {name}: {e}"))
}

pub fn input(data: serde_json::Value) -> RunInput {
    RunInput { data: serde_json::to_vec(&data).expect("json").into(), ..RunInput::default() }
}

pub fn with_timeout(mut input: RunInput, ms: u64) -> RunInput {
    input.limits = RunLimits { timeout: Duration::from_millis(ms), ..input.limits };
    input
}

pub fn with_env(mut input: RunInput, env: &[(&str, &str)]) -> RunInput {
    input.env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>();
    input
}

pub async fn run(name: &str, input: RunInput) -> Outcome {
    let block = prepare(name).await;
    sandbox().run(&block, input).await.unwrap_or_else(|e| panic!("run {name}: {e}"))
}

pub fn output_json(outcome: &Outcome) -> serde_json::Value {
    let text = outcome.output().unwrap_or_else(|| panic!("run failed: {:?}", outcome.failure()));
    serde_json::from_str(text).expect("output is JSON")
}

/// Proves the sandbox still serves ordinary work after a hostile run.
pub async fn assert_still_serving() {
    let outcome = run("echo", input(serde_json::json!({"still": "alive"}))).await;
    assert_eq!(output_json(&outcome)["data"], serde_json::json!({"still": "alive"}));
}
