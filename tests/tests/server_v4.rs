//! `POST /v4/webhook/docs/{doc_id}/execute` against a real server.

mod support;

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::rows;
use support::server::TestServer;

const NIL: &str = "00000000-0000-0000-0000-000000000000";

#[tokio::test]
async fn runs_every_dataset_in_doc_order_with_its_own_execution_id() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo =
        server.block(key, "echo", json!({ "env": { "ECHO_ENV": "CUSTOM_VAR,SAVED", "SAVED": "from-block" } })).await;
    let stats = server.block(key, "payment-event", json!({})).await;
    let doc = server
        .doc(key, json!([{ "key": "process_webhook", "block": echo }, { "key": "risk", "block": stats }, { "key": "copy", "block": echo }]))
        .await;

    let body = json!({
        "data": { "id": "evt_1", "type": "charge.succeeded", "data": { "object": { "amount": 10, "currency": "usd", "customer": "c" } } },
        "environmentVariables": { "CUSTOM_VAR": "value" },
    });
    let response = server.post(&format!("/v4/webhook/docs/{doc}/execute"), key, body.clone()).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["success"], true);
    assert_eq!(response.body["data"]["docId"], doc);
    let results = response.body["data"]["results"].as_array().expect("results");
    let keys: Vec<&str> = results.iter().map(|r| r["datasetKey"].as_str().expect("key")).collect();
    assert_eq!(keys, ["process_webhook", "risk", "copy"], "doc order");
    let ids: std::collections::BTreeSet<&str> =
        results.iter().map(|r| r["executionId"].as_str().expect("id")).collect();
    assert_eq!(ids.len(), 3, "one execution id per dataset");
    for result in results {
        assert_eq!(result["success"], true);
        assert_eq!(result["error"], Value::Null);
    }

    let first = results[0]["executionId"].as_str().expect("id");
    let execution = server.get(&format!("/v1/executions/{first}"), key).await;
    assert_eq!(execution.status, StatusCode::OK);
    let output = &execution.body["output"];
    assert_eq!(output["data"], body["data"], "data arrived as the data file");
    assert_eq!(output["env"], json!({ "CUSTOM_VAR": "value", "SAVED": "from-block" }));
    assert_eq!(output["datasetKey"], "process_webhook");
    assert_eq!(output["executionId"], first, "the guest saw its own execution id");
}

#[tokio::test]
async fn dataset_keys_select_datasets_and_unknown_keys_are_422() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let doc = server
        .doc(key, json!([{ "key": "a", "block": echo }, { "key": "b", "block": echo }, { "key": "c", "block": echo }]))
        .await;
    let path = format!("/v4/webhook/docs/{doc}/execute");

    let response = server.post(&path, key, json!({ "data": {}, "datasetKeys": ["c", "a"] })).await;
    let keys: Vec<&str> = response.body["data"]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["datasetKey"].as_str().expect("k"))
        .collect();
    assert_eq!(keys, ["a", "c"], "only the selected ones, in doc order");

    let response = server.post(&path, key, json!({ "datasetKeys": ["a", "nope"] })).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body["error"].as_str().expect("msg").contains("datasetKeys[1]"), "{}", response.body);
}

#[tokio::test]
async fn timeout_ms_precedence_is_dataset_then_block() {
    let server = TestServer::start().await;
    let key = server.key();
    let looping = server.block(key, "loop-forever", json!({ "timeoutMs": 600 })).await;
    let doc = server.doc(key, json!([{ "key": "dataset_wins", "block": looping, "timeoutMs": 150 }, { "key": "block_wins", "block": looping }])).await;

    let started = Instant::now();
    let response = server.post(&format!("/v4/webhook/docs/{doc}/execute"), key, json!({})).await;
    assert!(started.elapsed().as_millis() < 2000);
    assert_eq!(response.body["success"], false);
    let results = response.body["data"]["results"].as_array().expect("results");
    for (result, budget_ms) in results.iter().zip([150u64, 600]) {
        assert_eq!(result["success"], false);
        let error = result["error"].as_str().expect("error");
        assert!(error.contains(&format!("timeoutMs of {budget_ms} ms")), "{error}");
        let execution =
            server.get(&format!("/v1/executions/{}", result["executionId"].as_str().expect("id")), key).await;
        assert_eq!(execution.body["status"], "timed_out");
        assert_eq!(execution.body["error"]["kind"], "timeout");
        let duration_ms = execution.body["durationUs"].as_u64().expect("duration") / 1000;
        assert!((budget_ms..budget_ms + 150).contains(&duration_ms), "{duration_ms} ms for a {budget_ms} ms budget");
    }
}

