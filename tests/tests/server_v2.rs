//! `POST /v2/webhook/blocks/{block_id}/execute` against a real server.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::TestServer;

#[tokio::test]
async fn runs_the_block_and_answers_with_execution_metadata_and_output() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let response =
        server.post(&format!("/v2/webhook/blocks/{echo}/execute"), key, json!({ "data": { "user": "ada" } })).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let body = &response.body;
    assert_eq!(body["success"], true);
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["block_id"], echo);
    assert_eq!(body["block_version"], 1);
    assert!(body["fuel_used"].as_u64().expect("fuel") > 0);
    assert!(body["duration_ms"].as_f64().expect("duration") > 0.0);
    assert_eq!(body["output"]["data"], json!({ "user": "ada" }));
    let id = body["execution_id"].as_str().expect("id");
    assert_eq!(uuid::Uuid::parse_str(id).expect("uuid").get_version_num(), 7, "execution ids are UUID v7");
    let execution = server.get(&format!("/v1/executions/{id}"), key).await;
    assert_eq!(execution.body["trigger"], "v2");
}

#[tokio::test]
async fn the_key_may_come_as_a_token_in_the_body() {
    let server = TestServer::start().await;
    let key = server.key().to_owned();
    let echo = server.block(&key, "echo", json!({})).await;
    let path = format!("/v2/webhook/blocks/{echo}/execute");
    let response = server.request(reqwest::Method::POST, &path, None, Some(json!({ "token": key, "data": {} }))).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let no_key = server.request(reqwest::Method::POST, &path, None, Some(json!({ "data": {} }))).await;
    assert_eq!(no_key.status, StatusCode::UNAUTHORIZED);
}

/// Block saved env < WEBHOOK_DATA < environment_variables < wasm.environment_variables <
/// <language>.environment_variables; each layer overrides the one before.
#[tokio::test]
async fn env_precedence_layer_by_layer() {
    let server = TestServer::start().await;
    let key = server.key();
    let saved = json!({ "ECHO_ENV": "L1,L2,L3,L4,L5,WEBHOOK_DATA", "L1": "saved", "L2": "saved", "L3": "saved", "L4": "saved", "L5": "saved", "WEBHOOK_DATA": "saved" });
    let echo = server.block(key, "echo", json!({ "language": "python", "env": saved })).await;
    let path = format!("/v2/webhook/blocks/{echo}/execute");
    let env_of = |body: &Value| body["output"]["env"].clone();

    let only_saved = server.post(&path, key, json!({ "data": { "n": 1 } })).await;
    assert_eq!(env_of(&only_saved.body)["L1"], "saved");
    assert_eq!(env_of(&only_saved.body)["WEBHOOK_DATA"], "{\"n\":1}", "WEBHOOK_DATA beats the saved env");

    let layered = server
        .post(
            &path,
            key,
            json!({
                "data": { "n": 2 },
                "environment_variables": { "L2": "top", "L3": "top", "L4": "top", "L5": "top", "WEBHOOK_DATA": "top" },
                "wasm": { "environment_variables": { "L3": "wasm", "L4": "wasm" } },
                "python": { "environment_variables": { "L4": "python" } },
                "rust": { "environment_variables": { "L5": "ignored: the block is python" } },
            }),
        )
        .await;
    assert_eq!(layered.status, StatusCode::OK, "{}", layered.body);
    assert_eq!(
        env_of(&layered.body),
        json!({ "L1": "saved", "L2": "top", "L3": "wasm", "L4": "python", "L5": "top", "WEBHOOK_DATA": "top" })
    );
}

