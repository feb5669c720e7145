//! Retries with backoff and dead letters (#15), with a real guest (`flaky`, which counts its
//! attempts in the key-value store) through a real server: three linked attempts with the
//! configured delays, exhaustion to `dead`, which failures are retried and which are not, sync
//! calls never retried behind their caller's back, and policies checked against the ceilings.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::TestServer;

fn policy(max_attempts: u32, initial_delay_ms: u64) -> Value {
    json!({ "maxAttempts": max_attempts, "backoff": "exponential", "initialDelayMs": initial_delay_ms,
            "maxDelayMs": 10_000, "jitter": false })
}

async fn flaky(server: &TestServer, retry: Value) -> String {
    let key = server.key().to_owned();
    server.block(&key, "flaky", json!({ "keyValue": { "buckets": ["flaky"] }, "retry": retry })).await
}

/// Sends an async delivery; returns its execution id.
async fn deliver(server: &TestServer, block: &str, data: Value) -> String {
    let path = format!("/v2/webhook/blocks/{block}/execute?wait=false");
    let accepted = server.post(&path, server.key(), json!({ "data": data })).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    accepted.body["execution_id"].as_str().expect("execution id").to_owned()
}

/// Polls an execution until its delivery is over; returns the execution as then shown.
async fn settled(server: &TestServer, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown = server.get(&format!("/v1/executions/{id}"), server.key()).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        let status = shown.body["delivery"]["status"].as_str().or(shown.body["status"].as_str()).unwrap_or_default();
        if !matches!(status, "queued" | "running" | "scheduled") {
            return shown.body;
        }
        assert!(Instant::now() < deadline, "delivery {id} never settled: {}", shown.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn execution(server: &TestServer, id: &str) -> Value {
    let shown = server.get(&format!("/v1/executions/{id}"), server.key()).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    shown.body
}

fn ms(value: &Value) -> i64 {
    value.as_i64().unwrap_or_else(|| panic!("a time in ms, got {value}"))
}

#[tokio::test]
async fn a_delivery_failing_twice_then_succeeding_has_three_linked_attempts_spaced_by_the_backoff() {
    let server = TestServer::start().await;
    let block = flaky(&server, policy(3, 400)).await;
    let first = deliver(&server, &block, json!({ "key": "twice", "failTimes": 2 })).await;
    let shown = settled(&server, &first).await;
    let delivery = &shown["delivery"];
    assert_eq!(delivery["status"], "succeeded", "{shown}");
    assert_eq!(delivery["id"], first.as_str());
    let attempts = delivery["attempts"].as_array().expect("attempts");
    let statuses: Vec<&str> = attempts.iter().map(|a| a["status"].as_str().expect("status")).collect();
    assert_eq!(statuses, ["failed", "failed", "succeeded"]);
    assert_eq!(attempts[0]["error"]["code"], "retryable:flaky", "the SDK's retryable flag");

    let mut previous_end = None;
    for (n, attempt) in attempts.iter().enumerate() {
        let run = execution(&server, attempt["id"].as_str().expect("id")).await;
        assert_eq!(run["attempt"], n as u64 + 1);
        if n == 0 {
            assert!(run.get("retryOf").is_none(), "the first attempt is the delivery: {run}");
        } else {
            assert_eq!(run["retryOf"], first.as_str(), "linked to the first attempt");
        }
        assert!(!run["logs"].as_array().expect("logs").is_empty(), "every attempt keeps its own logs");
        if let Some(end) = previous_end {
            // Exponential from 400 ms: 400 ms before the second, 800 ms before the third.
            let waited = ms(&run["startedAt"]) - end;
            let expected = 400 * (1 << (n - 1));
            assert!((expected..expected + 1500).contains(&waited), "attempt {} waited {waited} ms", n + 1);
        }
        previous_end = Some(ms(&run["finishedAt"]));
    }
    let last = execution(&server, attempts[2]["id"].as_str().expect("id")).await;
    assert_eq!(last["output"]["attempt"], 3);
    let listed = server.get(&format!("/v1/executions?block={block}"), server.key()).await;
    assert_eq!(listed.body.as_array().expect("list").len(), 3, "each attempt is its own record");
}

#[tokio::test]
async fn a_delivery_that_uses_up_its_attempts_is_dead_listed_and_replayable() {
    let server = TestServer::start().await;
    let block = flaky(&server, policy(2, 100)).await;
    let first = deliver(&server, &block, json!({ "key": "dies", "failTimes": 2 })).await;
    let shown = settled(&server, &first).await;
    assert_eq!(shown["delivery"]["status"], "dead", "{shown}");
    let last = shown["delivery"]["attempts"][1]["id"].as_str().expect("second attempt").to_owned();

    let dead = server.get("/v1/executions?status=dead", server.key()).await;
    let ids: Vec<&str> = dead.body.as_array().expect("list").iter().map(|e| e["id"].as_str().expect("id")).collect();
    assert_eq!(ids, [last.as_str()], "one dead letter: the delivery's last attempt");

    // The third run (count 3 > failTimes) succeeds: the dead letter was replayable.
    let replayed = server.post(&format!("/v1/executions/{last}/replay"), server.key(), json!({})).await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.body);
    assert_eq!(replayed.body["status"], "succeeded", "{}", replayed.body);
    assert_eq!(replayed.body["replayOf"], last.as_str());
}

#[tokio::test]
async fn only_the_failures_a_policy_names_are_retried() {
    let server = TestServer::start().await;
    let key = server.key().to_owned();

    // A plain guest error is the block's verdict: not retried.
    let plain = flaky(&server, policy(3, 50)).await;
    let id = deliver(&server, &plain, json!({ "key": "plain", "failTimes": 1, "how": "plain" })).await;
    let shown = settled(&server, &id).await;
    assert_eq!(shown["status"], "failed", "{shown}");
    assert!(shown.get("delivery").is_none(), "a single attempt: {shown}");

    // …unless the policy lists its code.
    let mut coded = policy(3, 50);
    coded["retryableCodes"] = json!(["flaky"]);
    let listed = flaky(&server, coded).await;
    let id = deliver(&server, &listed, json!({ "key": "coded", "failTimes": 1, "how": "plain" })).await;
    assert_eq!(settled(&server, &id).await["delivery"]["status"], "succeeded");

    // A trap is retried by default.
    let trapping = flaky(&server, policy(3, 50)).await;
    let id = deliver(&server, &trapping, json!({ "key": "trap", "failTimes": 1, "how": "trap" })).await;
    let shown = settled(&server, &id).await;
    assert_eq!(shown["delivery"]["status"], "succeeded", "{shown}");
    assert_eq!(shown["delivery"]["attempts"][0]["error"]["kind"], "trap");

    // A timeout is retried by default, and dead once out of attempts.
    let looping = server.block(&key, "loop-forever", json!({ "timeoutMs": 200, "retry": policy(2, 50) })).await;
    let id = deliver(&server, &looping, json!({})).await;
    let shown = settled(&server, &id).await;
    assert_eq!(shown["delivery"]["status"], "dead", "{shown}");
    assert_eq!(shown["delivery"]["attempts"][1]["error"]["kind"], "timeout");

    // Output that is not valid (over the cap) is never retried, whatever the policy.
    let mut everything = policy(3, 50);
    everything["retryOn"] =
        json!(["timeout", "trap", "memory_limit", "network", "panic", "out_of_fuel", "guest_error"]);
    let huge = server.block(&key, "huge-output", json!({ "retry": everything })).await;
    let id = deliver(&server, &huge, json!({})).await;
    let shown = settled(&server, &id).await;
    assert_eq!((shown["status"].as_str(), shown["error"]["kind"].as_str()), (Some("failed"), Some("invalid_output")));
    assert!(shown.get("delivery").is_none(), "not retried: {shown}");

    // A sync call is answered with its one attempt: its caller decides whether to retry.
    let sync = flaky(&server, policy(3, 50)).await;
    let ran = server
        .post(&format!("/v2/webhook/blocks/{sync}/execute"), &key, json!({ "data": { "key": "sync", "failTimes": 1 } }))
        .await;
    assert_eq!(ran.body["success"], false, "{}", ran.body);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let listed = server.get(&format!("/v1/executions?block={sync}"), &key).await;
    assert_eq!(listed.body.as_array().expect("list").len(), 1, "no retry of a sync call: {}", listed.body);
}

#[tokio::test]
async fn policies_outside_the_ceilings_or_retrying_invalid_output_are_refused() {
    let server = TestServer::start().await;
    let key = server.key().to_owned();
    for (retry, says) in [
        (json!({ "maxAttempts": 0 }), "maxAttempts must be 1 to 50"),
        (json!({ "maxAttempts": 51 }), "maxAttempts must be 1 to 50"),
        (json!({ "initialDelayMs": 5000, "maxDelayMs": 1000 }), "must not exceed"),
        (json!({ "maxDelayMs": 90_000_000 }), "maxDelayMs must be at most"),
        (json!({ "retryOn": ["invalid_output"] }), "unknown variant `invalid_output`"),
        (json!({ "backoff": "linear" }), "unknown variant `linear`"),
    ] {
        let created = server.post("/v1/blocks", &key, json!({ "name": "bad", "retry": retry })).await;
        assert_eq!(created.status, StatusCode::UNPROCESSABLE_ENTITY, "{retry}: {}", created.body);
        assert!(created.body["error"].as_str().expect("message").contains(says), "{retry}: {}", created.body);
    }
    let block = server.block(&key, "echo", json!({})).await;
    let bad_dataset = json!([{ "key": "a", "block": block, "retry": { "maxAttempts": 99 } }]);
    let created = server.post("/v1/docs", &key, json!({ "name": "d", "datasets": bad_dataset })).await;
    assert_eq!(created.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", created.body);
    assert!(created.body["error"].as_str().expect("message").contains("datasets[0].retry"), "{}", created.body);
}

#[tokio::test]
async fn a_dataset_policy_overrides_its_blocks() {
    let server = TestServer::start().await;
    let key = server.key().to_owned();
    let block = flaky(&server, json!({ "maxAttempts": 1 })).await;
    let doc = server.doc(&key, json!([{ "key": "f", "block": block, "retry": policy(2, 50) }])).await;
    let path = format!("/v4/webhook/docs/{doc}/execute?wait=false");
    let accepted = server.post(&path, &key, json!({ "data": { "key": "doc", "failTimes": 1 } })).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let id = accepted.body["data"]["results"][0]["executionId"].as_str().expect("the dataset's execution id");
    let shown = settled(&server, id).await;
    assert_eq!(shown["delivery"]["status"], "succeeded", "{shown}");
    assert_eq!(shown["delivery"]["attempts"].as_array().expect("attempts").len(), 2);
}