#[tokio::test]
async fn a_five_mib_transcript_is_processed() {
    let server = TestServer::start().await;
    let key = server.key();
    let stats = server.block(key, "transcript-stats", json!({})).await;
    let doc = server.doc(key, json!([{ "key": "stats", "block": stats }])).await;
    let (data, words) = wasmhook_tests::transcript(5 << 20);
    let response = server.post(&format!("/v4/webhook/docs/{doc}/execute"), key, json!({ "data": data })).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["success"], true, "{}", response.body);
    let id = response.body["data"]["results"][0]["executionId"].as_str().expect("id");
    let execution = server.get(&format!("/v1/executions/{id}"), key).await;
    assert_eq!(execution.body["output"]["total_words"], words.values().sum::<u64>());
}

#[tokio::test]
async fn auth_errors_are_401() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let doc = server.doc(key, json!([{ "key": "a", "block": echo }])).await;
    let path = format!("/v4/webhook/docs/{doc}/execute");

    let missing = server.request(reqwest::Method::POST, &path, None, Some(json!({}))).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    let malformed = server.post(&path, "not-a-key", json!({})).await;
    assert_eq!(malformed.status, StatusCode::UNAUTHORIZED);
    assert!(malformed.body["error"].as_str().expect("msg").contains("malformed"));
    let (user, _) = key.rsplit_once('-').expect("key");
    let wrong = server.post(&path, &format!("{user}-{}", "x".repeat(40)), json!({})).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn missing_archived_and_other_teams_docs_are_404() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let doc = server.doc(key, json!([{ "key": "a", "block": echo }])).await;

    assert_eq!(
        server.post(&format!("/v4/webhook/docs/{NIL}/execute"), key, json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    let other = server.other_team().await;
    let foreign = server.post(&format!("/v4/webhook/docs/{doc}/execute"), &other, json!({})).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "another team's doc looks missing");

    assert_eq!(server.post(&format!("/v1/docs/{doc}/archive"), key, json!({})).await.status, StatusCode::OK);
    let archived = server.post(&format!("/v4/webhook/docs/{doc}/execute"), key, json!({})).await;
    assert_eq!(archived.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_bodies_are_400_or_422_naming_the_field() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let doc = server.doc(key, json!([{ "key": "a", "block": echo }])).await;
    let path = format!("/v4/webhook/docs/{doc}/execute");

    let not_object = server.post(&path, key, json!({ "data": [1, 2] })).await;
    assert_eq!(not_object.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(not_object.body["error"].as_str().expect("msg").contains("`data` must be a JSON object"));

    let wrong_type = server.post(&path, key, json!({ "environmentVariables": { "FOO": 1 } })).await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong_type.body["error"].as_str().expect("msg").contains("environmentVariables.FOO"),
        "{}",
        wrong_type.body
    );

    for (env, named) in [(json!({ "BAD=KEY": "x" }), "BAD=KEY"), (json!({ "BLOCK_ID": "forged" }), "BLOCK_ID")] {
        let refused = server.post(&path, key, json!({ "environmentVariables": env })).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert!(refused.body["error"].as_str().expect("msg").contains(named), "{}", refused.body);
    }

    let keys_not_list = server.post(&path, key, json!({ "datasetKeys": "a" })).await;
    assert_eq!(keys_not_list.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(keys_not_list.body["error"].as_str().expect("msg").contains("datasetKeys"));

    let malformed = server.raw(&path, Some(key), Some("application/json"), b"{\"data\": {".to_vec()).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.body["error"].as_str().expect("msg").contains("not valid JSON"));

    let latin1 =
        server.raw(&path, Some(key), Some("application/json"), b"{\"data\": {\"n\": \"\xe9\"}}".to_vec()).await;
    assert_eq!(latin1.status, StatusCode::BAD_REQUEST, "{}", latin1.body);
    assert!(latin1.body["error"].as_str().expect("msg").contains("UTF-8"));

    let empty = server.raw(&path, Some(key), Some("application/json"), Vec::new()).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);

    let wrong_content_type = server.raw(&path, Some(key), Some("text/plain"), b"{}".to_vec()).await;
    assert_eq!(wrong_content_type.status, StatusCode::BAD_REQUEST);
    assert!(wrong_content_type.body["error"].as_str().expect("msg").contains("Content-Type"));

    let bad_id = server.post("/v4/webhook/docs/12345/execute", key, json!({})).await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_id.body["error_code"], "BAD_REQUEST");
}