#[tokio::test]
async fn status_codes() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let path = format!("/v2/webhook/blocks/{echo}/execute");

    let invalid_json = server.raw(&path, Some(key), Some("application/json"), b"{nope".to_vec()).await;
    assert_eq!(invalid_json.status, StatusCode::BAD_REQUEST);
    let latin1 =
        server.raw(&path, Some(key), Some("application/json"), b"{\"data\": {\"n\": \"\xe9\"}}".to_vec()).await;
    assert_eq!(latin1.status, StatusCode::BAD_REQUEST, "{}", latin1.body);
    assert!(latin1.body["error"].as_str().expect("msg").contains("UTF-8"));
    let not_object_data = server.post(&path, key, json!({ "data": "text" })).await;
    assert_eq!(not_object_data.status, StatusCode::BAD_REQUEST);
    let bad_env = server.post(&path, key, json!({ "environment_variables": { "A": true } })).await;
    assert_eq!(bad_env.status, StatusCode::BAD_REQUEST);
    assert!(bad_env.body["error"].as_str().expect("msg").contains("environment_variables.A"));

    assert_eq!(server.post(&path, "garbage", json!({})).await.status, StatusCode::UNAUTHORIZED);
    let (user, _) = key.rsplit_once('-').expect("key");
    assert_eq!(
        server.post(&path, &format!("{user}-{}", "z".repeat(40)), json!({})).await.status,
        StatusCode::UNAUTHORIZED
    );

    let other = server.other_team().await;
    let forbidden = server.post(&path, &other, json!({})).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "a valid key of another team gets 403 on v2");

    let unknown = server.post("/v2/webhook/blocks/00000000-0000-0000-0000-000000000000/execute", key, json!({})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let not_uuid = server.post("/v2/webhook/blocks/echo/execute", key, json!({})).await;
    assert_eq!(not_uuid.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_failing_block_is_reported_and_recorded() {
    let server = TestServer::start().await;
    let key = server.key();
    let panicking =
        server.block(key, "panic-block", json!({ "env": { "PANIC_REASON": "refund larger than charge" } })).await;
    let response = server.post(&format!("/v2/webhook/blocks/{panicking}/execute"), key, json!({ "data": {} })).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["success"], false);
    assert_eq!(response.body["status"], "failed");
    assert_eq!(response.body["error"]["kind"], "panic");
    let id = response.body["execution_id"].as_str().expect("id");
    let execution = server.get(&format!("/v1/executions/{id}"), key).await;
    assert_eq!(execution.body["status"], "failed");
    assert!(execution.body["error"]["message"].as_str().expect("msg").contains("refund larger than charge"));
    let logged = execution.body["logs"].as_array().expect("logs");
    assert!(logged.iter().any(|l| l["message"].as_str().unwrap_or_default().contains("panicked at")), "{logged:?}");
}

/// Caller env names are validated like block env, and the host's own variables cannot be
/// forged (#13: `{"BAD=KEY": "x"}` reached the guest as `BAD` = `KEY=x`).
#[tokio::test]
async fn env_names_are_validated_and_host_variables_cannot_be_forged() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({ "env": { "ECHO_ENV": "BAD" } })).await;
    let path = format!("/v2/webhook/blocks/{echo}/execute");
    for (body, named) in [
        (json!({ "environment_variables": { "BAD=KEY": "x" } }), "BAD=KEY"),
        (json!({ "environment_variables": { "WEBHOOK_VERIFIED": "stripe" } }), "WEBHOOK_VERIFIED"),
        (json!({ "rust": { "environment_variables": { "EXECUTION_ID": "forged" } } }), "EXECUTION_ID"),
        (json!({ "wasm": { "environment_variables": { "NUL": "a\u{0}b" } } }), "NUL"),
    ] {
        let refused = server.post(&path, key, body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert!(refused.body["error"].as_str().expect("error").contains(named), "{}", refused.body);
    }
    let created = server.post("/v1/blocks", key, json!({ "name": "forger", "env": { "DATASET_KEY": "x" } })).await;
    assert_eq!(created.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", created.body);
    assert!(created.body["error"].as_str().expect("error").contains("set by the host"), "{}", created.body);
}
