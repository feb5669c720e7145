//! Webhook secrets never leave the request: the real binary runs with everything that handles
//! requests (wasmhook, axum, tower-http, hyper) logging at `trace`,
//! senders authenticate by header and by `?token=`/`?key=`, and afterwards the secret is in
//! none of the captured logs, the SQLite files (database and WAL), the execution records or
//! what the block saw.

mod support;

use std::process::Stdio;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::binary::{Binary, block_with, post_json};
use support::rows;

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_absent_from_logs_records_and_the_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let data_dir = dir.path().join("data");
    // Cranelift stays at info: at trace it logs every compiled instruction, for minutes.
    let filter = "info,wasmhook=trace,axum=trace,tower_http=trace,hyper=trace,hyper_util=trace";
    let (server, key) = Binary::start(&data_dir, &[("WASMHOOK_LOG", filter)], Stdio::from(log)).await;
    let key = key.expect("bootstrap key");
    let client = reqwest::Client::new();
    let base = &server.base;

    let block = block_with(&client, base, &key, "request-inspector", json!({ "name": "inspector" })).await;
    let body = json!({ "target": { "type": "block", "id": block }, "settings": { "captureRequest": true } });
    let created = post_json(&client, &format!("{base}/v1/webhooks"), &key, &body).await;
    let secret = created["secret"].as_str().expect("secret").to_owned();
    let url = format!("{base}/api/webhooks/{}", created["id"].as_str().expect("id"));

    let mut outputs = Vec::new();
    for request in [
        client.post(&url).bearer_auth(&secret),
        client.post(format!("{url}?token={secret}")),
        client.post(format!("{url}?key={secret}&other=1")),
    ] {
        let response = request.header("content-type", "application/json").body(r#"{"n": 1}"#).send().await;
        let response = response.expect("trigger");
        assert_eq!(response.status(), StatusCode::OK);
        outputs.push(response.text().await.expect("body"));
    }
    let wrong = client.post(format!("{url}?token={secret}x")).send().await.expect("trigger");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let executions: Value = client
        .get(format!("{base}/v1/executions?limit=10"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(executions.as_array().expect("list").len(), 3);
    let mut records = Vec::new();
    for execution in executions.as_array().expect("list") {
        let id = execution["id"].as_str().expect("id");
        let full = client.get(format!("{base}/v1/executions/{id}")).bearer_auth(&key).send().await.expect("get");
        records.push(full.text().await.expect("body"));
    }
    drop(server);

    for (what, text) in outputs.iter().map(|o| ("the block's view", o)).chain(records.iter().map(|r| ("a record", r))) {
        assert!(text.contains("WEBHOOK_BODY_FILE"), "{what} is the real thing: {text}");
        assert!(!text.contains(&secret), "{what} holds the secret: {text}");
    }
    let logs = std::fs::read(&log_path).expect("logs");
    assert!(contains(&logs, "api/webhooks"), "trace logs were captured ({} bytes)", logs.len());
    assert!(!contains(&logs, &secret), "the secret is in the logs");
    assert!(!contains(&rows::stored_bytes(&data_dir), &secret), "the secret is in the database");
}
