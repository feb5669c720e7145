//! The `wasmhook` client against a real server: every subcommand at least once with `--json`
//! (its output parsed), a table, profiles, exit codes, `executions list --follow`, completions.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use support::server::TestServer;

/// `wasmhook args…` with profiles under `config_home`, and the server and key in the
/// environment when given (removed from it when not).
fn client(server: Option<(&TestServer, &str)>, config_home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasmhook-node"));
    command.args(args).env("XDG_CONFIG_HOME", config_home).env_remove("WASMHOOK_PROFILE");
    match server {
        Some((server, key)) => command.env("WASMHOOK_URL", &server.base).env("WASMHOOK_KEY", key),
        None => command.env_remove("WASMHOOK_URL").env_remove("WASMHOOK_KEY"),
    };
    command
}

/// Runs `command` off the runtime's threads (the client blocks; the server runs on this
/// runtime).
async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("the client runs")).await.expect("joined")
}

/// Runs `wasmhook args…` against `server` with `key` (through the environment).
async fn cli(server: &TestServer, key: &str, config_home: &Path, args: &[&str]) -> Output {
    run(client(Some((server, key)), config_home, args)).await
}

/// `--json` output as JSON, asserting success.
async fn json_of(server: &TestServer, key: &str, home: &Path, args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let output = cli(server, key, home, &with_json).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wasmhook {args:?} failed: {}{stdout}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("wasmhook {args:?} printed no JSON ({e}): {stdout}"))
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subcommand_against_a_real_server() {
    let server = TestServer::start().await;
    let key = server.key().to_owned();
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let wasm_dir = tempfile::tempdir().expect("tmp");
    let echo = wasm_dir.path().join("echo.wasm");
    std::fs::write(&echo, wasmhook_tests::module("echo")).expect("wasm");
    let echo = echo.to_str().expect("utf8");

    // blocks
    let block =
        json_of(&server, &key, h, &["blocks", "create", "orders", "--env", "GREETING=hi", "--timeout-ms", "5000"])
            .await;
    let id = block["id"].as_str().expect("id").to_owned();
    assert_eq!(block["env"]["GREETING"], "hi");
    assert_eq!(json_of(&server, &key, h, &["blocks", "deploy", &id, echo]).await["version"], 1);
    assert_eq!(json_of(&server, &key, h, &["blocks", "deploy", &id, echo, "--no-activate"]).await["version"], 2);
    assert_eq!(json_of(&server, &key, h, &["blocks", "show", &id]).await["activeVersion"], 1);
    assert_eq!(json_of(&server, &key, h, &["blocks", "activate", &id, "2"]).await["activeVersion"], 2);
    assert_eq!(
        json_of(&server, &key, h, &["blocks", "rollback", &id]).await["activeVersion"],
        1,
        "back to the one before"
    );
    assert_eq!(json_of(&server, &key, h, &["blocks", "versions", &id]).await.as_array().map(Vec::len), Some(2));
    assert_eq!(json_of(&server, &key, h, &["blocks", "list"]).await[0]["id"], id.as_str());
    let table = cli(&server, &key, h, &["blocks", "list"]).await;
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.starts_with("ID") && table.contains("orders"), "a table by default: {table}");

    // docs
    let dataset = format!("main={id}");
    let doc = json_of(&server, &key, h, &["docs", "create", "pipeline", "--dataset", &dataset]).await;
    let doc_id = doc["id"].as_str().expect("doc id").to_owned();
    assert_eq!(doc["datasets"][0]["block"], id.as_str());
    assert_eq!(json_of(&server, &key, h, &["docs", "list"]).await[0]["id"], doc_id.as_str());
    assert_eq!(json_of(&server, &key, h, &["docs", "show", &doc_id]).await["name"], "pipeline");

    // webhooks
    let hook = json_of(&server, &key, h, &["webhooks", "create", "--block", &id, "--name", "stripe"]).await;
    let hook_id = hook["id"].as_str().expect("webhook id").to_owned();
    assert!(hook["secret"].as_str().is_some_and(|s| s.starts_with("whk_")), "the secret is shown once: {hook}");
    assert_eq!(json_of(&server, &key, h, &["webhooks", "list"]).await[0]["id"], hook_id.as_str());
    assert!(json_of(&server, &key, h, &["webhooks", "show", &hook_id]).await["secret"].is_null(), "never again");
    assert_eq!(json_of(&server, &key, h, &["webhooks", "disable", &hook_id]).await["state"], "disabled");
    assert_eq!(
        json_of(&server, &key, h, &["webhooks", "arm", &hook_id, "--ttl-seconds", "60"]).await["state"],
        "armed"
    );
    assert_eq!(json_of(&server, &key, h, &["webhooks", "enable", &hook_id]).await["state"], "deployed");
    let rotated = json_of(&server, &key, h, &["webhooks", "rotate-secret", &hook_id, "--grace-seconds", "60"]).await;
    assert!(rotated["secret"].as_str().is_some_and(|s| s != hook["secret"]), "a new secret");
    let moved = json_of(&server, &key, h, &["webhooks", "regenerate-url", &hook_id]).await;
    let hook_id = moved["id"].as_str().expect("new id").to_owned();
    let signature = h.join("signature.json");
    std::fs::write(
        &signature,
        json!({ "scheme": "standard_webhooks", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] }).to_string(),
    )
    .expect("file");
    let signed =
        json_of(&server, &key, h, &["webhooks", "signature", "set", &hook_id, signature.to_str().expect("utf8")]).await;
    assert_eq!(signed["signature"]["scheme"], "standard_webhooks", "{signed}");
    assert!(json_of(&server, &key, h, &["webhooks", "signature", "remove", &hook_id]).await["signature"].is_null());

    // executions: a run to list, show, read the logs of and replay
    let ran = server.post(&format!("/v2/webhook/blocks/{id}/execute"), &key, json!({ "data": { "n": 1 } })).await;
    let execution = ran.body["execution_id"].as_str().expect("execution").to_owned();
    let listed = json_of(&server, &key, h, &["executions", "list", "--block", &id, "--limit", "5"]).await;
    assert_eq!(listed[0]["id"], execution.as_str());
    assert_eq!(json_of(&server, &key, h, &["executions", "show", &execution]).await["status"], "succeeded");
    assert!(json_of(&server, &key, h, &["executions", "logs", &execution]).await.is_array());
    let replayed = json_of(&server, &key, h, &["executions", "replay", &execution]).await;
    assert_eq!(replayed["replayOf"], execution.as_str());
    let queued = json_of(&server, &key, h, &["executions", "replay", &execution, "--async"]).await;
    assert_eq!(queued["status"], "accepted");

    // secrets, kv, keys, teams
    let secret = json_of(&server, &key, h, &["secrets", "set", "stripe-key", "--value", "sk_test_0123456789"]).await;
    assert_eq!(secret["name"], "stripe-key");
    assert!(!secret.to_string().contains("sk_test"), "never shown");
    assert_eq!(json_of(&server, &key, h, &["secrets", "list"]).await[0]["name"], "stripe-key");
    assert_eq!(json_of(&server, &key, h, &["secrets", "show", "stripe-key"]).await["name"], "stripe-key");
    json_of(&server, &key, h, &["secrets", "delete", "stripe-key"]).await;
    json_of(&server, &key, h, &["kv", "put", "orders", "a/b c", "--value", "42", "--ttl-seconds", "600"]).await;
    let got = cli(&server, &key, h, &["kv", "get", "orders", "a/b c"]).await;
    assert_eq!(got.stdout, b"42", "the raw value; a key with / and a space is encoded");
    assert_eq!(json_of(&server, &key, h, &["kv", "buckets"]).await["buckets"], json!(["orders"]));
    assert_eq!(json_of(&server, &key, h, &["kv", "keys", "orders"]).await["keys"][0]["key"], "a/b c");
    json_of(&server, &key, h, &["kv", "delete", "orders", "a/b c"]).await;
    let created = json_of(&server, &key, h, &["keys", "create", "--scope", "execute", "--label", "ci"]).await;
    let new_key = created["key"]["id"].as_str().expect("key id").to_owned();
    assert!(created["apiKey"].as_str().is_some_and(|k| k.len() > 40));
    assert!(json_of(&server, &key, h, &["keys", "list"]).await.as_array().is_some_and(|k| k.len() == 2));
    json_of(&server, &key, h, &["keys", "revoke", &new_key]).await;
    let team = json_of(&server, &key, h, &["teams", "create", "acme"]).await;
    assert_eq!(team["team"]["name"], "acme");

    // the end of things
    json_of(&server, &key, h, &["webhooks", "delete", &hook_id]).await;
    assert_eq!(json_of(&server, &key, h, &["docs", "archive", &doc_id]).await["id"], doc_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_and_profiles_are_what_scripts_expect() {
    let server = TestServer::start().await;
    let key = server.key().to_owned();
    let home = tempfile::tempdir().expect("tmp");
    let h = home.path();
    let missing = cli(&server, &key, h, &["blocks", "show", "00000000-0000-0000-0000-000000000000"]).await;
    assert_eq!(code(&missing), 3, "404: {}", String::from_utf8_lossy(&missing.stderr));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("block not found"));
    assert_eq!(code(&cli(&server, "nope", h, &["blocks", "list"]).await), 4, "401");
    assert_eq!(
        code(&cli(&server, &key, h, &["blocks", "activate", "00000000-0000-0000-0000-000000000000", "1"]).await),
        3
    );
    let invalid = cli(&server, &key, h, &["secrets", "set", "bad name", "--value", "0123456789"]).await;
    assert_eq!(code(&invalid), 5, "422: {}", String::from_utf8_lossy(&invalid.stderr));
    assert_eq!(code(&cli(&server, &key, h, &["blocks", "list", "--url", "http://127.0.0.1:9"]).await), 7, "no server");
    assert_eq!(code(&cli(&server, &key, h, &["blocks", "frobnicate"]).await), 2, "usage");

    // A profile names the server and key; the environment is not needed then.
    std::fs::create_dir_all(h.join("wasmhook")).expect("dir");
    let profiles = format!("[staging]\nurl = \"{}\"\nkey = \"{key}\"\n", server.base);
    std::fs::write(h.join("wasmhook/profiles.toml"), profiles).expect("profiles");
    let by_profile =
        cli(&server, "wrong-key", h, &["blocks", "list", "--json", "--profile", "staging", "--key", &key]).await;
    assert!(by_profile.status.success(), "{}", String::from_utf8_lossy(&by_profile.stderr));
    let profile_only = run(client(None, h, &["keys", "list", "--json", "--profile", "staging"])).await;
    assert!(
        profile_only.status.success(),
        "url and key from the profile: {}",
        String::from_utf8_lossy(&profile_only.stderr)
    );
    let unknown = cli(&server, &key, h, &["blocks", "list", "--profile", "prod"]).await;
    assert_eq!(code(&unknown), 1);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no profile [prod]"));

    let completions = cli(&server, &key, h, &["completions", "bash"]).await;
    assert!(String::from_utf8_lossy(&completions.stdout).contains("webhooks"), "bash completions name the subcommands");
}

/// `executions list --follow` prints executions finished after it started, as they finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_prints_new_executions_as_they_finish() {
    let server = TestServer::start().await;
    let key = server.key().to_owned();
    let home = tempfile::tempdir().expect("tmp");
    let echo = server.block(&key, "echo", json!({})).await;
    server.post(&format!("/v2/webhook/blocks/{echo}/execute"), &key, json!({})).await;
    let args = ["executions", "list", "--follow", "--exit-after", "2", "--json"];
    let following = tokio::spawn(run(client(Some((&server, &key)), home.path(), &args)));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mut ids = Vec::new();
    for n in 0..2 {
        let ran = server.post(&format!("/v2/webhook/blocks/{echo}/execute"), &key, json!({ "data": { "n": n } })).await;
        ids.push(ran.body["execution_id"].as_str().expect("id").to_owned());
    }
    let output =
        tokio::time::timeout(std::time::Duration::from_secs(20), following).await.expect("ends").expect("joined");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).expect("one JSON object per line")["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    assert_eq!(printed, ids, "the two new ones, oldest first; not the one from before");
}
