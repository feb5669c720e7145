//! The `wasmhook admin create-key` command mints a working key of the asked scope.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::server::{TestServer, test_config};

fn create_key(data_dir: &std::path::Path, scope: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_wasmhook-node"))
        .args(["admin", "create-key", "--scope", scope, "--data-dir"])
        .arg(data_dir)
        .env("WASMHOOK_LOG", "warn")
        .envs(support::postgres::process_env(data_dir))
        .output()
        .expect("the binary runs")
}

#[tokio::test]
async fn create_key_prints_a_key_of_the_asked_scope_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let before = create_key(dir.path(), "admin");
    assert!(!before.status.success(), "no operator team before the first start");
    assert!(String::from_utf8_lossy(&before.stderr).contains("start the server once first"));

    let first = TestServer::start_in(dir.path()).await;
    first.stop().await;
    let output = create_key(dir.path(), "execute");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let key = String::from_utf8(output.stdout).expect("utf8").trim().to_owned();
    assert_eq!(key.lines().count(), 1, "only the key is printed");

    let server = TestServer::start_with(test_config(dir.path())).await;
    assert_eq!(server.get("/v1/executions", &key).await.status, StatusCode::OK, "the key works");
    let manage = server.post("/v1/blocks", &key, json!({ "name": "x" })).await;
    assert_eq!(manage.status, StatusCode::FORBIDDEN, "with the execute scope only");
    let bad = create_key(dir.path(), "root");
    assert!(!bad.status.success());
    server.stop().await;
}