#[tokio::test]
async fn oversized_bodies_are_413_before_they_are_read_whole() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = wasmhook_server::Config { max_body_bytes: 64 << 10, ..support::server::test_config(dir.path()) };
    let server = TestServer::start_with(config).await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let doc = server.doc(key, json!([{ "key": "a", "block": echo }])).await;
    let big = serde_json::to_vec(&json!({ "data": { "pad": "x".repeat(100 << 10) } })).expect("json");

    for path in [format!("/v4/webhook/docs/{doc}/execute"), format!("/v2/webhook/blocks/{echo}/execute")] {
        let declared = server.raw(&path, Some(key), Some("application/json"), big.clone()).await;
        assert_eq!(declared.status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(declared.body["error_code"], "PAYLOAD_TOO_LARGE");

        // A chunked body has no Content-Length: it is cut off at the limit while streaming.
        let chunks =
            futures::stream::iter(big.chunks(8192).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>());
        let streamed = server
            .client
            .post(format!("{}{path}", server.base))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .expect("sent");
        assert_eq!(streamed.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
    }
    assert_eq!(server.get("/v1/executions", key).await.body, json!([]), "nothing ran");
}

/// #13 item 15: a doc with no datasets was a 500 on the async v4 path and on trigger
/// webhooks. Every path now refuses it with 422 and runs nothing.
#[tokio::test]
async fn a_doc_without_datasets_is_a_422_on_every_path() {
    let server = TestServer::start().await;
    let key = server.key();
    let doc = server.doc(key, json!([])).await;
    let path = format!("/v4/webhook/docs/{doc}/execute");
    for wait in ["true", "false"] {
        let answer = server.post(&format!("{path}?wait={wait}"), key, json!({ "data": {} })).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "wait={wait}: {}", answer.body);
        assert!(answer.body["error"].as_str().expect("msg").contains("no datasets"), "{}", answer.body);
    }
    for mode in ["sync", "async"] {
        let created = server
            .webhook(
                key,
                json!({ "target": { "type": "doc", "id": doc }, "auth": "none", "allowMultiple": true,
                        "settings": { "responseMode": mode } }),
            )
            .await;
        let id = created["id"].as_str().expect("id");
        let answer =
            server.trigger(&format!("/api/webhooks/{id}"), &[("content-type", "application/json")], "{}").await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{mode}: {}", answer.body);
    }
    server.state.store.executions().flush().await.expect("flush");
    let runs = rows::number(&server.state.config.data_dir, "SELECT COUNT(*) FROM executions", &[]).expect("count");
    assert_eq!(runs, 0);
}

/// A delivery with more runs than could ever run at once (sync) or be queued (async) is a
/// 422, not a 503 its sender would retry forever.
#[tokio::test]
async fn a_doc_larger_than_the_server_can_ever_take_is_a_422() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = wasmhook_server::Config {
        max_sync_runs: Some(2),
        team_queue_depth: Some(2),
        ..support::server::test_config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let datasets: Vec<_> = ["a", "b", "c"].iter().map(|k| json!({ "key": k, "block": echo })).collect();
    let doc = server.doc(key, json!(datasets)).await;
    for wait in ["true", "false"] {
        let answer = server.post(&format!("/v4/webhook/docs/{doc}/execute?wait={wait}"), key, json!({})).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "wait={wait}: {}", answer.body);
        assert!(answer.body["error"].as_str().expect("msg").contains("3 runs"), "{}", answer.body);
    }
}
