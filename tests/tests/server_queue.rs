//! Async deliveries through the durable queue, idempotency, sync-wait handoff and replay,
//! against a real server. Failures and limits of the queue are in `server_queue_limits.rs`.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::queue::{executions_in, post_with, wait_terminal};
use support::server::{TestServer, test_config};
use wasmhook_server::Config;

#[tokio::test]
async fn async_deliveries_answer_202_with_a_location_to_poll() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let (status, headers, body) = post_with(
        &server,
        &format!("/v2/webhook/blocks/{echo}/execute"),
        key,
        &[("prefer", "respond-async")],
        json!({ "data": { "n": 1 } }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["execution_id"].as_str().expect("id");
    assert_eq!(headers["location"], format!("/v1/executions/{id}").as_str());
    let done = wait_terminal(&server, key, id).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["output"]["data"], json!({ "n": 1 }));

    let doc = server.doc(key, json!([{ "key": "a", "block": echo }, { "key": "b", "block": echo }])).await;
    let (status, _, body) =
        post_with(&server, &format!("/v4/webhook/docs/{doc}/execute?wait=false"), key, &[], json!({ "data": {} }))
            .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let results = body["data"]["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for result in results {
        let done = wait_terminal(&server, key, result["executionId"].as_str().expect("id")).await;
        assert_eq!(done["datasetKey"], result["datasetKey"]);
        assert_eq!(done["status"], "succeeded");
    }
}

#[tokio::test]
async fn a_repeated_key_returns_the_original_without_running_again() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let path = format!("/v2/webhook/blocks/{echo}/execute");
    let body = json!({ "data": { "order": 42 } });

    let (first_status, first_headers, first) =
        post_with(&server, &path, key, &[("idempotency-key", "order-42")], body.clone()).await;
    assert_eq!(first_status, StatusCode::OK);
    assert!(first_headers.get("idempotent-replayed").is_none());
    let (status, headers, again) =
        post_with(&server, &path, key, &[("idempotency-key", "order-42")], body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(again["execution_id"], first["execution_id"], "same execution");
    assert_eq!(again["output"], first["output"], "same result");
    assert_eq!(executions_in(&server).await, 1, "ran once");

    let (status, _, conflict) =
        post_with(&server, &path, key, &[("idempotency-key", "order-42")], json!({ "data": { "order": 43 } })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(conflict["error_code"], "IDEMPOTENCY_KEY_REUSED");

    // Standard Webhooks' webhook-id header is a key too, and async repeats answer 202 with the
    // original ids.
    let (_, _, queued) =
        post_with(&server, &path, key, &[("webhook-id", "msg_1"), ("prefer", "respond-async")], body.clone()).await;
    let (status, headers, repeat) =
        post_with(&server, &path, key, &[("webhook-id", "msg_1"), ("prefer", "respond-async")], body.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(repeat["execution_id"], queued["execution_id"]);

    // No key, no deduplication.
    post_with(&server, &path, key, &[], body.clone()).await;
    post_with(&server, &path, key, &[], body).await;
    wait_terminal(&server, key, queued["execution_id"].as_str().expect("id")).await;
    assert_eq!(executions_in(&server).await, 4);
}

#[tokio::test]
async fn twenty_concurrent_duplicates_run_once() {
    let server = TestServer::start().await;
    let key = server.key().to_owned();
    let echo = server.block(&key, "echo", json!({ "idempotencyPointer": "/session_id" })).await;
    let url = format!("{}/v2/webhook/blocks/{echo}/execute", server.base);
    let sends = (0..20).map(|_| {
        let (client, url, key) = (server.client.clone(), url.clone(), key.clone());
        tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(key)
                .json(&json!({ "data": { "session_id": "s-1" } }))
                .send()
                .await
                .expect("sent");
            let replayed = response.headers().contains_key("idempotent-replayed");
            (response.status(), replayed, response.json::<Value>().await.expect("json"))
        })
    });
    let answers: Vec<_> = futures::future::join_all(sends).await.into_iter().map(|r| r.expect("task")).collect();
    let ids: std::collections::BTreeSet<String> =
        answers.iter().map(|(_, _, b)| b["execution_id"].to_string()).collect();
    assert_eq!(ids.len(), 1, "every duplicate got the same execution: {ids:?}");
    assert!(answers.iter().all(|(s, _, b)| *s == StatusCode::OK && b["success"] == true));
    assert_eq!(answers.iter().filter(|(_, replayed, _)| !replayed).count(), 1, "one original, 19 replays");
    assert_eq!(executions_in(&server).await, 1, "the key (from the block's JSON pointer) made it run once");
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = TestServer::start_with(Config {
        workers: 1,
        queue_depth: 2,
        team_queue_depth: Some(2),
        ..test_config(dir.path())
    })
    .await;
    let key = server.key();
    let slow = server.block(key, "loop-forever", json!({ "timeoutMs": 800 })).await;
    let path = format!("/v2/webhook/blocks/{slow}/execute?wait=false");
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, headers, _) = post_with(&server, &path, key, &[], json!({})).await;
        statuses.push((status, headers.get("retry-after").cloned()));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(statuses[0].0, StatusCode::ACCEPTED);
    assert_eq!(statuses[1].0, StatusCode::ACCEPTED);
    assert_eq!(statuses[2].0, StatusCode::ACCEPTED);
    assert_eq!(statuses[3].0, StatusCode::SERVICE_UNAVAILABLE, "one running + two queued fill a depth-2 queue");
    assert_eq!(statuses[3].1.as_ref().map(|v| v.to_str().unwrap_or_default().to_owned()).as_deref(), Some("1"));
}

