//! A JavaScript block (jco + ComponentizeJS, built with `sdk/js/build.mjs`) through v2 (with
//! the `javascript.environment_variables` layer), a v4 doc and a trigger webhook that captures
//! the sender's headers; output, failures and logs read back from the execution record.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::TestServer;

const MODULE: &str = "js/github_event";

fn push(branch: &str) -> Value {
    json!({ "ref": format!("refs/heads/{branch}"), "repository": { "full_name": "acme/api" },
            "pusher": { "name": "ada" }, "commits": [{ "id": "1" }, { "id": "2" }] })
}

#[tokio::test]
async fn a_js_block_through_v2_with_its_language_env_logs_and_failures() {
    let server = TestServer::start().await;
    let key = server.key();
    let block =
        server.block(key, MODULE, json!({ "language": "javascript", "env": { "WATCHED_BRANCH": "main" } })).await;
    let path = format!("/v2/webhook/blocks/{block}/execute");
    let mut data = push("release");
    data["event"] = json!("push");
    let response = server
        .post(
            &path,
            key,
            json!({ "data": data,
                    "javascript": { "environment_variables": { "WATCHED_BRANCH": "release", "LOG_LEVEL": "debug" } },
                    "python": { "environment_variables": { "WATCHED_BRANCH": "ignored" } } }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["success"], true, "{}", response.body);
    let output = &response.body["output"];
    assert_eq!(output["route"], "notify", "the javascript layer set WATCHED_BRANCH: {output}");
    assert_eq!(output["line"], "ada pushed 2 commit(s) to acme/api@release");
    assert_eq!(output["executionId"], response.body["execution_id"]);

    let id = response.body["execution_id"].as_str().expect("id");
    let execution = server.get(&format!("/v1/executions/{id}"), key).await;
    let logs = execution.body["logs"].as_array().expect("logs");
    assert!(
        logs.iter().any(|l| l["level"] == "info" && l["message"] == "push: ada pushed 2 commit(s) to acme/api@release"),
        "{logs:?}"
    );

    let unsupported = server.post(&path, key, json!({ "data": { "event": "star" } })).await;
    assert_eq!(unsupported.body["success"], false, "{}", unsupported.body);
    assert_eq!(unsupported.body["error"]["kind"], "guest_error");
    assert_eq!(unsupported.body["error"]["code"], "unsupported_event");
    assert_eq!(unsupported.body["error"]["message"], "event star is not handled");

    let crashing = server.post(&path, key, json!({ "data": { "event": "issues" } })).await;
    assert_eq!(crashing.body["error"]["code"], "invalid_event", "{}", crashing.body);

    let not_an_object = server.post(&path, key, json!({ "data": { "event": "push" } })).await;
    assert_eq!(not_an_object.body["error"]["code"], "unhandled_exception", "{}", not_an_object.body);
    assert!(
        not_an_object.body["error"]["message"].as_str().expect("msg").starts_with("TypeError"),
        "{}",
        not_an_object.body
    );
}

#[tokio::test]
async fn a_js_dataset_through_v4() {
    let server = TestServer::start().await;
    let key = server.key();
    let block = server.block(key, MODULE, json!({ "language": "javascript" })).await;
    let doc = server.doc(key, json!([{ "key": "github", "block": block }])).await;
    let data = json!({ "event": "issues", "action": "opened", "repository": { "full_name": "acme/api" },
                       "issue": { "number": 7, "title": "Crash on start" } });
    let response = server.post(&format!("/v4/webhook/docs/{doc}/execute"), key, json!({ "data": data })).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["success"], true, "{}", response.body);
    let id = response.body["data"]["results"][0]["executionId"].as_str().expect("id");
    let execution = server.get(&format!("/v1/executions/{id}"), key).await;
    let output = &execution.body["output"];
    assert_eq!(output["route"], "triage");
    assert_eq!(output["line"], "issue #7 opened in acme/api: Crash on start");
    assert_eq!(output["datasetKey"], "github");
}

#[tokio::test]
async fn a_js_block_behind_a_trigger_webhook_reads_the_captured_header() {
    let server = TestServer::start().await;
    let key = server.key();
    let block = server.block(key, MODULE, json!({ "language": "javascript" })).await;
    let hook = server
        .webhook(key, json!({ "target": { "type": "block", "id": block }, "auth": "none", "settings": { "captureRequest": true } }))
        .await;
    let path = format!("/api/webhooks/{}", hook["id"].as_str().expect("id"));
    let headers = [("content-type", "application/json"), ("x-github-event", "push")];
    let answered = server.trigger(&path, &headers, push("main").to_string()).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    assert_eq!(answered.body["output"]["event"], "push", "{}", answered.body);
    assert_eq!(answered.body["output"]["route"], "notify");

    let ignored = server.trigger(&path, &headers, push("feature/x").to_string()).await;
    assert_eq!(ignored.body["output"]["route"], "ignore", "{}", ignored.body);

    let ping = [("content-type", "application/json"), ("x-github-event", "ping")];
    let ponged = server.trigger(&path, &ping, r#"{"zen": "Keep it simple.", "hook_id": 9}"#).await;
    assert_eq!(ponged.status, StatusCode::OK);
    assert_eq!(ponged.bytes, b"pong Keep it simple.", "the block's own response");
    assert_eq!(ponged.headers["x-hook-id"], "9");
    assert!(ponged.headers["content-type"].to_str().expect("ascii").starts_with("text/plain"));
}
