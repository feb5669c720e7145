//! The host's environment never reaches a guest. Its own binary: it sets a process env var,
//! which is only sound while no other test thread runs.

mod support;

use serde_json::json;
use support::sandbox::*;

#[tokio::test]
async fn env_snoop_sees_exactly_the_given_env_and_nothing_of_the_host() {
    // SAFETY: this binary has this one test, and the sandbox is not built yet, so no other
    // thread reads the environment while it is written.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("WASMHOOK_TEST_HOST_SECRET", "s3cr3t-host-value");
    }
    let outcome =
        run("env-snoop", with_env(input(json!({})), &[("CUSTOM_VAR", "value"), ("EXECUTION_ID", "e-1")])).await;
    let env = output_json(&outcome);
    assert_eq!(
        env,
        json!({"CUSTOM_VAR": "value", "EXECUTION_ID": "e-1", "WEBHOOK_DATA_FILE": "/webhook/data.json"}),
        "exactly the merged env plus the data file path"
    );
    let printed: Vec<_> = outcome.logs.lines.iter().map(|l| l.message.as_str()).collect();
    assert!(printed.contains(&"CUSTOM_VAR=value"), "stdout is captured as logs: {printed:?}");
    assert!(!printed.iter().any(|l| l.contains("s3cr3t-host-value") || l.starts_with("PATH=")));
}