#[tokio::test]
async fn a_sync_call_past_the_sync_wait_turns_into_202() {
    let dir = tempfile::tempdir().expect("tmp");
    let server =
        TestServer::start_with(Config { sync_wait: Duration::from_millis(200), ..test_config(dir.path()) }).await;
    let key = server.key();
    let burner = server.block(key, "fuel-burner", json!({ "timeoutMs": 10000 })).await;
    let started = Instant::now();
    let (status, headers, body) = post_with(
        &server,
        &format!("/v2/webhook/blocks/{burner}/execute"),
        key,
        &[],
        json!({ "data": { "iterations": 1_000_000_000u64 } }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(started.elapsed() < Duration::from_millis(1000), "answered at the sync wait, not at the end of the run");
    assert!(headers.contains_key("location"));
    let id = body["execution_id"].as_str().expect("id");
    let running = server.get(&format!("/v1/executions/{id}"), key).await;
    assert_eq!(running.body["status"], "running", "pollable while it runs");
    assert_eq!(wait_terminal(&server, key, id).await["status"], "succeeded");
}

#[tokio::test]
async fn replay_reruns_the_stored_input_and_links_to_the_original() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({ "env": { "ECHO_ENV": "TOKEN" } })).await;
    let first = server
        .post(
            &format!("/v2/webhook/blocks/{echo}/execute"),
            key,
            json!({ "data": { "n": 7 }, "environment_variables": { "TOKEN": "t" } }),
        )
        .await;
    let original = first.body["execution_id"].as_str().expect("id");
    server.upload(key, &echo, "hello-command").await;

    let replayed = server.post(&format!("/v1/executions/{original}/replay"), key, json!({ "version": 1 })).await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.body);
    assert_eq!(replayed.body["replayOf"], original);
    assert_eq!(replayed.body["trigger"], "replay");
    assert_eq!(
        replayed.body["output"],
        first.body["output"]
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("executionId".into(), replayed.body["id"].clone());
                Value::Object(o)
            })
            .expect("output"),
        "same data and env, new execution id"
    );

    let on_active =
        server.request(reqwest::Method::POST, &format!("/v1/executions/{original}/replay"), Some(key), None).await;
    assert_eq!(on_active.body["blockVersion"], 2, "default: the active version");
    assert_eq!(on_active.body["output"], json!({ "greeting": "hello, world" }));

    let (status, _, queued) =
        post_with(&server, &format!("/v1/executions/{original}/replay?wait=false"), key, &[], json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(wait_terminal(&server, key, queued["executionId"].as_str().expect("id")).await["replayOf"], original);

    let private = server.block(key, "echo", json!({ "storePayload": false })).await;
    let run =
        server.post(&format!("/v2/webhook/blocks/{private}/execute"), key, json!({ "data": { "card": "4242" } })).await;
    let id = run.body["execution_id"].as_str().expect("id");
    let stored = server.get(&format!("/v1/executions/{id}"), key).await;
    assert!(stored.body.get("input").is_none(), "no input kept: {}", stored.body);
    let refused = server.post(&format!("/v1/executions/{id}/replay"), key, json!({})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.body["error_code"], "PAYLOAD_NOT_STORED");
}
